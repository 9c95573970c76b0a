"""Scenario rules on the real server: the control API, every effect, limits and chaos.

Rules added to the shared server always match on the test's own project, so they
cannot touch other tests; anything global (clear, chaos, manual clock, config
rules) runs on a dedicated server. Callback faults are checked at a real HTTP
receiver, against `augnet_mock.verify` and the independent `httpsig` verifier.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from httpsig.verify import HeaderVerifier
from receiver import Received, Receiver

from augnet_mock import verify
from augnet_mock.config import load_settings
from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, FINAL_STATUSES
from augnet_mock.server import LiveServer
from augnet_mock.signing import SIGNED_HEADERS, SignatureError

DEFAULT_AUTH = (DEFAULT_PROJECT_ID, DEFAULT_API_KEY)
TO = "+447515650839"
ERROR_KEYS = ["timestamp", "status", "error", "message", "path"]
WAIT = 5.0  # seconds any condition may take on the fast shared server

Project = dict[str, Any]
AddRule = Callable[[dict[str, Any]], dict[str, Any]]


def auth(project: Project) -> tuple[str, str]:
    return (project["projectId"], project["apiKey"])


def scoped(project: Project, effect: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A rule that only this test's project can trigger."""
    match = {"project": project["projectId"], **extra.pop("match", {})}
    return {"match": match, "effect": effect, **extra}


def send(client: httpx2.Client, project: Project, to: str = TO, **fields: Any) -> httpx2.Response:
    return client.post(
        "/api/v2/message", auth=auth(project), json={"to": to, "body": "hi"} | fields
    )


def send_ok(client: httpx2.Client, project: Project, to: str = TO, **fields: Any) -> str:
    response = send(client, project, to, **fields)
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


