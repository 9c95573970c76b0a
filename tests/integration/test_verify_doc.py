"""docs/verify.md's stdlib-only verifier, run as written: it accepts the mock's real
callbacks (a query string in the URL included), agrees with the independent `httpsig`
package and with `augnet_mock.verify`, and rejects tampering."""

from __future__ import annotations

import ast
import re
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from httpsig.verify import HeaderVerifier
from receiver import Receiver

from augnet_mock import SignatureError, verify
from augnet_mock.signing import http_date, signed_headers

DOC = Path(__file__).parents[2] / "docs" / "verify.md"
KEY = "verify-doc-key"
KEY_ID = "326488d2-f853-4dd6-8610-93f9011ac4e5"
SIGNED = ["(request-target)", "date", "digest", "host"]
BODY = b'{"SmsSid":"s","SmsStatus":"queued","MessageSid":"s"}'
TARGET = "/hooks/sms?tenant=7&note=a%20b"  # a query string, percent-encoding included
HOST = "receiver.example:8443"


def snippet() -> str:
    """The first Python block of docs/verify.md: the code users copy."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "docs/verify.md has no python block"
    return str(blocks[0])


@pytest.fixture(scope="module")
def doc() -> types.ModuleType:
    """The snippet executed as a module of its own, exactly as written."""
    module = types.ModuleType("augnet_verify_doc")
    exec(compile(snippet(), str(DOC), "exec"), module.__dict__)
    return module


def signed(
    *, body: bytes = BODY, target: str = TARGET, key: str = KEY, at: float | None = None
) -> dict[str, str]:
    """Callback headers from augnet_mock.signing's signer, the one the dispatcher uses."""
    date = http_date(time.time() if at is None else at)
    return signed_headers(body=body, url_host=HOST, path=target, date=date, key_id=KEY_ID, key=key)


def httpsig_accepts(headers: dict[str, str], target: str, key: str = KEY) -> bool:
    verifier = HeaderVerifier(
        headers=headers, secret=key, required_headers=SIGNED, method="POST", path=target
    )
    return bool(verifier.verify())


def test_snippet_needs_only_the_standard_library() -> None:
    """Every import in the snippet is a standard-library module."""
    tree = ast.parse(snippet())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported, "the snippet imports nothing?"
    assert {name.partition(".")[0] for name in imported} <= sys.stdlib_module_names


def test_snippet_accepts_real_callbacks_with_a_query_string(
    client: httpx2.Client, receiver: Receiver, doc: types.ModuleType
) -> None:
    """Callbacks the mock posts to a URL with a query string pass the snippet, httpsig and
    augnet_mock.verify, given the request target; the bare path does not."""
    made = client.post("/_mock/projects", json={"signingKey": KEY})
    assert made.status_code == 201, made.text
    project = made.json()
    sent = client.post(
        "/api/v2/message",
        auth=(project["projectId"], project["apiKey"]),
        json={"to": "+447700900123", "body": "hi", "statusCallback": receiver.url(TARGET)},
    )
    assert sent.status_code == 200, sent.text
    got = receiver.wait_for(3)
    assert [r.json()["SmsStatus"] for r in got] == ["queued", "sent", "delivered"]
    for r in got:
        assert r.path == TARGET  # http.server's path is the request target as received
        doc.verify_callback(r.method, r.path, r.headers, r.body, KEY, key_id=project["projectId"])
        assert httpsig_accepts(r.headers, r.path)
        verify(method=r.method, path=r.path, headers=r.headers, body=r.body, key=KEY)
        bare = r.path.partition("?")[0]
        with pytest.raises(doc.InvalidCallback, match="signature does not match"):
            doc.verify_callback(r.method, bare, r.headers, r.body, KEY)


def test_snippet_accepts_what_the_signer_signs(doc: types.ModuleType) -> None:
    """Headers from augnet_mock.signing verify, with the right keyId, with str or bytes keys."""
    headers = signed()
    doc.verify_callback("POST", TARGET, headers, BODY, KEY, key_id=KEY_ID)
    doc.verify_callback("POST", TARGET, headers, BODY, KEY.encode())
    with pytest.raises(doc.InvalidCallback, match="keyId"):
        doc.verify_callback("POST", TARGET, headers, BODY, KEY, key_id="another-project")


def _other_host(h: dict[str, str]) -> dict[str, str]:
    return h | {"Host": "elsewhere.example"}


def _other_date(h: dict[str, str]) -> dict[str, str]:
    return h | {"Date": http_date(time.time() - 5)}


def _cut_signature(h: dict[str, str]) -> dict[str, str]:
    return h | {"Authorization": h["Authorization"].replace('signature="', 'signature="A')}


CASES: list[tuple[str, Callable[[dict[str, str]], dict[str, str]], str, str]] = [
    # name, change to the signed headers, target, key the receiver holds
    ("genuine", dict, TARGET, KEY),
    ("wrong key", dict, TARGET, "not-the-key"),
    ("other query", dict, "/hooks/sms?tenant=8&note=a%20b", KEY),
    ("other host", _other_host, TARGET, KEY),
    ("other date", _other_date, TARGET, KEY),
    ("cut signature", _cut_signature, TARGET, KEY),
]


@pytest.mark.parametrize(
    ("change", "target", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_snippet_agrees_with_httpsig(
    doc: types.ModuleType, change: Callable[[dict[str, str]], dict[str, str]], target: str, key: str
) -> None:
    """On signatures, the snippet's verdict is the independent httpsig package's."""
    headers = change(signed())
    try:
        doc.verify_callback("POST", target, headers, BODY, key)
    except doc.InvalidCallback:
        accepted = False
    else:
        accepted = True
    assert accepted == httpsig_accepts(headers, target, key)


TAMPERED: list[tuple[str, dict[str, Any], str]] = [
    # name, verify_callback arguments that differ from the genuine ones, expected message
    ("tampered body", {"body": BODY.replace(b"queued", b"delivered")}, "digest does not match"),
    ("wrong key", {"key": "not-the-key"}, "signature does not match"),
    ("stale date", {"headers": signed(at=time.time() - 600)}, "too far from this machine"),
    ("future date", {"headers": signed(at=time.time() + 600)}, "too far from this machine"),
    ("unsigned", {"headers": signed(key="")}, "missing authorization"),
]


@pytest.mark.parametrize(
    ("changed", "message"), [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED]
)
def test_snippet_rejects_tampering(
    doc: types.ModuleType, changed: dict[str, Any], message: str
) -> None:
    """A changed body, a wrong key, a Date over 300 s off or no signature is rejected, with
    a message saying which check failed; augnet_mock.verify rejects the same."""
    arguments: dict[str, Any] = {"headers": signed(), "body": BODY, "key": KEY} | changed
    with pytest.raises(doc.InvalidCallback, match=message):
        doc.verify_callback(
            "POST", TARGET, arguments["headers"], arguments["body"], arguments["key"]
        )
    with pytest.raises(SignatureError):
        verify(method="POST", path=TARGET, **arguments)


def test_snippet_allows_a_date_within_the_skew(doc: types.ModuleType) -> None:
    """A callback dated 290 s ago or ahead still verifies (clocks drift; retries re-date)."""
    for offset in (-290, 290):
        at = time.time() + offset
        doc.verify_callback("POST", TARGET, signed(at=at), BODY, KEY, now=time.time())
