"""The pytest plugin: fixtures and a marker wired to `augnet_mock.AugnetMock`.

Wiring only; the work is done by `augnet_mock.client` and `augnet_mock.server`.
Loaded through the `pytest11` entry point, so installing augnet-mock is enough.

Fixtures (all overridable):
    augnet                 the handle: a fresh project per test, deleted after it
    augnet_project_config  the JSON body that creates that project ({} by default)
    augnet_settings        Settings of the in-thread session server
    augnet_server          the in-thread session server (a LiveServer), started on first use
    augnet_url             the external server's URL (--augnet-url / AUGNET_MOCK_URL), or None
    augnet_token           its admin token (--augnet-token / AUGNET_MOCK_TOKEN), or None
Marker:
    @pytest.mark.augnet(clock="manual", seed=7, scenarios=[...], strict_callbacks=True,
                        settings={"callback_attempts": 2}, strict=False)

A marker's clock, seed or server settings need a server started with them; the plugin
keeps such servers for later tests with equal settings (reset between tests). Its
`send_delay` / `delivery_delay` go to the test's project instead, as do the in-thread
server's short delays when the tests drive an external server.

Strict contract mode is on by default (ini `augnet_strict = false` turns it off): a
send with a field Augnet would ignore, such as `statusCallBack`, gets 400.
Reporting: a failed test that used `augnet` carries its transcript; the run ends with
a usage summary, and `--augnet-usage-json FILE` writes the per-test figures.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import httpx2
import pytest

from augnet_mock.client import AugnetError, AugnetMock, Connections, fast_settings
from augnet_mock.server import LiveServer
from augnet_mock.settings import Settings
from augnet_mock.usage_report import TestUsage, UsageReport

T = TypeVar("T")
ENV_URL = "AUGNET_MOCK_URL"
ENV_TOKEN = "AUGNET_MOCK_TOKEN"
MARKER_OPTIONS = ("clock", "seed", "scenarios", "strict_callbacks", "settings", "strict")
MARKER_HELP = (
    "augnet(clock=None, seed=None, scenarios=(), strict_callbacks=False, settings=None, "
    "strict=None): "
    "configure the augnet-mock fixture for this test; clock, seed and settings give the "
    "test a server started with them (kept for later tests with the same ones)"
)


# Distinct marker settings whose servers are kept for later tests; past this the least
# recently used one stops. Each is a thread with an event loop, and a suite rarely uses more
# than a few combinations (a manual clock, a seed or two).
MAX_POOLED_SERVERS = 8
# Marker `settings` that are also project fields: the test's own project takes them, so
# they need no server of their own, and work against an external server too.
PROJECT_SETTINGS = {"send_delay": "sendDelay", "delivery_delay": "deliveryDelay"}


@dataclass
class _Resources:
    """What the session started, so pytest_sessionfinish can stop whatever is left."""

    servers: list[LiveServer] = field(default_factory=list)
    connections: dict[str, Connections] = field(default_factory=dict)
    token: str | None = None  # the external server's admin token
    # Servers started for a marker's clock, seed or settings, least recently used first:
    # the next test that asks for equal settings gets one back, reset, in well under a
    # millisecond, where starting and stopping one costs ~7 ms + ~190 ms (uvicorn's exit).
    pool: list[LiveServer] = field(default_factory=list)

    def connect(self, target: str | LiveServer) -> Connections:
        # One set of clients and transports per server, shared by every test's handle:
        # built once, so a test pays for no client of its own. An in-thread server's
        # own token is found by Connections; the given one is the external's.
        url = target if isinstance(target, str) else target.url
        if url not in self.connections:
            token = self.token if isinstance(target, str) else None
            self.connections[url] = Connections(target, token=token)
        return self.connections[url]

    def client(self, target: str | LiveServer) -> httpx2.Client:
        """The shared control client of `target`."""
        return self.connect(target).control


_RESOURCES = pytest.StashKey[_Resources]()
# The handle of the test running, if it has one: for strict_callbacks and its transcript.
_HANDLE = pytest.StashKey[AugnetMock]()
USAGE_PROPERTY = "augnet_usage"  # a report's user property: crosses xdist to the controller
TRANSCRIPT_SECTION = "augnet-mock transcript"


@dataclass(frozen=True)
class _Options:
    clock: str | None = None
    seed: int | None = None
    scenarios: tuple[Any, ...] = ()
    strict_callbacks: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    strict: bool | None = None  # None: the ini option augnet_strict (true by default)

    def server_overrides(self, base: Settings) -> dict[str, Any]:
        """Settings this test needs that the session server does not have (the project's
        own delays are not among them: see project_fields)."""
        wanted = {k: v for k, v in self.settings.items() if k not in PROJECT_SETTINGS}
        if self.clock is not None:
            wanted["clock"] = self.clock
        if self.seed is not None:
            wanted["seed"] = self.seed
        return {k: v for k, v in wanted.items() if getattr(base, k, object()) != v}

    def project_fields(self) -> dict[str, Any]:
        """The marker's `send_delay` / `delivery_delay`, as fields of the test's project."""
        return {PROJECT_SETTINGS[k]: v for k, v in self.settings.items() if k in PROJECT_SETTINGS}


def _project_body(
    config: dict[str, Any], options: _Options, base: Settings, *, external: bool
) -> dict[str, Any]:
    """The test's project: `augnet_project_config`, then the marker's delays. On an external
    server it also gets the in-thread server's short delays unless one of those set them:
    the server's own (0.2 s, 0.5 s by default) would make a suite twice as slow there."""
    body = dict(config)
    if external:
        body.setdefault("sendDelay", base.send_delay)
        body.setdefault("deliveryDelay", base.delivery_delay)
    return body | options.project_fields()


