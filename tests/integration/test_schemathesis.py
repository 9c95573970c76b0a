"""schemathesis against a live server and its /openapi.json (SPEC §2.1): every operation
gets a bounded number of generated requests, valid and invalid, and every answer must be
documented, conform to its schema and never be a 5xx. A stateful test then follows the
document's links (create a project, then get or delete it; send, then read the message;
list callbacks, then redeliver one), so requests also carry ids the server really made.

The cases are generated from `augnet_mock.openapi.document()` when the module is
collected (schemathesis' lazy `from_fixture` loader does not work with this pytest), and
the server fixture checks that the live server serves exactly that document. The server
is dedicated, with a manual clock, so schemathesis may do anything to it, including
reset it, delete the default project and advance the clock.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from receiver import Receiver
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from augnet_mock.openapi import document
from augnet_mock.paging import CURSOR_PATTERN, encode_cursor
from augnet_mock.server import LiveServer
from augnet_mock.settings import Settings
from augnet_mock.validation import FieldError, http_url

MAX_EXAMPLES = 25  # per operation and generation mode; the whole file stays well under 60 s
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Requests the document calls invalid are refused, and ones it calls valid are not:
    # the request schemas are neither looser nor stricter than the server.
    negative_data_rejection,
    positive_data_acceptance,
]
# Operations where a schema-valid request may still be refused, for rules JSON Schema
# cannot state. Every other check still applies to them.
VALID_MAY_BE_REFUSED = {
    "POST /_mock/scenarios": "latency.min <= latency.max; a regex must compile, in RE2 and "
    "within its size budget; integers",
    # JSON Schema counts 34.0 as an integer; the server wants an integer literal.
    "POST /_mock/demo": "count must be written as an integer",
}
URL_FIELDS = ("statusCallback", "webhookUrl", "inboundWebhookUrl")

CONFIG = schemathesis.Config.from_dict(
    {
        "auth": {
            "openapi": {"basicAuth": {"username": DEFAULT_PROJECT_ID, "password": DEFAULT_API_KEY}}
        }
    }
)
# The event stream never ends, so a request to it never answers; test_openapi reads it.
SCHEMA = schemathesis.openapi.from_dict(document(), config=CONFIG).exclude(path="/_mock/events")


@pytest.fixture(scope="module")
def receiver_for_fuzz() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[LiveServer]:
    """A dedicated manual-clock server that serves the document the cases come from."""
    with LiveServer(Settings(clock="manual", callback_backoff=0.05)) as live:
        served = httpx2.get(f"{live.url}/openapi.json", trust_env=False).json()
        assert served == document(), "the live server serves another document"
        yield live


@pytest.fixture(scope="module")
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # 127.0.0.1 only, never through a proxy
        yield s


def is_http_url(value: Any) -> bool:
    try:
        http_url("url", value)
    except FieldError:
        return False
    return True


def use_real_cursors(case: schemathesis.Case) -> None:
    """Swap a generated cursor of the documented form for one the server made.

    Only the server makes cursors, which JSON Schema cannot say: a made-up string of
    the right characters is still refused. The swap keeps it a cursor of the same
    list (position 0: from the start); malformed ones stay as generated, to be refused.
    """
    cursor = (case.query or {}).get("cursor")
    if isinstance(cursor, str) and cursor and re.fullmatch(CURSOR_PATTERN, cursor):
        assert case.query is not None
        case.query["cursor"] = encode_cursor(case.path.rsplit("/", 1)[-1], 0)


def keep_callbacks_local(case: schemathesis.Case, receiver: Receiver) -> None:
    """Point generated webhook URLs at the local receiver.

    Generated URLs name arbitrary hosts, and the mock really posts callbacks to them.
    Only URLs the server would accept are replaced, so invalid ones stay invalid.
    """
    if isinstance(case.body, dict):
        for name in URL_FIELDS:
            if is_http_url(case.body.get(name)):
                case.body[name] = receiver.url("/fuzz")


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is never a fluke
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_document(
    case: schemathesis.Case,
    fuzzed: LiveServer,
    receiver_for_fuzz: Receiver,
    http_session: requests.Session,
) -> None:
    """Generated requests get documented answers that match their schemas, never a 5xx."""
    keep_callbacks_local(case, receiver_for_fuzz)
    use_real_cursors(case)
    if case.path in ("/api/v2/message", "/_mock/demo"):
        # Earlier cases may have added rules that break every send (a 5xx, a dropped
        # connection, minutes of latency) or deleted the default project: start clean.
        assert http_session.post(f"{fuzzed.url}/_mock/reset", timeout=10).status_code == 200
    checks = CHECKS
    if case.operation.label in VALID_MAY_BE_REFUSED:
        checks = [check for check in CHECKS if check is not positive_data_acceptance]
    case.call_and_validate(base_url=fuzzed.url, session=http_session, checks=checks, timeout=10)
    assert not fuzzed.runtime.errors, fuzzed.runtime.errors


# The stateful run: scenarios of linked calls, bounded so that it costs about 20 s here.
STATEFUL_SCENARIOS = 100
STATEFUL_STEPS = 8  # calls per scenario, at most
# Each link's target, and the status that shows a real id reached it through the link.
LINK_TARGETS = {
    "GET /_mock/projects/{projectId}": 200,
    "DELETE /_mock/projects/{projectId}": 204,
    "DELETE /_mock/scenarios/{id}": 204,
    "GET /_mock/messages/{sid}": 200,
    "POST /_mock/callbacks/{id}/redeliver": 200,
}
SENDS = ("POST /api/v2/message", "POST /_mock/demo")


def test_linked_calls_conform_to_the_document(
    fuzzed: LiveServer, receiver_for_fuzz: Receiver, http_session: requests.Session
) -> None:
    """Chains of calls that follow the document's links get documented answers, never a 5xx."""
    base_url = fuzzed.url
    reached: Counter[str] = Counter()

    class Workflow(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario starts from the startup state (earlier ones may have deleted
            # the default project or advanced the clock), with the default project's
            # callbacks going to the local receiver, so that sends fill the journal.
            http_session.post(f"{base_url}/_mock/reset", timeout=10).raise_for_status()
            http_session.patch(
                f"{base_url}/_mock/projects/{DEFAULT_PROJECT_ID}",
                json={"webhookUrl": receiver_for_fuzz.url("/fuzz")},
                timeout=10,
            ).raise_for_status()

        def before_call(self, case: schemathesis.Case) -> None:
            keep_callbacks_local(case, receiver_for_fuzz)
            if case.query and case.operation.label.startswith("GET ") and "cursor" in case.query:
                # A generated cursor is almost never valid (400): the list a link leads
                # to is read from its first page, as a client following the link would.
                del case.query["cursor"]
            if case.operation.label in SENDS:
                # A rule added earlier in the scenario may drop every send's connection
                # or hold it for minutes; the rule's own links do not need it any more.
                http_session.delete(f"{base_url}/_mock/scenarios", timeout=10)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": base_url, "session": http_session, "timeout": 10}

        def after_call(self, response: Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            if case.operation.label == "POST /api/v2/message" and response.status_code == 200:
                # The manual clock runs the `queued` callback only when advanced; advancing
                # by 0 runs what is due now and returns once its callback was journalled.
                advanced = http_session.post(
                    f"{base_url}/_mock/clock/advance", json={"seconds": 0}, timeout=10
                )
                advanced.raise_for_status()
            if LINK_TARGETS.get(case.operation.label) == response.status_code:
                reached[case.operation.label] += 1

        def validate_response(
            self, response: Response, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            checks = CHECKS
            if case.operation.label in VALID_MAY_BE_REFUSED:
                checks = [check for check in CHECKS if check is not positive_data_acceptance]
            case.validate_response(response, checks=checks, recorder=self.recorder)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert not fuzzed.runtime.errors, fuzzed.runtime.errors
    # Random ids almost never exist: a 2xx here means a link carried a real one.
    assert set(reached) == set(LINK_TARGETS), f"links followed to a 2xx: {dict(reached)}"
