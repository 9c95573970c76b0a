"""Regressions for the "new user's first hour" defects in the client area.

Defect 3: no install path for a downstream project, and no way for a production receiver
to verify signatures without installing the whole mock. Defect 4: `augnet.transport()`
worked only with httpx2; with httpx it died inside httpx with a bare AssertionError.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from augnet_mock import AugnetMock, LiveServer
from augnet_mock.handle import fast_settings
from augnet_mock.signing import http_date, signed_headers

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NUMBER = "+447700900123"
MYPY_TIMEOUT = 50  # seconds: a cold mypy run over the package and both clients


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with LiveServer(fast_settings()) as server:
        yield server


@pytest.fixture
def augnet(live: LiveServer) -> Iterator[AugnetMock]:
    with AugnetMock.create(live) as handle:
        yield handle


# -- defect 4 -------------------------------------------------------------------------


def test_httpx_client_sends_through_the_in_process_transport(augnet: AugnetMock) -> None:
    """defect 4: httpx.Client(transport=augnet.transport()) sends and reads the answer
    (it died with `assert isinstance(response.stream, SyncByteStream)` inside httpx)."""
    with httpx.Client(
        base_url=augnet.base_url, auth=augnet.auth, transport=augnet.transport()
    ) as client:
        response = client.post("/api/v2/message", json={"to": NUMBER, "body": "via httpx"})
    assert response.status_code == 200, response.text
    augnet.assert_sent(body="via httpx", count=1)


def test_httpx_async_client_sends_through_the_in_process_transport(augnet: AugnetMock) -> None:
    """defect 4: httpx.AsyncClient(transport=augnet.async_transport()) sends too."""

    async def main() -> int:
        async with httpx.AsyncClient(
            base_url=augnet.base_url, auth=augnet.auth, transport=augnet.async_transport()
        ) as client:
            response = await client.post("/api/v2/message", json={"to": NUMBER, "body": "async"})
        return response.status_code

    assert asyncio.run(main()) == 200
    augnet.assert_sent(body="async", count=1)


def test_httpx_errors_are_httpx_exceptions(augnet: AugnetMock) -> None:
    """defect 4: a dropped connection reaches an httpx client as httpx.RemoteProtocolError,
    which httpx users catch (not httpx2's class, nor an AssertionError)."""
    dropped = {"to": augnet.magic.dropped_connection, "body": "x"}
    with (
        httpx.Client(base_url=augnet.base_url, auth=augnet.auth, transport=augnet.transport()) as c,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        c.post("/api/v2/message", json=dropped)


def test_type_checkers_accept_the_transports_for_both_clients(tmp_path: Path) -> None:
    """defect 4: mypy --strict accepts augnet.transport() for httpx.Client and httpx2.Client,
    and flags an async transport handed to a sync client."""
    user = tmp_path / "downstream.py"
    user.write_text(
        textwrap.dedent(
            """
            import httpx
            import httpx2

            from augnet_mock import AugnetMock


            def clients(augnet: AugnetMock) -> None:
                httpx.Client(transport=augnet.transport())
                httpx2.Client(transport=augnet.transport())
                httpx.AsyncClient(transport=augnet.async_transport())
                httpx2.AsyncClient(transport=augnet.async_transport())
                answer: httpx.Response = augnet.transport().handle_request(
                    httpx.Request("GET", "http://mock/")
                )
                print(answer)


            def misuse(augnet: AugnetMock) -> None:
                httpx.Client(transport=augnet.async_transport())  # the one error
            """
        ).lstrip()
    )
    # The package is installed editable, through an import hook mypy cannot follow.
    env = {"MYPYPATH": f"{ROOT}:{ROOT / 'pytest_plugin'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(user),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=MYPY_TIMEOUT,
        env=env,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout + done.stderr
    [line] = [n for n, text in enumerate(user.read_text().splitlines(), 1) if "one error" in text]
    assert f'downstream.py:{line}: error: Argument "transport" to "Client"' in errors[0]


def test_readme_design_note_says_both_clients_are_supported() -> None:
    """defect 4: the README no longer says httpx has had no release since 0.28.1; it says
    the transports serve httpx and httpx2."""
    assert "no release since 0.28.1" not in README
    note = README[README.index("- **HTTP clients:") :].split("\n- **")[0]
    assert "0.29.0" in note
    assert "serve both" in note


# -- defect 3 -------------------------------------------------------------------------


def test_make_dist_is_a_target() -> None:
    """defect 3: `make dist` builds an sdist and a wheel and checks them with twine
    (a dry run here; tests/integration/test_packaging.py runs it for real)."""
    done = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "dist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "-m build --outdir dist ." in done.stdout
    assert "twine check --strict dist/*" in done.stdout


def test_readme_says_how_a_project_installs_it() -> None:
    """defect 3: the README's "Installing in your project" gives the wheel, git URL and
    path forms, and points CI at the Docker section."""
    section = README[README.index("## Installing in your project") :].split("\n## ")[0]
    assert "make dist" in section
    assert re.search(r"pip install \S*augnet_mock-\S*\.whl", section)
    assert re.search(r'pip install "augnet-mock @ git\+https://\S+@v\d', section)
    assert "pip install -e ../augnet-mock" in section
    assert "(#docker)" in section
    assert "(docs/verify.md)" in section


def test_production_verifier_needs_only_the_standard_library() -> None:
    """defect 3: docs/verify.md's snippet, run in a fresh interpreter that cannot import
    augnet_mock or any third-party package, accepts a signed callback and rejects a
    tampered one."""
    doc = (ROOT / "docs" / "verify.md").read_text(encoding="utf-8")
    snippet = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)[0]
    target = "/hooks/sms?tenant=7"
    body = b'{"SmsSid":"s","SmsStatus":"delivered"}'
    headers = signed_headers(
        body=body,
        url_host="shop.example",
        path=target,
        date=http_date(time.time()),
        key_id="p",
        key="k",
    )
    check = snippet + textwrap.dedent(
        f"""
        verify_callback("POST", {target!r}, {headers!r}, {body!r}, "k", key_id="p")
        try:
            verify_callback("POST", {target!r}, {headers!r}, {body + b" "!r}, "k")
        except InvalidCallback as exc:
            print("rejected:", exc)
        """
    )
    # -S -I: no site-packages and no user paths, so only the standard library imports.
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", check],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "rejected: digest does not match the body"


def test_readme_verify_example_passes_the_request_target() -> None:
    """defect 3: the README's verify example passes path plus query (what the signature
    covers), not request.url.path alone, which rejected callbacks to URLs with a query."""
    assert "path=request.url.path," not in README
    example = README[README.index("async def receive(request: Request) -> Response:") :]
    example = example.split("```")[0]
    namespace = types.SimpleNamespace(
        url=types.SimpleNamespace(path="/hooks/sms", query="tenant=7")
    )
    [assignment] = [
        line.strip() for line in example.splitlines() if line.strip().startswith("target = ")
    ]
    scope = {"request": namespace}
    exec(assignment, scope)
    assert scope["target"] == "/hooks/sms?tenant=7"
    assert "path=target," in example