def wait_final(
    client: httpx2.Client, sid: str, *, callbacks: int = 0, timeout: float = WAIT
) -> dict[str, Any]:
    """The message once final with at least `callbacks` journalled attempts (bounded polling)."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = client.get(f"/_mock/messages/{sid}").json()
        if message["status"] in FINAL_STATUSES and len(message["callbacks"]) >= callbacks:
            return message
        if time.monotonic() > deadline:
            raise AssertionError(
                f"message {sid}: {message['status']}, {len(message['callbacks'])} callbacks"
                f" after {timeout} s"
            )
        time.sleep(0.01)


def rule_json(client: httpx2.Client, rule_id: str) -> dict[str, Any] | None:
    rules = client.get("/_mock/scenarios").json()["scenarios"]
    return next((r for r in rules if r["id"] == rule_id), None)


def hits(client: httpx2.Client, rule_id: str) -> int:
    rule = rule_json(client, rule_id)
    assert rule is not None, f"no rule {rule_id}"
    count: int = rule["hits"]
    return count


def rejected(client: httpx2.Client, project: Project) -> list[dict[str, Any]]:
    params = {"projectId": project["projectId"]}
    requests: list[dict[str, Any]] = client.get("/_mock/requests", params=params).json()["requests"]
    return requests


@pytest.fixture
def add_rule(client: httpx2.Client) -> Iterator[AddRule]:
    """POST a rule to the shared server; every rule added is deleted after the test."""
    added: list[str] = []

    def add(spec: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/_mock/scenarios", json=spec)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        added.append(created["id"])
        return created

    yield add
    for rule_id in added:
        client.delete(f"/_mock/scenarios/{rule_id}")  # 404 once a `times` rule expired


@pytest.fixture
def dedicated(make_server: Callable[..., LiveServer]) -> Iterator[Callable[..., httpx2.Client]]:
    """A client on a server of its own (closed with the test)."""
    clients: list[httpx2.Client] = []

    def start(**overrides: Any) -> httpx2.Client:
        live = make_server(**overrides)
        c = httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False)
        clients.append(c)
        return c

    yield start
    for c in clients:
        c.close()


# --- the control API -----------------------------------------------------------------


def test_add_list_delete_and_clear(dedicated: Callable[..., httpx2.Client]) -> None:
    """Rules are added (201, echoed), listed in order, deleted one by one, and cleared."""
    c = dedicated()
    first = c.post(
        "/_mock/scenarios", json={"name": "a", "effect": {"finalStatus": "failed"}}
    ).json()
    second = c.post(
        "/_mock/scenarios",
        json={"id": "b", "match": {"to": {"glob": "+44*"}}, "effect": {"sendDelay": 1}},
    )
    assert second.status_code == 201
    assert second.json()["match"] == {"to": {"glob": "+44*"}}
    assert second.json()["source"] == "api"
    assert second.json()["hits"] == 0
    listed = c.get("/_mock/scenarios").json()["scenarios"]
    assert [r["id"] for r in listed] == [first["id"], "b"]
    assert c.delete("/_mock/scenarios/b").status_code == 204
    missing = c.delete("/_mock/scenarios/b")
    assert missing.status_code == 404
    assert "'b'" in missing.json()["message"]
    assert c.delete("/_mock/scenarios").json() == {"deleted": 1}
    assert c.get("/_mock/scenarios").json() == {"scenarios": [], "nextCursor": None}


def test_duplicate_id_is_a_conflict(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """A second rule with an existing id gets 409 and the first stays as it was."""
    rule_id = f"dup-{project['projectId']}"
    add_rule(scoped(project, {"finalStatus": "failed"}, id=rule_id))
    again = client.post("/_mock/scenarios", json=scoped(project, {"sendDelay": 1}, id=rule_id))
    assert again.status_code == 409
    kept = rule_json(client, rule_id)
    assert kept is not None
    assert kept["effect"] == {"finalStatus": "failed"}


BAD_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown effect", {"effect": {"explode": True}}, "effect.explode"),
    ("bad regex", {"match": {"body": {"regex": "[a-"}}, "effect": {"sendDelay": 0}},
     "match.body.regex"),
    ("probability", {"effect": {"sendDelay": 1}, "probability": 1.01}, "probability"),
    ("negative probability", {"effect": {"sendDelay": 1}, "probability": -1}, "probability"),
    ("negative sendDelay", {"effect": {"sendDelay": -0.1}}, "effect.sendDelay"),
    ("negative deliveryDelay", {"effect": {"deliveryDelay": -5}}, "effect.deliveryDelay"),
    ("negative latency", {"effect": {"latency": {"min": -1, "max": 0}}}, "effect.latency.min"),
    ("status 399", {"effect": {"apiError": {"status": 399}}}, "effect.apiError.status"),
    ("status 600", {"effect": {"apiError": {"status": 600}}}, "effect.apiError.status"),
    ("unknown callback fault", {"effect": {"callback": {"slow": True}}}, "effect.callback.slow"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "field"), [(s, f) for _, s, f in BAD_RULES], ids=[n for n, _, _ in BAD_RULES]
)
def test_malformed_rule_is_400_naming_the_field_and_changes_nothing(
    client: httpx2.Client, project: Project, add_rule: AddRule, spec: dict[str, Any], field: str
) -> None:
    """A bad rule gets 400 in the error shape, its message starts with the field, rules stay."""
    add_rule(scoped(project, {"finalStatus": "failed"}))
    before = client.get("/_mock/scenarios").json()
    response = client.post("/_mock/scenarios", json=spec)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ERROR_KEYS
    assert body["message"].startswith(f"{field}: "), body["message"]
    assert body["path"] == "/_mock/scenarios"
    assert client.get("/_mock/scenarios").json() == before


def test_rule_body_must_be_a_json_object(client: httpx2.Client) -> None:
    """Not JSON is 415/400; a JSON array is 400 naming the rule."""
    not_json = client.post("/_mock/scenarios", content=b"x", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    array = client.post("/_mock/scenarios", json=[])
    assert array.status_code == 400
    assert array.json()["message"].startswith("rule: must be an object")


# --- API-side effects --------------------------------------------------------------


def test_api_error_answers_the_status_message_and_retry_after(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """apiError answers its status and message in the error shape, with Retry-After."""
    effect = {"apiError": {"status": 503, "message": "down for maintenance", "retryAfter": 7}}
    rule = add_rule(scoped(project, effect, name="maintenance"))
    response = send(client, project)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    body = response.json()
    assert list(body) == ERROR_KEYS
    assert body["status"] == 503
    assert body["error"] == "Service Unavailable"
    assert body["message"] == "down for maintenance"
    assert body["path"] == "/api/v2/message"
    assert client.get("/_mock/messages", params={"projectId": project["projectId"]}).json() == {
        "messages": [],
        "nextCursor": None,
    }
    [logged] = rejected(client, project)
    assert logged["status"] == 503
    assert logged["scenario"] == "maintenance"
    assert logged["error"]["message"] == "down for maintenance"
    assert hits(client, rule["id"]) == 1


def test_429_gets_retry_after_one_by_default(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """A 429 without retryAfter still carries Retry-After: 1; other statuses carry none."""
    add_rule(scoped(project, {"apiError": {"status": 429}}, match={"to": TO}))
    add_rule(scoped(project, {"apiError": {"status": 500}}))
    limited = send(client, project)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    failed = send(client, project, "+447515650830")
    assert failed.status_code == 500
    assert "retry-after" not in failed.headers


def test_latency_range_delays_the_answer_within_bounds(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """latency {min, max} holds each answer back at least min and not much past max."""
    add_rule(scoped(project, {"latency": {"min": 0.15, "max": 0.25}}, name="laggy"))
    for _ in range(3):
        started = time.perf_counter()
        sid = send_ok(client, project)
        elapsed = time.perf_counter() - started
        assert 0.15 <= elapsed < 0.25 + 0.5, elapsed
        assert client.get(f"/_mock/messages/{sid}").json()["scenario"] == "laggy"


def test_latency_also_holds_back_a_refusal(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """latency with apiError: the error answer comes only after the latency, and is logged."""
    add_rule(scoped(project, {"latency": 0.15, "apiError": {"status": 429}}, name="slow-no"))
    started = time.perf_counter()
    response = send(client, project)
    elapsed = time.perf_counter() - started
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert elapsed >= 0.15, elapsed
    [logged] = rejected(client, project)
    assert logged["error"] == response.json()
    assert logged["scenario"] == "slow-no"


def test_dropped_connection_is_a_transport_error(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """dropConnection closes the socket unanswered: the client sees a transport error."""
    rule = add_rule(scoped(project, {"dropConnection": True}))
    with pytest.raises(httpx2.TransportError):
        send(client, project)
    assert client.get("/_mock/messages", params={"projectId": project["projectId"]}).json() == {
        "messages": [],
        "nextCursor": None,
    }
    [logged] = rejected(client, project)
    assert logged["status"] is None
    assert logged["scenario"] == rule["id"]
    assert logged["error"]["error"] == "Connection dropped"
    assert hits(client, rule["id"]) == 1
    # The server is fine afterwards: a send the rule does not match gets its answer.
    other = client.post("/_mock/projects", json={}).json()
    assert send(client, other).status_code == 200


# --- message-side effects ---------------------------------------------------------------


def test_final_status_undelivered_with_error_code(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """finalStatus undelivered goes queued -> sent -> undelivered, with the error code."""
    add_rule(scoped(project, {"finalStatus": "undelivered", "errorCode": "30007"}, name="spam"))
    sid = send_ok(client, project, statusCallback=receiver.url())
    message = wait_final(client, sid)
    assert message["status"] == "undelivered"
    assert message["errorCode"] == "30007"
    assert [s["status"] for s in message["timeline"]] == ["queued", "sent", "undelivered"]
    assert message["timeline"][-1]["errorCode"] == "30007"
    assert message["scenario"] == "spam"
    statuses = [r.json()["MessageStatus"] for r in receiver.wait_for(3)]
    assert statuses == ["queued", "sent", "undelivered"]


def test_final_status_failed_skips_sent(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """finalStatus failed goes straight queued -> failed, with the error code."""
    add_rule(scoped(project, {"finalStatus": "failed", "errorCode": "30008"}))
    message = wait_final(client, send_ok(client, project))
    assert [s["status"] for s in message["timeline"]] == ["queued", "failed"]
    assert message["status"] == "failed"
    assert message["errorCode"] == "30008"


def test_send_and_delivery_delay_follow_the_manual_clock(
    dedicated: Callable[..., httpx2.Client],
) -> None:
    """sendDelay/deliveryDelay hold sent and delivered until the clock reaches them."""
    c = dedicated(clock="manual")
    c.post("/_mock/scenarios", json={"effect": {"sendDelay": 10, "deliveryDelay": 20}})
    sid = c.post("/api/v2/message", auth=DEFAULT_AUTH, json={"to": TO, "body": "x"}).json()["sid"]

    def advance_to(seconds: float) -> str:
        assert c.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200
        status: str = c.get(f"/_mock/messages/{sid}").json()["status"]
        return status

    assert [advance_to(s) for s in (9.9, 0.1, 19.9, 0.1)] == ["queued", "sent", "sent", "delivered"]
    timeline = c.get(f"/_mock/messages/{sid}").json()["timeline"]
    at = [parsedate_iso(step["at"]) for step in timeline]
    assert [round(b - a, 3) for a, b in itertools.pairwise(at)] == [10.0, 20.0]


def parsedate_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- limits, matching, precedence, labels ------------------------------------------


def test_times_two_fails_exactly_two_sends_then_expires(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """Under times=2 exactly two sends fail, the third succeeds, and the rule is gone."""
    rule = add_rule(scoped(project, {"apiError": {"status": 500}}, times=2))
    assert rule["remaining"] == 2
    codes = [send(client, project).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert rule_json(client, rule["id"]) is None


def test_match_on_project_from_and_body(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """Rules match on project, from (glob) and body (regex); near misses are untouched."""
    other = client.post("/_mock/projects", json={}).json()
    add_rule(scoped(project, {"apiError": {"status": 418}}, match={"from": {"glob": "TAXI*"}}))
    add_rule(
        scoped(project, {"apiError": {"status": 451}}, match={"body": {"regex": r"^OTP \d+$"}})
    )
    assert send(client, project, **{"from": "TAXI1"}).status_code == 418
    assert send(client, project, **{"from": "ATAXI"}).status_code == 200
    assert send(client, project, body="OTP 1234").status_code == 451
    assert send(client, project, body="OTP 1234!").status_code == 200
    # Another project sending the very same request is not affected.
    assert send(client, other, **{"from": "TAXI1"}).status_code == 200
    assert send(client, other, body="OTP 1234").status_code == 200


def test_first_matching_rule_wins(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """When two rules match, only the first one added applies."""
    first = add_rule(scoped(project, {"finalStatus": "failed"}, name="first"))
    second = add_rule(scoped(project, {"apiError": {"status": 500}}, name="second"))
    message = wait_final(client, send_ok(client, project))
    assert message["status"] == "failed"
    assert message["scenario"] == "first"
    assert hits(client, first["id"]) == 1
    assert hits(client, second["id"]) == 0


def test_message_records_rule_name_or_id_and_hits_count(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """message.scenario is the rule's name, or its id without one; no rule gives null."""
    named = add_rule(scoped(project, {"sendDelay": 0}, name="named", match={"to": TO}))
    unnamed = add_rule(scoped(project, {"sendDelay": 0}, match={"to": "+447515650830"}))
    for _ in range(2):
        sid = send_ok(client, project)
        assert client.get(f"/_mock/messages/{sid}").json()["scenario"] == "named"
    sid = send_ok(client, project, "+447515650830")
    assert client.get(f"/_mock/messages/{sid}").json()["scenario"] == unnamed["id"]
    sid = send_ok(client, project, "+447515650831")
    assert client.get(f"/_mock/messages/{sid}").json()["scenario"] is None
    assert hits(client, named["id"]) == 2
    assert hits(client, unnamed["id"]) == 1


