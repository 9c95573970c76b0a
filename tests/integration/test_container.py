"""The Docker image, built from docker/Dockerfile and run for real (SPEC §2.9).

The image is built once per test session by scripts/build-image.sh, the script behind
`make image`: with docker where a daemon answers, else podman, and on the Debian
stand-in base where python:3.11-slim cannot be pulled. Containers run with host
networking, so every packet stays on loopback, listen on free ports, and are always
removed. Only where no container engine can run at all are these tests skipped, with
the reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import smpplib.client
from httpsig.verify import HeaderVerifier
from ports import free_port
from receiver import Received, Receiver

from augnet_mock import __version__, verify
from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_SIGNING_KEY

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# One tag per checkout, so that two checkouts on one machine never build over each other.
IMAGE = "localhost/augnet-mock:test-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:10]
BASE_LABEL = "org.opencontainers.image.base.name"  # set by docker/Dockerfile
CONFIG_MOUNT = "/config/augnet.toml"  # the README's mounted-config example
UID = "10001"  # the Dockerfile's USER
# The budget for what the project adds over the base image (README, Docker).
MAX_ADDED_BYTES = 25_000_000
# The README's size figure may lag a rebuild by this much (the engines and bases differ).
README_SIZE_SLACK = 1_500_000
BUILD_TIMEOUT = 900  # seconds: a fresh machine makes the stand-in base, then the image
COMMAND_TIMEOUT = 60  # seconds for any other engine command
START_TIMEOUT = 30.0  # seconds for a container to answer /_mock/health
SIGNED = ["(request-target)", "date", "digest", "host"]
STATUSES = ["queued", "sent", "delivered"]
TO = "+447515650839"

# Fixture setup (the build) counts against the first test's timeout.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + 120)


# -- the engine and the image -----------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """The container engine scripts/container.sh picks, as a command prefix."""

    command: tuple[str, ...]

    @property
    def name(self) -> str:
        return Path(self.command[0]).name

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.command, *args], capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)}: {done.stderr[-3000:]}")
        return done

    def inspect(self, what: str, template: str, *, image: bool = False) -> str:
        kind = ("image", "inspect") if image else ("inspect",)
        return self.run(*kind, "--format", template, what).stdout.strip()


@pytest.fixture(scope="session")
def engine() -> Engine:
    """docker or podman, or a skip saying why neither can run here."""
    found = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container.sh"), "--engine"],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    if found.returncode != 0:
        pytest.skip(f"no container engine: {found.stderr.strip()}")
    engine = Engine(tuple(found.stdout.split()))
    probe = engine.run("info", check=False)
    if probe.returncode != 0:
        pytest.skip(f"{engine.name} cannot run containers here: {probe.stderr.strip()[-500:]}")
    return engine


@dataclass(frozen=True)
class Image:
    tag: str
    base: str
    build_seconds: float


@pytest.fixture(scope="session")
def image(engine: Engine) -> Image:
    """docker/Dockerfile built by scripts/build-image.sh, once per session and checkout."""
    lock_path = ROOT / ".artifacts" / "image.lock"
    lock_path.parent.mkdir(exist_ok=True)
    # pytest -n 2: both workers want the image; the second finds every layer cached.
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        build = subprocess.run(
            ["bash", str(ROOT / "scripts" / "build-image.sh")],
            env={**_clean_env(), "IMAGE": IMAGE},
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
        )
        seconds = time.monotonic() - started
    assert build.returncode == 0, f"build failed:\n{build.stderr[-5000:]}"
    labels = json.loads(engine.inspect(IMAGE, "{{json .Config.Labels}}", image=True))
    return Image(IMAGE, labels[BASE_LABEL], seconds)


def _clean_env() -> dict[str, str]:
    # The engine's own settings pass through; the mock's must not leak into the build.
    return {k: v for k, v in os.environ.items() if not k.startswith("AUGNET_MOCK_")}


class Container:
    """One running container of the image, on host networking and a free port."""

    def __init__(
        self,
        engine: Engine,
        image: Image,
        *,
        env: dict[str, str] | None = None,
        mounts: tuple[str, ...] = (),
    ) -> None:
        self.engine = engine
        self.name = f"augnet-mock-test-{uuid.uuid4().hex[:12]}"
        self.port = free_port()
        self.smpp_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            "AUGNET_MOCK_PORT": str(self.port),
            "AUGNET_MOCK_SMPP_PORT": str(self.smpp_port),
            **(env or {}),
        }
        args = ["run", "-d", "--name", self.name, "--network", "host"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        for mount in mounts:
            args += ["-v", mount]
        if engine.name == "docker":
            # Docker probes only every --interval (10 s); podman runs a probe on demand.
            args += ["--health-interval", "1s", "--health-start-period", "1s"]
        engine.run(*args, image.tag)

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx2.get(f"{self.url}/_mock/health", trust_env=False).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or self.state() != "running":
                raise AssertionError(f"the container did not come up:\n{self.logs()}")
            time.sleep(0.1)  # another process: nothing to wait on but its port

    def state(self) -> str:
        return self.engine.inspect(self.name, "{{.State.Status}}")

    def logs(self) -> str:
        done = self.engine.run("logs", self.name, check=False)
        return done.stdout + done.stderr

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return self.engine.run("exec", self.name, *command, check=False)

    def healthy(self) -> bool:
        """The image's own HEALTHCHECK, run inside the container."""
        if self.engine.name == "podman":
            return self.engine.run("healthcheck", "run", self.name, check=False).returncode == 0
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            status = self.engine.inspect(self.name, "{{.State.Health.Status}}")
            if status != "starting":
                return status == "healthy"
            time.sleep(0.2)
        return False

    def remove(self) -> None:
        self.engine.run("rm", "-f", self.name, check=False)


