"""POST /api/v2/message on the real server: auth, validation, recording."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from augnet_mock.models import (
    DEFAULT_API_KEY,
    DEFAULT_FALLBACK_SENDER,
    DEFAULT_PROJECT_ID,
)
from augnet_mock.server import LiveServer

DEFAULT_AUTH = (DEFAULT_PROJECT_ID, DEFAULT_API_KEY)

SEED_AUTH = (
    "Basic MzI2NDg4ZDItZjg1My00ZGQ2LTg2MTAtOTNmOTAxMWFjNGU1"
    "OmQ0dUdwa2lQeG5tOEM2eWVaRUlLU2o2QXNBY3MtVzFz"
)
SEED_BODY = {
    "body": "Your Taxi will arrive in 2 minutes registration ABC123",
    "from": "ABCTAXI",
    "statusCallback": "https://hooks.zapier.com/hooks/catch/7128601/o5rp4yj/",
    "to": "+447515650839",
}


def auth(project: dict[str, Any]) -> tuple[str, str]:
    return (project["projectId"], project["apiKey"])


def test_seed_curl_example_succeeds(client: httpx2.Client) -> None:
    """The provider document's own request, header for header, gets a version-1 UUID sid."""
    response = client.post(
        "/api/v2/message",
        headers={"Authorization": SEED_AUTH, "Content-Type": "application/json"},
        json=SEED_BODY,
    )
    assert response.status_code == 200, response.text
    sid = response.json()["sid"]
    assert list(response.json()) == ["sid"]
    assert uuid.UUID(sid).version == 1
    message = client.get(f"/_mock/messages/{sid}").json()
    assert message["projectId"] == DEFAULT_PROJECT_ID
    assert message["requestedFrom"] == "ABCTAXI"
    assert message["from"] == DEFAULT_FALLBACK_SENDER
    assert message["segments"] == 1
    assert message["encoding"] == "GSM-7"
    assert message["timeline"][0]["status"] == "queued"
    assert message["api"] == "rest"  # the way it came in


def test_whitelisted_sender_is_kept(client: httpx2.Client) -> None:
    """A sender on the project's whitelist goes out as requested."""
    project = client.post("/_mock/projects", json={"senders": ["ABCTAXI"]}).json()
    sid = client.post(
        "/api/v2/message",
        auth=auth(project),
        json={"to": "+447515650839", "body": "hi", "from": "ABCTAXI"},
    ).json()["sid"]
    message = client.get(f"/_mock/messages/{sid}").json()
    assert message["from"] == "ABCTAXI"
    assert message["requestedFrom"] == "ABCTAXI"


def test_basic_header_built_by_hand(client: httpx2.Client, project: dict[str, Any]) -> None:
    """-H 'Authorization: Basic base64(id:key)' works like -u."""
    token = base64.b64encode(f"{project['projectId']}:{project['apiKey']}".encode()).decode()
    response = client.post(
        "/api/v2/message",
        headers={"Authorization": f"Basic {token}"},
        json={"to": "+447515650839", "body": "hello"},
    )
    assert response.status_code == 200


def wait_final(client: httpx2.Client, sid: str, timeout: float = 5.0) -> dict[str, Any]:
    """The message once its lifecycle has finished (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = client.get(f"/_mock/messages/{sid}").json()
        if message["status"] in ("delivered", "undelivered", "failed"):
            return message
        assert time.monotonic() < deadline, f"message {sid} stuck in {message['status']}"
        time.sleep(0.01)


def send(client: httpx2.Client, project: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Send, expect 200, and return the recorded message."""
    payload = {"to": "+447515650839", "body": "hello"} | fields
    response = client.post("/api/v2/message", auth=auth(project), json=payload)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["sid"]
    message: dict[str, Any] = client.get(f"/_mock/messages/{response.json()['sid']}").json()
    return message


def test_sids_are_unique_version_1_uuids(client: httpx2.Client, project: dict[str, Any]) -> None:
    """Every accepted send gets its own time-based (version 1) UUID."""
    sids = [send(client, project)["sid"] for _ in range(20)]
    assert len(set(sids)) == 20
    assert all(uuid.UUID(sid).version == 1 for sid in sids)


