"""The `augnet-mock` command: `augnet-mock serve [options]`."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
from collections.abc import Sequence

import uvicorn

from ._version import __version__
from .app import create_app
from .config import OPTIONS, ConfigError, load_settings
from .models import (
    DEFAULT_API_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SIGNING_KEY,
    DEFAULT_SMPP_PASSWORD,
    DEFAULT_SMPP_SYSTEM_ID,
)
from .server import Server
from .settings import Settings

EXIT_CONFIG = 2  # the conventional status for bad usage or configuration
EXIT_STARTUP = 3  # uvicorn's STARTUP_FAILURE, as `uvicorn.run` would exit

WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # every interface, as the Docker image listens

# On SIGTERM, uvicorn waits this long for requests in flight before it cancels them.
# Event streams do not count: `Server` ends them first.
GRACEFUL_SHUTDOWN = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="augnet-mock", description="Offline emulator of the Augnet Messaging API."
    )
    parser.add_argument("--version", action="version", version=f"augnet-mock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the mock server",
        description="Every option also reads AUGNET_MOCK_<NAME> from the environment.",
    )
    serve.add_argument("--config", help="TOML config file (env AUGNET_MOCK_CONFIG)")
    for option in OPTIONS:
        # Strings here; config.load_settings parses and validates every source alike.
        serve.add_argument(option.flag, dest=option.name, help=f"{option.help} (env {option.env})")
    return parser


def banner(settings: Settings, url: str) -> str:
    lines = [f"augnet-mock {__version__} listening on {url}  (clock: {settings.clock})"]
    lines.append(f"  web inbox:   {url}/")
    lines.append(f"  send:        POST {url}/api/v2/message")
    if settings.default_project:
        lines.append(f"  project_id:  {DEFAULT_PROJECT_ID}")
        lines.append(f"  api_key:     {DEFAULT_API_KEY}")
        lines.append(f"  signing key: {DEFAULT_SIGNING_KEY}")
    if settings.smpp_port:
        smpp_host = f"[{settings.host}]" if ":" in settings.host else settings.host
        lines.append(f"  SMPP 3.4:    {smpp_host}:{settings.smpp_port}")
        if settings.default_project:
            lines.append(
                f"  system_id:   {DEFAULT_SMPP_SYSTEM_ID}   password: {DEFAULT_SMPP_PASSWORD}"
            )
    lines.append(f"  control API: {url}/_mock   OpenAPI: {url}/openapi.json")
    if settings.admin_token:
        lines.append(f"  admin token: needed by /_mock and the inbox; open {url}/?token=<token>")
    elif settings.host in WILDCARD_HOSTS:
        lines.append(
            "  warning:     listening on every interface with no admin token: anyone who can"
            " reach this port can read every API key (set --admin-token)"
        )
    return "\n".join(lines)


def tune_gc() -> None:
    """Take everything loaded at startup out of the garbage collector's full scans.

    Startup objects live for the whole run; scanning them again at every full
    collection only adds to tail latency under load. Measured with
    bench/send_throughput.py, where widening the young generation did no better
    once in-flight messages were lean. Not done by `create_app`, because an
    embedding process (pytest) owns its own collector.
    """
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(env=os.environ, cli=vars(args))
    except ConfigError as exc:
        print(f"augnet-mock: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        log_level="info",
    )
    # Bind before printing the banner, so `--port 0` shows the port actually picked.
    sock = config.bind_socket()  # on failure uvicorn logs the error and exits with status 3
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(banner(settings, f"http://{host}:{port}"), flush=True)
    server = Server(config, app.state.runtime.events)
    tune_gc()
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl+C while stopping
        server.run(sockets=[sock])
    return 0 if server.started else EXIT_STARTUP
