"""Settings from the TOML config file, `AUGNET_MOCK_*` variables and CLI flags.

Each option is declared once in OPTIONS; the CLI flag, the environment variable
and the `[server]` key in the config file all derive from it. Later sources win:
defaults < config file < environment < command line. A bad value raises
`ConfigError` naming the key, which the CLI prints on one line.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .dispatcher import MAX_IN_FLIGHT, MAX_TIMEOUT
from .loopback import parse_alias
from .models import parse_project
from .pricing import parse_prices
from .scenarios import parse_rule
from .settings import Settings
from .validation import MAX_DELAY, FieldError, integer, number, shown, type_name

ENV_PREFIX = "AUGNET_MOCK_"
CONFIG_SECTIONS = ("server", "projects", "scenarios")
# A hostname (RFC 1123 labels; `_` too, as resolvers accept it) or, checked apart, an IP
# address. Anything else (a NUL, a newline, brackets) could only fail later, in bind().
HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")
MAX_HOSTNAME = 253  # RFC 1035 §2.3.4, in its dotted text form
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LONG_DIGITS = re.compile(r"\s*[+-]?[0-9_]{40,}\s*")  # past any bound an option has


class ConfigError(ValueError):
    """Bad configuration. `str()` is one line naming the key.

    Control characters in the message (a TOML key may hold a newline) are escaped, so
    the CLI's error is always exactly one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(_CONTROL.sub(lambda m: repr(m.group())[1:-1], message))


# What a `[server]` value must be in TOML, which has types of its own: a quoted port is
# a mistake to point out, not a string to parse as the environment's must be. The CLI
# also derives from it: "bool" options take --flag/--no-flag.
Kind = Literal["str", "int", "float", "bool", "hosts", "table"]
KIND_NAMES: dict[Kind, str] = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "hosts": "a string or an array of strings",
    "table": "a table (or a JSON string)",
}


