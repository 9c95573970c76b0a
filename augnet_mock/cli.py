"""The `augnet-mock` command: `augnet-mock serve [options]`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import logging
import os
import socket
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
        help_text = f"{option.help} (env {option.env})"
        if option.kind == "bool":
            # --flag / --no-flag; True or False reaches load_settings like any other value.
            serve.add_argument(
                option.flag,
                dest=option.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif option.choices:
            serve.add_argument(
                option.flag, dest=option.name, choices=option.choices, help=help_text
            )
        else:
            serve.add_argument(option.flag, dest=option.name, help=help_text)
    return parser


def banner(settings: Settings, url: str, *, smpp: str | None = None) -> str:
    """What `serve` prints once it listens: where everything is, and which projects."""
    lines = [f"augnet-mock {__version__} listening on {url}  (clock: {settings.clock})"]
    lines.append(f"  API:         POST {url}/api/v2/message")
    lines.append(f"  web inbox:   {url}/")
    lines.append(f"  control API: {url}/_mock   OpenAPI: {url}/openapi.json")
    if smpp is not None:
        lines.append(f"  SMPP:        {smpp}")
        if settings.default_project:
            lines.append(
                f"  system_id:   {DEFAULT_SMPP_SYSTEM_ID}   password: {DEFAULT_SMPP_PASSWORD}"
            )
    configured = settings.projects  # from the config file
    if settings.default_project and all(p.project_id != DEFAULT_PROJECT_ID for p in configured):
        lines.append(f"  project_id:  {DEFAULT_PROJECT_ID}  (the provider's example project)")
        lines.append(f"  api_key:     {DEFAULT_API_KEY}")
        lines.append(f"  signing key: {DEFAULT_SIGNING_KEY}")
    for project in configured:
        webhook = f"  webhook {project.webhook_url}" if project.webhook_url else ""
        lines.append(f"  project:     {project.project_id}  api_key {project.api_key}{webhook}")
    if not settings.startup_projects():
        lines.append("  projects:    none yet (create one with POST /_mock/projects)")
    if settings.admin_token:
        lines.append(f"  admin token: needed by /_mock and the inbox; open {url}/?token=<token>")
    elif settings.host in WILDCARD_HOSTS:
        lines.append(
            "  warning:     listening on every interface with no admin token: anyone who can"
            " reach this port can read every API key (set --admin-token)"
        )
    return "\n".join(lines)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, as uvicorn binds it; OSError says why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_error(host: str, port: int, exc: OSError) -> str:
    """One line naming the address, what went wrong, and what to do about it."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is already in use (another augnet-mock?); "
            f"pick another with --port N, or --port 0 for a free one"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: permission denied (ports below 1024 need privileges); "
            "pick a port from 1024 with --port N, or --port 0 for a free one"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no interface of this machine has that address (--host)"
    reason = exc.strerror or str(exc)
    return f"cannot listen on {where}: {reason}"


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
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:  # uvicorn would print only "[Errno 98] Address already in use"
        print(f"augnet-mock: {bind_error(settings.host, settings.port, exc)}", file=sys.stderr)
        return EXIT_STARTUP
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    smpp = f"{host}:{settings.smpp_port}" if settings.smpp_port else None
    print(banner(settings, f"http://{host}:{port}", smpp=smpp), flush=True)
    server = Server(config, app.state.runtime.events)
    tune_gc()
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl+C while stopping
        server.run(sockets=[sock])
    return 0 if server.started else EXIT_STARTUP
