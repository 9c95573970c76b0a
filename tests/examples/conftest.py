"""Fixtures for the README examples: the example app, wired to the `augnet` handle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from augnet_mock import AugnetMock

HERE = Path(__file__).parent
# The example app sits beside its tests; make it importable under any --import-mode.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from taxi_notifier import TaxiNotifier  # noqa: E402  (needs the path above)


@pytest.fixture
def notifier(augnet: AugnetMock) -> TaxiNotifier:
    """The app under test, given the handle's ready client: this test's project's
    base URL and credentials, on the session's shared connection."""
    return TaxiNotifier(augnet.client)


def pytest_configure(config: pytest.Config) -> None:
    # The plugin registers the marker; repeated so these files still parse with the
    # plugin disabled (-p no:augnet_mock), when they are skipped instead.
    config.addinivalue_line("markers", "augnet(**options): configure the augnet fixture")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.pluginmanager.has_plugin("augnet_mock"):
        return
    skip = pytest.mark.skip(reason="the augnet_mock plugin is disabled (-p no:augnet_mock)")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)
