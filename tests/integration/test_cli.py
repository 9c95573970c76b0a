"""`augnet-mock serve` as a real subprocess: banner, serving, access log, environment,
clock mode, and the one-line error plus exit status 2 for bad configuration (SPEC §2.7).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from ports import free_port

from augnet_mock import __version__
from augnet_mock.cli import banner, main
from augnet_mock.models import (
    DEFAULT_API_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SIGNING_KEY,
    parse_project,
)
from augnet_mock.settings import Settings

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
BANNER = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
ACCESS_LINE = re.compile(r'"(GET|POST|PUT|DELETE) (\S+) HTTP/1\.1" (\d{3})')


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without AUGNET_MOCK_* settings, running the source tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGNET_MOCK_")}
    # Tests run side by side: none may take the fixed SMPP port 2775 (0 turns SMPP off).
    env["AUGNET_MOCK_SMPP_PORT"] = "0"
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    # The source tree, not the installed console script, which may be an older copy.
    return [sys.executable, "-m", "augnet_mock", *args]


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path
    requests: int = 0  # HTTP requests this test made and got an answer to

    def output(self) -> str:
        return self.stdout.read_text(errors="replace")

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")

    def get(self, path: str) -> httpx2.Response:
        response = httpx2.get(self.url + path, timeout=10.0, trust_env=False)
        self.requests += 1
        return response

    def post(self, path: str, **kwargs: object) -> httpx2.Response:
        response = httpx2.post(self.url + path, timeout=10.0, trust_env=False, **kwargs)  # type: ignore[arg-type]
        self.requests += 1
        return response

    def access_lines(self) -> list[tuple[str, str, str]]:
        return ACCESS_LINE.findall(self.output())

    def wait_access_lines(self, count: int, timeout: float = 5.0) -> list[tuple[str, str, str]]:
        """Access lines are written as responses go out; wait (bounded) for `count`."""
        deadline = time.monotonic() + timeout
        while len(lines := self.access_lines()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return lines


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL if it will not go; the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(STOP_TIMEOUT)


@contextmanager
def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run `augnet-mock serve` until its banner is out and it answers health checks."""
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as out_fh, err.open("wb") as err_fh:
        proc = subprocess.Popen(
            command("serve", *args),
            stdout=out_fh,
            stderr=err_fh,
            stdin=subprocess.DEVNULL,
            env=env or clean_env(),
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (match := BANNER.search(out.read_text(errors="replace"))):
            assert proc.poll() is None, f"exited {proc.returncode}: {err.read_text()}"
            assert time.monotonic() < deadline, "no banner: " + err.read_text()
            time.sleep(0.02)
        served = Served(proc, match.group(1), out, err)
        while True:
            try:
                if served.get("/_mock/health").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None, f"exited {proc.returncode}: {err.read_text()}"
            assert time.monotonic() < deadline, "no health answer: " + err.read_text()
            time.sleep(0.02)
        yield served
    finally:
        stop(proc)


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run the CLI to completion (it must exit by itself); status, stdout, stderr."""
    done = subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        env=env or clean_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


# -- serving ----------------------------------------------------------------------------


def test_serve_banner_health_send_and_access_log(tmp_path: Path) -> None:
    """serve prints its real URL and credentials, serves, logs one line per request, stops."""
    with serve(tmp_path, "--port", "0") as served:
        banner = served.output()
        port = int(served.url.rsplit(":", 1)[1])
        assert port != 0
        assert f"{served.url}/api/v2/message" in banner
        assert DEFAULT_PROJECT_ID in banner
        assert DEFAULT_API_KEY in banner
        assert DEFAULT_SIGNING_KEY in banner
        health = served.get("/_mock/health").json()
        assert health["status"] == "ok"
        assert health["clock"] == "real"
        sent = served.post(
            "/api/v2/message",
            auth=(DEFAULT_PROJECT_ID, DEFAULT_API_KEY),
            json={"to": "+447515650839", "body": "from the CLI test"},
        )
        assert sent.status_code == 200, sent.text
        sid = sent.json()["sid"]
        assert served.get(f"/_mock/messages/{sid}").json()["body"] == "from the CLI test"
        lines = served.wait_access_lines(served.requests)
        assert len(lines) == served.requests, served.output()
        assert lines.count(("POST", "/api/v2/message", "200")) == 1
        assert lines.count(("GET", f"/_mock/messages/{sid}", "200")) == 1
        proc = served.proc
    # SIGTERM is how a server is stopped: a clean shutdown exits 0 (uvicorn alone would
    # raise the signal again and die of it).
    assert proc.returncode == 0, served.errors()
    assert "Application shutdown complete" in served.errors()
    assert "Traceback" not in served.errors()


def test_port_from_environment(tmp_path: Path) -> None:
    """AUGNET_MOCK_PORT sets the port when no --port flag is given."""
    port = free_port()
    with serve(tmp_path, env=clean_env(AUGNET_MOCK_PORT=str(port))) as served:
        assert served.url == f"http://127.0.0.1:{port}"
        assert served.get("/_mock/health").status_code == 200


def test_flag_beats_environment(tmp_path: Path) -> None:
    """--port wins over AUGNET_MOCK_PORT; --clock manual shows in /_mock/health."""
    env = clean_env(AUGNET_MOCK_PORT="1", AUGNET_MOCK_CLOCK="real", AUGNET_MOCK_ACCESS_LOG="false")
    with serve(tmp_path, "--port", "0", "--clock", "manual", env=env) as served:
        assert not served.url.endswith(":1")
        assert "(clock: manual)" in served.output()
        health = served.get("/_mock/health").json()
        assert health["clock"] == "manual"
        assert served.get("/_mock/clock").json()["mode"] == "manual"
        assert served.access_lines() == []  # AUGNET_MOCK_ACCESS_LOG=false


def test_admin_token_and_allowed_hosts_from_the_environment(tmp_path: Path) -> None:
    """AUGNET_MOCK_ADMIN_TOKEN and AUGNET_MOCK_ALLOWED_HOSTS take effect; the banner says a
    token is needed without printing it."""
    env = clean_env(AUGNET_MOCK_ADMIN_TOKEN="cli-t0ken", AUGNET_MOCK_ALLOWED_HOSTS="augnet,ci")
    with serve(tmp_path, "--port", "0", env=env) as served:
        assert "admin token: needed" in served.output()
        assert "cli-t0ken" not in served.output()
        assert served.get("/_mock/projects").status_code == 401
        bearer = {"Authorization": "Bearer cli-t0ken"}
        for host, status in (("ci:8080", 200), ("elsewhere:8080", 403)):
            response = httpx2.get(
                served.url + "/_mock/projects",
                headers=bearer | {"Host": host},
                timeout=10.0,
                trust_env=False,
            )
            assert response.status_code == status, host


def test_banner_warns_of_every_interface_without_a_token() -> None:
    """Listening on 0.0.0.0 (the Docker image) with no admin token prints a warning."""
    assert "warning" in banner(Settings(host="0.0.0.0"), "http://[::]:8080")
    assert "warning" not in banner(Settings(host="0.0.0.0", admin_token="t"), "http://x:1")
    assert "warning" not in banner(Settings(), "http://127.0.0.1:8080")


def test_banner_lists_every_url_and_configured_project() -> None:
    """The start-up lines give the API, inbox, control API and OpenAPI URLs, the default
    project's credentials and each configured project (SMPP only when it is served)."""
    shop = parse_project(
        {"projectId": "shop", "apiKey": "shop-key", "webhookUrl": "http://app:3000/sms"}
    )
    text = banner(Settings(projects=(shop,)), "http://127.0.0.1:8080")
    assert "  API:         POST http://127.0.0.1:8080/api/v2/message" in text
    assert "  web inbox:   http://127.0.0.1:8080/" in text
    assert "  control API: http://127.0.0.1:8080/_mock   OpenAPI: " in text
    assert f"  project_id:  {DEFAULT_PROJECT_ID}" in text
    assert "  project:     shop  api_key shop-key  webhook http://app:3000/sms" in text
    assert "SMPP" not in text
    assert "  SMPP:        127.0.0.1:2775" in banner(
        Settings(), "http://127.0.0.1:8080", smpp="127.0.0.1:2775"
    )


def test_config_file_projects_are_served(tmp_path: Path) -> None:
    """A TOML config's [server] values and [[projects]] take effect, and the banner names
    the projects."""
    config = tmp_path / "augnet.toml"
    config.write_text(
        '[server]\nport = 0\nclock = "manual"\n\n'
        '[[projects]]\nprojectId = "shop"\napiKey = "shop-key"\n'
    )
    with serve(tmp_path, "--config", str(config)) as served:
        assert "  project:     shop  api_key shop-key" in served.output()
        assert served.get("/_mock/health").json()["clock"] == "manual"
        assert served.get("/_mock/projects/shop").json()["apiKey"] == "shop-key"
        sent = served.post(
            "/api/v2/message", auth=("shop", "shop-key"), json={"to": "+447515650839", "body": "x"}
        )
        assert sent.status_code == 200, sent.text


# -- bad configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[server]\nport = "eighty"\n', "server.port"),
        ('[server]\nport = "8080"\n', "server.port: must be an integer, got string '8080'"),
        ("[server]\nprot = 8080\n", "server.prot: unknown key; did you mean 'port'?"),
        ('[[projects]]\nwebhookUrl = "ftp://x"\n', "projects[0].webhookUrl"),
        (
            "[[scenarios]]\neffect = { apiError = { status = 99 } }\n",
            "scenarios[0].effect.apiError.status",
        ),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_config_file_exits_2_with_one_line(tmp_path: Path, toml: str, key: str) -> None:
    """A bad config file: exit status 2, one stderr line naming the key, nothing served."""
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    status, out, err = run("serve", "--config", str(config), "--port", "0")
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("augnet-mock: config error: ")
    assert key in lines[0]


@pytest.mark.parametrize(
    ("args", "env", "key"),
    [
        (("--port", "http"), {}, "--port"),
        ((), {"AUGNET_MOCK_PORT": "99999"}, "AUGNET_MOCK_PORT"),
        ((), {"AUGNET_MOCK_CONFIG": "/nonexistent/augnet.toml"}, "/nonexistent/augnet.toml"),
    ],
)
def test_bad_flag_or_env_exits_2_with_one_line(
    args: tuple[str, ...], env: dict[str, str], key: str
) -> None:
    """A bad flag or environment value: exit status 2 and one stderr line naming it."""
    status, out, err = run("serve", *args, env=clean_env(**env))
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert key in lines[0]


def test_port_in_use_names_the_port_and_what_to_do(tmp_path: Path) -> None:
    """A taken port: exit status 3 and one line naming the address and suggesting --port 0,
    not uvicorn's bare "[Errno 98]"."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = run("serve", "--port", str(port), cwd=tmp_path)
    assert status == 3
    assert out == ""
    assert err.splitlines() == [
        f"augnet-mock: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(another augnet-mock?); pick another with --port N, or --port 0 for a free one"
    ]


def test_clock_help_shows_its_choices_and_refuses_others() -> None:
    """--help lists --clock {real,manual}; another value is a usage error naming them."""
    status, out, _ = run("serve", "--help")
    assert status == 0
    assert "--clock {real,manual}" in out
    status, _, err = run("serve", "--clock", "fast")
    assert status == 2
    assert "invalid choice: 'fast' (choose from 'real', 'manual')" in err


def test_boolean_options_take_flag_and_no_flag(tmp_path: Path) -> None:
    """--no-access-log and --no-default-project switch them off with no value; --help
    shows both forms."""
    _, out, _ = run("serve", "--help")
    assert "--access-log, --no-access-log" in out
    assert "--default-project, --no-default-project" in out
    with serve(tmp_path, "--port", "0", "--no-access-log", "--no-default-project") as served:
        assert served.get("/_mock/projects").json()["projects"] == []
        assert "none yet (create one with POST /_mock/projects)" in served.output()
        assert served.access_lines() == []


def test_version_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version; no subcommand is a usage error (status 2)."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"augnet-mock {__version__}")
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err
