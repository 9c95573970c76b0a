"""Settings from the TOML config file, `AUGNET_MOCK_*` variables and CLI flags.

Each option is declared once in OPTIONS; the CLI flag, the environment variable
and the `[server]` key in the config file all derive from it. Later sources win:
defaults < config file < environment < command line. A bad value raises
`ConfigError` naming the key, which the CLI prints on one line.
"""

from __future__ import annotations

import ipaddress
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .dispatcher import MAX_IN_FLIGHT, MAX_TIMEOUT
from .loopback import parse_alias
from .scenarios import parse_rule
from .settings import Settings, parse_project
from .validation import FieldError, integer, number, type_name

ENV_PREFIX = "AUGNET_MOCK_"
CONFIG_SECTIONS = ("server", "projects", "scenarios")


class ConfigError(ValueError):
    """Bad configuration. `str()` is one line naming the key."""


@dataclass(frozen=True, slots=True)
class Option:
    name: str  # the Settings field and the `[server]` key
    parse: Callable[[str, Any], Any]  # (key, raw) -> value, raising FieldError
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _text(key: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise FieldError(key, f"must be a non-empty string, got {type_name(raw)}")
    return raw


def _int(minimum: int, maximum: int | None = None) -> Callable[[str, Any], int]:
    def parse(key: str, raw: Any) -> int:
        if isinstance(raw, str):
            try:
                raw = int(raw, 10)
            except ValueError as exc:
                raise FieldError(key, f"must be an integer (got {raw!r})") from exc
        return integer(key, raw, minimum=minimum, maximum=maximum)

    return parse


def _float(key: str, raw: Any, *, minimum: float = 0.0) -> float:
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError as exc:
            raise FieldError(key, f"must be a number (got {raw!r})") from exc
    return number(key, raw, minimum=minimum)


def _positive_float(maximum: float) -> Callable[[str, Any], float]:
    def parse(key: str, raw: Any) -> float:
        value = _float(key, raw, minimum=-math.inf)  # the range below says it all at once
        if not 0 < value <= maximum:
            raise FieldError(key, f"must be greater than 0 and at most {maximum:g} (got {value:g})")
        return value

    return parse


def _positive(key: str, raw: Any) -> float:
    value = _float(key, raw)
    if value <= 0:
        raise FieldError(key, "must be greater than 0")
    return value


def _host(key: str, raw: str) -> str:
    """One allowed host name: lower case, IPv6 without brackets, no port."""
    name = raw.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "*":
        return name
    if not name or any(c in name for c in " /@[]") or not name.isascii():
        raise FieldError(key, f"{raw!r} is not a host name")
    if ":" in name:
        try:
            ipaddress.IPv6Address(name)
        except ValueError as exc:
            raise FieldError(key, f"{raw!r}: give the name without a port") from exc
    return name


def _hosts(key: str, raw: Any) -> tuple[str, ...]:
    """A TOML array of names, or one string of comma-separated names (flag, env)."""
    if isinstance(raw, str):
        items = [item for item in raw.split(",") if item.strip()]
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        items = raw
    else:
        raise FieldError(key, f"must be a string or an array of strings, got {type_name(raw)}")
    return tuple(_host(key, item) for item in items)


def _token(key: str, raw: Any) -> str:
    # Visible ASCII only: the token travels in an Authorization header (RFC 9110 §5.5).
    token = _text(key, raw)
    if not all("!" <= c <= "~" for c in token):
        raise FieldError(key, "must be printable ASCII with no spaces")
    return token


def _probability(key: str, raw: Any) -> float:
    value = _float(key, raw)
    if value > 1:
        raise FieldError(key, "must be between 0 and 1")
    return value


def _clock(key: str, raw: Any) -> str:
    if raw not in ("real", "manual"):
        raise FieldError(key, f'must be "real" or "manual" (got {raw!r})')
    return str(raw)


def _bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
    ):
        return raw.lower() in ("1", "true", "yes", "on")
    raise FieldError(key, f"must be true or false (got {raw!r})")


