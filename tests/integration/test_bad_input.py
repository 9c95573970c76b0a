"""Bad input on POST /api/v2/message: the documented error, the right status, a logged
rejection, and a store left exactly as it was. Ends with a hypothesis fuzz of the endpoint.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from http import HTTPStatus
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from receiver import Receiver

URL = "/api/v2/message"
ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}
VALID_TO = "+447515650839"
JSON_HEADERS = {"Content-Type": "application/json"}
BIG_BODY = 64 * 1024  # the default max_body_bytes


class Guard:
    """A fresh project holding one recorded message, to prove rejections change nothing."""

    def __init__(self, client: httpx2.Client) -> None:
        self.client = client
        # An hour's send delay keeps the message queued, so its record holds still.
        created = client.post("/_mock/projects", json={"sendDelay": 3600})
        assert created.status_code == 201, created.text
        self.project: dict[str, Any] = created.json()
        self.auth = (self.project["projectId"], self.project["apiKey"])
        sent = client.post(URL, auth=self.auth, json={"to": VALID_TO, "body": "kept"})
        assert sent.status_code == 200, sent.text
        self.before = self.snapshot()
        assert len(self.before) == 1

    def snapshot(self) -> list[dict[str, Any]]:
        response = self.client.get(
            "/_mock/messages", params={"projectId": self.project["projectId"], "limit": 1000}
        )
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def check(
        self,
        response: httpx2.Response,
        status: int,
        *words: str,
        project_id: str | None = None,
    ) -> dict[str, Any]:
        """Assert the documented rejection, its log entry, and an untouched store."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        error: dict[str, Any] = response.json()
        assert set(error) == ERROR_KEYS, error
        assert error["status"] == status
        assert error["error"] == HTTPStatus(status).phrase
        assert error["path"] == URL
        assert datetime.fromisoformat(error["timestamp"]).tzinfo is not None
        for word in words:
            assert word.lower() in error["message"].lower(), (word, error["message"])
        if status == 401:
            assert response.headers["www-authenticate"] == 'Basic realm="augnet"'
        # One page holds the whole log: it keeps at most 1,000 entries.
        params = {"projectId": project_id, "limit": 1000} if project_id else {"limit": 1000}
        logged = self.client.get("/_mock/requests", params=params).json()["requests"]
        matches = [r for r in logged if r["error"] == error]
        assert len(matches) == 1, f"rejection not logged: {error}"
        entry = matches[0]
        assert (entry["method"], entry["path"], entry["status"]) == ("POST", URL, status)
        assert entry["projectId"] == project_id
        assert self.snapshot() == self.before
        return error


@pytest.fixture
def guard(client: httpx2.Client) -> Guard:
    """A project with one recorded, finished message, on the shared server."""
    return Guard(client)


def post_json(client: httpx2.Client, auth: tuple[str, str], payload: Any) -> httpx2.Response:
    return client.post(URL, auth=auth, content=json.dumps(payload), headers=JSON_HEADERS)


# -- bad JSON ---------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"to": "+447515650839", ',
    "single quotes": b"{'to': '+447515650839'}",
    "trailing comma": b'{"to": "+447515650839", "body": "x",}',
    "NaN": b'{"to": "+447515650839", "body": NaN}',
    "Infinity": b'{"to": "+447515650839", "body": -Infinity}',
    "not utf-8": b'{"to": "+447515650839", "body": "\xff\xfe"}',
    "deeply nested": b"[" * 40_000,
    "huge integer": b'{"to": ' + b"1" * 5000 + b', "body": "x"}',
    "empty": b"",
    "whitespace": b"  \n ",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_json_is_400(guard: Guard, raw: bytes) -> None:
    """A body that is not JSON gets 400 saying the JSON is malformed (or empty)."""
    response = guard.client.post(URL, auth=guard.auth, content=raw, headers=JSON_HEADERS)
    error = guard.check(response, 400, project_id=guard.project["projectId"])
    assert "json" in error["message"].lower()


@pytest.mark.parametrize(
    ("payload", "kind"),
    [([], "array"), ([{"to": VALID_TO}], "array"), ("hi", "string"), (5, "number"), (None, "null")],
)
def test_json_that_is_not_an_object_is_400(guard: Guard, payload: Any, kind: str) -> None:
    """A JSON array, string, number or null gets 400: the request body must be an object."""
    response = post_json(guard.client, guard.auth, payload)
    guard.check(
        response, 400, "request body", "JSON object", kind, project_id=guard.project["projectId"]
    )


# -- fields ---------------------------------------------------------------------------

WRONG_TYPES = [
    (field, value, kind)
    for field in ("to", "body", "from", "statusCallback")
    for value, kind in (
        (5, "number"),
        (1.5, "number"),
        (True, "boolean"),
        ([], "array"),
        ({}, "object"),
    )
]


