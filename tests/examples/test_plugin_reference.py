"""docs/plugin.md is what scripts/gen_plugin_docs.py makes of the code, and the script
refuses a public name it has no example for."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def gen() -> types.ModuleType:
    """The generator script, loaded as a module."""
    spec = importlib.util.spec_from_file_location(
        "gen_plugin_docs", ROOT / "scripts" / "gen_plugin_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_page_is_the_generated_one(gen: types.ModuleType) -> None:
    """The committed reference equals a fresh generation (run the script after a change)."""
    committed = (ROOT / "docs" / "plugin.md").read_text(encoding="utf-8")
    assert committed == gen.generate(), "run: python scripts/gen_plugin_docs.py"


def test_every_public_name_is_on_the_page(gen: types.ModuleType) -> None:
    """Each fixture, handle member, record field, magic name and callback fault appears."""
    from augnet_mock import AugnetMock, Callback, MagicNumbers, SentMessage
    from augnet_mock.scenarios import CALLBACK_FAULTS

    page = gen.generate()
    names = [n for n in vars(AugnetMock) if not n.startswith("_")]
    names += [f.name for cls in (SentMessage, Callback) for f in cls.__dataclass_fields__.values()]
    names += [*MagicNumbers.names(), *CALLBACK_FAULTS, *gen.plugin.MARKER_OPTIONS]
    missing = [n for n in names if f"`{n}" not in page]
    assert not missing


def test_a_name_without_an_example_stops_the_script(
    gen: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public method with no example is refused, naming it, rather than left out."""
    monkeypatch.delitem(gen.EXAMPLES, "wait_for_message")
    with pytest.raises(gen.MissingExample, match="wait_for_message: add a one-line example"):
        gen.generate()
