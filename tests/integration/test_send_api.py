"""POST /api/v2/message on the real server: auth, validation, recording."""

from __future__ import annotations

import base64
from typing import Any

import httpx2

from augnet_mock.models import DEFAULT_FALLBACK_SENDER, DEFAULT_PROJECT_ID

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
    import uuid

    assert uuid.UUID(sid).version == 1
    message = client.get(f"/_mock/messages/{sid}").json()
    assert message["projectId"] == DEFAULT_PROJECT_ID
    assert message["requestedFrom"] == "ABCTAXI"
    assert message["from"] == DEFAULT_FALLBACK_SENDER
    assert message["segments"] == 1 and message["encoding"] == "GSM-7"
    assert message["timeline"][0]["status"] == "queued"


def test_whitelisted_sender_is_kept(client: httpx2.Client) -> None:
    """A sender on the project's whitelist goes out as requested."""
    project = client.post("/_mock/projects", json={"senders": ["ABCTAXI"]}).json()
    sid = client.post(
        "/api/v2/message",
        auth=auth(project),
        json={"to": "+447515650839", "body": "hi", "from": "ABCTAXI"},
    ).json()["sid"]
    message = client.get(f"/_mock/messages/{sid}").json()
    assert message["from"] == "ABCTAXI" and message["requestedFrom"] == "ABCTAXI"


def test_basic_header_built_by_hand(client: httpx2.Client, project: dict[str, Any]) -> None:
    """-H 'Authorization: Basic base64(id:key)' works like -u."""
    token = base64.b64encode(f"{project['projectId']}:{project['apiKey']}".encode()).decode()
    response = client.post(
        "/api/v2/message",
        headers={"Authorization": f"Basic {token}"},
        json={"to": "+447515650839", "body": "hello"},
    )
    assert response.status_code == 200
