"""Write docs/plugin.md, the pytest plugin's reference, from the code's own declarations.

    python scripts/gen_plugin_docs.py          # rewrite docs/plugin.md
    python scripts/gen_plugin_docs.py --check  # exit 1 if it is out of date

Signatures, docstrings, record fields, marker options, magic numbers and callback faults
are read from the public API (`augnet_mock.AugnetMock` and its records, the plugin module,
`augnet_mock.scenarios`) by introspection, so the page follows the code wherever a module
moves. Only the one-line examples are written here, and every public name needs one: a new
method with no example stops the script (and tests/examples/test_plugin_reference.py).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "pytest_plugin"))

import augnet_mock_pytest.plugin as plugin  # noqa: E402

from augnet_mock import AugnetMock, Callback, MagicNumbers, SentMessage  # noqa: E402
from augnet_mock.scenarios import CALLBACK_FAULTS, MAGIC_NUMBERS  # noqa: E402

PAGE = ROOT / "docs" / "plugin.md"

# One line each, as a test would write it. Keyed by the public name.
FIXTURE_EXAMPLES = {
    "augnet": 'def test_x(augnet): augnet.assert_sent(to="+447700900123")',
    "augnet_project_config": (
        '@pytest.fixture\ndef augnet_project_config(): return {"senders": ["ABCTAXI"]}'
    ),
    "augnet_settings": (
        '@pytest.fixture(scope="session")\n'
        "def augnet_settings(): return fast_settings(callback_attempts=2)"
    ),
    "augnet_server": 'httpx2.get(augnet_server.url + "/_mock/health")',
    "augnet_url": 'if augnet_url: pytest.skip("in-process only")',
    "augnet_token": 'httpx2.get(url, headers={"Authorization": f"Bearer {augnet_token}"})',
}
MARKER_OPTIONS = {
    "clock": (
        '"real" or "manual": a manual clock moves only on `augnet.clock.advance()`',
        '@pytest.mark.augnet(clock="manual")',
    ),
    "seed": (
        "seed of the server's RNG (scenario `probability`, chaos): repeatable runs",
        "@pytest.mark.augnet(seed=7)",
    ),
    "scenarios": (
        "rules only this test's project triggers: JSON rules, or named outcomes "
        "(below); the first match wins",
        '@pytest.mark.augnet(scenarios=["undelivered"])',
    ),
    "strict_callbacks": (
        "fail the test if any webhook attempt was not answered with a 2xx",
        "@pytest.mark.augnet(strict_callbacks=True)",
    ),
    "settings": (
        "server `Settings` fields (`send_delay` and `delivery_delay` go to the "
        "test's project instead)",
        '@pytest.mark.augnet(settings={"callback_attempts": 2})',
    ),
    "strict": (
        "refuse sends with fields Augnet would ignore (`statusCallBack`) with a 400; on by "
        "default (ini `augnet_strict`), False restores Augnet's silence with a warning",
        "@pytest.mark.augnet(strict=False)",
    ),
}
ATTRIBUTES = {  # set in AugnetMock.__init__
    "base_url": (
        "the server's URL, e.g. `http://127.0.0.1:PORT`",
        "httpx2.Client(base_url=augnet.base_url, auth=augnet.auth)",
    ),
    "project": (
        "the project's JSON as the server last returned it",
        'augnet.project["fallbackSender"]',
    ),
    "strict_callbacks": (
        "checked at the end of the test (the marker sets it)",
        "augnet.strict_callbacks = True",
    ),
    "clock": (
        "the server's clock: `mode`, `now()`, `pending`, `advance(seconds)`",
        "augnet.clock.advance(30)",
    ),
    "magic": ("the magic numbers, by outcome (below)", "augnet.magic.slow_delivery"),
}
PROPERTY_NOTES = {  # properties with no docstring of their own
    "api_key": "the project's API key (the Basic auth password)",
    "project_id": "the project's id (the Basic auth user name)",
    "send_url": "`{base_url}/api/v2/message`",
    "signing_key": "the key callbacks are signed with, or None; assign to change it",
    "webhook_url": "the project's webhook URL, or None; assign to point callbacks elsewhere",
}
EXAMPLES = {
    "smpp_host": "smpplib.client.Client(augnet.smpp_host, augnet.smpp_port)",
    "smpp_port": "smpplib.client.Client(augnet.smpp_host, augnet.smpp_port)",
    "smpp_system_id": (
        "client.bind_transceiver(system_id=augnet.smpp_system_id, password=augnet.smpp_password)"
    ),
    "smpp_password": (
        "client.bind_transceiver(system_id=augnet.smpp_system_id, password=augnet.smpp_password)"
    ),
    "httpx_client": 'augnet.httpx_client.post("/api/v2/message", json=message)',
    "httpx_async_client": 'await augnet.httpx_async_client.post("/api/v2/message", json=message)',
    "client": 'augnet.client.post("/api/v2/message", json=message)',
    "check_callbacks": "augnet.check_callbacks()",
    "async_client": 'await augnet.async_client.post("/api/v2/message", json=message)',
    "aio": 'await augnet.aio.wait_for_message(status="delivered")',
    "api_key": "augnet.api_key",
    "assert_not_sent": 'augnet.assert_not_sent(to="+447700900123")',
    "assert_fits": 'augnet.assert_fits(template.render(name="Zoë"), max_segments=1)',
    "assert_sent": 'augnet.assert_sent(to="+447700900123", encoding="GSM-7", max_segments=1)',
    "audit_webhook": 'assert augnet.audit_webhook(f"{receiver.url}/sms/status").safe',
    "async_transport": "httpx.AsyncClient(transport=augnet.async_transport())",
    "auth": "httpx2.post(augnet.send_url, auth=augnet.auth, json=message)",
    "callbacks": 'augnet.callbacks(status="delivered", ok=True)',
    "check": "augnet.check()  # the plugin calls it after each test",
    "clear": "augnet.clear()",
    "clear_scenarios": "augnet.clear_scenarios()",
    "close": "augnet.close()  # the plugin calls it after each test",
    "control_client": "AugnetMock.control_client(server)",
    "create": 'AugnetMock.create("http://127.0.0.1:8080", {"senders": ["SHOP"]})',
    "extract_code": 'assert augnet.extract_code(to="+447700900123") == "123456"',
    "last_message": "augnet.last_message().body",
    "message": 'augnet.message(sid).statuses == ["queued", "sent", "delivered"]',
    "messages": 'augnet.messages(status="delivered")',
    "project_id": "augnet.project_id",
    "redeliver": "augnet.redeliver(augnet.callbacks()[0])",
    "rejected": 'augnet.rejected()[0]["status"] == 400',
    "scenario": 'augnet.scenario(to="+447700900123", final_status="failed", times=1)',
    "send_url": "httpx2.post(augnet.send_url, auth=augnet.auth, json=message)",
    "server": "augnet.server.runtime if augnet.server else None",
    "signing_key": "verify(..., key=augnet.signing_key)",
    "transcript": "print(augnet.transcript())  # a failed test's report carries it",
    "transport": "httpx2.Client(transport=augnet.transport())",
    "update": 'augnet.update(senders=["ABCTAXI"])',
    "usage": 'augnet.usage()["parts"] <= 3',
    "wait_for_callback": 'augnet.wait_for_callback(sid=sid, status="delivered", timeout=5)',
    "wait_for_message": 'augnet.wait_for_message(to="+447700900123", status="sent", count=2)',
    "webhook_url": 'augnet.webhook_url = f"{receiver.url}/sms/status"',
}


class MissingExample(Exception):
    """A public name has no one-line example here."""


def first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "").split("\n\n", 1)[0]
    return " ".join(text.split())


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def code(text: str) -> str:
    """Inline code for a table cell; a multi-line example becomes lines of code."""
    return "<br>".join(f"`{line}`" for line in text.split("\n")).replace("|", "\\|")


def example(table: dict[str, Any], name: str) -> Any:
    if name not in table:
        raise MissingExample(f"{name}: add a one-line example to scripts/gen_plugin_docs.py")
    return table[name]


def trailing_comments(source: str) -> dict[str, str]:
    """`name: ... # comment` and `"name",  # comment` lines of a source, by name."""
    found: dict[str, str] = {}
    for line in source.splitlines():
        m = re.match(r'\s*"?(\w+)"?\s*[:=,][^#]*#\s*(.*)$', line)
        if m:
            found.setdefault(m[1], m[2].strip())
    return found


def fixtures() -> list[str]:
    tree = ast.parse(inspect.getsource(plugin))
    rows = ["| fixture | scope | what | example |", "|---|---|---|---|"]
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if ast.unparse(target) != "pytest.fixture":
                continue
            scope = "function"
            for kw in call.keywords if call else ():
                if kw.arg == "scope":
                    scope = ast.literal_eval(kw.value)
            doc = first_paragraph(ast.get_docstring(node))
            rows.append(
                f"| `{node.name}` | {scope} | {cell(doc)} | "
                f"{code(example(FIXTURE_EXAMPLES, node.name))} |"
            )
    return rows


def marker() -> list[str]:
    if set(MARKER_OPTIONS) != set(plugin.MARKER_OPTIONS):
        raise MissingExample(f"marker options are {plugin.MARKER_OPTIONS}: describe each here")
    rows = ["| argument | what | example |", "|---|---|---|"]
    for name in plugin.MARKER_OPTIONS:
        what, line = MARKER_OPTIONS[name]
        rows.append(f"| `{name}` | {cell(what)} | {code(line)} |")
    return rows


def signature(name: str, member: Any) -> str:
    """`name(a: int, *, b: str | None = None)`: annotations as written, unquoted."""
    shown: list[str] = []
    star = False
    for p in inspect.signature(member).parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            shown.append("*")
            star = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        star = star or p.kind is p.VAR_POSITIONAL
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += f": {p.annotation if isinstance(p.annotation, str) else p.annotation.__name__}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        shown.append(text)
        if p.kind is p.POSITIONAL_ONLY:
            shown.append("/")
    return f"{name}({', '.join(shown)})"


def handle() -> list[str]:
    init = inspect.getsource(AugnetMock.__init__)
    rows = ["| member | what | example |", "|---|---|---|"]
    for name, (what, line) in ATTRIBUTES.items():
        if f"self.{name} =" not in init:
            raise MissingExample(f"AugnetMock has no attribute {name!r} any more")
        rows.append(f"| `{name}` | {cell(what)} | {code(line)} |")
    for name in sorted(vars(AugnetMock)):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(AugnetMock, name)
        if isinstance(static, property):
            kind = " (settable)" if static.fset else ""
            shown = f"`{name}`{kind}"
            doc = first_paragraph(static.__doc__) or example(PROPERTY_NOTES, name)
        elif callable(static) or isinstance(static, staticmethod | classmethod):
            member = getattr(AugnetMock, name)
            shown = f"`{signature(name, member)}`"
            doc = " ".join(inspect.cleandoc(member.__doc__ or "").split())
        else:
            continue
        rows.append(f"| {cell(shown)} | {cell(doc)} | {code(example(EXAMPLES, name))} |")
    return rows


def record(cls: type, notes: dict[str, str]) -> list[str]:
    comments = trailing_comments(inspect.getsource(cls))
    rows = ["| field | type | what |", "|---|---|---|"]
    for f in dataclasses.fields(cls):
        what = comments.get(f.name) or notes.get(f.name)
        if what is None:
            raise MissingExample(f"{cls.__name__}.{f.name}: say what it is")
        rows.append(f"| `{f.name}` | `{cell(str(f.type))}` | {cell(what)} |")
    for name, member in vars(cls).items():
        if isinstance(member, property):
            rows.append(f"| `{name}` | property | {cell(first_paragraph(member.__doc__))} |")
    return rows


MESSAGE_NOTES = {
    "sid": "the message id (a version-1 UUID), as the send API returned it",
    "to": "the recipient",
    "from_": "the sender actually used: requested if whitelisted, else the fallback",
    "requested_from": "the `from` the client asked for, or None",
    "body": "the text sent",
    "encoding": '"GSM-7" or "UCS-2"',
    "segments": "parts billed",
    "parts": "the text of each part",
    "status": "its status now",
    "error_code": 'why it ended undelivered or failed, e.g. "30003"',
    "status_callback": "the message's own callback URL, or None",
    "timeline": '`{"status", "at"}` for each step, in order',
    "callbacks": "its webhook attempts (`Callback` records)",
    "scenario": "the rule that fired (`builtin:<number>` for a magic number), or None",
    "created_at": "when it was accepted (ISO-8601)",
    "raw": "the control API's JSON, for anything not above",
}
CALLBACK_NOTES = {
    "id": "the attempt's id (for `redeliver`)",
    "sid": "the message it reports on",
    "url": "the URL registered (statusCallback or the project's webhook)",
    "attempt": "1 for the first try, then 2, 3...",
    "ok": "answered with a 2xx",
    "response_status": "the receiver's status code, or None if none came",
    "error": "what went wrong: a connection error, a timeout, a drop",
    "request_headers": "the headers sent, signature included",
    "request_body": "the JSON body sent",
    "at": "when it was made (ISO-8601)",
    "redelivery": "made by `redeliver` rather than the lifecycle",
    "fault": "the scenario's callback fault applied to it, or None",
    "raw": "the control API's JSON",
}


def magic() -> list[str]:
    outcomes = {m.number: m.outcome for m in MAGIC_NUMBERS}
    comments = trailing_comments(inspect.getsource(MagicNumbers))
    rows = [
        "| `augnet.magic.` / scenario name | number | outcome |",
        "|---|---|---|",
    ]
    for name, number in MagicNumbers.names().items():
        outcome = outcomes.get(number) or comments.get(name, "")
        rows.append(f"| `{name}` | `{number}` | {cell(outcome)} |")
    return rows


def faults() -> list[str]:
    import augnet_mock.scenarios as scenarios

    comments = trailing_comments(inspect.getsource(scenarios))
    rows = ["| fault | value | what |", "|---|---|---|"]
    for name in CALLBACK_FAULTS:
        value = '"sent"` or `["queued", "sent"]' if name == "drop" else "true"
        rows.append(f"| `{name}` | `{value}` | {cell(comments.get(name, ''))} |")
    return rows


def generate() -> str:
    parts = [
        "# pytest plugin reference",
        "",
        "<!-- Generated by scripts/gen_plugin_docs.py from the code; do not edit by hand. -->",
        "",
        "Installing augnet-mock registers the plugin (`pytest11` entry point). Each test that",
        "asks for `augnet` gets a fresh project on a mock server, deleted after the test. See",
        "the README's *pytest plugin* section for a walk-through; this page lists everything.",
        "",
        "## Fixtures",
        "",
        *fixtures(),
        "",
        "## The marker: `@pytest.mark.augnet(...)`",
        "",
        "Keyword arguments only; on a function, class or module (the closest wins).",
        "",
        *marker(),
        "",
        "## The handle: `augnet` (`augnet_mock.AugnetMock`)",
        "",
        "A plain class: `AugnetMock.create(url)` works in a script too. Waits are woken by",
        "the server's event stream; on timeout they fail with the near misses.",
        "",
        *handle(),
        "",
        "## Records",
        "",
        "### `SentMessage` (from `messages()`, `message()`, `wait_for_message()`...)",
        "",
        *record(SentMessage, MESSAGE_NOTES),
        "",
        "### `Callback` (from `callbacks()`, `wait_for_callback()`, `redeliver()`)",
        "",
        *record(Callback, CALLBACK_NOTES),
        "",
        "## Magic numbers and named scenarios",
        "",
        "Each name is an attribute of `augnet.magic` (`augnet_mock.MagicNumbers`) and a named",
        'scenario: `scenarios=["undelivered"]` in the marker, `augnet.scenario("undelivered")`',
        'or `augnet.scenario(like="undelivered", to=...)` give any send that outcome. A named',
        "scenario with no `to` matches every send of the test, so list it after specific rules.",
        "",
        *magic(),
        "",
        "## Callback faults",
        "",
        "The value of a scenario's `callback` effect: an object of these keys, e.g.",
        '`{"callback": {"badSignature": true}}` in JSON, or',
        '`augnet.scenario(callback={"badSignature": True})`. Each attempt records the fault',
        "it got in `Callback.fault`.",
        "",
        *faults(),
        "",
    ]
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/plugin.md is stale")
    args = parser.parse_args()
    page = generate()
    if args.check:
        if PAGE.read_text(encoding="utf-8") != page:
            print("docs/plugin.md is out of date: run python scripts/gen_plugin_docs.py")
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
