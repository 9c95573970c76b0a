"""Webhook signing: the `Digest` header and draft-cavage-http-signatures-12 hmac-sha256.

Pure functions, no I/O. Augnet signs status callbacks over
`(request-target) date digest host` (see the provider's example headers), with the
project id as `keyId`. `verify` is exported for users' webhook receivers.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

SIGNED_HEADERS = ("(request-target)", "date", "digest", "host")
ALGORITHM = "hmac-sha256"
DEFAULT_MAX_SKEW = 300.0  # seconds a `Date` may be off before `verify` rejects it

# draft-cavage-http-signatures-12 §2.1: comma-separated `name="value"` pairs.
_PARAM = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')

# Headers the provider's example callback carries besides the signed ones: its client
# (Apache HttpClient) asks for compressed answers and names itself.
ACCEPT_ENCODING = "gzip,deflate"
DEFAULT_USER_AGENT = "Apache-HttpClient/4.5.10 (Java/11.0.5)"


class SignatureError(ValueError):
    """A callback failed verification; the message says which check failed."""


def http_date(when: datetime | float) -> str:
    """IMF-fixdate (RFC 7231 §7.1.1.1), always GMT."""
    if isinstance(when, datetime):
        return format_datetime(when.astimezone(UTC), usegmt=True)
    return _http_date_second(int(when // 1))


@functools.lru_cache(maxsize=4)
def _http_date_second(second: int) -> str:
    # Every callback in the same second carries the same Date: format it once.
    return format_datetime(datetime.fromtimestamp(second, UTC), usegmt=True)


def digest(body: bytes) -> str:
    """The `Digest` header value (RFC 3230, SHA-256): `SHA-256=<base64>`."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_string(method: str, path: str, headers: Mapping[str, str]) -> str:
    """The cavage-12 §2.3 signing string over SIGNED_HEADERS.

    `path` is the request target with its query string; `headers` holds date,
    digest and host (any case).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [f"(request-target): {method.lower()} {path}"]
    lines += [f"{name}: {lower[name]}" for name in SIGNED_HEADERS[1:]]
    return "\n".join(lines)


def _hmac(key: str | bytes, message: str) -> str:
    raw_key = key.encode("utf-8") if isinstance(key, str) else key
    mac = hmac.new(raw_key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def sign(
    *, key_id: str, key: str | bytes, method: str, path: str, headers: Mapping[str, str]
) -> str:
    """The `Authorization: Signature ...` header value for a request."""
    signature = _hmac(key, signing_string(method, path, headers))
    return (
        f'Signature keyId="{key_id}",algorithm="{ALGORITHM}",'
        f'headers="{" ".join(SIGNED_HEADERS)}",signature="{signature}"'
    )


def signed_headers(
    *,
    body: bytes,
    url_host: str,
    path: str,
    date: str,
    key_id: str,
    key: str | bytes | None,
) -> dict[str, str]:
    """Every header a status callback carries, signed when a key is given."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, application/*+json",
        "Date": date,
        "Host": url_host,
        "Digest": digest(body),
    }
    if key:
        headers["Authorization"] = sign(
            key_id=key_id, key=key, method="POST", path=path, headers=headers
        )
    return headers


def parse_signature(header: str) -> dict[str, str]:
    """Split `Signature keyId="..",...` into its parameters."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "signature":
        raise SignatureError("Authorization is not a Signature")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            raise SignatureError("malformed Signature parameters")
        params[m.group(1)] = m.group(2)
        pos = m.end()
    return params


def verify(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    key: str | bytes,
    key_id: str | None = None,
    max_skew: float | None = DEFAULT_MAX_SKEW,
    now: float | None = None,
) -> None:
    """Check a received callback. Returns None, or raises SignatureError saying why.

    Checks, in order: the Digest matches the body bytes; the Date is within
    `max_skew` seconds of `now` (skip with max_skew=None); the signature covers
    the required headers and matches `key` (and `key_id`, when given).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    for name in ("digest", "date", "host", "authorization"):
        if name not in lower:
            raise SignatureError(f"missing {name} header")
    # Compare as bytes: compare_digest raises TypeError on non-ASCII str.
    if not hmac.compare_digest(lower["digest"].encode(), digest(body).encode()):
        raise SignatureError("digest does not match the body")
    if max_skew is not None:
        try:
            sent = parsedate_to_datetime(lower["date"]).timestamp()
        except (TypeError, ValueError) as exc:
            raise SignatureError("date header is not an HTTP date") from exc
        current = datetime.now(UTC).timestamp() if now is None else now
        if abs(current - sent) > max_skew:
            raise SignatureError("date is outside the allowed skew")
    params = parse_signature(lower["authorization"])
    if params.get("algorithm", ALGORITHM).lower() != ALGORITHM:
        raise SignatureError(f"unsupported algorithm {params.get('algorithm')!r}")
    if key_id is not None and params.get("keyId") != key_id:
        raise SignatureError("keyId does not match")
    covered = params.get("headers", "date").lower().split()
    if covered != list(SIGNED_HEADERS):
        raise SignatureError("signature does not cover (request-target) date digest host")
    expected = _hmac(key, signing_string(method, path, lower))
    if not hmac.compare_digest(expected.encode(), params.get("signature", "").encode()):
        raise SignatureError("signature does not match")
