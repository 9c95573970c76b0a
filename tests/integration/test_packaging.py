"""`make dist`, run for real: the sdist and the wheel another project installs, their
contents and metadata (the wheel holds the two packages, the plugin's entry point and
py.typed; httpx is no runtime dependency)."""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from augnet_mock import __version__

ROOT = Path(__file__).parents[2]
BUILD_TIMEOUT = 50  # seconds: the isolated build may fetch hatchling first
NAME = f"augnet_mock-{__version__}"


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path
    output: str  # what `make dist` printed, twine's verdicts included


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """`make dist` into a temporary folder, with the venv that runs these tests."""
    out = tmp_path_factory.mktemp("dist") / "dist"
    venv = Path(sys.prefix)
    done = subprocess.run(
        # -o: take the venv as installed (it runs this test), whatever pyproject's mtime.
        ["make", "-o", f"{venv}/.installed", "dist", f"VENV={venv}", f"DIST={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return Dist(wheel, sdist, done.stdout)


def metadata(dist: Dist) -> Message:
    with zipfile.ZipFile(dist.wheel) as wheel:
        text = wheel.read(f"{NAME}.dist-info/METADATA").decode()
    return email.parser.Parser().parsestr(text)


def test_make_dist_builds_both_and_twine_passes_them(dist: Dist) -> None:
    """make dist writes an sdist and a pure wheel of this version, both passing
    `twine check --strict`."""
    assert dist.wheel.name == f"{NAME}-py3-none-any.whl"
    assert dist.sdist.name == f"{NAME}.tar.gz"
    assert dist.output.count("PASSED") == 2, dist.output


def test_wheel_holds_exactly_the_two_packages(dist: Dist) -> None:
    """The wheel holds augnet_mock (with py.typed and the web inbox) and
    augnet_mock_pytest, plus its metadata: no tests, bench or pytest_plugin folder."""
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = wheel.namelist()
    assert {name.split("/")[0] for name in names} == {
        "augnet_mock",
        "augnet_mock_pytest",
        f"{NAME}.dist-info",
    }
    assert "augnet_mock/py.typed" in names
    assert "augnet_mock_pytest/plugin.py" in names
    assert any(name.startswith("augnet_mock/web/") for name in names)
    assert "augnet_mock/transport.py" in names


def test_wheel_registers_the_plugin_and_the_command(dist: Dist) -> None:
    """entry_points.txt has the pytest11 plugin and the augnet-mock command."""
    with zipfile.ZipFile(dist.wheel) as wheel:
        entry_points = wheel.read(f"{NAME}.dist-info/entry_points.txt").decode()
    assert "[pytest11]\naugnet_mock = augnet_mock_pytest.plugin" in entry_points
    assert "[console_scripts]\naugnet-mock = augnet_mock.cli:main" in entry_points


def test_wheel_metadata_is_complete(dist: Dist) -> None:
    """Name, version, classifiers (Framework :: Pytest), keywords, project URLs and a
    Markdown description; httpx is only a test extra, httpx2 the runtime client."""
    meta = metadata(dist)
    assert (meta["Name"], meta["Version"]) == ("augnet-mock", __version__)
    classifiers = meta.get_all("Classifier") or []
    for expected in (
        "Framework :: Pytest",
        "Typing :: Typed",
        "Programming Language :: Python :: 3",
    ):
        assert expected in classifiers
    assert "pytest" in meta["Keywords"].split(",")
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert {"Repository", "Documentation", "Changelog"} <= urls.keys()
    assert all(url.startswith(urls["Repository"]) for url in urls.values())
    assert meta["Description-Content-Type"] == "text/markdown"
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert any(r.startswith("httpx2") for r in runtime)
    assert not any(r.split(">")[0].split("[")[0].strip() == "httpx" for r in runtime)


def test_sdist_holds_sources_docs_and_tests(dist: Dist) -> None:
    """The sdist rebuilds the wheel and runs the suite: sources, docs, tests, Makefile;
    no virtualenv or node_modules."""
    with tarfile.open(dist.sdist) as sdist:
        names = {name.partition("/")[2] for name in sdist.getnames()}
    for expected in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "Makefile",
        "docs/verify.md",
        "docs/plugin.md",
        "scripts/gen_plugin_docs.py",
        "augnet_mock/py.typed",
        "pytest_plugin/augnet_mock_pytest/plugin.py",
        "tests/conftest.py",
    ):
        assert expected in names
    assert not any(name.startswith(".venv") or "node_modules" in name for name in names)
