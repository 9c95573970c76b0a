"""The web inbox at GET / in real headless Chromium, against the real server.

One browser per module; each test gets a fresh page and its own project, and
filters the inbox to that project, so tests stay isolated on the shared server.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import smpplib.client
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from receiver import Receiver

from augnet_mock.models import DEFAULT_FALLBACK_SENDER
from augnet_mock.server import LiveServer

CHROMIUM = os.environ.get("AUGNET_MOCK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WEB_DIR = Path(__file__).parents[2] / "augnet_mock" / "web"
ARTIFACTS = Path(__file__).parents[2] / ".artifacts"
HOSTILE = "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"
TIMEOUT_MS = 5_000


def auth(project: dict[str, Any]) -> tuple[str, str]:
    return (project["projectId"], project["apiKey"])


def unique_number() -> str:
    """A fresh E.164 number, so a scenario on it touches no other test's sends."""
    return "+4475" + str(uuid.uuid4().int)[:9]


def send(client: httpx2.Client, project: dict[str, Any], body: str = "hello", **extra: Any) -> str:
    payload = {"to": "+447515650839", "body": body, **extra}
    response = client.post("/api/v2/message", auth=auth(project), json=payload)
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set AUGNET_MOCK_CHROMIUM)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@contextmanager
def open_page(browser: Browser, *, width: int = 1280, height: int = 800) -> Iterator[Page]:
    """A fresh page; fails the test if the page's own script throws."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with open_page(browser) as p:
        yield p


def open_inbox(page: Page, base_url: str, project_id: str | None = None) -> None:
    """Load the inbox, wait for the SSE stream and narrow it to one project."""
    page.goto(base_url + "/")
    page.wait_for_selector("body[data-ready='yes']")
    page.wait_for_selector("#live[data-state='live']")
    if project_id is not None:
        page.select_option("#project-filter", project_id)
        expect(page.locator("#messages > li")).to_have_count(0)


def row(page: Page, sid: str) -> Locator:
    return page.locator(f"#messages li[data-sid='{sid}']")


def open_message(page: Page, sid: str) -> None:
    row(page, sid).locator("button").click()
    expect(page.locator("#detail-body .facts")).to_contain_text(sid)


# -- without a browser ---------------------------------------------------------------


def test_page_is_served_self_contained(client: httpx2.Client) -> None:
    """GET / serves the page with a strict CSP, and no file it loads points off the server."""
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        if ref.startswith("#"):
            continue
        assert ref.startswith("/static/"), ref
        assert client.get(ref).status_code == 200, ref
    for path in WEB_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        # An SVG's xmlns is a namespace name, not something that is fetched.
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|//[a-z0-9-]+\.[a-z]", text, re.I), path.name


def test_demo_endpoint_sends_varied_traffic(client: httpx2.Client, project: dict[str, Any]) -> None:
    """POST /_mock/demo sends realistic messages: multi-part and UCS-2 among any seven."""
    pid = project["projectId"]
    response = client.post("/_mock/demo", json={"count": 7, "projectId": pid})
    assert response.status_code == 200, response.text
    assert len(response.json()["sent"]) + response.json()["rejected"] == 7
    messages = client.get("/_mock/messages", params={"projectId": pid}).json()["messages"]
    assert len(messages) == 7
    assert any(m["encoding"] == "UCS-2" for m in messages)
    assert any(m["encoding"] == "GSM-7" and m["segments"] > 1 for m in messages)
    assert all(sum(m["units"]) > 0 and len(m["units"]) == m["segments"] for m in messages)
    assert {m["api"] for m in messages} == {"demo"}


def test_demo_traffic_obeys_scenarios(client: httpx2.Client, project: dict[str, Any]) -> None:
    """Demo sends meet the scenarios like API sends: an API-error rule rejects and logs them."""
    pid = project["projectId"]
    rule = client.post(
        "/_mock/scenarios",
        json={"match": {"project": pid}, "effect": {"apiError": {"status": 503}}, "times": 2},
    ).json()
    try:
        response = client.post("/_mock/demo", json={"count": 3, "projectId": pid})
    finally:
        client.delete(f"/_mock/scenarios/{rule['id']}")
    assert response.json()["rejected"] == 2
    assert len(response.json()["sent"]) == 1
    rejected = client.get("/_mock/requests", params={"projectId": pid}).json()["requests"]
    assert [(r["status"], r["path"], r["scenario"]) for r in rejected] == [
        (503, "/_mock/demo", rule["id"])
    ] * 2


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"count": 0}, 400, "count: must be between 1 and 100"),
        ({"count": 101}, 400, "count: must be between 1 and 100"),
        ({"count": "5"}, 400, "count: must be an integer"),
        ({"count": 1, "projectId": "no-such-project"}, 404, "no project 'no-such-project'"),
    ],
)
def test_demo_endpoint_rejects_bad_requests(
    client: httpx2.Client, body: dict[str, Any], status: int, fragment: str
) -> None:
    """The demo count is bounded (1..100) and the project must exist."""
    response = client.post("/_mock/demo", json=body)
    assert response.status_code == status
    assert fragment in response.json()["message"]


# -- in the browser ------------------------------------------------------------------


def test_message_appears_live_without_reload(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A message sent through the API shows up in the open inbox via SSE, with no reload."""
    open_inbox(page, server.url, project["projectId"])
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#clock")).to_be_hidden()  # a real clock has no controls
    sid = send(client, project, "Your code is 123456")
    expect(row(page, sid)).to_contain_text("Your code is 123456")
    expect(row(page, sid).locator(".badge")).to_have_text("delivered")
    assert page.evaluate("window.__sameDocument") is True


