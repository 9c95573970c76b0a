"""Every fenced code block of README.md and docs/*.md, run or checked as written.

The line before each block says what it is, as an HTML comment (invisible when rendered):

    <!-- doc: run -->          sh: run with `sh -e` against a mock started for this module,
                               `http://127.0.0.1:8080` rewritten to its address; no answer
                               may be an error (the error shape's "timestamp")
    <!-- doc: make -->         sh: each line is `make TARGET`, a target of the Makefile
    <!-- doc: commands -->     sh: `make TARGET` or `docker run ...`, whose image is named and
                               whose `-e` variables are options of the mock
    <!-- doc: synopsis -->     sh: `augnet-mock serve [--flag ...]` (or another command):
                               every flag exists for the command its line names
    <!-- doc: test -->         python: a test module, run by pytest with the plugin
    <!-- doc: test with tests/examples -->   the same, beside that folder's conftest and app
    <!-- doc: fragment of PATH -->           python: its tokens, comments included, appear
                               in PATH in the same order (only line breaks may differ)
    <!-- doc: config -->       toml: loaded by the config loader
    <!-- doc: error -->        json: an error in the one error shape
    <!-- doc: workflow -->     yaml: parsed; every `pytest` step uses options the plugin has
    <!-- doc: output -->       what a program prints or receives: not run, and said so here

A block with no such line, or one whose kind does not fit its language, fails the suite,
so nothing is skipped silently.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import yaml

from augnet_mock.cli import build_parser
from augnet_mock.config import ENV_PREFIX, OPTIONS, read_config_file

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCUMENTED_URL = "http://127.0.0.1:8080"
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!-- doc: (?P<kind>[\w-]+)(?: (?P<arg>.*?))? -->\s*$")
KINDS = {
    "run": {"sh"},
    "make": {"sh"},
    "commands": {"sh"},
    "synopsis": {"sh"},
    "test": {"python"},
    "fragment": {"python"},
    "config": {"toml"},
    "error": {"json"},
    "workflow": {"yaml"},
    "output": {"", "text", "http", "json"},
}
RUN_TIMEOUT = 60.0  # seconds for one block (a shell script, or a pytest run)
QUIET = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:faker")
ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    kind: str | None
    arg: str | None
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}:{self.kind}"


def blocks(page: Path) -> list[Block]:
    """The page's fenced blocks, each with the directive on the line before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent = len(opening["indent"])
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = textwrap.dedent("\n".join(line[indent:] for line in lines[i + 1 : end])) + "\n"
        directive = DIRECTIVE.match(lines[i - 1]) if i else None
        found.append(
            Block(
                page,
                i + 1,
                opening["lang"],
                directive["kind"] if directive else None,
                directive["arg"] if directive else None,
                code,
            )
        )
        i = end + 1
    return found


ALL = [block for page in PAGES for block in blocks(page)]


def of_kind(*kinds: str) -> list[object]:
    return [pytest.param(b, id=b.id) for b in ALL if b.kind in kinds]


def test_every_block_says_what_it_is() -> None:
    """Each block has a directive whose kind fits its language: none is skipped unseen."""
    bad = [
        f"{b.page.name}:{b.line}: ```{b.lang} has "
        + (f"kind {b.kind!r}, for {sorted(KINDS[b.kind])}" if b.kind in KINDS else "no kind")
        for b in ALL
        if b.kind not in KINDS or b.lang not in KINDS[b.kind]
    ]
    assert not bad, "\n".join(bad)
    assert any(b.kind == "run" for b in ALL)  # the runner found the README's blocks at all


# -- shell ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`augnet-mock serve --port 0` from this source tree, as a user runs it."""
    log = tmp_path_factory.mktemp("serve") / "stdout.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "augnet_mock", "serve", "--port", "0", "--no-access-log"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"listening on (http://\S+)", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        url = found[1]
        while True:  # bounded by the same deadline
            try:
                if httpx2.get(f"{url}/_mock/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the shell blocks use curl")
@pytest.mark.parametrize("block", of_kind("run"))
def test_shell_block_runs_against_a_live_mock(block: Block, mock_url: str) -> None:
    """The block runs with `sh -e`, its URL pointed at a live mock, and gets no error."""
    script = block.code.replace(DOCUMENTED_URL, mock_url)
    done = subprocess.run(
        ["sh", "-e", "-c", script],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the block printed nothing"
    assert '"timestamp"' not in done.stdout, f"an error came back:\n{done.stdout}"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w.-]+):", text, re.MULTILINE))


