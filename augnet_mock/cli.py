"""The `augnet-mock` command: `serve`, and the offline checks `segments` and `check-webhook`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence

import uvicorn

from ._version import __version__
from .advisor import describe_split
from .app import create_app
from .config import OPTIONS, ConfigError, load_settings
from .models import (
    DEFAULT_API_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SIGNING_KEY,
    DEFAULT_SMPP_PASSWORD,
    DEFAULT_SMPP_SYSTEM_ID,
)
from .segmentation import segment
from .server import Server
from .settings import Settings
from .webhook_audit import audit_webhook

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
    segments = commands.add_parser(
        "segments",
        help="show how a text is encoded and split, what forced UCS-2, and the fix",
        description="Exit status 1 when the text needs more than --max-segments parts.",
    )
    segments.add_argument("text", help="the message text, or - to read it from stdin")
    segments.add_argument("--max-segments", type=int, metavar="N", help="fail above N parts")
    check = commands.add_parser(
        "check-webhook",
        help="audit a webhook receiver: forged, stale, tampered, duplicate and replayed callbacks",
        description="Exit status 0 only when the receiver answers every case safely.",
    )
    check.add_argument("url", help="the receiver's URL, as a statusCallback would name it")
    check.add_argument("--signing-key", required=True, help="the project's signing key")
    check.add_argument(
        "--project-id",
        default=DEFAULT_PROJECT_ID,
        help="the keyId and AccountSid to send (default: the provider's example project)",
    )
    check.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default 5)")
    check.add_argument("--json", action="store_true", help="print the scorecard as JSON")
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


def segments_command(text: str, max_segments: int | None) -> int:
    body = sys.stdin.read() if text == "-" else text
    if text == "-" and body.endswith("\n"):
        body = body[:-1]  # the newline `echo` adds is not part of the message
    print(describe_split(body))
    parts = segment(body).segments
    if max_segments is not None and parts > max_segments:
        print(f"over the limit: {parts} parts, --max-segments {max_segments}", file=sys.stderr)
        return 1
    return 0


def check_webhook_command(args: argparse.Namespace) -> int:
    scorecard = audit_webhook(
        args.url, signing_key=args.signing_key, project_id=args.project_id, timeout=args.timeout
    )
    print(json.dumps(scorecard.to_json(), indent=2) if args.json else scorecard.render())
    return 0 if scorecard.safe else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "segments":
        return segments_command(args.text, args.max_segments)
    if args.command == "check-webhook":
        return check_webhook_command(args)
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