def _options(node: pytest.Item) -> _Options:
    """The augnet markers on this test, closest winning (function over class over module)."""
    merged: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("augnet"))):
        if marker.args:
            pytest.fail("@pytest.mark.augnet takes keyword arguments only", pytrace=False)
        merged |= marker.kwargs
    unknown = sorted(set(merged) - set(MARKER_OPTIONS))
    if unknown:
        pytest.fail(
            f"@pytest.mark.augnet: unknown option(s) {', '.join(unknown)}; "
            f"expected {', '.join(MARKER_OPTIONS)}",
            pytrace=False,
        )
    if merged.get("clock") not in (None, "real", "manual"):
        pytest.fail(
            f"@pytest.mark.augnet: clock must be 'real' or 'manual', got {merged['clock']!r}",
            pytrace=False,
        )
    scenarios = merged.get("scenarios", ())
    if isinstance(scenarios, str | dict):
        scenarios = (scenarios,)
    return _Options(
        clock=merged.get("clock"),
        seed=merged.get("seed"),
        scenarios=tuple(scenarios),
        strict_callbacks=bool(merged.get("strict_callbacks", False)),
        settings=dict(merged.get("settings") or {}),
        strict=None if merged.get("strict") is None else bool(merged["strict"]),
    )


def _start_server(config: pytest.Config, settings: Settings) -> LiveServer:
    server = LiveServer(settings).start()
    config.stash[_RESOURCES].servers.append(server)
    return server


def _pooled_server(config: pytest.Config, settings: Settings) -> LiveServer:
    """A running server with exactly these settings, as fresh as a new one: taken from the
    pool and reset (projects, rules, clock jobs, seed), or started."""
    pool = config.stash[_RESOURCES].pool
    for server in pool:
        if server.runtime.settings == settings:
            pool.remove(server)
            pool.append(server)
            client = config.stash[_RESOURCES].client(server)
            response = client.post(f"{server.url}/_mock/reset")
            if response.status_code != 200:
                raise AugnetError(f"POST /_mock/reset -> {response.status_code}: {response.text}")
            return server
    if len(pool) >= MAX_POOLED_SERVERS:
        _stop_server(config, pool.pop(0))
    server = _start_server(config, settings)
    pool.append(server)
    return server


def _stop_server(config: pytest.Config, server: LiveServer) -> None:
    resources = config.stash[_RESOURCES]
    connections = resources.connections.pop(server.url, None)
    if connections is not None:
        connections.close()
    server.stop()
    for started in (resources.servers, resources.pool):
        if server in started:
            started.remove(server)


