"""The shape of docker/Dockerfile, .dockerignore and docker/compose.yaml (SPEC §2.9).

These read the files only; tests/integration/test_container.py builds the image and
runs it. What is checked here is what a run cannot show: the stages' layout, the
build context, and a compose file no test starts.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from augnet_mock.config import read_config_file
from augnet_mock.loopback import is_loopback

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
UI = ROOT / "augnet_mock" / "ui.py"
CONFIG_MOUNT = "/config/augnet.toml"  # the documented place for a mounted config file
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # python:*-slim


# -- a small Dockerfile reader ----------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str  # with the ARG defaults expanded
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)
    source: str = ""  # FROM's image as written

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in the stage from {self.image}"
        return found[0]


def read_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults, and the stages of instructions (continuation lines
    joined, comment lines dropped, ${ARG} in FROM expanded to its default)."""
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
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], words[0])
            stages.append(Stage(image, name, source=words[0]))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, rest))
    return args, stages


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


ARGS, STAGES = read_dockerfile(DOCKERFILE.read_text())
BUILD, RUNTIME = STAGES[0], STAGES[-1]


# -- the files' shape -------------------------------------------------------------


def test_multi_stage_build_on_python_slim() -> None:
    """Two or more stages, all from the BASE argument, which defaults to python:<version>-slim."""
    assert len(STAGES) >= 2
    assert re.fullmatch(r"python:3\.\d+-slim", ARGS["BASE"])
    # The venv is copied between stages, so their Pythons must match: one base for all.
    assert {stage.source for stage in STAGES} == {"${BASE}"}


def test_runtime_stage_records_its_base() -> None:
    """The runtime stage labels the image with its base, so the suite can measure the rest."""
    assert "ARG BASE" in [f"ARG {args}" for args in RUNTIME.all("ARG")]
    assert any(
        'org.opencontainers.image.base.name="${BASE}"' in args for args in RUNTIME.all("LABEL")
    )


def test_faker_keeps_the_locale_the_demo_uses() -> None:
    """The build keeps faker's locale that augnet_mock/ui.py's demo asks for."""
    [locale] = re.findall(r'Faker\("(\w+)"\)', UI.read_text())
    [run] = [args for args in BUILD.all("RUN") if "faker/providers" in args]
    kept = set(re.findall(r"! -name (\w+)", run)) - {"__pycache__"}
    assert locale in kept
    assert {"en", "en_US"} <= kept  # Faker's fallbacks: the language, then en_US


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
    assert mock["image"] == "augnet-mock:latest"  # what `make image` tags
    assert mock["ports"] == ["8080:8080"]
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
    assert project.signing_key == app["environment"]["AUGNET_SIGNING_KEY"]


def test_compose_healthcheck_is_the_images() -> None:
    """The compose healthcheck runs the Dockerfile's HEALTHCHECK command, only more often."""
    check = yaml.safe_load(COMPOSE.read_text())["services"]["augnet-mock"]["healthcheck"]
    assert check["test"] == ["CMD", *healthcheck_command(RUNTIME)]
    assert check["interval"] == "2s"
    assert check["retries"] >= 1


def test_compose_callbacks_use_addresses_the_container_reaches() -> None:
    """Callbacks go to the app by service name, and host tests' loopback goes to the host."""
    compose = yaml.safe_load(COMPOSE.read_text())
    mock = compose["services"]["augnet-mock"]
    app = compose["services"]["app"]
    for url in (
        app["environment"]["AUGNET_STATUS_CALLBACK_URL"],
        read_config_text_webhook(compose, mock),
    ):
        host = urlsplit(url).hostname
        assert host == "app", f"{url}: the mock reaches the app by its service name"
        assert not is_loopback(host)
    alias = mock["environment"]["AUGNET_MOCK_LOOPBACK_ALIAS"]
    assert alias == "host.docker.internal"
    assert f"{alias}:host-gateway" in mock["extra_hosts"]


def read_config_text_webhook(compose: dict[str, Any], mock: dict[str, Any]) -> str:
    """The project's webhookUrl in the compose file's inline config."""
    [mount] = mock["configs"]
    content = compose["configs"][mount["source"]]["content"]
    webhook: str = tomllib.loads(content)["projects"][0]["webhookUrl"]
    return webhook
