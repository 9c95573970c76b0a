"""GET /openapi.json against the real routes and the real answers (SPEC §2.1).

Three things are checked. The document and the app's routes agree both ways. The
document is well formed: refs resolve, schemas are valid JSON Schema, mock extensions
are marked. And every documented (operation, status) pair is produced for real by a
probe below, whose answer must match the documented content type, headers and body
schema, so a field the server adds or drops without the document fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jsonschema_rs
import pytest
import smpplib.client
from receiver import Receiver
from starlette.routing import Mount, Route

from augnet_mock.app import create_app
from augnet_mock.control import LATEST_EPOCH
from augnet_mock.models import DEFAULT_PROJECT_ID
from augnet_mock.openapi import MOCK_EXTENSION, document
from augnet_mock.server import LiveServer
from augnet_mock.settings import Settings

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SETTINGS = Settings(send_delay=0.01, delivery_delay=0.01, callback_backoff=0.05)
TO = "+447515650839"
OVER_LIMIT = b'{"body": "' + b"x" * (64 * 1024) + b'"}'  # the default max_body_bytes is 64 KiB
DOC = document()

# Documented answers the probes here cannot produce, and where they are checked instead.
ELSEWHERE: dict[tuple[str, str, str], str] = {}


# -- the document against the routes ----------------------------------------------


def template(path: str) -> str:
    """Starlette's `{name:converter}` written the OpenAPI way, `{name}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def served_operations() -> set[tuple[str, str]]:
    served: set[tuple[str, str]] = set()
    for route in create_app(Settings()).routes:
        if isinstance(route, Route):
            methods = (route.methods or set()) - {"HEAD"}  # Starlette adds HEAD to every GET
            served |= {(method, template(route.path)) for method in methods}
        elif isinstance(route, Mount):
            served.add(("GET", f"{route.path}/{{path}}"))  # static files: one file per path
        else:
            raise AssertionError(f"a route of a kind this test does not know: {route!r}")
    return served


def documented_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in DOC["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def operations() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, item, operation


def test_every_route_is_documented() -> None:
    """Each method and path the app serves has an operation in the document."""
    missing = served_operations() - documented_operations()
    assert not missing, f"served but not documented: {sorted(missing)}"


def test_every_documented_operation_is_served() -> None:
    """Each operation in the document is a method and path the app serves."""
    extra = documented_operations() - served_operations()
    assert not extra, f"documented but not served: {sorted(extra)}"


def test_path_parameters_match_templates() -> None:
    """Every {name} in a path is a declared, required path parameter, and nothing else is."""
    for method, path, item, operation in operations():
        params = item.get("parameters", []) + operation.get("parameters", [])
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), (method, path)
        assert all(p["required"] for p in params if p["in"] == "path"), (method, path)


def test_mock_extensions_are_marked() -> None:
    """Mock-only operations say x-mock-extension and carry the tag mock; Augnet's do not."""
    for method, path, item, operation in operations():
        label = f"{method} {path}"
        if path.startswith("/api/"):
            assert operation["tags"] == ["augnet"], label
            assert MOCK_EXTENSION not in operation, label
            assert MOCK_EXTENSION not in item, label
        else:
            assert operation["tags"] == ["mock"], label
            assert operation[MOCK_EXTENSION] is True, label
            assert item[MOCK_EXTENSION] is True, label


def test_send_requires_basic_auth() -> None:
    """The send operation declares HTTP Basic, and the scheme is defined."""
    send = DOC["paths"]["/api/v2/message"]["post"]
    assert send["security"] == [{"basicAuth": []}]
    scheme = DOC["components"]["securitySchemes"]["basicAuth"]
    assert scheme == scheme | {"type": "http", "scheme": "basic"}


def test_operation_ids_are_unique() -> None:
    """Every operation has its own operationId (client generators need them)."""
    ids = [operation["operationId"] for *_, operation in operations()]
    assert len(ids) == len(set(ids))


