"""The control API under /_mock on a real server: projects, messages, requests, reset,
health and retention (SPEC §2.1, §2.1.1).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import httpx2
import pytest

from augnet_mock import __version__
from augnet_mock.models import (
    DEFAULT_API_KEY,
    DEFAULT_FALLBACK_SENDER,
    DEFAULT_PROJECT_ID,
    DEFAULT_SIGNING_KEY,
)
from augnet_mock.server import LiveServer

SEND = "/api/v2/message"
ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}
DEFAULT_AUTH = (DEFAULT_PROJECT_ID, DEFAULT_API_KEY)
MESSAGE_FIELDS = {
    "sid",
    "projectId",
    "to",
    "from",
    "requestedFrom",
    "body",
    "encoding",
    "segments",
    "parts",
    "status",
    "statusCallback",
    "timeline",
    "callbacks",
    "scenario",
    "createdAt",
}
PROJECT_FIELDS = {
    "projectId",
    "apiKey",
    "signingKey",
    "senders",
    "fallbackSender",
    "webhookUrl",
    "inboundWebhookUrl",
    "smpp",
}


def auth(project: dict[str, Any]) -> tuple[str, str]:
    return (project["projectId"], project["apiKey"])


def new_project(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/_mock/projects", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def send(client: httpx2.Client, project: dict[str, Any] | tuple[str, str], **fields: Any) -> str:
    credentials = project if isinstance(project, tuple) else auth(project)
    payload = {"to": "+447515650839", "body": "hello"} | fields
    response = client.post(SEND, auth=credentials, json=payload)
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


def wait_final(client: httpx2.Client, sid: str, timeout: float = 5.0) -> dict[str, Any]:
    """The message once its lifecycle has finished (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = client.get(f"/_mock/messages/{sid}").json()
        if message["status"] in ("delivered", "undelivered", "failed"):
            return message
        assert time.monotonic() < deadline, f"message {sid} stuck in {message['status']}"
        time.sleep(0.01)


def listed(client: httpx2.Client, **params: str) -> list[str]:
    """The sids GET /_mock/messages returns for these filters."""
    response = client.get("/_mock/messages", params=params)
    assert response.status_code == 200, response.text
    return [m["sid"] for m in response.json()["messages"]]


def check_error(response: httpx2.Response, status: int, path: str, *words: str) -> str:
    """Assert the documented error shape; return the message."""
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert error["status"] == status
    assert error["error"] == HTTPStatus(status).phrase
    assert error["path"] == path
    for word in words:
        assert word in error["message"], (word, error["message"])
    message: str = error["message"]
    return message


@pytest.fixture
def own_client(make_server: Callable[..., LiveServer]) -> Iterator[httpx2.Client]:
    """A client on a dedicated server, for tests that clear or reset everything."""
    live = make_server()
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as c:
        yield c


# -- health -----------------------------------------------------------------------------


def test_health(client: httpx2.Client) -> None:
    """GET /_mock/health answers ok with the version, clock mode and message count."""
    response = client.get("/_mock/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["version"] == __version__
    assert health["clock"] == "real"
    assert isinstance(health["messages"], int)


# -- projects ---------------------------------------------------------------------------


def test_create_project_generates_credentials(client: httpx2.Client) -> None:
    """An empty body creates a project with generated id, key, signing key and SMPP login."""
    first = client.post("/_mock/projects")  # no body at all
    assert first.status_code == 201, first.text
    second = new_project(client)
    for project in (first.json(), second):
        assert set(project) >= PROJECT_FIELDS
        assert uuid.UUID(project["projectId"])
        assert len(project["apiKey"]) >= 20
        assert project["signingKey"]
        assert project["senders"] == []
        assert project["fallbackSender"] == DEFAULT_FALLBACK_SENDER
        assert project["webhookUrl"] is None
        assert 1 <= len(project["smpp"]["systemId"]) <= 15
        assert 1 <= len(project["smpp"]["password"]) <= 8
    assert first.json()["projectId"] != second["projectId"]
    assert first.json()["apiKey"] != second["apiKey"]
    send(client, second)  # the generated credentials authenticate


def test_create_project_with_given_fields(client: httpx2.Client) -> None:
    """Every given field is kept and echoed back; the credentials work for sends."""
    fields = {
        "projectId": f"shop-{uuid.uuid4().hex[:8]}",
        "apiKey": "shop-secret-key",
        "signingKey": "shop-signing-key",
        "senders": ["SHOP", "+441234567890"],
        "fallbackSender": "INFO",
        "webhookUrl": "http://127.0.0.1:9/status",
        "inboundWebhookUrl": "http://127.0.0.1:9/inbound",
        "smpp": {"systemId": "shop_system_id1", "password": "pass1234"},
    }
    project = new_project(client, **fields)
    for key, value in fields.items():
        assert project[key] == value, key
    assert client.get(f"/_mock/projects/{fields['projectId']}").json() == project
    kept = client.get(f"/_mock/messages/{send(client, project, **{'from': 'SHOP'})}").json()
    assert kept["from"] == "SHOP"
    other = client.get(f"/_mock/messages/{send(client, project, **{'from': 'OTHER'})}").json()
    assert other["from"] == "INFO"
    assert other["requestedFrom"] == "OTHER"


def test_null_signing_key_means_unsigned(client: httpx2.Client) -> None:
    """signingKey null gives a project with no signing key."""
    assert new_project(client, signingKey=None)["signingKey"] is None


def test_duplicate_project_is_409(client: httpx2.Client) -> None:
    """Creating a project whose id exists gets 409 and leaves the first one alone."""
    project_id = f"dup-{uuid.uuid4().hex[:8]}"
    first = new_project(client, projectId=project_id, apiKey="first")
    response = client.post("/_mock/projects", json={"projectId": project_id, "apiKey": "second"})
    check_error(response, 409, "/_mock/projects", project_id, "already exists")
    assert client.get(f"/_mock/projects/{project_id}").json() == first


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ({"webhookUrl": "ftp://example.com/x"}, "webhookUrl", "http(s) URL"),
        ({"webhookUrl": "/relative"}, "webhookUrl", "http(s) URL"),
        ({"inboundWebhookUrl": 5}, "inboundWebhookUrl", "must be a string"),
        ({"smpp": {"systemId": "a" * 16}}, "smpp.systemId", "1 to 15"),
        ({"smpp": {"systemId": ""}}, "smpp.systemId", "1 to 15"),
        ({"smpp": {"password": "123456789"}}, "smpp.password", "1 to 8"),
        ({"smpp": {"password": 1234}}, "smpp.password", "must be a string"),
        ({"smpp": {"systemType": "x"}}, "smpp.systemType", "unknown key"),
        ({"smpp": "x"}, "smpp", "must be an object"),
        ({"bogus": 1}, "bogus", "unknown key"),
        ({"projectId": "has space"}, "projectId", "letters, digits"),
        ({"projectId": "a" * 65}, "projectId", "1 to 64"),
        ({"projectId": 5}, "projectId", "must be a string"),
        ({"apiKey": ""}, "apiKey", "must not be empty"),
        ({"signingKey": ["x"]}, "signingKey", "must be a string"),
        ({"senders": "SHOP"}, "senders", "must be an array"),
        ({"senders": ["TWELVECHARSX"]}, "senders[0]", "at most 11"),
        ({"senders": ["OK", 7]}, "senders[1]", "must be a string"),
        ({"fallbackSender": "TWELVECHARSX"}, "fallbackSender", "at most 11"),
        ({"sendDelay": -1}, "sendDelay", "between 0 and 86400"),
        ({"deliveryDelay": "1"}, "deliveryDelay", "must be a number"),
        ({"\ud83d": 1}, "\\ud83d", "unknown key"),
    ],
)
def test_bad_project_field_is_400_naming_it(
    client: httpx2.Client, body: dict[str, Any], field: str, why: str
) -> None:
    """A bad or unknown project field gets 400 whose message starts with the field."""
    before = len(client.get("/_mock/projects").json()["projects"])
    # json.dumps, not json=: ASCII escapes let the lone surrogate case travel as \ud83d.
    response = client.post(
        "/_mock/projects", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    message = check_error(response, 400, "/_mock/projects", why)
    assert message.startswith(f"{field}: "), message
    assert len(client.get("/_mock/projects").json()["projects"]) == before


@pytest.mark.parametrize(
    ("content", "headers", "status", "words"),
    [
        (b"{", {"Content-Type": "application/json"}, 400, ("malformed JSON",)),
        (b"[]", {"Content-Type": "application/json"}, 400, ("must be an object",)),
        (b"{}", {"Content-Type": "text/plain"}, 415, ("application/json",)),
    ],
    ids=["malformed", "array", "text/plain"],
)
def test_bad_project_body(
    client: httpx2.Client, content: bytes, headers: dict[str, str], status: int, words: Any
) -> None:
    """Bad JSON is 400, JSON that is not an object is 400, and non-JSON is 415."""
    response = client.post("/_mock/projects", content=content, headers=headers)
    check_error(response, status, "/_mock/projects", *words)


def test_list_and_get_projects(client: httpx2.Client) -> None:
    """The list (wrapped in {"projects": [...]}) holds the default project and new ones."""
    project = new_project(client)
    listing = client.get("/_mock/projects").json()
    assert list(listing) == ["projects", "nextCursor"]
    by_id = {p["projectId"]: p for p in listing["projects"]}
    assert by_id[project["projectId"]] == project
    default = by_id[DEFAULT_PROJECT_ID]
    assert default["apiKey"] == DEFAULT_API_KEY
    assert default["signingKey"] == DEFAULT_SIGNING_KEY
    assert default["fallbackSender"] == DEFAULT_FALLBACK_SENDER
    assert default["senders"] == []
    assert client.get(f"/_mock/projects/{DEFAULT_PROJECT_ID}").json() == default
    check_error(client.get("/_mock/projects/no-such"), 404, "/_mock/projects/no-such", "no-such")


def test_delete_project_takes_its_messages(client: httpx2.Client) -> None:
    """Deleting a project removes it and its messages; afterwards it is 404 and 401."""
    doomed = new_project(client)
    other = new_project(client)
    doomed_sids = [send(client, doomed), send(client, doomed)]
    kept = send(client, other)
    response = client.delete(f"/_mock/projects/{doomed['projectId']}")
    assert response.status_code == 204
    path = f"/_mock/projects/{doomed['projectId']}"
    check_error(client.get(path), 404, path)
    check_error(client.delete(path), 404, path)
    for sid in doomed_sids:
        assert client.get(f"/_mock/messages/{sid}").status_code == 404
    assert listed(client, projectId=doomed["projectId"]) == []
    assert listed(client, projectId=other["projectId"]) == [kept]
    assert doomed["projectId"] not in {
        p["projectId"] for p in client.get("/_mock/projects").json()["projects"]
    }
    denied = client.post(SEND, auth=auth(doomed), json={"to": "+447515650839", "body": "x"})
    assert denied.status_code == 401


# -- messages ---------------------------------------------------------------------------


def test_message_has_every_documented_field(client: httpx2.Client) -> None:
    """GET /_mock/messages/{sid} has every SPEC §2.1.1 field, filled in."""
    project = new_project(client, senders=["SHOP"])
    sid = send(
        client,
        project,
        body="x" * 200,
        **{"from": "SHOP", "statusCallback": "http://127.0.0.1:9/cb"},
    )
    message = wait_final(client, sid)
    assert set(message) >= MESSAGE_FIELDS
    assert message["sid"] == sid
    assert message["projectId"] == project["projectId"]
    assert message["to"] == "+447515650839"
    assert message["from"] == "SHOP"
    assert message["requestedFrom"] == "SHOP"
    assert message["body"] == "x" * 200
    assert message["encoding"] == "GSM-7"
    assert message["segments"] == 2
    assert message["parts"] == ["x" * 153, "x" * 47]
    assert message["status"] == "delivered"
    assert message["statusCallback"] == "http://127.0.0.1:9/cb"
    assert [step["status"] for step in message["timeline"]] == ["queued", "sent", "delivered"]
    assert all(datetime.fromisoformat(step["at"]).tzinfo for step in message["timeline"])
    assert isinstance(message["callbacks"], list)
    assert message["scenario"] is None
    assert datetime.fromisoformat(message["createdAt"]).tzinfo is not None
    assert message["createdAt"] == message["timeline"][0]["at"]
    check_error(client.get("/_mock/messages/nope"), 404, "/_mock/messages/nope", "nope")


def test_message_names_the_scenario_that_fired(client: httpx2.Client) -> None:
    """A message a built-in magic number touched records that rule in `scenario`."""
    project = new_project(client)
    message = wait_final(client, send(client, project, to="+447700900001"))
    assert message["status"] == "undelivered"
    assert message["scenario"] == "builtin:+447700900001"


@pytest.fixture
def spread(client: httpx2.Client) -> dict[str, Any]:
    """Two projects; P has three finished messages (different to/from/status), Q one."""
    p = new_project(client, senders=["ABCTAXI"])
    q = new_project(client)
    m1 = wait_final(client, send(client, p, to="+447515650839", **{"from": "ABCTAXI"}))
    m2 = wait_final(client, send(client, p, to="+447700900001"))  # built-in: undelivered
    m3 = wait_final(client, send(client, p, to="+12025550123"))
    mq = wait_final(client, send(client, q, to="+447515650839", **{"from": "ABCTAXI"}))
    return {"p": p, "q": q, "m1": m1, "m2": m2, "m3": m3, "mq": mq}


def test_message_filters(client: httpx2.Client, spread: dict[str, Any]) -> None:
    """projectId, to, from, status and since each narrow the list, and they combine."""
    p = spread["p"]["projectId"]
    m1, m2, m3, mq = (spread[k]["sid"] for k in ("m1", "m2", "m3", "mq"))
    assert listed(client, projectId=p) == [m1, m2, m3]
    assert listed(client, projectId=spread["q"]["projectId"]) == [mq]
    assert listed(client, projectId=p, to="+447515650839") == [m1]
    assert listed(client, projectId=p, to="+447700900001") == [m2]
    assert listed(client, projectId=p, **{"from": "ABCTAXI"}) == [m1]
    assert listed(client, projectId=p, **{"from": DEFAULT_FALLBACK_SENDER}) == [m2, m3]
    assert listed(client, projectId=p, status="delivered") == [m1, m3]
    assert listed(client, projectId=p, status="undelivered") == [m2]
    assert listed(client, projectId=p, status="queued") == []
    # Without projectId, `to` reaches across projects.
    assert {m1, mq} <= set(listed(client, to="+447515650839"))
    assert m2 not in listed(client, to="+447515650839")
    assert listed(client, projectId="no-such-project") == []


def test_since_filter(client: httpx2.Client, spread: dict[str, Any]) -> None:
    """since is an inclusive ISO-8601 instant; a createdAt finds its own message."""
    p = spread["p"]["projectId"]
    m1, m2, m3 = (spread[k] for k in ("m1", "m2", "m3"))
    assert listed(client, projectId=p, since=m2["createdAt"]) == [m2["sid"], m3["sid"]]
    assert listed(client, projectId=p, since=m1["createdAt"]) == [m1["sid"], m2["sid"], m3["sid"]]
    created = datetime.fromisoformat(m3["createdAt"])
    later = (created + timedelta(seconds=1)).isoformat()
    assert listed(client, projectId=p, since=later) == []
    # The same instant in another zone means the same thing.
    shifted = created.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    assert listed(client, projectId=p, since=shifted) == [m3["sid"]]
    plus_one = (created.replace(tzinfo=None) + timedelta(hours=1)).isoformat() + "+01:00"
    assert listed(client, projectId=p, since=plus_one) == [m3["sid"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no zone: ambiguous
        ({"since": ""}, "since"),
        ({"status": "sending"}, "status"),
        ({"status": "DELIVERED"}, "status"),
    ],
)
def test_bad_filter_is_400(client: httpx2.Client, params: dict[str, str], field: str) -> None:
    """A bad since or status filter gets 400 naming it."""
    response = client.get("/_mock/messages", params=params)
    message = check_error(response, 400, "/_mock/messages")
    assert message.startswith(f"{field}: "), message


def test_clear_messages_of_one_project(client: httpx2.Client, spread: dict[str, Any]) -> None:
    """DELETE /_mock/messages?projectId= clears only that project's messages."""
    response = client.delete("/_mock/messages", params={"projectId": spread["p"]["projectId"]})
    assert response.status_code == 200
    assert response.json() == {"deleted": 3}
    assert listed(client, projectId=spread["p"]["projectId"]) == []
    assert listed(client, projectId=spread["q"]["projectId"]) == [spread["mq"]["sid"]]
    assert client.get(f"/_mock/messages/{spread['m1']['sid']}").status_code == 404
    # The project itself stays and can send again.
    send(client, spread["p"])


def test_clear_all_messages(own_client: httpx2.Client) -> None:
    """DELETE /_mock/messages with no filter clears every project's messages."""
    project = new_project(own_client)
    send(own_client, project)
    send(own_client, DEFAULT_AUTH)
    response = own_client.delete("/_mock/messages")
    assert response.json() == {"deleted": 2}
    assert own_client.get("/_mock/messages").json() == {"messages": [], "nextCursor": None}
    assert own_client.get("/_mock/health").json()["messages"] == 0
    assert own_client.get(f"/_mock/projects/{project['projectId']}").status_code == 200


# -- rejected requests ------------------------------------------------------------------


def test_requests_log_holds_rejections(client: httpx2.Client) -> None:
    """GET /_mock/requests lists rejected sends with the error returned, by project."""
    project = new_project(client)
    bad = client.post(SEND, auth=auth(project), json={"to": "0044", "body": "x"})
    assert bad.status_code == 400
    denied = client.post(SEND, auth=("nobody", "x"), json={"to": "+447515650839", "body": "x"})
    assert denied.status_code == 401
    mine = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()
    assert list(mine) == ["requests", "nextCursor"]
    (entry,) = mine["requests"]
    assert entry["method"] == "POST"
    assert entry["path"] == SEND
    assert entry["status"] == 400
    assert entry["error"] == bad.json()
    assert entry["projectId"] == project["projectId"]
    assert entry["scenario"] is None
    assert '"0044"' in entry["body"]
    assert datetime.fromisoformat(entry["at"]).tzinfo is not None
    everyone = client.get("/_mock/requests", params={"order": "newest"}).json()["requests"]
    assert any(r["error"] == denied.json() and r["projectId"] is None for r in everyone)


def test_requests_log_names_the_scenario(client: httpx2.Client) -> None:
    """A send refused by a scenario rule is logged with that rule's name."""
    project = new_project(client)
    response = client.post(SEND, auth=auth(project), json={"to": "+447700900429", "body": "x"})
    assert response.status_code == 429
    (entry,) = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()[
        "requests"
    ]
    assert entry["scenario"] == "builtin:+447700900429"
    assert entry["error"] == response.json()


# -- reset ------------------------------------------------------------------------------


def test_reset_restores_startup_state(own_client: httpx2.Client) -> None:
    """POST /_mock/reset: only the default project, no messages, rejections or scenarios."""
    c = own_client
    startup = c.get("/_mock/projects").json()
    project = new_project(c)
    send(c, project)
    send(c, DEFAULT_AUTH)
    c.post(SEND, auth=auth(project), json={})
    scenario = c.post("/_mock/scenarios", json={"effect": {"finalStatus": "failed"}})
    assert scenario.status_code == 201, scenario.text

    response = c.post("/_mock/reset")
    assert response.status_code == 200
    assert c.get("/_mock/projects").json() == startup
    assert [p["projectId"] for p in startup["projects"]] == [DEFAULT_PROJECT_ID]
    assert c.get("/_mock/messages").json() == {"messages": [], "nextCursor": None}
    assert c.get("/_mock/requests").json() == {"requests": [], "nextCursor": None}
    assert c.get("/_mock/scenarios").json() == {"scenarios": [], "nextCursor": None}
    assert c.get(f"/_mock/projects/{project['projectId']}").status_code == 404
    assert c.get("/_mock/health").json()["messages"] == 0
    # The default project still sends, and nothing from before the reset leaks in.
    sid = send(c, DEFAULT_AUTH)
    assert wait_final(c, sid)["status"] == "delivered"
    assert [m["sid"] for m in c.get("/_mock/messages").json()["messages"]] == [sid]


# -- retention --------------------------------------------------------------------------


def test_retention_keeps_the_newest(make_server: Callable[..., LiveServer]) -> None:
    """With max_messages=5, after 8 sends the 5 newest remain; the oldest went first."""
    live = make_server(max_messages=5)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as c:
        sids = [send(c, DEFAULT_AUTH, body=f"message {i}") for i in range(8)]
        remaining = c.get("/_mock/messages").json()["messages"]
        assert [m["sid"] for m in remaining] == sids[3:]
        assert [m["body"] for m in remaining] == [f"message {i}" for i in range(3, 8)]
        for sid in sids[:3]:
            assert c.get(f"/_mock/messages/{sid}").status_code == 404
        assert c.get("/_mock/health").json()["messages"] == 5
        # Evicted messages' lifecycles finish quietly: newer ones still reach delivered.
        assert wait_final(c, sids[-1])["status"] == "delivered"
        assert c.get("/_mock/health").json()["messages"] == 5


# -- routing ----------------------------------------------------------------------------


def test_unknown_path_and_method_use_the_error_shape(client: httpx2.Client) -> None:
    """A 404 for an unknown path and a 405 for a wrong method come in the error shape."""
    check_error(client.get("/_mock/nothing-here"), 404, "/_mock/nothing-here")
    check_error(client.put("/_mock/projects", json={}), 405, "/_mock/projects")
    check_error(client.get(SEND), 405, SEND)
