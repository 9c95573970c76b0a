"""docker/Dockerfile, .dockerignore and docker/compose.yaml (SPEC §2.9), with no Docker engine.

The Dockerfile is parsed, its shape checked, and its build stage replayed on this
machine: the same COPY inputs, then its RUN steps verbatim with the image's paths
mapped into a temporary folder (apt-get steps excepted: the host provides `strip`).
Then the runtime stage's command starts with the runtime stage's environment, and the
result must pass the HEALTHCHECK command, send, call back, and serve the web inbox.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
import yaml
from receiver import Receiver
from test_openapi import Answer, check_against_document

from augnet_mock import verify
from augnet_mock.config import read_config_file
from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_SIGNING_KEY

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
CONFIG_MOUNT = "/config/augnet.toml"  # the documented place for a mounted config file
IMAGE_PATHS = ("/opt/augnet", "/dist", "/src")  # build paths mapped into tmp folders
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # python:*-slim
STEP_TIMEOUT = 240  # seconds for one RUN step: pip fetches the dependencies from PyPI
START_TIMEOUT = 30.0
TO = "+447515650839"


# -- a small Dockerfile reader ----------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in the stage from {self.image}"
        return found[0]


def read_dockerfile(text: str) -> list[Stage]:
    """Stages of instructions, continuation lines joined and comment lines dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    command = json.loads(args)
    assert isinstance(command, list), f"not the exec (JSON) form: {args}"
    return [str(word) for word in command]


def healthcheck_command(stage: Stage) -> list[str]:
    options, sep, command = stage.one("HEALTHCHECK").partition("CMD ")
    assert sep, "HEALTHCHECK has no CMD"
    assert "--interval" in options
    assert "--timeout" in options
    return exec_form(command)


def env_of(stage: Stage, base: dict[str, str]) -> dict[str, str]:
    """The stage's ENV on top of `base`, with $VAR and ${VAR} expanded as Docker does."""
    env = dict(base)
    for args in stage.all("ENV"):
        for word in shlex.split(args):
            key, sep, value = word.partition("=")
            assert sep, f"ENV {word!r}: use the key=value form"
            env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
    return env


STAGES = read_dockerfile(DOCKERFILE.read_text())
BUILD, RUNTIME = STAGES[0], STAGES[-1]


# -- the files' shape -------------------------------------------------------------


def test_multi_stage_build_on_python_slim() -> None:
    """Two or more stages, all from the same python:<version>-slim image."""
    assert len(STAGES) >= 2
    images = {stage.image for stage in STAGES}
    assert len(images) == 1, "the venv is copied between stages, so their Pythons must match"
    assert re.fullmatch(r"python:3\.\d+-slim", images.pop())


def test_runtime_stage_runs_as_the_user_it_creates() -> None:
    """USER is a numeric, non-root uid, created by the runtime stage itself."""
    user = RUNTIME.one("USER")
    uid = user.split(":")[0]
    assert uid.isdigit(), "a numeric user lets Kubernetes' runAsNonRoot check it"
    assert int(uid) != 0
    assert any(f"--uid {uid}" in run for run in RUNTIME.all("RUN"))


def test_runtime_stage_exposes_http_and_smpp() -> None:
    """EXPOSE 8080 (HTTP) and 2775 (SMPP)."""
    assert set(RUNTIME.one("EXPOSE").split()) == {"8080", "2775"}


def test_runtime_stage_runs_serve_on_all_interfaces() -> None:
    """CMD is augnet-mock serve --host 0.0.0.0, in exec form (so SIGTERM reaches it)."""
    assert exec_form(RUNTIME.one("CMD")) == ["augnet-mock", "serve", "--host", "0.0.0.0"]


def test_healthcheck_polls_mock_health() -> None:
    """HEALTHCHECK asks /_mock/health, following AUGNET_MOCK_PORT, default 8080."""
    command = " ".join(healthcheck_command(RUNTIME))
    assert "/_mock/health" in command
    assert "AUGNET_MOCK_PORT" in command
    assert "8080" in command


def test_runtime_stage_holds_only_the_venv() -> None:
    """The runtime stage copies the build stage's venv to the same path, nothing else."""
    copies = RUNTIME.all("COPY")
    assert copies == [f"--from={BUILD.name} /opt/augnet /opt/augnet"]
    assert env_of(RUNTIME, {"PATH": BASE_PATH})["PATH"].startswith("/opt/augnet/bin:")