def test_links_name_real_operations_and_parameters() -> None:
    """Each link targets an existing operation, sets only parameters it declares, and reads
    a field its source's answer has."""
    by_id = {op["operationId"]: (item, op) for _, _, item, op in operations()}
    links = [
        (op, status, link)
        for *_, op in operations()
        for status, response in op["responses"].items()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 5, "the stateful test needs the documented links"
    for source, status, link in links:
        item, target = by_id[link["operationId"]]
        declared = {
            f"{p['in']}.{p['name']}"
            for p in item.get("parameters", []) + target.get("parameters", [])
        }
        assert set(link["parameters"]) <= declared, (source["operationId"], link)
        schema = source["responses"][status]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[-1]
        for expression in link["parameters"].values():
            pointer = expression.removeprefix("$response.body#/").split("/")
            fields = DOC["components"]["schemas"][name]["properties"]
            assert pointer[0] in fields, (source["operationId"], expression)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = DOC
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_resolves_and_every_component_is_used() -> None:
    """No dangling $ref, and no component schema that nothing refers to."""
    refs = set(_refs(DOC))
    for pointer in refs:
        resolve(pointer)
    unused = {f"#/components/schemas/{name}" for name in DOC["components"]["schemas"]} - refs
    assert not unused, f"unused schemas: {sorted(unused)}"


def test_component_schemas_are_valid_json_schema() -> None:
    """Each component schema is valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1)."""
    assert DOC["openapi"].startswith("3.1.")
    for name, schema in DOC["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_error_schema_requires_every_field() -> None:
    """The one error shape: timestamp, status, error, message, path, all required."""
    error = DOC["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"timestamp", "status", "error", "message", "path"}
    assert error["additionalProperties"] is False


def test_live_server_serves_the_document(client: httpx2.Client) -> None:
    """GET /openapi.json returns this document as JSON."""
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == DOC


# -- the real answers against the document ----------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, response: httpx2.Response) -> Answer:
        return cls(response.status_code, dict(response.headers), response.content)

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def documented_key(method: str, path: str, status: int) -> str | None:
    responses = DOC["paths"][path][method.lower()]["responses"]
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return key
    return None


def _media_matches(documented: str, actual: str) -> bool:
    if documented in ("*/*", actual):
        return True
    return documented.endswith("/*") and actual.startswith(documented[:-1])


def check_against_document(method: str, path: str, answer: Answer) -> None:
    """The answer's status, content type, headers and body are what the document says."""
    key = documented_key(method, path, answer.status)
    assert key is not None, f"{method} {path} answered {answer.status}: not documented"
    spec = DOC["paths"][path][method.lower()]["responses"][key]
    if "$ref" in spec:
        spec = resolve(spec["$ref"])
    for name, header in spec.get("headers", {}).items():
        value = answer.headers.get(name.lower())
        assert value is not None or not header.get("required"), f"missing header {name}"
        if value is not None and header["schema"].get("type") == "integer":
            assert value.isdigit(), f"{name}: {value!r} is not an integer"
    content = spec.get("content")
    if not content:
        assert answer.body == b"", f"{method} {path} {answer.status} should have no body"
        return
    media = [m for m in content if _media_matches(m, answer.media_type)]
    assert media, f"content type {answer.media_type!r} is not one of {sorted(content)}"
    schema = content[media[0]]["schema"]
    if answer.media_type == "application/json":
        instance = json.loads(answer.body)
    else:
        instance = answer.body.decode("utf-8")
    # The components ride along so that the schema's "#/components/..." refs resolve.
    validator = jsonschema_rs.Draft202012Validator(
        {**schema, "components": DOC["components"]}, validate_formats=True
    )
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, f"{method} {path} {answer.status} body breaks its schema: {errors}"


class World:
    """Two dedicated servers (manual and real clock), a receiver and some records."""

    def __init__(self, manual: LiveServer, real: LiveServer, receiver: Receiver) -> None:
        self.manual = manual
        self.m = httpx2.Client(base_url=manual.url, timeout=10.0, trust_env=False)
        self.r = httpx2.Client(base_url=real.url, timeout=10.0, trust_env=False)
        self.receiver = receiver
        self.project = self.new_project(senders=["ABCTAXI"])
        self.sid = self.send(self.project, **{"from": "ABCTAXI"}).json()["sid"]
        self.advance()
        self.attempt_id = self.m.get(f"/_mock/messages/{self.sid}").json()["callbacks"][0]["id"]

    def new_project(self, **fields: Any) -> dict[str, Any]:
        body = {"webhookUrl": self.receiver.url("/hook")} | fields
        response = self.m.post("/_mock/projects", json=body)
        assert response.status_code == 201, response.text
        project: dict[str, Any] = response.json()
        return project

    def send(self, project: dict[str, Any], **fields: Any) -> httpx2.Response:
        return self.m.post(
            "/api/v2/message",
            auth=(project["projectId"], project["apiKey"]),
            json={"to": TO, "body": "hello"} | fields,
        )

    def advance(self) -> None:
        response = self.m.post("/_mock/clock/advance", json={"seconds": 3600})
        assert response.status_code == 200, response.text

    def rule(self, project: dict[str, Any], effect: dict[str, Any]) -> dict[str, Any]:
        spec = {"match": {"project": project["projectId"]}, "effect": effect}
        response = self.m.post("/_mock/scenarios", json=spec)
        assert response.status_code == 201, response.text
        rule: dict[str, Any] = response.json()
        return rule

    def close(self) -> None:
        self.m.close()
        self.r.close()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    receiver = Receiver().start()
    with (
        LiveServer(Settings(clock="manual", callback_backoff=0.05)) as manual,
        LiveServer(SETTINGS) as real,
    ):
        w = World(manual, real, receiver)
        yield w
        w.close()
    receiver.stop()


ProbeCall = Callable[[World], "httpx2.Response | Answer"]


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    status: int
    call: ProbeCall
    headers: tuple[str, ...] = field(default=())  # headers this answer must carry

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status} {self.call.__name__}"


PROBES: list[Probe] = []


def probe(
    method: str, path: str, status: int, *, headers: tuple[str, ...] = ()
) -> Callable[[ProbeCall], ProbeCall]:
    def register(call: ProbeCall) -> ProbeCall:
        PROBES.append(Probe(method, path, status, call, headers))
        return call

    return register


def json_post(client: httpx2.Client, url: str, body: bytes) -> httpx2.Response:
    return client.post(url, content=body, headers={"Content-Type": "application/json"})


def text_post(client: httpx2.Client, url: str) -> httpx2.Response:
    return client.post(url, content=b"seconds=5", headers={"Content-Type": "text/plain"})


# The Augnet surface.


@probe("POST", "/api/v2/message", 200)
def send_accepted(w: World) -> httpx2.Response:
    return w.send(w.project, statusCallback=w.receiver.url("/status"))


@probe("POST", "/api/v2/message", 400)
def send_missing_to(w: World) -> httpx2.Response:
    return w.m.post("/api/v2/message", auth=(w.project["projectId"], w.project["apiKey"]), json={})


@probe("POST", "/api/v2/message", 401, headers=("www-authenticate",))
def send_without_credentials(w: World) -> httpx2.Response:
    return w.m.post("/api/v2/message", json={"to": TO, "body": "hi"})


@probe("POST", "/api/v2/message", 413)
def send_too_big(w: World) -> httpx2.Response:
    auth = (w.project["projectId"], w.project["apiKey"])
    return w.m.post(
        "/api/v2/message",
        auth=auth,
        content=OVER_LIMIT,
        headers={"Content-Type": "application/json"},
    )


@probe("POST", "/api/v2/message", 415)
def send_not_json(w: World) -> httpx2.Response:
    auth = (w.project["projectId"], w.project["apiKey"])
    return w.m.post("/api/v2/message", auth=auth, content=b"to=1", headers={"Content-Type": "a/b"})


@probe("POST", "/api/v2/message", 429, headers=("retry-after",))
def send_rate_limited(w: World) -> httpx2.Response:
    return w.send(w.project, to="+447700900429")


@probe("POST", "/api/v2/message", 500)
def send_server_error(w: World) -> httpx2.Response:
    return w.send(w.project, to="+447700900500")


@probe("POST", "/api/v2/message", 503, headers=("retry-after",))
def send_unavailable(w: World) -> httpx2.Response:
    return w.send(w.project, to="+447700900503")


@probe("POST", "/api/v2/message", 418)
def send_scenario_client_error(w: World) -> httpx2.Response:
    project = w.new_project()
    w.rule(project, {"apiError": {"status": 418, "message": "teapot"}})
    return w.send(project)


@probe("POST", "/api/v2/message", 502)
def send_scenario_server_error(w: World) -> httpx2.Response:
    project = w.new_project()
    w.rule(project, {"apiError": {"status": 502, "message": "bad gateway"}})
    return w.send(project)


# The mock surface: health, reset, projects.


@probe("GET", "/_mock/health", 200)
def health(w: World) -> httpx2.Response:
    return w.m.get("/_mock/health")


@probe("POST", "/_mock/reset", 200)
def reset(w: World) -> httpx2.Response:
    with LiveServer(SETTINGS) as throwaway:  # a reset would wipe the world's records
        return httpx2.post(f"{throwaway.url}/_mock/reset", trust_env=False)


@probe("GET", "/_mock/projects", 200)
def list_projects(w: World) -> httpx2.Response:
    return w.m.get("/_mock/projects")


@probe("GET", "/_mock/projects", 200)
def list_projects_paged(w: World) -> httpx2.Response:
    w.new_project()
    first = w.m.get("/_mock/projects", params={"limit": 1})
    assert first.json()["nextCursor"], first.text  # the world has two projects at least
    return w.m.get("/_mock/projects", params={"limit": 1, "cursor": first.json()["nextCursor"]})


@probe("GET", "/_mock/projects", 400)
def list_projects_bad_limit(w: World) -> httpx2.Response:
    return w.m.get("/_mock/projects", params={"limit": "0"})


@probe("POST", "/_mock/projects", 201)
def create_project_in_full(w: World) -> httpx2.Response:
    return w.m.post(
        "/_mock/projects",
        json={
            "projectId": f"full-{len(w.m.get('/_mock/projects').json()['projects'])}",
            "apiKey": "key",
            "signingKey": None,
            "senders": ["SHOP", "+441632960961", "12345"],
            "fallbackSender": "INFO",
            "webhookUrl": w.receiver.url("/status"),
            "inboundWebhookUrl": w.receiver.url("/inbound"),
            "smpp": {"systemId": "shop", "password": "secret"},
            "sendDelay": 0.5,
            "deliveryDelay": None,
        },
    )


@probe("POST", "/_mock/projects", 400)
def create_project_unknown_key(w: World) -> httpx2.Response:
    return w.m.post("/_mock/projects", json={"colour": "blue"})


@probe("POST", "/_mock/projects", 409)
def create_project_twice(w: World) -> httpx2.Response:
    return w.m.post("/_mock/projects", json={"projectId": w.project["projectId"]})


@probe("POST", "/_mock/projects", 413)
def create_project_too_big(w: World) -> httpx2.Response:
    return json_post(w.m, "/_mock/projects", OVER_LIMIT)


@probe("POST", "/_mock/projects", 415)
def create_project_not_json(w: World) -> httpx2.Response:
    return text_post(w.m, "/_mock/projects")


@probe("GET", "/_mock/projects/{projectId}", 200)
def get_project(w: World) -> httpx2.Response:
    return w.m.get(f"/_mock/projects/{w.project['projectId']}")


@probe("GET", "/_mock/projects/{projectId}", 200)
def get_default_project(w: World) -> httpx2.Response:
    return w.m.get(f"/_mock/projects/{DEFAULT_PROJECT_ID}")


@probe("GET", "/_mock/projects/{projectId}", 404)
def get_missing_project(w: World) -> httpx2.Response:
    return w.m.get("/_mock/projects/no-such-project")


@probe("PATCH", "/_mock/projects/{projectId}", 200)
def update_project(w: World) -> httpx2.Response:
    project = w.new_project()
    return w.m.patch(f"/_mock/projects/{project['projectId']}", json={"senders": ["SHOP"]})


@probe("PATCH", "/_mock/projects/{projectId}", 400)
def update_project_bad_field(w: World) -> httpx2.Response:
    return w.m.patch(f"/_mock/projects/{w.project['projectId']}", json={"webhookUrl": "ftp://x"})


@probe("PATCH", "/_mock/projects/{projectId}", 404)
def update_missing_project(w: World) -> httpx2.Response:
    return w.m.patch("/_mock/projects/no-such-project", json={})


@probe("PATCH", "/_mock/projects/{projectId}", 413)
def update_project_too_big(w: World) -> httpx2.Response:
    url = f"/_mock/projects/{w.project['projectId']}"
    return w.m.patch(url, content=OVER_LIMIT, headers={"Content-Type": "application/json"})


@probe("PATCH", "/_mock/projects/{projectId}", 415)
def update_project_not_json(w: World) -> httpx2.Response:
    url = f"/_mock/projects/{w.project['projectId']}"
    return w.m.patch(url, content=b"senders=x", headers={"Content-Type": "text/plain"})


@probe("DELETE", "/_mock/projects/{projectId}", 204)
def delete_project(w: World) -> httpx2.Response:
    return w.m.delete(f"/_mock/projects/{w.new_project()['projectId']}")


@probe("DELETE", "/_mock/projects/{projectId}", 404)
def delete_missing_project(w: World) -> httpx2.Response:
    return w.m.delete("/_mock/projects/no-such-project")


# Messages, callbacks, rejected requests.


@probe("GET", "/_mock/messages", 200)
def list_messages(w: World) -> httpx2.Response:
    return w.m.get("/_mock/messages", params={"projectId": w.project["projectId"]})


@probe("GET", "/_mock/messages", 400)
def list_messages_bad_status(w: World) -> httpx2.Response:
    return w.m.get("/_mock/messages", params={"status": "lost"})


@probe("GET", "/_mock/messages", 400)
def list_messages_bad_cursor(w: World) -> httpx2.Response:
    return w.m.get("/_mock/messages", params={"cursor": "not-a-cursor"})


@probe("DELETE", "/_mock/messages", 200)
def clear_messages(w: World) -> httpx2.Response:
    project = w.new_project()
    assert w.send(project).status_code == 200
    return w.m.delete("/_mock/messages", params={"projectId": project["projectId"]})


@probe("GET", "/_mock/messages/{sid}", 200)
def get_delivered_message(w: World) -> httpx2.Response:
    return w.m.get(f"/_mock/messages/{w.sid}")


@probe("GET", "/_mock/messages/{sid}", 200)
def get_message_a_scenario_broke(w: World) -> httpx2.Response:
    project = w.new_project()
    effect = {
        "finalStatus": "undelivered",
        "errorCode": "30003",
        "callback": {"badSignature": True, "duplicate": True},
    }
    w.rule(project, effect)
    sid = w.send(project, body="ünïcödé ✓").json()["sid"]
    w.advance()
    return w.m.get(f"/_mock/messages/{sid}")


@probe("GET", "/_mock/messages/{sid}", 404)
def get_missing_message(w: World) -> httpx2.Response:
    return w.m.get("/_mock/messages/no-such-sid")


@probe("GET", "/_mock/callbacks", 200)
def list_callbacks(w: World) -> httpx2.Response:
    return w.m.get("/_mock/callbacks", params={"projectId": w.project["projectId"]})


@probe("GET", "/_mock/callbacks", 400)
def list_callbacks_bad_flag(w: World) -> httpx2.Response:
    return w.m.get("/_mock/callbacks", params={"ok": "maybe"})


@probe("GET", "/_mock/callbacks", 400)
def list_callbacks_bad_limit(w: World) -> httpx2.Response:
    return w.m.get("/_mock/callbacks", params={"limit": "1001"})


@probe("POST", "/_mock/callbacks/{id}/redeliver", 200)
def redeliver(w: World) -> httpx2.Response:
    return w.m.post(f"/_mock/callbacks/{w.attempt_id}/redeliver")


@probe("POST", "/_mock/callbacks/{id}/redeliver", 404)
def redeliver_missing(w: World) -> httpx2.Response:
    return w.m.post("/_mock/callbacks/no-such-attempt/redeliver")


@probe("GET", "/_mock/requests", 200)
def list_rejected_including_a_drop(w: World) -> httpx2.Response:
    project = w.new_project()
    assert w.send(project, to="12").status_code == 400
    with pytest.raises(httpx2.TransportError):
        w.send(project, to="+447700900903")  # the magic number that drops the connection
    assert w.send(project, statusCallBack="http://x.test/").status_code == 200  # a warning
    response = w.m.get("/_mock/requests", params={"projectId": project["projectId"]})
    assert [r["status"] for r in response.json()["requests"]] == [400, None, 200]
    return response


@probe("GET", "/_mock/usage", 200)
def usage(w: World) -> httpx2.Response:
    project = w.new_project(prices={"*": 0.1})
    assert w.send(project, body="hello’").status_code == 200
    return w.m.get(
        "/_mock/usage",
        params={"projectId": project["projectId"], "since": "2000-01-01T00:00:00Z"},
    )


@probe("GET", "/_mock/usage", 400)
def usage_bad_window(w: World) -> httpx2.Response:
    return w.m.get("/_mock/usage", params={"until": "yesterday"})


# Scenarios.


@probe("GET", "/_mock/requests", 400)
def list_rejected_bad_order(w: World) -> httpx2.Response:
    return w.m.get("/_mock/requests", params={"order": "sideways"})


@probe("GET", "/_mock/scenarios", 400)
def list_scenarios_cursor_of_another_list(w: World) -> httpx2.Response:
    cursor = w.m.get("/_mock/projects", params={"limit": 1}).json()["nextCursor"]
    return w.m.get("/_mock/scenarios", params={"cursor": cursor})


@probe("GET", "/_mock/scenarios", 200)
def list_scenarios(w: World) -> httpx2.Response:
    w.rule(w.new_project(), {"sendDelay": 1})
    return w.m.get("/_mock/scenarios")


@probe("POST", "/_mock/scenarios", 201)
def add_scenario_in_full(w: World) -> httpx2.Response:
    project = w.new_project()
    spec = {
        "name": "everything",
        "match": {
            "project": {"exact": project["projectId"]},
            "to": {"glob": "+44*"},
            "from": "SHOP",
            "body": {"regex": "^code"},
        },
        "effect": {
            "apiError": {"status": 429, "message": "slow down", "retryAfter": 3},
            "latency": {"min": 0, "max": 0.1},
            "dropConnection": False,
            "sendDelay": 1,
            "deliveryDelay": 2.5,
            "finalStatus": "failed",
            "errorCode": "30008",
            "callback": {"drop": ["sent"], "reorder": True, "staleDate": False},
        },
        "times": 2,
        "probability": 0.5,
    }
    return w.m.post("/_mock/scenarios", json=spec)


@probe("POST", "/_mock/scenarios", 400)
def add_scenario_without_effect(w: World) -> httpx2.Response:
    return w.m.post("/_mock/scenarios", json={"match": {"to": TO}})


@probe("POST", "/_mock/scenarios", 409)
def add_scenario_twice(w: World) -> httpx2.Response:
    rule = w.rule(w.new_project(), {"sendDelay": 1})
    return w.m.post("/_mock/scenarios", json={"id": rule["id"], "effect": {"sendDelay": 1}})


@probe("POST", "/_mock/scenarios", 413)
def add_scenario_too_big(w: World) -> httpx2.Response:
    return json_post(w.m, "/_mock/scenarios", OVER_LIMIT)


@probe("POST", "/_mock/scenarios", 415)
def add_scenario_not_json(w: World) -> httpx2.Response:
    return text_post(w.m, "/_mock/scenarios")


@probe("DELETE", "/_mock/scenarios", 200)
def clear_scenarios(w: World) -> httpx2.Response:
    return w.r.delete("/_mock/scenarios")


@probe("GET", "/_mock/scenarios/builtin", 200)
def builtin_scenarios(w: World) -> httpx2.Response:
    return w.m.get("/_mock/scenarios/builtin")


@probe("DELETE", "/_mock/scenarios/{id}", 204)
def delete_scenario(w: World) -> httpx2.Response:
    return w.m.delete(f"/_mock/scenarios/{w.rule(w.new_project(), {'sendDelay': 1})['id']}")


@probe("DELETE", "/_mock/scenarios/{id}", 404)
def delete_missing_scenario(w: World) -> httpx2.Response:
    return w.m.delete("/_mock/scenarios/no-such-rule")


# SMPP.


@probe("GET", "/_mock/smpp/sessions", 200)
def smpp_sessions(w: World) -> httpx2.Response:
    port = w.manual.smpp_port
    assert port is not None
    client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    client.connect()
    try:
        project = w.project["smpp"]
        client.bind_transceiver(system_id=project["systemId"], password=project["password"])
        response = w.m.get("/_mock/smpp/sessions")
        assert response.json()["sessions"], response.text  # a listed session, checked too
        return response
    finally:
        client.unbind()
        client.disconnect()


@probe("GET", "/_mock/smpp/sessions", 400)
def smpp_sessions_bad_limit(w: World) -> httpx2.Response:
    return w.m.get("/_mock/smpp/sessions", params={"limit": "0"})


# The clock.


@probe("GET", "/_mock/clock", 200)
def get_manual_clock(w: World) -> httpx2.Response:
    return w.m.get("/_mock/clock")


@probe("GET", "/_mock/clock", 200)
def get_real_clock(w: World) -> httpx2.Response:
    return w.r.get("/_mock/clock")


@probe("POST", "/_mock/clock/advance", 200)
def advance(w: World) -> httpx2.Response:
    return w.m.post("/_mock/clock/advance", json={"seconds": 0.5})


@probe("POST", "/_mock/clock/advance", 400)
def advance_without_seconds(w: World) -> httpx2.Response:
    return w.m.post("/_mock/clock/advance", json={"minutes": 1})


@probe("POST", "/_mock/clock/advance", 200)
def advance_past_year_9999(w: World) -> httpx2.Response:
    with (
        LiveServer(Settings(clock="manual")) as throwaway,
        httpx2.Client(base_url=throwaway.url, trust_env=False) as http,
    ):
        # The largest advance there is: from any reading, it passes the year 9999.
        response = http.post("/_mock/clock/advance", json={"seconds": LATEST_EPOCH})
        assert response.json()["now"] == "9999-12-31T23:59:59.000Z"  # it stops there
        assert http.get("/_mock/health").status_code == 200  # and still answers
        return response


@probe("POST", "/_mock/clock/advance", 409)
def advance_real_clock(w: World) -> httpx2.Response:
    return w.r.post("/_mock/clock/advance", json={"seconds": 1})


@probe("POST", "/_mock/clock/advance", 413)
def advance_too_big(w: World) -> httpx2.Response:
    return json_post(w.m, "/_mock/clock/advance", OVER_LIMIT)


@probe("POST", "/_mock/clock/advance", 415)
def advance_not_json(w: World) -> httpx2.Response:
    return text_post(w.m, "/_mock/clock/advance")


# Demo traffic, events, the web inbox, this document.


@probe("POST", "/_mock/demo", 200)
def demo(w: World) -> httpx2.Response:
    return w.m.post("/_mock/demo", json={"count": 3, "projectId": w.new_project()["projectId"]})


@probe("POST", "/_mock/demo", 400)
def demo_too_many(w: World) -> httpx2.Response:
    return w.m.post("/_mock/demo", json={"count": 101})


@probe("POST", "/_mock/demo", 404)
def demo_missing_project(w: World) -> httpx2.Response:
    return w.m.post("/_mock/demo", json={"projectId": "no-such-project"})


@probe("POST", "/_mock/demo", 409)
def demo_without_projects(w: World) -> httpx2.Response:
    with LiveServer(Settings(default_project=False)) as empty:
        return httpx2.post(f"{empty.url}/_mock/demo", trust_env=False)


@probe("POST", "/_mock/demo", 413)
def demo_too_big(w: World) -> httpx2.Response:
    return json_post(w.m, "/_mock/demo", OVER_LIMIT)


@probe("POST", "/_mock/demo", 415)
def demo_not_json(w: World) -> httpx2.Response:
    return text_post(w.m, "/_mock/demo")


@probe("GET", "/_mock/events", 200)
def events(w: World) -> Answer:
    with w.m.stream("GET", "/_mock/events") as response:
        first = next(response.iter_bytes())  # the stream never ends: read its greeting
        return Answer(response.status_code, dict(response.headers), first)


@probe("GET", "/", 200)
def inbox(w: World) -> httpx2.Response:
    return w.m.get("/")


@probe("GET", "/static/{path}", 200)
def static_file(w: World) -> httpx2.Response:
    return w.m.get("/static/app.js")


@probe("GET", "/static/{path}", 404)
def static_file_missing(w: World) -> httpx2.Response:
    return w.m.get("/static/no-such-file.js")


@probe("GET", "/openapi.json", 200)
def openapi(w: World) -> httpx2.Response:
    return w.m.get("/openapi.json")


@pytest.mark.parametrize("probe", PROBES, ids=str)
def test_real_answer_matches_the_document(world: World, probe: Probe) -> None:
    """The route really answers this status, with the documented type, headers and body."""
    result = probe.call(world)
    answer = result if isinstance(result, Answer) else Answer.of(result)
    assert answer.status == probe.status, answer.body[:500]
    check_against_document(probe.method, probe.path, answer)
    for header in probe.headers:
        assert header in answer.headers, f"missing {header}"


def test_probes_cover_every_documented_answer() -> None:
    """Every documented (operation, status) pair is produced by a probe above."""
    documented = {
        (method, path, key)
        for method, path, _, operation in operations()
        for key in operation["responses"]
    }
    probed = {(p.method, p.path, documented_key(p.method, p.path, p.status)) for p in PROBES}
    missing = documented - probed - set(ELSEWHERE)
    assert not missing, f"no probe produces: {sorted(missing)}"