@pytest.mark.parametrize(("field", "value", "kind"), WRONG_TYPES)
def test_wrong_type_is_400_naming_field(guard: Guard, field: str, value: Any, kind: str) -> None:
    """A field of the wrong JSON type gets 400 naming the field and the type it got."""
    payload = {"to": VALID_TO, "body": "hello", field: value}
    error = guard.check(
        post_json(guard.client, guard.auth, payload),
        400,
        "must be a string",
        kind,
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    "payload",
    [{"body": "hello"}, {"to": None, "body": "hello"}],
    ids=["absent", "null"],
)
def test_missing_to_is_400(guard: Guard, payload: dict[str, Any]) -> None:
    """A send without `to` gets 400 saying `to` is required."""
    error = guard.check(
        post_json(guard.client, guard.auth, payload),
        400,
        "required",
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("to:")


@pytest.mark.parametrize(
    "payload", [{"to": VALID_TO}, {"to": VALID_TO, "body": None}], ids=["absent", "null"]
)
def test_missing_body_is_400(guard: Guard, payload: dict[str, Any]) -> None:
    """A send without `body` gets 400 saying `body` is required."""
    error = guard.check(
        post_json(guard.client, guard.auth, payload),
        400,
        "required",
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("body:")


def test_empty_body_is_400(guard: Guard) -> None:
    """An empty message text gets 400 saying `body` must not be empty."""
    error = guard.check(
        post_json(guard.client, guard.auth, {"to": VALID_TO, "body": ""}),
        400,
        "empty",
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("body:")


def test_unpaired_surrogate_is_400(guard: Guard) -> None:
    """Text with an unpaired UTF-16 surrogate escape is refused, not stored half-broken."""
    raw = b'{"to": "+447515650839", "body": "broken \\ud83d emoji"}'
    response = guard.client.post(URL, auth=guard.auth, content=raw, headers=JSON_HEADERS)
    error = guard.check(response, 400, "surrogate", project_id=guard.project["projectId"])
    assert error["message"].startswith("body:")


BAD_NUMBERS = {
    "no plus": "447515650839",
    "7 digits": "+4475156",
    "16 digits": "+4475156508391234",
    "letters": "+44751565083a",
    "leading 0": "+0447515650839",
    "spaces": "+44 7515 650839",
    "plus only": "+",
    "empty": "",
}


@pytest.mark.parametrize("number", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_bad_e164_number_is_400(guard: Guard, number: str) -> None:
    """A `to` that is not "+" then 8-15 digits (no leading 0) gets 400 naming E.164."""
    error = guard.check(
        post_json(guard.client, guard.auth, {"to": number, "body": "hello"}),
        400,
        "E.164",
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("to:")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("ABCDEFGHIJKL", ("11", "12")),
        ("Hello World!", ("11",)),
        ("TAXI!", ("alphanumeric",)),
        ("", ("empty",)),
        ("   ", ("empty",)),
    ],
)
def test_bad_sender_is_400(guard: Guard, value: str, words: tuple[str, ...]) -> None:
    """An alphanumeric `from` over 11 characters, or with odd characters, gets 400."""
    error = guard.check(
        post_json(guard.client, guard.auth, {"to": VALID_TO, "body": "hi", "from": value}),
        400,
        *words,
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("from:")


BAD_URLS = {
    "relative": "/hooks/status",
    "ftp": "ftp://example.com/hook",
    "no host": "http:///hook",
    "scheme only": "https://",
    "spaces": "http://example.com/my hook",
    "no scheme": "example.com/hook",
    "bad port": "http://example.com:99999/hook",
    "empty": "",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_bad_status_callback_is_400(guard: Guard, url: str) -> None:
    """A `statusCallback` that is not an absolute http(s) URL gets 400 naming the field."""
    payload = {"to": VALID_TO, "body": "hi", "statusCallback": url}
    error = guard.check(
        post_json(guard.client, guard.auth, payload),
        400,
        "absolute http(s) URL",
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("statusCallback:")


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * (153 * 10 + 1), "GSM-7", 11),
        ("é" * 1530 + "€" * 4, "GSM-7", 11),
        ("ж" * 671, "UCS-2", 11),
    ],
    ids=["gsm7", "gsm7-escapes", "ucs2"],
)
def test_body_over_max_segments_is_400(
    guard: Guard, body: str, encoding: str, segments: int
) -> None:
    """A body needing more than max_segments (10) parts gets 400 with the count and limit."""
    error = guard.check(
        post_json(guard.client, guard.auth, {"to": VALID_TO, "body": body}),
        400,
        f"{segments} {encoding}",
        "limit is 10",
        project_id=guard.project["projectId"],
    )
    assert error["message"].startswith("body:")


# -- size and content type ----------------------------------------------------------


def oversized_payload() -> bytes:
    return json.dumps({"to": VALID_TO, "body": "a" * BIG_BODY}).encode()


def test_body_over_limit_with_content_length_is_413(guard: Guard) -> None:
    """A declared Content-Length over 64 KiB gets 413 naming the limit."""
    raw = oversized_payload()
    response = guard.client.post(URL, auth=guard.auth, content=raw, headers=JSON_HEADERS)
    assert response.request.headers["content-length"] == str(len(raw))
    guard.check(response, 413, "65536", project_id=guard.project["projectId"])


def test_body_over_limit_when_chunked_is_413(guard: Guard) -> None:
    """A chunked upload (no Content-Length) cannot get around the limit: 413."""
    raw = oversized_payload()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 4096):
            yield raw[start : start + 4096]

    response = guard.client.post(URL, auth=guard.auth, content=chunks(), headers=JSON_HEADERS)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    guard.check(response, 413, "65536", project_id=guard.project["projectId"])


def test_body_just_under_limit_is_read(guard: Guard) -> None:
    """A chunked body under the limit is read whole; here it fails only on segment count."""
    raw = json.dumps({"to": VALID_TO, "body": "a" * (BIG_BODY - 100)}).encode()
    assert len(raw) < BIG_BODY

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 1000):
            yield raw[start : start + 1000]

    response = guard.client.post(URL, auth=guard.auth, content=chunks(), headers=JSON_HEADERS)
    guard.check(response, 400, "limit is 10", project_id=guard.project["projectId"])


CONTENT_TYPES: dict[str, Callable[[], dict[str, Any]]] = {
    "text/plain": lambda: {
        "content": json.dumps({"to": VALID_TO, "body": "hi"}),
        "headers": {"Content-Type": "text/plain"},
    },
    "form-encoded": lambda: {"data": {"to": VALID_TO, "body": "hi"}},
    "missing": lambda: {"content": json.dumps({"to": VALID_TO, "body": "hi"}).encode()},
    "multipart": lambda: {"files": {"to": (None, VALID_TO), "body": (None, "hi")}},
}


@pytest.mark.parametrize("make", CONTENT_TYPES.values(), ids=CONTENT_TYPES.keys())
def test_wrong_content_type_is_415(guard: Guard, make: Callable[[], dict[str, Any]]) -> None:
    """A request that is not application/json gets 415 naming the expected type."""
    response = guard.client.post(URL, auth=guard.auth, **make())
    guard.check(
        response, 415, "Content-Type", "application/json", project_id=guard.project["projectId"]
    )


def test_json_suffix_content_type_is_accepted(guard: Guard) -> None:
    """application/json with a charset, or a +json type, counts as JSON."""
    for content_type in ("application/json; charset=utf-8", "application/vnd.augnet+json"):
        response = guard.client.post(
            URL,
            auth=guard.auth,
            content=json.dumps({"to": VALID_TO, "body": "hi"}),
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)


# -- authentication -----------------------------------------------------------------


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


AUTH_HEADERS: dict[str, tuple[Callable[[Guard], str | None], str]] = {
    "missing": (lambda g: None, "missing credentials"),
    "bearer": (lambda g: "Bearer abc.def", "malformed credentials"),
    "basic without value": (lambda g: "Basic", "malformed credentials"),
    "bad base64": (lambda g: "Basic !!!not-base64!!!", "base64"),
    "base64 of non-utf8": (lambda g: basic(b"\xff\xfe:\xff"), "base64"),
    "no colon": (lambda g: basic(g.project["projectId"].encode()), "project_id:api_key"),
    "empty project id": (lambda g: basic(b":" + g.project["apiKey"].encode()), "project_id"),
    "wrong key": (
        lambda g: basic(f"{g.project['projectId']}:wrong-key".encode()),
        "unknown project or wrong API key",
    ),
    "empty key": (
        lambda g: basic(f"{g.project['projectId']}:".encode()),
        "unknown project or wrong API key",
    ),
    "unknown project": (
        lambda g: basic(f"no-such-project:{g.project['apiKey']}".encode()),
        "unknown project or wrong API key",
    ),
}


@pytest.mark.parametrize("case", AUTH_HEADERS.values(), ids=AUTH_HEADERS.keys())
def test_bad_credentials_are_401(
    guard: Guard, case: tuple[Callable[[Guard], str | None], str]
) -> None:
    """Missing, malformed or wrong credentials get 401 with the Basic challenge."""
    make_header, words = case
    headers = dict(JSON_HEADERS)
    value = make_header(guard)
    if value is not None:
        headers["Authorization"] = value
    response = guard.client.post(
        URL, content=json.dumps({"to": VALID_TO, "body": "hi"}), headers=headers
    )
    guard.check(response, 401, words)


def test_auth_is_checked_before_the_body(guard: Guard) -> None:
    """A bad request with bad credentials is a 401, not a 400/415: auth comes first."""
    response = guard.client.post(URL, content=b"not json", headers={"Content-Type": "text/plain"})
    guard.check(response, 401, "missing credentials")


# -- what is accepted ---------------------------------------------------------------


def test_unknown_fields_are_ignored(guard: Guard) -> None:
    """Fields the mock does not know are ignored, whatever their type."""
    payload = {"to": VALID_TO, "body": "hi", "priority": [1, {"x": None}], "sendAt": 5, "": ""}
    response = post_json(guard.client, guard.auth, payload)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["sid"]
    assert len(response.headers.get_list("augnet-mock-warning")) == 3


def test_null_status_callback_is_accepted(guard: Guard) -> None:
    """statusCallback may be null, which means "no per-message callback"."""
    payload = {"to": VALID_TO, "body": "hi", "statusCallback": None, "from": None}
    response = post_json(guard.client, guard.auth, payload)
    assert response.status_code == 200, response.text
    message = guard.client.get(f"/_mock/messages/{response.json()['sid']}").json()
    assert message["statusCallback"] is None
    assert message["requestedFrom"] is None


# -- fuzz -----------------------------------------------------------------------------

LONE_SURROGATES = st.sampled_from(["\ud83d", "a\udc00b", "\udfff"])
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and Infinity too: json.dumps writes them, the server must refuse them
    | st.text(max_size=20)
    | LONE_SURROGATES
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def send_payloads(callback_url: str) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with the real keys holding arbitrary JSON or plausible values, plus extras.

    Plausible values (mostly valid) are weighted three to one over arbitrary JSON, so
    that enough sends get through for the accepted path to be fuzzed as well.
    """
    # None of these is in the +447700900xxx magic range, whose rules answer 4xx/5xx on purpose.
    numbers = st.sampled_from(["+447515650839", "+12025550123", "+4915112345678", "+12345678"])
    plausible = {
        "to": numbers | numbers | st.text(alphabet="+0123456789 a", max_size=17),
        "body": st.text(min_size=1, max_size=200)
        | st.sampled_from(["a" * 1531, "ж" * 700, "😀" * 36, "€" * 81])
        | LONE_SURROGATES,
        "from": st.sampled_from(["ABCTAXI", "+441743581416", "12345", "TWELVECHARSX"]),
        "statusCallback": st.sampled_from([callback_url, None, "ftp://x/y", "/relative"]),
    }
    fields = {key: st.one_of(value, value, value, JSON_VALUES) for key, value in plausible.items()}
    extras = st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3)
    required = {key: fields[key] for key in ("to", "body")}
    optional = {key: fields[key] for key in ("from", "statusCallback")}
    real = st.fixed_dictionaries(required, optional=optional) | st.fixed_dictionaries(
        {}, optional=fields
    )
    return st.builds(lambda extra, real: {**extra, **real}, extras, real)


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    """A webhook receiver for fuzzed sends that name a valid callback URL."""
    rec = Receiver().start()
    yield rec
    rec.stop()


def test_fuzzed_json_never_breaks_the_endpoint(client: httpx2.Client, hook: Receiver) -> None:
    """Arbitrary JSON never gets a 5xx; errors keep the shape; the store stays consistent."""
    guard = Guard(client)
    project_id = guard.project["projectId"]
    outcome = {"accepted": 0, "rejected": 0}

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
    )
    @given(JSON_VALUES | send_payloads(hook.url("/fuzz")))
    def send(payload: Any) -> None:
        raw = json.dumps(payload).encode()  # ASCII: lone surrogates travel as \ud83d escapes
        response = client.post(URL, auth=guard.auth, content=raw, headers=JSON_HEADERS)
        assert response.status_code < 500, response.text
        body = response.json()
        if response.status_code == 200:
            assert list(body) == ["sid"]
            outcome["accepted"] += 1
            recorded = client.get(f"/_mock/messages/{body['sid']}")
            assert recorded.status_code == 200, recorded.text
            assert recorded.json()["body"] == payload["body"]
        else:
            assert response.status_code in (400, 413), body
            assert set(body) == ERROR_KEYS, body
            assert body["status"] == response.status_code
            assert body["path"] == URL
            assert body["message"]
            outcome["rejected"] += 1

    send()
    after = guard.snapshot()
    assert after[0] == guard.before[0], "a message recorded before the fuzz changed"
    assert len(after) == len(guard.before) + outcome["accepted"]
    params = {"projectId": project_id, "limit": 1000}  # the whole log fits one page
    logged = client.get("/_mock/requests", params=params).json()["requests"]
    # Accepted sends with unknown fields are logged too, for their warnings (status 200).
    assert len([r for r in logged if r["status"] != 200]) == outcome["rejected"]
    assert outcome["accepted"] > 0, outcome
    assert outcome["rejected"] > 0, outcome