@pytest.fixture
def start(engine: Engine, image: Image) -> Iterator[Callable[..., Container]]:
    """Start containers of the image; each is removed after the test, pass or fail."""
    started: list[Container] = []

    def make(*, env: dict[str, str] | None = None, mounts: tuple[str, ...] = ()) -> Container:
        running = Container(engine, image, env=env, mounts=mounts)
        started.append(running)
        running.wait_until_up()
        return running

    try:
        yield make
    finally:
        for running in started:
            running.remove()


@pytest.fixture(scope="module")
def container(engine: Engine, image: Image) -> Iterator[Container]:
    """One container with the image's defaults, shared by the tests that only read."""
    running = Container(engine, image)
    try:
        running.wait_until_up()
        yield running
    finally:
        running.remove()


@pytest.fixture
def http(container: Container) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=container.url, timeout=10.0, trust_env=False) as client:
        yield client


def assert_signed_lifecycle(got: list[Received], path: str, key: str, sid: str) -> None:
    """Three callbacks, in order, each verified by httpsig and by augnet_mock.verify."""
    assert [r.path for r in got] == [path] * 3
    assert [r.json()["MessageStatus"] for r in got] == STATUSES
    for request in got:
        assert request.json()["MessageSid"] == sid
        verifier = HeaderVerifier(
            headers=request.headers,
            secret=key,
            required_headers=SIGNED,
            method="POST",
            path=request.path,
        )
        assert verifier.verify(), "httpsig rejected the signature"
        verify(method="POST", path=path, headers=request.headers, body=request.body, key=key)


# -- the running image ------------------------------------------------------------


def test_health_reports_this_version(http: httpx2.Client) -> None:
    """/_mock/health answers from the container, with the version of this source tree."""
    health = http.get("/_mock/health").json()
    assert health["status"] == "ok"
    assert health["version"] == __version__
    assert health["version"] != "0.0.0"  # the installed wheel's metadata, not a source tree


def test_runs_as_the_non_root_user(engine: Engine, container: Container) -> None:
    """The server process runs as uid 10001, as the image's numeric USER says."""
    assert engine.inspect(container.name, "{{.Config.User}}") == f"{UID}:{UID}"
    assert container.exec("id", "-u").stdout.strip() == UID
    # PID 1 is augnet-mock itself (exec-form CMD), so `docker stop` signals it directly.
    status = container.exec("cat", "/proc/1/status").stdout
    assert re.search(rf"^Uid:\s+{UID}\s", status, re.MULTILINE)
    assert "augnet-mock" in container.exec("cat", "/proc/1/cmdline").stdout


