"""Verify an Augnet status callback: Digest, Date and the HTTP signature.

Standard library only. From augnet-mock's docs/verify.md (augnet-mock 0.1.0).
"""

import base64
import hashlib
import hmac
import time
from email.utils import parsedate_to_datetime

SIGNED_HEADERS = ["(request-target)", "date", "digest", "host"]
MAX_SKEW = 300  # seconds a callback's Date may differ from this machine's clock


class InvalidCallback(ValueError):
    """The callback failed a check; the message says which."""


def verify_callback(method, target, headers, body, key, key_id=None, now=None):
    """Return None if the callback is genuine and recent; raise InvalidCallback if not.

    method:  the request method, "POST".
    target:  the request target exactly as received: the path and, if the callback URL
             has one, "?" and the query string (e.g. "/hooks/sms?tenant=7").
    headers: the request headers, a mapping with names in any case.
    body:    the raw body bytes, before any JSON parsing.
    key:     the project's signing key (str or bytes).
    key_id:  the project id, to reject callbacks signed for another project.
    """
    h = {name.lower(): value for name, value in headers.items()}
    for name in ("authorization", "date", "digest", "host"):
        if name not in h:
            raise InvalidCallback(f"missing {name} header")
    scheme, _, params = h["authorization"].partition(" ")
    if scheme.lower() != "signature":
        raise InvalidCallback("Authorization is not a Signature")
    fields = {}
    for param in params.split(","):  # keyId="..",algorithm="..",headers="..",signature=".."
        name, _, value = param.strip().partition("=")
        fields[name] = value.strip('"')
    if fields.get("algorithm") != "hmac-sha256":
        raise InvalidCallback("algorithm is not hmac-sha256")
    if fields.get("headers", "").split() != SIGNED_HEADERS:
        raise InvalidCallback("signature does not cover (request-target) date digest host")
    if key_id is not None and fields.get("keyId") != key_id:
        raise InvalidCallback("keyId is not this project's")
    signing_string = "\n".join(
        [
            f"(request-target): {method.lower()} {target}",
            f"date: {h['date']}",
            f"digest: {h['digest']}",
            f"host: {h['host']}",
        ]
    )
    raw_key = key.encode() if isinstance(key, str) else key
    mac = hmac.new(raw_key, signing_string.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(mac), fields.get("signature", "").encode()):
        raise InvalidCallback("signature does not match")
    # The signature covers Digest and Date; now check they describe this body, now.
    body_digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    if not hmac.compare_digest(h["digest"].encode(), body_digest.encode()):
        raise InvalidCallback("digest does not match the body")
    try:
        sent = parsedate_to_datetime(h["date"]).timestamp()
    except (TypeError, ValueError):
        raise InvalidCallback("date is not an HTTP date") from None
    if abs((time.time() if now is None else now) - sent) > MAX_SKEW:
        raise InvalidCallback("date is too far from this machine's clock")