@dataclass(frozen=True, slots=True)
class Option:
    name: str  # the Settings field and the `[server]` key
    parse: Callable[[str, Any], Any]  # (key, raw) -> value, raising FieldError
    help: str
    kind: Kind = "str"
    choices: tuple[str, ...] = ()  # the only values it takes, for --help and errors

    def fits_toml(self, raw: Any) -> bool:
        """Whether a TOML value has this option's type (its range is parse's to check)."""
        if self.kind == "bool":
            return isinstance(raw, bool)
        if isinstance(raw, bool):
            return False  # a TOML boolean is never a number, though Python's bool is an int
        if self.kind == "int":
            return isinstance(raw, int)
        if self.kind == "float":
            return isinstance(raw, int | float)
        if self.kind == "hosts":
            return isinstance(raw, str | list)
        if self.kind == "table":
            return isinstance(raw, str | dict)
        return isinstance(raw, str)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _host(key: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        got = "an empty one" if raw == "" else type_name(raw)
        raise FieldError(key, f"must be a non-empty string, got {got}")
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if len(raw) > MAX_HOSTNAME or not HOSTNAME.fullmatch(raw):
            raise FieldError(
                key, f"must be an IP address or a hostname (got {shown(raw)})"
            ) from None
    return raw


def _int(minimum: int, maximum: int) -> Callable[[str, Any], int]:
    def parse(key: str, raw: Any) -> int:
        if isinstance(raw, str):
            if _LONG_DIGITS.fullmatch(raw):
                # int() refuses over 4,300 digits, and would call the value "not an integer".
                raise FieldError(key, f"must be between {minimum} and {maximum}")
            try:
                raw = int(raw, 10)
            except ValueError as exc:
                raise FieldError(key, f"must be an integer (got {shown(raw)})") from exc
        return integer(key, raw, minimum=minimum, maximum=maximum)

    return parse


def _float(maximum: float, *, minimum: float = 0.0) -> Callable[[str, Any], float]:
    def parse(key: str, raw: Any) -> float:
        if isinstance(raw, str):
            try:
                text, raw = raw, float(raw)
            except ValueError as exc:
                raise FieldError(key, f"must be a number (got {shown(raw)})") from exc
            if raw in (float("inf"), float("-inf")) and "inf" not in text.lower():
                raise FieldError(key, f"must be a finite number: {shown(text)} is too large")
        return number(key, raw, minimum=minimum, maximum=maximum)

    return parse


def _positive_float(maximum: float) -> Callable[[str, Any], float]:
    """A duration that must be more than 0 (0 would mean none at all) and at most `maximum`."""
    parse_any = _float(math.inf, minimum=-math.inf)  # the range below says it all at once

    def parse(key: str, raw: Any) -> float:
        value = parse_any(key, raw)
        if not 0 < value <= maximum:
            raise FieldError(key, f"must be greater than 0 and at most {maximum:g} (got {value:g})")
        return value

    return parse


def _allowed_host(key: str, raw: str) -> str:
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
    return tuple(_allowed_host(key, item) for item in items)


def _token(key: str, raw: Any) -> str:
    # Visible ASCII only: the token travels in an Authorization header (RFC 9110 §5.5).
    if not isinstance(raw, str) or not raw:
        raise FieldError(key, f"must be a non-empty string, got {type_name(raw)}")
    token = raw
    if not all("!" <= c <= "~" for c in token):
        raise FieldError(key, "must be printable ASCII with no spaces")
    return token


def _user_agent(key: str, raw: Any) -> str:
    # Visible ASCII and spaces: it travels as a header value (RFC 9110 §5.5).
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError(key, f"must be a non-empty string, got {type_name(raw)}")
    if not all(" " <= c <= "~" for c in raw) or len(raw) > 256:
        raise FieldError(key, "must be at most 256 printable ASCII characters")
    return raw


CLOCKS = ("real", "manual")


def _clock(key: str, raw: Any) -> str:
    if raw not in CLOCKS:
        raise FieldError(key, f'must be "real" or "manual" (got {shown(raw)})')
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
    raise FieldError(key, f"must be true or false (got {shown(raw)})")


# Upper bounds, each far past any real use, so that no value can overflow later on.
MAX_SEED = 2**64 - 1  # a 64-bit seed; random.Random takes any int, repeatable runs need one
MAX_MESSAGES = 1_000_000  # ~750 MB at the measured ~75 MB per 100,000 stored messages
MAX_BODY_BYTES = 16 * 1024 * 1024  # no send needs more; bounds what one request may buffer
MAX_RULES = 100_000  # every send scans every rule: at ~2 us a rule, this is a 0.2 s send
MAX_CALLBACK_WAIT = 3_600.0  # seconds: a receiver's timeout, or the first retry's delay
MAX_BODY_TIMEOUT = 3_600.0  # seconds a request body may take: past an hour it is stalled

OPTIONS: tuple[Option, ...] = (
    Option("host", _host, "address to listen on (default 127.0.0.1)"),
    Option("port", _int(0, 65535), "HTTP port (default 8080; 0 picks a free one)", "int"),
    Option("smpp_port", _int(0, 65535), "SMPP 3.4 port (2775; 0 turns SMPP off)", "int"),
    Option(
        "smpp_inactivity_timeout",
        _positive_float(MAX_BODY_TIMEOUT),
        "seconds an SMPP session may stay silent before it is closed (120)",
        "float",
    ),
    Option(
        "smpp_reassembly_timeout",
        _positive_float(MAX_DELAY),
        "seconds (mock clock) for all parts of a long SMPP message to arrive (60)",
        "float",
    ),
    Option(
        "clock",
        _clock,
        "real (default) or manual: manual time moves only when advanced",
        choices=CLOCKS,
    ),
    Option(
        "seed",
        _int(0, MAX_SEED),
        "seed for scenario probabilities and chaos, for repeatable runs",
        "int",
    ),
    Option(
        "max_messages",
        _int(1, MAX_MESSAGES),
        "messages kept before the oldest are evicted (10000)",
        "int",
    ),
    Option("max_segments", _int(1, 255), "most parts one message may need (10)", "int"),
    Option(
        "max_body_bytes", _int(1, MAX_BODY_BYTES), "largest request body in bytes (65536)", "int"
    ),
    Option(
        "max_rules",
        _int(0, MAX_RULES),
        "most scenario rules held at once, config file's included (1000)",
        "int",
    ),
    Option("send_delay", _float(MAX_DELAY), "seconds from queued to sent (0.2)", "float"),
    Option("delivery_delay", _float(MAX_DELAY), "seconds from sent to delivered (0.5)", "float"),
    Option("callback_attempts", _int(1, 100), "tries per status callback (5)", "int"),
    Option(
        "callback_backoff",
        _float(MAX_CALLBACK_WAIT),
        "seconds before the first retry; doubles after (1.0)",
        "float",
    ),
    Option(
        "callback_timeout",
        _positive_float(MAX_TIMEOUT),
        "seconds each callback attempt may take, connect to last byte (5.0; 0 < t <= 3600)",
        "float",
    ),
    Option(
        "callback_concurrency_per_receiver",
        _int(1, MAX_IN_FLIGHT),
        "callback attempts on the wire to one receiver (origin) at once (8; 1 to 100)",
        "int",
    ),
    Option(
        "max_pending_callbacks",
        _int(1, MAX_MESSAGES),
        "pending callbacks kept before the oldest are dropped (default: max_messages)",
        "int",
    ),
    Option(
        "loopback_alias",
        parse_alias,
        "send callbacks for localhost, 127.0.0.0/8 and ::1 to this host instead (in a container)",
    ),
    Option("chaos_api_errors", _float(1.0), "chance of a random 503 on each send (0)", "float"),
    Option(
        "chaos_undelivered", _float(1.0), "chance of each message ending undelivered (0)", "float"
    ),
    Option("default_project", _bool, "start with the provider's example project (true)", "bool"),
    Option("access_log", _bool, "log one line per request (true)", "bool"),
    Option(
        "body_timeout",
        _positive_float(MAX_BODY_TIMEOUT),
        "seconds a request body may take to arrive (10)",
        "float",
    ),
    Option(
        "allowed_hosts",
        _hosts,
        "host names, comma-separated, that the control API and inbox answer to "
        "besides loopback ones (* for any)",
        "hosts",
    ),
    Option("admin_token", _token, "token the control API and inbox require (none)"),
    Option(
        "strict",
        _bool,
        "refuse sends with fields Augnet would ignore, e.g. statusCallBack (false: a warning)",
        "bool",
    ),
    Option(
        "prices",
        parse_prices,
        'price per part by destination prefix, JSON: {"*": 0.05, "+44": 0.04} (README)',
        "table",
    ),
    Option(
        "callback_user_agent",
        _user_agent,
        "User-Agent of status callbacks (the provider's: Apache-HttpClient/4.5.10 ...)",
    ),
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
    except RecursionError as exc:
        # tomllib parses nested arrays and inline tables recursively.
        raise ConfigError(f"config: {path} is nested too deeply") from exc
    for key in data:
        if key not in CONFIG_SECTIONS:
            raise ConfigError(f"{key}: unknown section{_suggest(key, CONFIG_SECTIONS)}")
    fields: dict[str, Any] = {}
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError("server: must be a table")
    for key, raw in server.items():
        option = OPTION_BY_NAME.get(key)
        if option is None:
            raise ConfigError(f"server.{key}: unknown key{_suggest(key, OPTION_BY_NAME)}")
        if not option.fits_toml(raw):
            raise ConfigError(_toml_type_error(option, f"server.{key}", raw))
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
    _unique("projects", "projectId", [p.project_id for p in parsed])
    # Only ids given in the file: generated ones are unique, and fresh at each reset.
    _unique("scenarios", "id", [spec.get("id") for spec in scenarios])
    fields["projects"] = parsed
    fields["scenarios"] = tuple(scenarios)
    return fields


def _suggest(key: str, known: Iterable[str]) -> str:
    """'; did you mean X? Known: ...' for an unknown name, closest match first (difflib)."""
    names = list(known)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"{hint} known: {', '.join(names)}"


def _toml_type_error(option: Option, key: str, raw: Any) -> str:
    """A value of the wrong TOML type, and how to write it, e.g. `port = 8080`."""
    if isinstance(raw, bool):
        got = f"boolean {_toml(raw)}"
    elif isinstance(raw, str | int | float):
        got = f"{type_name(raw)} {shown(raw)}"
    else:
        got = shown(raw)  # "an array", "an object": their text could be long
    message = f"{key}: must be {KIND_NAMES[option.kind]}, got {got}"
    if isinstance(raw, str):
        try:
            value = option.parse(key, raw)  # the string a flag would take: say so
        except FieldError:
            return message
        if isinstance(value, bool | int | float):
            return f"{message}; write it without quotes: {option.name} = {_toml(value)}"
    return message


def _toml(value: bool | int | float) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


def _unique(section: str, key: str, ids: list[str | None]) -> None:
    first: dict[str, int] = {}
    for i, value in enumerate(ids):
        if value is None:
            continue
        if value in first:
            earlier = f"{section}[{first[value]}].{key}"
            raise ConfigError(f"{section}[{i}].{key}: duplicate {value!r}, as {earlier}")
        first[value] = i


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
    settings = replace(Settings(), **fields)
    if len(settings.scenarios) > settings.max_rules:
        max_rules = OPTION_BY_NAME["max_rules"]
        raise ConfigError(
            f"scenarios: {len(settings.scenarios)} rules, over the limit of "
            f"{settings.max_rules}; raise max_rules ({max_rules.flag}, {max_rules.env} "
            "or [server] max_rules)"
        )
    return settings