def test_healthcheck_passes_inside_the_container(container: Container) -> None:
    """The image's HEALTHCHECK command succeeds in the running container."""
    assert container.healthy()


def test_signed_send_calls_back_to_the_test(http: httpx2.Client, receiver: Receiver) -> None:
    """A send with a statusCallback on 127.0.0.1 gets three signed callbacks in the test."""
    response = http.post(
        "/api/v2/message",
        auth=(DEFAULT_PROJECT_ID, DEFAULT_API_KEY),
        json={"to": TO, "body": "hello from the container", "statusCallback": receiver.url("/cb")},
    )
    assert response.status_code == 200, response.text
    sid = response.json()["sid"]
    assert_signed_lifecycle(receiver.wait_for(3, timeout=15), "/cb", DEFAULT_SIGNING_KEY, sid)


def test_web_inbox_and_demo_traffic(http: httpx2.Client) -> None:
    """The inbox's page and script ship in the image, and its faker demo traffic works."""
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert http.get("/static/app.js").status_code == 200
    # The image keeps only faker's English locales (docker/Dockerfile): prove enough stayed.
    demo = http.post("/_mock/demo", json={"count": 20})
    assert demo.status_code == 200, demo.text
    assert len(demo.json()["sent"]) + demo.json()["rejected"] == 20


def test_image_holds_the_venv_without_pip(container: Container) -> None:
    """/opt/augnet is a venv with no pip of its own and faker's English locales only."""
    listing = container.exec("ls", "/opt/augnet/bin").stdout.split()
    assert "augnet-mock" in listing
    assert not [name for name in listing if name.startswith("pip")]
    locales = container.exec(
        "python", "-c", "import faker.config as c; print(' '.join(c.AVAILABLE_LOCALES))"
    )
    assert locales.returncode == 0, locales.stderr
    assert set(locales.stdout.split()) == {"en", "en_GB", "en_US", "la"}


def test_examples_pass_against_the_container(container: Container) -> None:
    """tests/examples, run with --augnet-url against the container, pass."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "tests" / "examples"),
            "--augnet-url",
            container.url,
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed, run.stdout[-2000:]
    assert int(passed.group(1)) > 0


def test_smpp_port_answers(container: Container) -> None:
    """The container's SMPP server binds the default project and records a submit."""
    client = smpplib.client.Client(
        "127.0.0.1", container.smpp_port, timeout=10, allow_unknown_opt_params=True
    )
    client.connect()
    try:
        client.bind_transceiver(system_id="augnet", password="augnet")
        client.send_message(
            source_addr="TAXI", destination_addr="447700900123", short_message=b"from SMPP"
        )
        resp = client.read_pdu()
        assert (resp.command, resp.status) == ("submit_sm_resp", 0)
        client.unbind()
    finally:
        client.disconnect()
    message = httpx2.get(f"{container.url}/_mock/messages/{resp.message_id.decode()}").json()
    assert (message["body"], message["api"]) == ("from SMPP", "smpp")


# -- configured containers --------------------------------------------------------


def test_environment_configures_the_server(start: Callable[..., Container]) -> None:
    """AUGNET_MOCK_* variables configure the containerised server."""
    running = start(
        env={
            "AUGNET_MOCK_CLOCK": "manual",
            "AUGNET_MOCK_SEED": "42",
            "AUGNET_MOCK_DEFAULT_PROJECT": "false",
        }
    )
    with httpx2.Client(base_url=running.url, timeout=10.0, trust_env=False) as http:
        assert http.get("/_mock/health").json()["clock"] == "manual"
        assert http.get("/_mock/projects").json()["projects"] == []


