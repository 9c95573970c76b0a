"""Callback URLs aimed at loopback, re-aimed at a host a containerised mock can reach.

A test suite registers webhooks on its own machine's loopback
(`http://127.0.0.1:PORT/...`). A mock in a container (Compose, a CI service
container) has a loopback of its own, so those callbacks would never arrive;
`--loopback-alias HOST` sends them to HOST instead (e.g. `host.docker.internal`),
keeping the scheme, port, path and query. Pure: no I/O, no state.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

import yarl

from .validation import FieldError, type_name

# RFC 6761 §6.3: "localhost" and names under it always mean the loopback interface.
LOCALHOST = "localhost"


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine's loopback: localhost, 127.0.0.0/8 or ::1."""
    name = host.lower().rstrip(".")  # "localhost." is the same name, fully qualified
    if name == LOCALHOST or name.endswith("." + LOCALHOST):
        return True
    try:
        # RFC 1122 §3.2.1.3: all of 127.0.0.0/8 is loopback, not only 127.0.0.1.
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=1024)
def alias_loopback(url: str, alias: str | None) -> str:
    """`url` with a loopback host replaced by `alias`; any other URL unchanged.

    A URL that does not parse is returned as it is, for the dispatcher to journal
    the same error it would without an alias.
    """
    if alias is None:
        return url
    try:
        parsed = yarl.URL(url)
        host = parsed.host
        if host is None or not is_loopback(host):
            return url
        return str(parsed.with_host(alias))
    except ValueError:
        return url


def parse_alias(key: str, raw: Any) -> str:
    """The `loopback_alias` option's value: a host name or IP address, no port or scheme."""
    if not isinstance(raw, str):
        raise FieldError(key, f"must be a host name or IP address, got {type_name(raw)}")
    if not raw:
        raise FieldError(key, "must not be empty")
    host = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    # A port or path here would be silently dropped or mangled by the rewrite: refuse.
    if any(c in host for c in "/:@?#[]% \t"):
        raise FieldError(key, f"must be a host name or IP address, without a port (got {raw!r})")
    try:
        yarl.URL.build(scheme="http", host=host)
    except ValueError as exc:
        raise FieldError(key, f"must be a host name or IP address (got {raw!r})") from exc
    return host
