"""Interoperability with a second, independent SMPP client: the npm `smpp` package.

tests/smpp_node/interop.js (the package pinned in package.json and package-lock.json)
binds as a transceiver, submits a long UCS-2 message as UDH parts, waits for its
delivery receipt and prints JSON. `make test` installs it (`npm ci`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx2
import pytest

from augnet_mock.server import LiveServer

NODE_DIR = Path(__file__).resolve().parents[1] / "smpp_node"
PACKAGE_DIR = NODE_DIR / "node_modules" / "smpp"
NODE_TIMEOUT_S = 40
TEXT = "Ваш водитель Анна прибудет через 3 минуты на синей Тойоте. " * 3  # 180 units: 3 parts


def run_client(port: int, project: dict[str, Any], destination: str) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; install Node.js to run the SMPP interop test")
    if not PACKAGE_DIR.is_dir():
        pytest.fail("the npm smpp package is not installed; run `npm ci --prefix tests/smpp_node`")
    login = project["smpp"]
    args = [str(port), login["systemId"], login["password"], destination, TEXT]
    proc = subprocess.run(
        ["node", str(NODE_DIR / "interop.js"), *args],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_npm_smpp_client_long_ucs2_message_and_receipt(
    server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """node-smpp binds, sends a 3-part UCS-2 message and parses its delivery receipt."""
    assert server.smpp_port is not None
    result = run_client(server.smpp_port, project, "447700900001")  # ends undelivered
    assert result["bind"] == 0
    assert [r["status"] for r in result["responses"]] == [0, 0, 0]
    sids = {r["messageId"] for r in result["responses"]}
    assert len(sids) == 1
    sid = sids.pop()
    message = client.get(f"/_mock/messages/{sid}").json()
    assert (message["body"], message["segments"], message["encoding"]) == (TEXT, 3, "UCS-2")
    assert message["api"] == "smpp"
    receipt = result["receipt"]
    assert receipt["esmClass"] == 0x04
    assert receipt["receiptedMessageId"] == sid
    assert receipt["messageState"] == 5  # UNDELIVERABLE
    assert receipt["text"].startswith(f"id:{sid} sub:001 dlvrd:000 ")
    assert " stat:UNDELIV err:003 " in receipt["text"]
