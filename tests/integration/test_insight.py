"""What the mock tells about a send on the real server: the advisor's culprits, the
price and usage ledger, and unknown fields (warnings, or 400 in strict mode)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from augnet_mock.server import LiveServer

TO = "+447515650839"


def auth(project: dict[str, Any]) -> tuple[str, str]:
    return (project["projectId"], project["apiKey"])


def send(client: httpx2.Client, project: dict[str, Any], **fields: Any) -> httpx2.Response:
    return client.post("/api/v2/message", auth=auth(project), json={"to": TO} | fields)


def new_project(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/_mock/projects", json=fields)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


# -- the encoding advisor ---------------------------------------------------------------


def test_record_names_the_characters_that_forced_ucs2(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A UCS-2 record carries each culprit, its code point, position and replacement."""
    body = "It’s here – gate 4" + "." * 60
    sid = send(client, project, body=body).json()["sid"]
    message = client.get(f"/_mock/messages/{sid}").json()
    assert (message["encoding"], message["segments"]) == ("UCS-2", 2)
    advice = message["advice"]
    assert [
        (c["char"], c["codePoint"], c["position"], c["replacement"]) for c in advice["culprits"]
    ] == [
        ("’", "U+2019", 2, "'"),
        ("–", "U+2013", 10, "-"),
    ]
    assert advice["fixedBody"] == "It's here - gate 4" + "." * 60
    assert (advice["fixedEncoding"], advice["fixedSegments"]) == ("GSM-7", 1)
    assert advice["summary"] == "2 parts \u2192 1 part with 2 replacements"


def test_gsm7_record_has_no_advice(client: httpx2.Client, project: dict[str, Any]) -> None:
    """A GSM-7 message has nothing to advise: advice is null."""
    sid = send(client, project, body="plain {text} €5").json()["sid"]
    assert client.get(f"/_mock/messages/{sid}").json()["advice"] is None


# -- the cost ledger ---------------------------------------------------------------------