def test_config_mount_path_is_documented() -> None:
    """The Dockerfile names the config file's mount path and its variable."""
    text = DOCKERFILE.read_text()
    assert CONFIG_MOUNT in text
    assert f"AUGNET_MOCK_CONFIG={CONFIG_MOUNT}" in text


def test_dockerignore_lets_in_exactly_the_build_inputs() -> None:
    """.dockerignore excludes everything but the files the build stage copies."""
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] in ("*", "**")
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {src for args in BUILD.all("COPY") for src in args.split()[:-1]}
    assert allowed == copied
    assert "**/__pycache__" in lines


def test_compose_example_pairs_the_mock_with_a_service(tmp_path: Path) -> None:
    """The compose example builds this image, mounts a valid config, and wires an app to it."""
    compose = yaml.safe_load(COMPOSE.read_text())
    mock = compose["services"]["augnet-mock"]
    assert mock["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert "8080:8080" in mock["ports"]
    assert mock["environment"]["AUGNET_MOCK_CONFIG"] == CONFIG_MOUNT
    [mount] = mock["configs"]
    assert mount["target"] == CONFIG_MOUNT
    app = compose["services"]["app"]
    assert app["environment"]["AUGNET_BASE_URL"] == "http://augnet-mock:8080"
    assert app["depends_on"]["augnet-mock"]["condition"] == "service_healthy"
    # The inline config is one the mock accepts, and its project is the app's.
    config = tmp_path / "augnet.toml"
    config.write_text(compose["configs"][mount["source"]]["content"])
    [project] = read_config_file(config)["projects"]
    assert project.project_id == app["environment"]["AUGNET_PROJECT_ID"]
    assert project.api_key == app["environment"]["AUGNET_API_KEY"]
    assert project.webhook_url is not None
    assert project.webhook_url.startswith("http://app:")


# -- replaying the build ----------------------------------------------------------


@dataclass
class Built:
    root: Path  # the image's filesystem paths, mapped under here
    wheel: Path

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def map(self, text: str) -> str:
        """Rewrite the image's paths in a command to their folders under `root`."""
        for image_path in IMAGE_PATHS:
            text = re.sub(
                rf"(?<![\w/]){re.escape(image_path)}(?=[/\s'\"]|$)",
                str(self.path(image_path)),
                text,
            )
        return text


def host_build_env() -> dict[str, str]:
    """This machine's environment, minus anything that would point at the source tree."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
        and not key.startswith("AUGNET_MOCK_")
    }
    # `python` and `pip` in the RUN steps: this interpreter's, like the base image's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', BASE_PATH)}"
    return env


def copy_inputs(built: Built, workdir: Path) -> None:
    """The build stage's COPY instructions, from the repository root (the build context)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.pyd")
    for args in BUILD.all("COPY"):
        *sources, dest = args.split()
        assert not any(s.startswith("--") for s in sources), f"COPY {args}: unexpected flag"
        target = workdir / dest
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=ignore, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The build stage, replayed: its COPYs, then its RUN steps verbatim."""
    root = tmp_path_factory.mktemp("image")
    built = Built(root, Path())
    workdir = built.path(BUILD.one("WORKDIR"))
    workdir.mkdir(parents=True)
    copy_inputs(built, workdir)
    assert shutil.which("strip"), "the build stage strips the venv: install binutils"
    env = {key: built.map(value) for key, value in env_of(BUILD, host_build_env()).items()}
    for run in BUILD.all("RUN"):
        if run.startswith("apt-get"):
            continue  # system packages of the build image; this machine has its own
        step = subprocess.run(
            ["/bin/sh", "-c", built.map(run)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
        assert step.returncode == 0, f"RUN {run}\n{step.stdout[-3000:]}\n{step.stderr[-3000:]}"
    [built.wheel] = built.path("/dist").glob("augnet_mock-*.whl")
    return built


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Container:
    """The runtime stage's CMD, started with the runtime stage's environment."""

    def __init__(self, built: Built, config: Path) -> None:
        self.port = free_port()
        base = {"PATH": BASE_PATH, "LANG": "C.UTF-8", "HOME": str(built.root)}
        self.env = {key: built.map(value) for key, value in env_of(RUNTIME, base).items()} | {
            # The two documented ways to configure the image: variables and a config file.
            "AUGNET_MOCK_PORT": str(self.port),
            "AUGNET_MOCK_CONFIG": str(config),
        }
        command = exec_form(RUNTIME.one("CMD"))
        assert command[command.index("--host") + 1] == "0.0.0.0"
        # Tests talk only to 127.0.0.1: listen there instead of on every interface.
        command[command.index("--host") + 1] = "127.0.0.1"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = config.parent / "server.log"  # a file, not a pipe nobody drains
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=built.root, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process.poll() is None, f"exited:\n{self.log.read_text()}"
            try:
                if httpx2.get(f"{self.url}/_mock/health", trust_env=False).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)  # an external process: nothing to wait on but its port

    def healthcheck(self) -> int:
        """Run the image's HEALTHCHECK command as Docker would, in the container's env."""
        command = healthcheck_command(RUNTIME)
        check = subprocess.run(command, env=self.env, capture_output=True, timeout=10)
        return check.returncode

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()  # what `docker stop` sends first
            self.process.wait(timeout=15)
        return self.process.returncode


CONFIG = """
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


@pytest.fixture
def container(built: Built, receiver: Receiver, tmp_path: Path) -> Iterator[Container]:
    config = tmp_path / CONFIG_MOUNT.lstrip("/")
    config.parent.mkdir(parents=True)
    config.write_text(CONFIG.format(webhook=receiver.url("/project-hook")))
    running = Container(built, config)
    try:
        running.wait_until_up()
        yield running
    finally:
        running.stop()


def assert_signed_lifecycle(receiver: Receiver, path: str, key: str, sid: str) -> None:
    got = receiver.wait_for(3, timeout=15)
    assert [r.path for r in got] == [path] * 3
    assert [r.json()["MessageStatus"] for r in got] == ["queued", "sent", "delivered"]
    for request in got:
        assert request.json()["MessageSid"] == sid
        verify(method="POST", path=path, headers=request.headers, body=request.body, key=key)


@pytest.fixture
def status_receiver() -> Iterator[Receiver]:
    """A second receiver, for statusCallback; `receiver` is the config project's webhook."""
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.mark.timeout(STEP_TIMEOUT * 2)
def test_image_serves_sends_and_calls_back(
    container: Container,
    built: Built,
    receiver: Receiver,
    status_receiver: Receiver,
    subtests: pytest.Subtests,
) -> None:
    """The installed wheel, run as the image runs it, is healthy, sends and calls back."""
    http = httpx2.Client(base_url=container.url, timeout=10.0, trust_env=False)
    with subtests.test("health: the wheel's version, not the source tree"):
        health = http.get("/_mock/health").json()
        assert health["status"] == "ok"
        assert built.wheel.name.startswith(f"augnet_mock-{health['version']}-")
        assert health["version"] != "0.0.0"
    with subtests.test("the HEALTHCHECK command passes"):
        assert container.healthcheck() == 0
    with subtests.test("the seed's send, with a signed statusCallback"):
        response = http.post(
            "/api/v2/message",
            auth=(DEFAULT_PROJECT_ID, DEFAULT_API_KEY),
            json={
                "to": TO,
                "body": "hello from the image",
                "statusCallback": status_receiver.url("/cb"),
            },
        )
        assert response.status_code == 200, response.text
        sid = response.json()["sid"]
        assert_signed_lifecycle(status_receiver, "/cb", DEFAULT_SIGNING_KEY, sid)
    with subtests.test("the mounted config file's project and scenario"):
        auth = ("docker-ci", "docker-ci-key")
        refused = http.post("/api/v2/message", auth=auth, json={"to": "+447700900777", "body": "x"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        sid = http.post("/api/v2/message", auth=auth, json={"to": TO, "body": "hi"}).json()["sid"]
        assert_signed_lifecycle(receiver, "/project-hook", "docker-ci-signing-key", sid)
    with subtests.test("the web inbox ships in the wheel"):
        page = http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert http.get("/static/app.js").status_code == 200
    with subtests.test("demo traffic works in the image (faker is a runtime dependency)"):
        answer = Answer.of(http.post("/_mock/demo", json={"count": 1}))
        assert answer.status == 200
        result = json.loads(answer.body)
        assert len(result["sent"]) + result["rejected"] == 1
        check_against_document("POST", "/_mock/demo", answer)
    http.close()
    with subtests.test("SIGTERM stops it cleanly, and then the HEALTHCHECK fails"):
        # uvicorn shuts down gracefully, then re-raises the signal (exit 143 in Docker).
        assert container.stop() in (0, -signal.SIGTERM)
        assert "Finished server process" in container.log.read_text()
        assert container.healthcheck() != 0