def test_detail_shows_senders_and_three_segments(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A 400-character GSM body opens as 3 marked parts of 153/153/94 septets."""
    open_inbox(page, server.url, project["projectId"])
    body = ("Meet at the north gate at 10. " * 14)[:400]
    sid = send(client, project, body, **{"from": "ABCTAXI"})
    open_message(page, sid)
    detail = page.locator("#detail")
    parts = detail.locator(".parts > li")
    expect(parts).to_have_count(3)
    assert [parts.nth(i).get_attribute("data-units") for i in range(3)] == ["153", "153", "94"]
    expect(parts.nth(0)).to_contain_text("Part 1 of 3")
    expect(parts.nth(2)).to_contain_text("94 / 153 septets")
    expect(detail).to_contain_text("GSM-7: 400 septets in 3 parts")
    expect(detail.locator("h3", has_text="Segments")).to_have_text("Segments: 3 billed")
    facts = detail.locator(".facts")
    expect(facts).to_contain_text("Requested senderABCTAXI")
    expect(facts).to_contain_text(f"Effective sender{DEFAULT_FALLBACK_SENDER}")
    expect(detail.locator(".timeline li")).to_have_count(3)


def test_signed_callback_headers_are_shown(
    page: Page,
    server: LiveServer,
    client: httpx2.Client,
    project: dict[str, Any],
    receiver: Receiver,
) -> None:
    """Each callback attempt lists its headers (the Signature included) and the answer."""
    open_inbox(page, server.url, project["projectId"])
    receiver.answers.extend([503])  # the first attempt fails, then it is retried
    sid = send(client, project, "signed", statusCallback=receiver.url("/hook"))
    received = receiver.wait_for(4)
    open_message(page, sid)
    attempts = page.locator("#detail .attempt")
    expect(attempts).to_have_count(4)
    expect(attempts.nth(0)).to_contain_text("answered 503")
    expect(attempts.nth(1)).to_contain_text("answered 200")
    signature = received[0].headers["Authorization"]
    assert signature.startswith(f'Signature keyId="{project["projectId"]}"')
    header_row = attempts.nth(0).locator("tr", has=page.locator("th", has_text="Authorization"))
    expect(header_row.locator("td")).to_have_text(signature)
    expect(attempts.nth(0)).to_contain_text("Digest")


def test_scenario_added_on_page_fails_next_send(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A scenario added from the page makes the API answer 500; removing it restores 200."""
    open_inbox(page, server.url, project["projectId"])
    number = unique_number()
    name = f"ui-{uuid.uuid4().hex[:8]}"
    page.fill("#sc-name", name)
    page.select_option("#sc-field", "to")
    page.select_option("#sc-kind", "regex")
    page.fill("#sc-pattern", "(")
    page.click("#scenario-form button[type=submit]")
    expect(page.locator("#scenario-result")).to_contain_text("400: match.to.regex")

    page.select_option("#sc-kind", "exact")
    page.fill("#sc-pattern", number)
    page.select_option("#sc-effect", "apiError")
    page.fill("#sc-status", "500")
    page.fill("#sc-message", "boom from the page")
    page.click("#scenario-form button[type=submit]")
    item = page.locator("#scenarios li", has_text=name)
    expect(item).to_contain_text(f"to = {number}")
    try:
        failed = client.post(
            "/api/v2/message", auth=auth(project), json={"to": number, "body": "hi"}
        )
        assert failed.status_code == 500
        assert failed.json()["message"] == "boom from the page"
        expect(page.locator("#rejected")).to_contain_text("boom from the page")
    finally:
        item.get_by_role("button", name=f"Remove scenario {name}").click()
        expect(item).to_have_count(0)
    ok = client.post("/api/v2/message", auth=auth(project), json={"to": number, "body": "hi"})
    assert ok.status_code == 200


def test_hostile_body_is_shown_as_text(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A body holding HTML and script renders as literal text and never runs."""
    open_inbox(page, server.url, project["projectId"])
    sid = send(client, project, HOSTILE)
    expect(row(page, sid).locator(".preview")).to_have_text(HOSTILE)
    open_message(page, sid)
    expect(page.locator("#detail pre.body")).to_have_text(HOSTILE)
    expect(page.locator("#detail .part-text")).to_have_text(HOSTILE)
    assert page.locator("#messages img, #messages script, #detail img, #detail script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_keyboard_tabs_to_a_row_and_opens_it(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """Tab reaches a message row, Enter opens it, and focus moves to the detail heading."""
    open_inbox(page, server.url, project["projectId"])
    sid = send(client, project, "keyboard")
    expect(row(page, sid)).to_have_count(1)
    page.focus("#project-filter")
    for _ in range(30):  # bounded: the row is a few stops after the filter
        page.keyboard.press("Tab")
        focused_sid = page.evaluate(
            "document.activeElement.closest('li[data-sid]')?.dataset.sid ?? null"
        )
        if focused_sid == sid:
            break
    else:
        pytest.fail("Tab never reached the message row")
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text("Message to +447515650839")
    expect(page.locator("#detail-title")).to_be_focused()
    expect(page.locator("#detail .facts")).to_contain_text(sid)


def test_send_form_and_demo_button(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """The send form posts with the project's credentials; the demo button makes traffic."""
    open_inbox(page, server.url, project["projectId"])
    expect(page.locator("#send-project")).to_have_value(project["projectId"])
    page.fill("#send-to", "07700900123")
    page.click("#send-form button[type=submit]")
    expect(page.locator("#send-result")).to_contain_text("Rejected: 400: to: must be an E.164")
    page.fill("#send-to", "+447700900123")
    page.fill("#send-body", "from the form")
    page.click("#send-form button[type=submit]")
    expect(page.locator("#send-result")).to_contain_text("Sent: ")
    expect(page.locator("#messages > li")).to_have_count(1)

    page.fill("#demo-count", "7")
    page.click("#demo-form button[type=submit]")
    expect(page.locator("#demo-result")).to_contain_text("Sent 7 messages")
    expect(page.locator("#messages > li")).to_have_count(8)
    expect(page.locator("#messages")).to_contain_text("UCS-2")
    stored = client.get("/_mock/messages", params={"projectId": project["projectId"]}).json()
    assert len(stored["messages"]) == 8


def test_clear_button_clears_only_the_filtered_project(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """With a project chosen, Clear empties that project's messages and no one else's."""
    other = client.post("/_mock/projects", json={}).json()
    send(client, other, "keep me")
    open_inbox(page, server.url, project["projectId"])
    send(client, project, "one")
    send(client, project, "two")
    expect(page.locator("#messages > li")).to_have_count(2)
    page.get_by_role("button", name="Clear this project's messages").click()
    expect(page.locator("#messages > li")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    mine = client.get("/_mock/messages", params={"projectId": project["projectId"]}).json()
    theirs = client.get("/_mock/messages", params={"projectId": other["projectId"]}).json()
    assert mine["messages"] == []
    assert len(theirs["messages"]) == 1


def test_manual_clock_controls_advance_time(
    browser: Browser, make_server: Callable[..., LiveServer]
) -> None:
    """With a manual clock the page shows clock controls, and Advance moves messages on."""
    live = make_server(clock="manual")
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as client:
        project = client.post("/_mock/projects", json={}).json()
        with open_page(browser) as page:
            open_inbox(page, live.url, project["projectId"])
            expect(page.locator("#clock")).to_be_visible()
            sid = send(client, project, "tick")
            expect(row(page, sid).locator(".badge")).to_have_text("queued")
            pending = client.get("/_mock/clock").json()["pending"]
            assert pending > 0
            expect(page.locator("#clock-pending")).to_have_text(str(pending))
            page.fill("#advance-seconds", "1")
            page.get_by_role("button", name="Advance").click()
            expect(page.locator("#clock-result")).to_have_text(re.compile(r"^ran \d+ jobs?$"))
            expect(row(page, sid).locator(".badge")).to_have_text("delivered")
            expect(page.locator("#clock-pending")).to_have_text("0")


def test_inbox_with_admin_token(browser: Browser, make_server: Callable[..., LiveServer]) -> None:
    """With an admin token the inbox opens once through /?token=: the token leaves the
    address bar, and the cookie carries the page's fetches, live stream and actions."""
    token = "inbox-t0ken"
    live = make_server(admin_token=token)
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False, headers=bearer) as client:
        project = client.post("/_mock/projects", json={}).json()
        with open_page(browser) as page:
            refused = page.goto(live.url + "/")
            assert refused is not None
            assert refused.status == 401
            page.goto(f"{live.url}/?token={token}")
            page.wait_for_selector("body[data-ready='yes']")
            page.wait_for_selector("#live[data-state='live']")  # EventSource, by cookie
            assert page.url == live.url + "/"
            page.select_option("#project-filter", project["projectId"])
            sid = send(client, project, "behind a token")
            expect(row(page, sid)).to_be_visible()  # arrived over the event stream
            page.fill("#demo-count", "2")
            page.click("#demo-form button[type=submit]")  # a same-origin POST
            expect(page.locator("#demo-result")).to_contain_text("Sent 2 messages")
            expect(page.locator("#messages > li")).to_have_count(3)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_layout_fits_and_screenshots(
    browser: Browser,
    server: LiveServer,
    client: httpx2.Client,
    project: dict[str, Any],
    receiver: Receiver,
    width: int,
    height: int,
) -> None:
    """At 1280 px and 390 px nothing overflows sideways; screenshots go to .artifacts/."""
    sids = [
        send(client, project, "Your Taxi will arrive in 2 minutes registration ABC123"),
        send(client, project, "Happy birthday! 🎂 Here is 20% off your next order ✨ " * 2),
        send(
            client,
            project,
            ("Dear customer, your appointment is confirmed for Monday at 10:20. " * 6)[:380],
            statusCallback=receiver.url("/status"),
            **{"from": "CLINIC"},
        ),
    ]
    receiver.wait_for(3)
    with open_page(browser, width=width, height=height) as page:
        page.goto(f"{server.url}/#{sids[-1]}")  # the hash opens that message
        page.wait_for_selector("body[data-ready='yes']")
        page.select_option("#project-filter", project["projectId"])
        expect(page.locator("#messages > li")).to_have_count(3)
        expect(page.locator("#detail .attempt")).to_have_count(3)
        overflow = page.evaluate(
            """() => {
                const wide = [];
                if (document.documentElement.scrollWidth > innerWidth) wide.push("page");
                for (const el of document.querySelectorAll(".panel, .attempt, pre, table")) {
                    if (el.scrollWidth > el.clientWidth + 1) wide.push(el.className || el.tagName);
                }
                return wide;
            }"""
        )
        assert overflow == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"inbox-{width}.png"))
        page.screenshot(path=str(ARTIFACTS / f"inbox-{width}-full.png"), full_page=True)


def test_smpp_panel_and_api_label(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A bound SMPP client shows in the sessions panel, and its message says API SMPP."""
    open_inbox(page, server.url, project["projectId"])
    expect(page.locator("#smpp-empty")).to_be_visible()
    assert server.smpp_port is not None
    esme = smpplib.client.Client(
        "127.0.0.1", server.smpp_port, timeout=10, allow_unknown_opt_params=True
    )
    esme.connect()
    try:
        login = project["smpp"]
        esme.bind_transceiver(system_id=login["systemId"], password=login["password"])
        sessions = page.locator("#smpp-sessions li")
        expect(sessions).to_have_count(1)
        expect(sessions).to_contain_text(f"{login['systemId']} transceiver")
        esme.send_message(source_addr="TAXI", destination_addr="447515650839", short_message=b"hi")
        sid = esme.read_pdu().message_id.decode()
        expect(row(page, sid).locator(".api")).to_have_text("SMPP")
        open_message(page, sid)
        expect(page.locator("#detail .facts")).to_contain_text("APISMPP")
        esme.unbind()
    finally:
        esme.disconnect()
    expect(page.locator("#smpp-sessions li")).to_have_count(0)
    rest = send(client, project, "over REST")
    expect(row(page, rest).locator(".api")).to_have_text("REST")


def test_advisor_highlights_culprits_and_the_saving(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A UCS-2 body shows its culprit characters marked in place, each with its code point,
    and "3 parts → 1 part with 2 replacements"; the body renders strictly as text."""
    open_inbox(page, server.url, project["projectId"])
    body = "“" + HOSTILE + "x" * (150 - len(HOSTILE)) + "”"
    sid = send(client, project, body)
    open_message(page, sid)
    detail = page.locator("#detail")
    expect(detail.locator("[data-testid='advice-summary']")).to_have_text(
        "3 parts \u2192 1 part with 2 replacements"
    )
    marks = detail.locator("pre.body:not(.fixed) mark.culprit")
    expect(marks).to_have_count(2)
    assert marks.all_text_contents() == ["“", "”"]
    assert marks.first.get_attribute("title") == 'U+201C LEFT DOUBLE QUOTATION MARK → "\\""'
    # The text around the marks is the body as sent, character for character.
    assert detail.locator("pre.body:not(.fixed)").text_content() == body
    expect(detail.locator("ul.culprits > li")).to_have_count(2)
    expect(detail.locator("ul.culprits > li").first).to_contain_text("U+201C")
    expect(detail.locator("pre.body.fixed")).to_have_text('"' + body[1:-1] + '"')
    assert page.evaluate("window.__pwned") is None


def test_gsm_message_has_no_advice_and_shows_its_price(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A GSM-7 message marks nothing; its price and an unknown-field warning are shown."""
    open_inbox(page, server.url, project["projectId"])
    sid = send(client, project, "plain text", statusCallBack="http://127.0.0.1:9/")
    open_message(page, sid)
    detail = page.locator("#detail")
    expect(detail.locator("mark.culprit")).to_have_count(0)
    expect(detail.locator("[data-testid='advice-summary']")).to_have_count(0)
    expect(detail.locator(".facts")).to_contain_text("Price0.04")
    expect(detail.locator("ul.warnings")).to_contain_text('did you mean "statusCallback"?')


def test_inbox_loads_the_newest_page_and_older_ones_on_demand(
    page: Page, server: LiveServer, client: httpx2.Client, project: dict[str, Any]
) -> None:
    """The inbox shows the newest 100 messages; "Load older" brings the rest, live ones too."""
    sids = [send(client, project, f"number {i}") for i in range(130)]
    open_inbox(page, server.url)
    page.select_option("#project-filter", project["projectId"])
    rows = page.locator("#messages > li")
    expect(rows).to_have_count(100)
    expect(rows.first).to_have_attribute("data-sid", sids[-1])  # newest first
    expect(rows.last).to_have_attribute("data-sid", sids[30])
    older = page.get_by_role("button", name="Load older messages")
    expect(older).to_be_visible()
    older.click()
    expect(rows).to_have_count(130)
    expect(rows.last).to_have_attribute("data-sid", sids[0])
    expect(older).to_be_hidden()
    live = send(client, project, "and one more")
    expect(rows).to_have_count(131)
    expect(rows.first).to_have_attribute("data-sid", live)