def test_record_carries_its_price_from_the_default_table(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A 2-part message to +44 costs 2 x 0.04 with the documented default table."""
    sid = send(client, project, body="x" * 200).json()["sid"]
    message = client.get(f"/_mock/messages/{sid}").json()
    assert message["segments"] == 2
    assert message["price"] == 0.08


def test_project_price_table_replaces_the_servers(client: httpx2.Client) -> None:
    """A project's own table prices its messages, by prefix and encoding."""
    project = new_project(client, prices={"*": 1, "+44": {"GSM-7": 0.02, "UCS-2": 0.03}})
    assert project["prices"] == {"*": 1.0, "+44": {"GSM-7": 0.02, "UCS-2": 0.03}}
    gsm = send(client, project, body="hello").json()["sid"]
    ucs = send(client, project, body="hello’").json()["sid"]
    other = client.post(
        "/api/v2/message", auth=auth(project), json={"to": "+33612345678", "body": "hi"}
    ).json()["sid"]
    prices = [client.get(f"/_mock/messages/{sid}").json()["price"] for sid in (gsm, ucs, other)]
    assert prices == [0.02, 0.03, 1.0]


def test_usage_sums_parts_and_cost_per_project_and_window(client: httpx2.Client) -> None:
    """GET /_mock/usage sums messages, parts and cost per project, within [since, until)."""
    a = new_project(client, prices={"*": 0.1})
    b = new_project(client, prices={"*": 0.5})
    send(client, a, body="x" * 200)  # 2 parts
    send(client, a, body="y")  # 1 part
    first_b = send(client, b, body="z").json()["sid"]
    created = client.get(f"/_mock/messages/{first_b}").json()["createdAt"]
    usage = client.get("/_mock/usage", params={"projectId": a["projectId"]}).json()
    assert usage["projects"] == [
        {"projectId": a["projectId"], "messages": 2, "parts": 3, "cost": 0.3}
    ]
    assert usage["total"] == {"messages": 2, "parts": 3, "cost": 0.3}
    both = client.get("/_mock/usage", params={"since": created}).json()
    by_project = {p["projectId"]: p for p in both["projects"]}
    assert by_project[b["projectId"]] == {
        "projectId": b["projectId"],
        "messages": 1,
        "parts": 1,
        "cost": 0.5,
    }
    before = client.get(
        "/_mock/usage", params={"projectId": b["projectId"], "until": created}
    ).json()
    assert before["total"] == {"messages": 0, "parts": 0, "cost": 0.0}


def test_usage_window_must_be_a_timestamp(client: httpx2.Client) -> None:
    """A window bound that is not ISO-8601 gets a 400 naming it."""
    response = client.get("/_mock/usage", params={"until": "yesterday"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("until: must be an ISO-8601 timestamp")


def test_server_price_table_from_settings(make_server: Any) -> None:
    """The server's `prices` option prices every project without a table of its own."""
    from augnet_mock.pricing import parse_prices

    live: LiveServer = make_server(prices=parse_prices("prices", {"*": 2}))
    with httpx2.Client(base_url=live.url, trust_env=False) as c:
        project = new_project(c)
        sid = send(c, project, body="x" * 161).json()["sid"]
        assert c.get(f"/_mock/messages/{sid}").json()["price"] == 4.0


def test_bad_project_prices_get_400(client: httpx2.Client) -> None:
    """A bad price table is refused with a 400 naming the key; nothing is created."""
    response = client.post("/_mock/projects", json={"prices": {"+44": -1}})
    assert response.status_code == 400
    assert response.json()["message"] == "prices.+44: must be between 0 and 1000"


# -- unknown fields, strict mode ---------------------------------------------------------


def test_unknown_field_is_accepted_with_a_warning(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """statusCallBack is ignored, as Augnet does, but the answer, record and log say so."""
    response = send(client, project, body="hi", statusCallBack="http://127.0.0.1:9/")
    assert response.status_code == 200
    warning = 'unknown field "statusCallBack" ignored; did you mean "statusCallback"?'
    assert response.headers.get_list("augnet-mock-warning") == [warning]
    sid = response.json()["sid"]
    message = client.get(f"/_mock/messages/{sid}").json()
    assert message["warnings"] == [warning]
    assert message["statusCallback"] is None
    logged = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()
    assert [(r["status"], r["sid"], r["warnings"], r["error"]) for r in logged["requests"]] == [
        (200, sid, [warning], None)
    ]


def test_known_fields_only_draw_no_warning(client: httpx2.Client, project: dict[str, Any]) -> None:
    """A clean send has no warning header, no warnings and no log entry."""
    response = send(client, project, body="hi")
    assert "augnet-mock-warning" not in response.headers
    assert client.get(f"/_mock/messages/{response.json()['sid']}").json()["warnings"] == []
    logged = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()
    assert logged["requests"] == []


def test_strict_project_refuses_unknown_fields(client: httpx2.Client) -> None:
    """With strict on, the typo is a 400 naming the field and the suggestion; nothing sent."""
    project = new_project(client, strict=True)
    response = send(client, project, body="hi", From="ABCTAXI")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["message"].startswith('From: unknown field; did you mean "from"?')
    assert (
        client.get("/_mock/messages", params={"projectId": project["projectId"]}).json()["messages"]
        == []
    )
    logged = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()
    (entry,) = logged["requests"]
    assert entry["status"] == 400
    assert entry["warnings"] == ['unknown field "From" ignored; did you mean "from"?']


def test_strict_server_with_project_opt_out(make_server: Any) -> None:
    """--strict refuses on every project, except one that sets strict: false."""
    live: LiveServer = make_server(strict=True)
    with httpx2.Client(base_url=live.url, trust_env=False) as c:
        strict = new_project(c)
        relaxed = new_project(c, strict=False)
        assert send(c, strict, body="hi", callback_url="http://x.test/").status_code == 400
        assert send(c, relaxed, body="hi", callback_url="http://x.test/").status_code == 200


def test_missing_field_error_mentions_the_ignored_lookalike(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """`to: is required` says that a `To` was sent and ignored."""
    response = client.post("/api/v2/message", auth=auth(project), json={"To": TO, "body": "x"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        'to: is required (unknown field "To" ignored; did you mean "to"?)'
    )


@pytest.mark.parametrize("value", ["yes", 1])
def test_project_strict_must_be_boolean(client: httpx2.Client, value: object) -> None:
    """A project's strict is true, false or null; anything else is a 400 naming it."""
    response = client.post("/_mock/projects", json={"strict": value})
    assert response.status_code == 400
    assert response.json()["message"].startswith("strict: must be true, false or null")


@pytest.mark.parametrize("value", [None, "no", 0])
def test_project_callback_to_must_be_boolean(client: httpx2.Client, value: object) -> None:
    """callbackTo is true or false (left out: true); anything else is a 400 naming it."""
    response = client.post("/_mock/projects", json={"callbackTo": value})
    assert response.status_code == 400
    assert response.json()["message"].startswith("callbackTo: must be true or false")