def test_invalid_request_fires_no_rule(
    client: httpx2.Client, project: Project, add_rule: AddRule
) -> None:
    """A request rejected by validation is logged with scenario null and counts no hit."""
    rule = add_rule(scoped(project, {"apiError": {"status": 503}}))
    response = send(client, project, to="12345")
    assert response.status_code == 400
    [logged] = rejected(client, project)
    assert logged["scenario"] is None
    assert hits(client, rule["id"]) == 0


CONFIG = """
[server]
seed = 11

[[scenarios]]
name = "twice-down"
times = 2
match = { to = "+447515650839" }
effect = { apiError = { status = 503, message = "configured outage" } }

[[scenarios]]
id = "late"
match = { body = { glob = "*late*" } }
effect = { finalStatus = "undelivered", errorCode = "30003" }
"""


def test_config_file_rules_load_at_startup_and_come_back_on_reset(
    tmp_path: Path, dedicated: Callable[..., httpx2.Client]
) -> None:
    """[[scenarios]] from TOML are live at startup (source config) and reset restores them."""
    path = tmp_path / "mock.toml"
    path.write_text(CONFIG)
    settings = load_settings(config_path=str(path))
    c = dedicated(scenarios=settings.scenarios, seed=settings.seed)
    listed = c.get("/_mock/scenarios").json()["scenarios"]
    assert [(r["name"] or r["id"], r["source"]) for r in listed] == [
        ("twice-down", "config"),
        ("late", "config"),
    ]

    def codes() -> list[int]:
        return [
            c.post("/api/v2/message", auth=DEFAULT_AUTH, json={"to": TO, "body": "x"}).status_code
            for _ in range(3)
        ]

    assert codes() == [503, 503, 200]
    c.post("/_mock/scenarios", json={"id": "extra", "effect": {"sendDelay": 0}})
    assert c.post("/_mock/reset").status_code == 200
    restored = c.get("/_mock/scenarios").json()["scenarios"]
    assert [(r["name"] or r["id"]) for r in restored] == ["twice-down", "late"]
    assert codes() == [503, 503, 200]  # the times counter starts afresh
    sid = c.post(
        "/api/v2/message", auth=DEFAULT_AUTH, json={"to": "+447515650830", "body": "too late"}
    ).json()["sid"]
    message = wait_final(c, sid)
    assert message["status"] == "undelivered"
    assert message["scenario"] == "late"