# -- hooks ------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("augnet", "augnet-mock")
    group.addoption(
        "--augnet-url",
        dest="augnet_url",
        default=None,
        metavar="URL",
        help=f"drive an already-running augnet-mock at URL instead of an in-thread one "
        f"(env {ENV_URL})",
    )
    group.addoption(
        "--augnet-token",
        dest="augnet_token",
        default=None,
        metavar="TOKEN",
        help=f"the admin token of the server at --augnet-url, if it was started with one "
        f"(env {ENV_TOKEN})",
    )
    group.addoption(
        "--augnet-usage-json",
        dest="augnet_usage_json",
        default=None,
        metavar="FILE",
        help="write each test's augnet-mock messages, parts and cost to FILE (JSON), "
        "so CI can compare two runs",
    )
    parser.addini(
        "augnet_strict",
        type="bool",
        default=True,
        help="refuse sends with fields Augnet would ignore (statusCallBack...) with a 400; "
        "true by default, the marker's strict= wins",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    token = config.getoption("augnet_token", None) or os.environ.get(ENV_TOKEN) or None
    config.stash[_RESOURCES] = _Resources(token=token)
    config.pluginmanager.register(_UsageCollector(config), "augnet-mock-usage")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used `augnet` carries every message it sent: a section of its
    failure text, which the terminal and JUnit XML (<failure>) both show."""
    report = yield
    handle = item.stash.get(_HANDLE, None)
    if report.failed and handle is not None and hasattr(report.longrepr, "addsection"):
        try:
            text = handle.transcript()
        except (AugnetError, httpx2.HTTPError) as exc:
            text = f"(the transcript could not be read: {exc})"
        report.longrepr.addsection(TRANSCRIPT_SECTION, text)  # type: ignore[union-attr]
    return report


class _UsageCollector:
    """Each test's usage, gathered from teardown reports (so under xdist the controller
    sees every worker's), summed at the end of the run and written with --augnet-usage-json.
    Registered as a plugin object so that it holds its state without module globals."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report = UsageReport()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == USAGE_PROPERTY and isinstance(value, dict):
                self.report.add(TestUsage.from_json(report.nodeid, value))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        text = self.report.summary()
        if text:
            terminalreporter.write_sep("-", "augnet-mock usage")
            terminalreporter.write_line(text)

    def pytest_sessionfinish(self) -> None:
        path = self.config.getoption("augnet_usage_json", None)
        if path and not hasattr(self.config, "workerinput"):  # the controller writes it
            self.report.write_json(path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop whatever the fixtures left running (an interrupted session, say)."""
    resources = session.config.stash.get(_RESOURCES, None)
    if resources is None:
        return
    for server in resources.servers:
        server.stop()
    resources.servers.clear()
    resources.pool.clear()
    for connections in resources.connections.values():
        connections.close()
    resources.connections.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """strict_callbacks judges the webhook attempts made while the test body ran, as
    part of the test: a failure is the test's, and retries that run once its receiver
    is torn down (connection refused) are not counted against it."""
    handle = item.stash.get(_HANDLE, None)
    try:
        result = yield
    except BaseException:
        if handle is not None:
            handle.strict_callbacks = False  # the test failed already; no second report
        raise
    if handle is not None:
        _attempt("", handle.check_callbacks)
    return result


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def augnet_url(pytestconfig: pytest.Config) -> str | None:
    """The external augnet-mock to drive (--augnet-url, else AUGNET_MOCK_URL), or None."""
    url: str | None = pytestconfig.getoption("augnet_url") or os.environ.get(ENV_URL) or None
    return url.rstrip("/") if url else None


@pytest.fixture(scope="session")
def augnet_token(pytestconfig: pytest.Config) -> str | None:
    """The external server's admin token (--augnet-token, else AUGNET_MOCK_TOKEN), or None;
    sent as Bearer with every control request, for clients of your own as well."""
    return pytestconfig.stash[_RESOURCES].token


@pytest.fixture(scope="session")
def augnet_settings() -> Settings:
    """Settings of the in-thread server: fast lifecycles (~20 ms to delivered)."""
    return fast_settings()


@pytest.fixture(scope="session")
def augnet_server(
    pytestconfig: pytest.Config, augnet_url: str | None, augnet_settings: Settings
) -> Iterator[LiveServer]:
    """The in-thread server shared by the session: 127.0.0.1, a free port."""
    if augnet_url:
        pytest.skip(f"augnet_server is the in-thread server; tests are using {augnet_url}")
    server = _start_server(pytestconfig, augnet_settings)
    yield server
    _stop_server(pytestconfig, server)


@pytest.fixture
def augnet_project_config() -> dict[str, Any]:
    """The body of POST /_mock/projects for each test's project; {} generates it all."""
    return {}


@pytest.fixture
def augnet(
    request: pytest.FixtureRequest,
    augnet_url: str | None,
    augnet_settings: Settings,
    augnet_project_config: dict[str, Any],
) -> Iterator[AugnetMock]:
    """A handle on a fresh project of the mock, deleted after the test."""
    config = request.config
    options = _options(request.node)
    overrides = options.server_overrides(augnet_settings)
    target: str | LiveServer
    if augnet_url:
        _skip_unless_external_fits(config, augnet_url, options, overrides)
        target = augnet_url
    elif overrides:
        # A clock or seed is server-wide: this test gets a server of its own, shared only
        # with later tests that ask for the same settings, and reset between them.
        settings = _attempt(
            "@pytest.mark.augnet(settings=...)",
            lambda: dataclasses.replace(augnet_settings, **overrides),
        )
        target = _attempt("", partial(_pooled_server, config, settings))
    else:
        target = request.getfixturevalue("augnet_server")
    strict = options.strict if options.strict is not None else config.getini("augnet_strict")
    project = {"strict": bool(strict)} | _project_body(
        augnet_project_config, options, augnet_settings, external=bool(augnet_url)
    )
    handle = _attempt(
        "",
        lambda: AugnetMock.create(
            target,
            project,
            connections=config.stash[_RESOURCES].connect(target),
            strict_callbacks=options.strict_callbacks,
        ),
    )
    try:
        for spec in options.scenarios:
            _attempt("@pytest.mark.augnet(scenarios=...)", partial(handle.scenario, spec))
        request.node.stash[_HANDLE] = handle
        yield handle
        _record_usage(request.node, handle)
        _attempt("", handle.check)
    finally:
        if _HANDLE in request.node.stash:
            del request.node.stash[_HANDLE]
        handle.close()


def _record_usage(node: pytest.Item, handle: AugnetMock) -> None:
    """The test's messages, parts and cost, as a user property of its reports."""
    try:
        usage = handle.usage()
    except (AugnetError, httpx2.HTTPError, KeyError):
        return  # the project is gone (the test deleted it) or the server is older
    node.user_properties.append((USAGE_PROPERTY, usage))


def _attempt(context: str, action: Callable[[], T]) -> T:
    """action(), or a test failure that shows the message alone: a traceback into this
    fixture would only distract from what went wrong."""
    try:
        return action()
    except (AssertionError, AugnetError, TypeError, ValueError) as exc:
        message = f"{context}: {exc}" if context else str(exc)
    pytest.fail(message, pytrace=False)


def _health(client: httpx2.Client, url: str) -> dict[str, Any]:
    try:
        health: dict[str, Any] = client.get(f"{url}/_mock/health").json()
    except httpx2.HTTPError as exc:
        raise AugnetError(f"unreachable: {exc}") from exc
    return health


def _skip_unless_external_fits(
    config: pytest.Config, url: str, options: _Options, overrides: dict[str, Any]
) -> None:
    """An external server's settings are fixed: skip tests that need others."""
    needs = dict(overrides)
    if options.clock is not None:
        needs["clock"] = options.clock
    if not needs:
        return
    if set(needs) == {"clock"}:
        client = config.stash[_RESOURCES].client(url)
        health = _attempt(f"augnet-mock at {url}", partial(_health, client, url))
        if health.get("clock") == needs["clock"]:
            return
    wanted = ", ".join(f"{k}={v!r}" for k, v in needs.items())
    pytest.skip(f"needs a server started with {wanted}; the external one at {url} is fixed")