def commands(code: str) -> list[list[str]]:
    """The block's commands, continuation lines joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def check_make(words: list[str]) -> None:
    assert words[0] == "make", words
    targets = [w for w in words[1:] if "=" not in w]
    assert targets, words
    missing = set(targets) - make_targets()
    assert not missing, f"no Makefile target {sorted(missing)}"


@pytest.mark.parametrize("block", of_kind("make"))
def test_make_block_names_real_targets(block: Block) -> None:
    """Every `make X` in the block is a target of the Makefile."""
    for words in commands(block.code):
        check_make(words)


@pytest.mark.parametrize("block", of_kind("commands"))
def test_commands_block_is_well_formed(block: Block) -> None:
    """`make` lines name real targets; `docker run` lines name an image and set only
    variables the mock reads."""
    known = {o.env for o in OPTIONS} | {ENV_PREFIX + "CONFIG"}
    for words in commands(block.code):
        if words[0] == "make":
            check_make(words)
            continue
        assert words[:2] == ["docker", "run"], words
        variables = [words[i + 1].split("=", 1)[0] for i, w in enumerate(words) if w == "-e"]
        assert set(variables) <= known, f"unknown variables {set(variables) - known}"
        options_with_value = {"-p", "-e", "-v", "--network", "--add-host", "--name"}
        rest, i = [], 2
        while i < len(words):
            if words[i] in options_with_value:
                i += 2
            elif words[i].startswith("-"):
                i += 1
            else:
                rest.append(words[i])
                i += 1
        assert rest, words
        assert rest[0].startswith(("augnet-mock", "ghcr.io/")), words


COMMAND = re.compile(r"(?:augnet-mock|python -m augnet_mock) ([\w-]+)")


@pytest.mark.parametrize("block", of_kind("synopsis"))
def test_synopsis_flags_exist(block: Block) -> None:
    """Every flag the synopsis shows is one its command takes (`augnet-mock serve`, or the
    subcommand the line names: `augnet-mock segments ...`)."""
    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    shown_any = False
    for line in block.code.splitlines():
        line = line.split(" # ", 1)[0]  # a comment may name what is not a flag
        named = COMMAND.search(line)
        command = named[1] if named else "serve"
        assert command in choices, f"no such command: {command}"
        flags = {s for action in choices[command]._actions for s in action.option_strings}
        shown = set(re.findall(r"--[\w-]+", line))
        shown_any = shown_any or bool(shown)
        assert shown <= flags, f"no such flag of {command}: {sorted(shown - flags)}"
    assert shown_any, block.code


# -- python ---------------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("test"))
def test_python_test_block_passes(block: Block, pytester: pytest.Pytester) -> None:
    """The block, saved as a test module (beside tests/examples' fixtures if it says so),
    passes under pytest with the plugin."""
    if block.arg is not None:
        assert block.arg.startswith("with "), block.arg
        folder = ROOT / block.arg.removeprefix("with ")
        for source in folder.glob("*.py"):
            if not source.name.startswith("test_"):
                shutil.copy(source, pytester.path / source.name)
    pytester.makepyfile(test_readme_block=block.code)
    # The editable install's import hook is loaded before pytest could rewrite it (as in
    # pyproject's filterwarnings); any other warning counts against the block.
    rewrite = (
        "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning"
    )
    result = pytester.runpytest_subprocess(*QUIET, "-W", rewrite, timeout=RUN_TIMEOUT)
    outcomes = result.parseoutcomes()
    assert result.ret == 0, str(result.stdout)
    assert outcomes.get("passed", 0) >= 1, outcomes
    assert set(outcomes) <= {"passed"}, outcomes


def tokens(code: str) -> list[str]:
    """The code's tokens, comments included, without line breaks and indentation: what
    stays the same when ruff formats it at another depth (the docs' blocks get formatted
    as top-level code, their source inside a function)."""
    layout = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    readline = io.StringIO(textwrap.dedent(code)).readline
    return [t.string for t in tokenize.generate_tokens(readline) if t.type not in layout]


def verbatim_in(code: str, text: str) -> bool:
    """Whether the tokens of `code` appear one after another in `text`."""
    wanted, have = tokens(code), tokens(text)
    return any(have[i : i + len(wanted)] == wanted for i in range(len(have) - len(wanted) + 1))


@pytest.mark.parametrize("block", of_kind("fragment"))
def test_python_fragment_is_in_its_file(block: Block) -> None:
    """A fragment (a receiver's handler, say) appears verbatim in the file it names,
    whose own tests run it."""
    assert block.arg is not None, "say which file: <!-- doc: fragment of PATH -->"
    assert block.arg.startswith("of "), block.arg
    source = ROOT / block.arg.removeprefix("of ")
    assert verbatim_in(block.code, source.read_text()), f"not verbatim in {source}"


def test_verbatim_check_can_fail() -> None:
    """The fragment check refuses a changed line and a changed order."""
    text = "def f():\n    a = g(1,\n          2)  # why\n\n    b = 2\n"
    assert verbatim_in("a = g(1, 2)  # why\nb = 2\n", text)
    assert not verbatim_in("a = g(1, 2)  # why\nb = 3\n", text)
    assert not verbatim_in("a = g(1, 2)  # because\nb = 2\n", text)
    assert not verbatim_in("b = 2\na = g(1, 2)  # why\n", text)


# -- data -----------------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("config"))
def test_toml_block_loads(block: Block, tmp_path: Path) -> None:
    """The config file example loads with the mock's own loader."""
    path = tmp_path / "augnet.toml"
    path.write_text(block.code)
    fields = read_config_file(path)
    assert fields["projects"] or fields["scenarios"] or len(fields) > 2


@pytest.mark.parametrize("block", of_kind("error"))
def test_json_error_block_has_the_error_shape(block: Block) -> None:
    """The error example is JSON in the one error shape."""
    assert set(json.loads(block.code)) == ERROR_KEYS


@pytest.mark.parametrize("block", of_kind("workflow"))
def test_yaml_block_parses_and_uses_real_options(block: Block) -> None:
    """A CI example is YAML, and its pytest steps pass only options the plugin adds."""
    data = yaml.safe_load(block.code)
    assert isinstance(data, dict | list), data
    steps = re.findall(r"run: (pytest .*)", block.code)
    for step in steps:
        for option in re.findall(r"--[\w-]+", step):
            assert option in ("--augnet-url", "--augnet-token"), option