# --- callback faults, seen at a real receiver -------------------------------------------


def statuses(requests: list[Received]) -> list[str]:
    return [r.json()["MessageStatus"] for r in requests]


def httpsig_accepts(r: Received, key: str) -> bool:
    verifier = HeaderVerifier(
        headers=r.headers,
        secret=key.encode(),
        required_headers=list(SIGNED_HEADERS),
        method="POST",
        path=r.path,
    )
    return bool(verifier.verify())


def b64sha256(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def fault_run(
    client: httpx2.Client,
    project: Project,
    add_rule: AddRule,
    receiver: Receiver,
    callback: dict[str, Any],
    expected: int,
) -> tuple[dict[str, Any], list[Received]]:
    """Send one message under a callback fault; its final record and what the receiver got."""
    add_rule(scoped(project, {"callback": callback}, name="faulty"))
    sid = send_ok(client, project, statusCallback=receiver.url())
    got = receiver.wait_for(expected)
    # The journal entry is written once the receiver has answered, so wait for it too.
    message = wait_final(client, sid, callbacks=expected)
    assert message["scenario"] == "faulty"
    return message, got


def test_clean_callback_passes_both_verifiers(
    client: httpx2.Client, project: Project, receiver: Receiver
) -> None:
    """Control case: without a fault, ours and httpsig accept every callback."""
    send_ok(client, project, statusCallback=receiver.url())
    for r in receiver.wait_for(3):
        verify(
            method="POST", path=r.path, headers=r.headers, body=r.body, key=project["signingKey"]
        )
        assert httpsig_accepts(r, project["signingKey"])
        assert r.headers["Digest"] == b64sha256(r.body)


def test_duplicate_posts_each_status_twice(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """duplicate: the receiver gets every status twice, still in order."""
    message, got = fault_run(client, project, add_rule, receiver, {"duplicate": True}, 6)
    assert statuses(got) == ["queued", "queued", "sent", "sent", "delivered", "delivered"]
    assert len(message["callbacks"]) == 6


def test_reorder_posts_delivered_before_queued(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """reorder: callbacks arrive last-first while the timeline keeps the true order."""
    message, got = fault_run(client, project, add_rule, receiver, {"reorder": True}, 3)
    assert statuses(got) == ["delivered", "sent", "queued"]
    assert [s["status"] for s in message["timeline"]] == ["queued", "sent", "delivered"]


def test_drop_never_posts_that_status(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """drop sent: the receiver never sees sent (it got delivered, which comes after)."""
    message, got = fault_run(client, project, add_rule, receiver, {"drop": ["sent"]}, 2)
    assert statuses(got) == ["queued", "delivered"]
    assert [s["status"] for s in message["timeline"]] == ["queued", "sent", "delivered"]
    assert [a["status"] for a in message["callbacks"]] == ["queued", "delivered"]


def test_reorder_with_the_final_status_dropped_still_posts_the_rest(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """reorder + drop delivered: the held statuses are still posted, last-first."""
    callback = {"reorder": True, "drop": "delivered"}
    _, got = fault_run(client, project, add_rule, receiver, callback, 2)
    assert statuses(got) == ["sent", "queued"]


def test_bad_signature_is_rejected_by_both_verifiers(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """badSignature: Digest and Date are right, yet verify and httpsig reject the signature."""
    message, got = fault_run(client, project, add_rule, receiver, {"badSignature": True}, 3)
    key = project["signingKey"]
    for r in got:
        assert r.headers["Digest"] == b64sha256(r.body)
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(method="POST", path=r.path, headers=r.headers, body=r.body, key=key)
        assert not httpsig_accepts(r, key)
    assert {a["fault"] for a in message["callbacks"]} == {"badSignature"}


def test_stale_date_fails_the_skew_check_only(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """staleDate: Date is about an hour old; verify rejects on skew though the signature holds."""
    _, got = fault_run(client, project, add_rule, receiver, {"staleDate": True}, 3)
    key = project["signingKey"]
    for r in got:
        age = r.at - parsedate_to_datetime(r.headers["Date"]).timestamp()
        assert 3600 - 60 < age < 3600 + 60, age
        with pytest.raises(SignatureError, match="skew"):
            verify(method="POST", path=r.path, headers=r.headers, body=r.body, key=key)
        verify(method="POST", path=r.path, headers=r.headers, body=r.body, key=key, max_skew=None)
        assert httpsig_accepts(r, key)


def test_wrong_digest_does_not_match_the_body(
    client: httpx2.Client, project: Project, add_rule: AddRule, receiver: Receiver
) -> None:
    """wrongDigest: Digest is not sha256 of the received bytes, so verify rejects it."""
    _, got = fault_run(client, project, add_rule, receiver, {"wrongDigest": True}, 3)
    key = project["signingKey"]
    for r in got:
        assert r.headers["Digest"].startswith("SHA-256=")
        assert r.headers["Digest"] != b64sha256(r.body)
        with pytest.raises(SignatureError, match="digest does not match"):
            verify(method="POST", path=r.path, headers=r.headers, body=r.body, key=key)
        assert httpsig_accepts(r, key)  # signed over the wrong digest: only the body check sees it


def test_never_acknowledged_uses_every_attempt(
    dedicated: Callable[..., httpx2.Client], receiver: Receiver
) -> None:
    """neverAcknowledged: the receiver answers 200, yet each status is tried callback_attempts
    times and then given up (nothing is left scheduled)."""
    c = dedicated(clock="manual", callback_attempts=3, callback_backoff=0.5)
    c.post("/_mock/scenarios", json={"effect": {"callback": {"neverAcknowledged": True}}})
    body = {"to": TO, "body": "x", "statusCallback": receiver.url()}
    sid = c.post("/api/v2/message", auth=DEFAULT_AUTH, json=body).json()["sid"]
    clock = c.post("/_mock/clock/advance", json={"seconds": 60}).json()
    assert clock["pending"] == 0
    assert statuses(receiver.requests) == ["queued"] * 3 + ["sent"] * 3 + ["delivered"] * 3
    journal = c.get("/_mock/callbacks", params={"sid": sid}).json()["callbacks"]
    assert [(a["status"], a["attempt"]) for a in journal] == [
        (s, n) for s in ("queued", "sent", "delivered") for n in (1, 2, 3)
    ]
    assert {(a["responseStatus"], a["fault"]) for a in journal} == {(200, "neverAcknowledged")}


# --- seeded chaos --------------------------------------------------------------------


def chaos_run(c: httpx2.Client, sends: int = 40) -> list[tuple[int, str | None]]:
    """(status code, final status or None) for `sends` sends, in order."""
    codes: list[tuple[int, str | None]] = []
    for i in range(sends):
        r = c.post("/api/v2/message", auth=DEFAULT_AUTH, json={"to": TO, "body": f"n{i}"})
        codes.append((r.status_code, r.json().get("sid")))
    finals = {sid: wait_final(c, sid)["status"] for _, sid in codes if sid}
    return [(code, finals[sid] if sid else None) for code, sid in codes]


def test_seeded_chaos_repeats_for_the_same_seed_only(
    dedicated: Callable[..., httpx2.Client],
) -> None:
    """The same seed gives the same chaos outcomes twice (and after reset); another seed differs."""
    chaos = {"chaos_api_errors": 0.3, "chaos_undelivered": 0.3}
    a = dedicated(seed=1234, **chaos)
    first = chaos_run(a)
    assert chaos_run(dedicated(seed=1234, **chaos)) == first
    assert chaos_run(dedicated(seed=4321, **chaos)) != first
    a.post("/_mock/reset")
    assert chaos_run(a) == first
    # It is really chaos: outages, undelivered and delivered messages all occur.
    assert {(503, None), (200, "undelivered"), (200, "delivered")} <= set(first)
    assert not {code for code, _ in first} - {200, 503}
    rejected_log = a.get("/_mock/requests").json()["requests"]
    assert {r["scenario"] for r in rejected_log} == {"chaos:api-error"}
    undelivered = a.get("/_mock/messages", params={"status": "undelivered"}).json()["messages"]
    assert {(m["scenario"], m["errorCode"]) for m in undelivered} == {
        ("chaos:undelivered", "30003")
    }