OPTIONS: tuple[Option, ...] = (
    Option("host", _text, "address to listen on (default 127.0.0.1)"),
    Option("port", _int(0, 65535), "HTTP port (default 8080; 0 picks a free one)"),
    Option("smpp_port", _int(0, 65535), "SMPP port (2775; reserved, no SMPP server yet)"),
    Option("clock", _clock, "real (default) or manual: manual time moves only when advanced"),
    Option("seed", _int(0), "seed for scenario probabilities and chaos, for repeatable runs"),
    Option("max_messages", _int(1), "messages kept before the oldest are evicted (10000)"),
    Option("max_segments", _int(1, 255), "most parts one message may need (10)"),
    Option("max_body_bytes", _int(1), "largest request body in bytes (65536)"),
    Option("send_delay", _float, "seconds from queued to sent (0.2)"),
    Option("delivery_delay", _float, "seconds from sent to delivered (0.5)"),
    Option("callback_attempts", _int(1, 100), "tries per status callback (5)"),
    Option("callback_backoff", _float, "seconds before the first retry; doubles after (1.0)"),
    Option(
        "callback_timeout",
        _positive_float(MAX_TIMEOUT),
        "seconds each callback attempt may take, connect to last byte (5.0; 0 < t <= 3600)",
    ),
    Option(
        "callback_concurrency_per_receiver",
        _int(1, MAX_IN_FLIGHT),
        "callback attempts on the wire to one receiver (origin) at once (8; 1 to 100)",
    ),
    Option(
        "max_pending_callbacks",
        _int(1),
        "pending callbacks kept before the oldest are dropped (default: max_messages)",
    ),
    Option(
        "loopback_alias",
        parse_alias,
        "send callbacks for localhost, 127.0.0.0/8 and ::1 to this host instead (in a container)",
    ),
    Option("chaos_api_errors", _probability, "chance of a random 503 on each send (0)"),
    Option("chaos_undelivered", _probability, "chance of each message ending undelivered (0)"),
    Option("default_project", _bool, "start with the provider's example project (true)"),
    Option("access_log", _bool, "log one line per request (true)"),
    Option("body_timeout", _positive, "seconds a request body may take to arrive (10)"),
    Option(
        "allowed_hosts",
        _hosts,
        "host names, comma-separated, that the control API and inbox answer to "
        "besides loopback ones (* for any)",
    ),
    Option("admin_token", _token, "token the control API and inbox require (none)"),
)
OPTION_BY_NAME = {o.name: o for o in OPTIONS}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The validated contents of a TOML config file, as Settings fields."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        # TOML files are UTF-8 (TOML 1.0 §Spec); tomllib lets the decode error escape.
        raise ConfigError(f"config: {path} is not UTF-8 text: {exc.reason}") from exc
    for key in data:
        if key not in CONFIG_SECTIONS:
            raise ConfigError(
                f"{key}: unknown section; expected one of {', '.join(CONFIG_SECTIONS)}"
            )
    fields: dict[str, Any] = {}
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError("server: must be a table")
    for key, raw in server.items():
        option = OPTION_BY_NAME.get(key)
        if option is None:
            raise ConfigError(f"server.{key}: unknown key")
        fields[key] = _parse(option, f"server.{key}", raw)
    projects = data.get("projects", [])
    scenarios = data.get("scenarios", [])
    if not isinstance(projects, list):
        raise ConfigError("projects: must be an array of tables ([[projects]])")
    if not isinstance(scenarios, list):
        raise ConfigError("scenarios: must be an array of tables ([[scenarios]])")
    try:
        parsed = tuple(parse_project(p, path=f"projects[{i}]") for i, p in enumerate(projects))
        for i, spec in enumerate(scenarios):
            parse_rule(spec, source="config", path=f"scenarios[{i}]")
    except FieldError as exc:
        raise ConfigError(str(exc)) from exc
    ids = [p.project_id for p in parsed]
    for i, project_id in enumerate(ids):
        if project_id in ids[:i]:
            raise ConfigError(f"projects[{i}].projectId: duplicate {project_id!r}")
    fields["projects"] = parsed
    fields["scenarios"] = tuple(scenarios)
    return fields


def _parse(option: Option, key: str, raw: Any) -> Any:
    try:
        return option.parse(key, raw)
    except FieldError as exc:
        raise ConfigError(str(exc)) from exc


def load_settings(
    *,
    config_path: str | None = None,
    env: Mapping[str, str] | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and CLI values into Settings."""
    env = env or {}
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    path = cli.get("config") or env.get(ENV_PREFIX + "CONFIG") or config_path
    fields: dict[str, Any] = read_config_file(path) if path else {}
    for option in OPTIONS:
        if option.env in env:
            fields[option.name] = _parse(option, option.env, env[option.env])
        if option.name in cli:
            fields[option.name] = _parse(option, option.flag, cli[option.name])
    return replace(Settings(), **fields)