README_CONFIG = """
[[projects]]
projectId = "docker-ci"
apiKey = "docker-ci-key"
signingKey = "docker-ci-signing-key"
webhookUrl = "{webhook}"

[[scenarios]]
name = "outage"
match = {{ to = "+447700900777" }}
effect = {{ apiError = {{ status = 503, message = "down", retryAfter = 7 }} }}
"""


def test_mounted_config_file(
    start: Callable[..., Container], receiver: Receiver, tmp_path: Path
) -> None:
    """The README's example: a config file mounted read-only, named by AUGNET_MOCK_CONFIG."""
    config = tmp_path / "augnet.toml"
    config.write_text(README_CONFIG.format(webhook=receiver.url("/project-hook")))
    config.chmod(0o644)  # the container's user is not the file's owner
    running = start(
        env={"AUGNET_MOCK_CONFIG": CONFIG_MOUNT}, mounts=(f"{config}:{CONFIG_MOUNT}:ro",)
    )
    auth = ("docker-ci", "docker-ci-key")
    with httpx2.Client(base_url=running.url, timeout=10.0, trust_env=False) as http:
        refused = http.post("/api/v2/message", auth=auth, json={"to": "+447700900777", "body": "x"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        sent = http.post("/api/v2/message", auth=auth, json={"to": TO, "body": "hi"})
        assert sent.status_code == 200, sent.text
    got = receiver.wait_for(3, timeout=15)
    assert_signed_lifecycle(got, "/project-hook", "docker-ci-signing-key", sent.json()["sid"])


def test_loopback_alias_from_the_environment(start: Callable[..., Container]) -> None:
    """AUGNET_MOCK_LOOPBACK_ALIAS sends callbacks registered on 127.0.0.1 to the alias."""
    alias_receiver = Receiver(host="127.0.0.2").start()
    try:
        running = start(env={"AUGNET_MOCK_LOOPBACK_ALIAS": "127.0.0.2"})
        url = f"http://127.0.0.1:{alias_receiver.port}/aliased"
        with httpx2.Client(base_url=running.url, timeout=10.0, trust_env=False) as http:
            response = http.post(
                "/api/v2/message",
                auth=(DEFAULT_PROJECT_ID, DEFAULT_API_KEY),
                json={"to": TO, "body": "via the alias", "statusCallback": url},
            )
            assert response.status_code == 200, response.text
            sid = response.json()["sid"]
            got = alias_receiver.wait_for(3, timeout=15)
            assert_signed_lifecycle(got, "/aliased", DEFAULT_SIGNING_KEY, sid)
            assert got[0].headers["Host"] == f"127.0.0.2:{alias_receiver.port}"
    finally:
        alias_receiver.stop()


def test_sigterm_stops_it_with_status_0(engine: Engine, start: Callable[..., Container]) -> None:
    """SIGTERM (`stop`) ends the server cleanly with status 0 within the 2 s grace."""
    running = start()
    # With -t 2 the engine sends SIGKILL after 2 s, which would show as status 137.
    engine.run("stop", "-t", "2", running.name)
    assert running.state() == "exited"
    assert engine.inspect(running.name, "{{.State.ExitCode}}") == "0"
    assert "Finished server process" in running.logs()


# -- size -------------------------------------------------------------------------


def added_bytes(engine: Engine, image: Image) -> int:
    size = int(engine.inspect(image.tag, "{{.Size}}", image=True))
    base = int(engine.inspect(image.base, "{{.Size}}", image=True))
    return size - base


def test_project_adds_at_most_25_mb_over_the_base(engine: Engine, image: Image) -> None:
    """The layers the project adds over the base weigh at most 25 MB, as the README says."""
    added = added_bytes(engine, image)
    print(f"image {image.tag} on {image.base}: {added / 1e6:.1f} MB over the base")
    assert 0 < added <= MAX_ADDED_BYTES
    stated = re.search(r"adds\s+\*\*(\d+(?:\.\d+)?) MB\*\*\s+over", README.read_text())
    assert stated, "the README states the measured size over the base"
    assert abs(float(stated.group(1)) * 1e6 - added) <= README_SIZE_SLACK, (
        f"README says {stated.group(1)} MB; measured {added / 1e6:.1f} MB"
    )