def test_long_gsm_body_is_three_gsm7_segments(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A 400-character GSM body is recorded as 3 GSM-7 parts of 153, 153 and 94."""
    body = ("The quick brown fox jumps over the lazy dog. " * 9)[:400]
    message = send(client, project, body=body)
    assert message["encoding"] == "GSM-7"
    assert message["segments"] == 3
    assert [len(p) for p in message["parts"]] == [153, 153, 94]
    assert "".join(message["parts"]) == body


def test_single_part_boundaries(client: httpx2.Client, project: dict[str, Any]) -> None:
    """160 GSM characters fit one part, 161 need two; 70 UCS-2 units fit one, 71 need two."""
    assert send(client, project, body="a" * 160)["segments"] == 1
    assert send(client, project, body="a" * 161)["segments"] == 2
    assert send(client, project, body="ж" * 70)["segments"] == 1
    assert send(client, project, body="ж" * 71)["segments"] == 2


def test_extension_characters_cost_two_septets(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """80 euro signs (160 septets) fit one GSM-7 part; 81 do not."""
    one = send(client, project, body="€" * 80)
    assert (one["encoding"], one["segments"]) == ("GSM-7", 1)
    two = send(client, project, body="€" * 81)
    assert (two["encoding"], two["segments"]) == ("GSM-7", 2)


def test_emoji_body_is_ucs2_with_parts(client: httpx2.Client, project: dict[str, Any]) -> None:
    """40 emoji (80 UTF-16 units) go as UCS-2 in 2 parts, no surrogate pair cut."""
    body = "😀" * 40
    message = send(client, project, body=body)
    assert message["encoding"] == "UCS-2"
    assert message["segments"] == 2
    assert message["parts"] == ["😀" * 33, "😀" * 7]
    assert message["body"] == body


def test_ten_segments_is_the_default_limit(client: httpx2.Client, project: dict[str, Any]) -> None:
    """A body needing exactly 10 parts is accepted; 11 is refused (see test_bad_input)."""
    message = send(client, project, body="a" * 1530)
    assert message["segments"] == 10


def test_max_segments_setting_is_honoured(make_server: Callable[..., LiveServer]) -> None:
    """With max_segments=2, two parts pass and three get 400 naming the limit."""
    live = make_server(max_segments=2)
    with httpx2.Client(base_url=live.url, trust_env=False, timeout=10) as c:
        ok = c.post(
            "/api/v2/message", auth=DEFAULT_AUTH, json={"to": "+447515650839", "body": "a" * 306}
        )
        assert ok.status_code == 200, ok.text
        assert c.get(f"/_mock/messages/{ok.json()['sid']}").json()["segments"] == 2
        over = c.post(
            "/api/v2/message", auth=DEFAULT_AUTH, json={"to": "+447515650839", "body": "a" * 307}
        )
        assert over.status_code == 400
        assert over.json()["message"] == "body: needs 3 GSM-7 segments; the limit is 2"


@pytest.mark.parametrize("to", ["+12345678", "+123456789012345", "+447515650839"])
def test_e164_length_boundaries_are_accepted(
    client: httpx2.Client, project: dict[str, Any], to: str
) -> None:
    """ "+" then 8 and 15 digits are both valid numbers."""
    assert send(client, project, to=to)["to"] == to


@pytest.mark.parametrize("sender", ["ABCDEFGHIJK", "My Shop", "12345", "+441743581416"])
def test_valid_senders_are_accepted(
    client: httpx2.Client, project: dict[str, Any], sender: str
) -> None:
    """An 11-character alphanumeric ID, a short code and a number are all valid `from`s."""
    message = send(client, project, **{"from": sender})
    assert message["requestedFrom"] == sender
    assert message["from"] == project["fallbackSender"]  # not whitelisted


def test_recorded_message_has_every_field(client: httpx2.Client, project: dict[str, Any]) -> None:
    """The recorded message carries what was sent and goes queued -> sent -> delivered."""
    message = send(
        client, project, body="Hi", statusCallback="http://127.0.0.1:9/hook", priority="high"
    )
    final = wait_final(client, message["sid"])
    assert final["statusCallback"] == "http://127.0.0.1:9/hook"
    assert final["projectId"] == project["projectId"]
    assert [step["status"] for step in final["timeline"]] == ["queued", "sent", "delivered"]
    assert "priority" not in final


def test_project_without_default_project(make_server: Callable[..., LiveServer]) -> None:
    """With default_project off, the provider's example credentials get 401."""
    live = make_server(default_project=False)
    with httpx2.Client(base_url=live.url, trust_env=False, timeout=10) as c:
        response = c.post(
            "/api/v2/message", auth=DEFAULT_AUTH, json={"to": "+447515650839", "body": "x"}
        )
        assert response.status_code == 401
        assert c.get("/_mock/projects").json() == {"projects": [], "nextCursor": None}
