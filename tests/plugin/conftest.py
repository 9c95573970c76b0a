"""Shared pieces for the plugin's tests: an external `augnet-mock serve` process, and a
guard that skips fixture-based tests when the plugin is disabled (-p no:augnet_mock)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from ports import free_port

HERE = Path(__file__).parent
START_TIMEOUT = 20.0


def pytest_configure(config: pytest.Config) -> None:
    # Registered by the plugin too; repeated here so the marker still parses when the
    # plugin is disabled and the tests below are skipped.
    config.addinivalue_line("markers", "augnet(**options): configure the augnet fixture")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.pluginmanager.has_plugin("augnet_mock"):
        return
    skip = pytest.mark.skip(reason="the augnet_mock plugin is disabled (-p no:augnet_mock)")
    for item in items:
        uses_plugin = any(name.startswith("augnet") for name in getattr(item, "fixturenames", ()))
        if HERE in item.path.parents and uses_plugin:
            item.add_marker(skip)


class MockProcess:
    """`augnet-mock serve` in a subprocess, the way CI would run the container."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cli = Path(sys.executable).with_name("augnet-mock")
        command = [str(cli)] if cli.exists() else [sys.executable, "-m", "augnet_mock"]
        environ = os.environ | {
            "AUGNET_MOCK_SEND_DELAY": "0.01",
            "AUGNET_MOCK_DELIVERY_DELAY": "0.01",
            "AUGNET_MOCK_ACCESS_LOG": "false",
            "AUGNET_MOCK_SMPP_PORT": "0",  # tests run side by side: keep off port 2775
        }
        # A file, not a pipe: nobody reads the log while the server runs, and a full
        # pipe would stall it.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  closed in stop()
        self.process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=environ | env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:  # bounded: a subprocess has no readiness signal
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"augnet-mock serve exited: {self.log.read().decode()}")
            try:
                if httpx2.get(f"{self.url}/_mock/health", timeout=1.0).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"augnet-mock serve did not answer on {self.url}")

    def projects(self) -> list[dict[str, Any]]:
        projects: list[dict[str, Any]] = httpx2.get(f"{self.url}/_mock/projects").json()["projects"]
        return projects

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def mock_process() -> Iterator[MockProcess]:
    """A separately started `augnet-mock serve` on a free port; terminated afterwards."""
    process = MockProcess()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def start_mock_process() -> Iterator[Callable[..., MockProcess]]:
    """Start `augnet-mock serve` with more AUGNET_MOCK_* variables; each is stopped after."""
    started: list[MockProcess] = []

    def start(**env: str) -> MockProcess:
        started.append(MockProcess(**env))
        return started[-1]

    yield start
    for process in started:
        process.stop()
