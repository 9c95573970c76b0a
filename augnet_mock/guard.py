"""The guard in front of the mock surface: Host names, cross-site requests, the admin token.

The control API (`/_mock/*`) and the inbox hand out every project's API key and can
reset the mock, so a web page the developer happens to visit must not reach them:
- **Host** must be a loopback name or one of `allowed_hosts`: a DNS-rebinding page
  reaches 127.0.0.1 under its own name, and that name is in the Host header.
- **State-changing requests** (POST, PUT, PATCH, DELETE) are refused when `Origin`
  names another origin or `Sec-Fetch-Site` says cross-site, and a body must be JSON:
  an HTML form can post cross-site, but only as form data or text/plain.
- **`admin_token`**, when set, is required as `Authorization: Bearer <token>`, or in
  the browser as a cookie that opening `/?token=<token>` sets once.

`/api/v2/*` is not guarded: it has its own Basic credentials, and a compose service
reaches it under a name of its own (`http://augnet-mock:8080`). Nor is
`GET /_mock/health`, which probes reach by any address (Docker, Kubernetes).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request, cookie_parser

from .errors import ApiError
from .httpio import error_response, is_json
from .settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNGUARDED_PREFIX = "/api/"  # the Augnet surface: Basic-authenticated, reached by any name
OPEN_ROUTES = frozenset({"/_mock/health"})  # GET/HEAD only; answers nothing secret
TOKEN_PATHS = ("/_mock/", "/static/")  # with a token, these and the inbox page need it
INBOX = "/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # RFC 9110 §9.2.1
COOKIE = "augnet_mock_admin"
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="augnet-mock"'}
OPTION_HINT = "--allowed-hosts, AUGNET_MOCK_ALLOWED_HOSTS or [server] allowed_hosts"


def host_name(host: str) -> str:
    """The name in a Host header, lower case, without port, brackets or a final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal, RFC 3986 §3.2.2
        return host[1:].partition("]")[0]
    return host.partition(":")[0].rstrip(".")


@lru_cache(maxsize=256)
def is_loopback(name: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1: names only this machine answers to."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cookie_value(token: str) -> str:
    """What the inbox cookie holds: derived from the token, so the browser never
    stores the token itself, and any token is a valid cookie value (RFC 6265 §4.1.1)."""
    return hmac.new(token.encode(), b"augnet-mock inbox cookie", hashlib.sha256).hexdigest()


class Guard:
    """Pure ASGI middleware; `create_app` gives it the settings."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.any_host = "*" in settings.allowed_hosts
        self.allowed_hosts = frozenset(settings.allowed_hosts)
        token = settings.admin_token
        self.token = token.encode() if token is not None else None
        self.cookie = cookie_value(token) if token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The send route pays one string test: it is benchmarked, and not guarded.
        if scope["type"] != "http" or scope["path"].startswith(UNGUARDED_PREFIX):
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # the first of a repeated header counts
        try:
            set_cookie = self.check(scope, headers)
        except ApiError as err:
            await error_response(Request(scope, receive), err)(scope, receive, send)
            return
        if set_cookie is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"set-cookie", set_cookie)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def check(self, scope: Scope, headers: dict[bytes, bytes]) -> bytes | None:
        """Raise ApiError for a refused request; otherwise the Set-Cookie value to add
        to the answer (the inbox opened with `?token=`), or None."""
        path: str = scope["path"]
        method: str = scope["method"]
        if path in OPEN_ROUTES and method in ("GET", "HEAD"):
            return None
        host = headers.get(b"host", b"").decode("latin-1")
        self.check_host(host)
        if method not in SAFE_METHODS:
            check_same_origin(host, headers)
        set_cookie = None
        if self.token is not None and (path == INBOX or path.startswith(TOKEN_PATHS)):
            set_cookie = self.check_token(scope, path, headers)
        if method not in SAFE_METHODS:
            check_json_body(headers)
        return set_cookie

    def check_host(self, host: str) -> None:
        if not host or self.any_host:
            return  # no Host (HTTP/1.0): no name that a rebinding page could have set
        name = host_name(host)
        if is_loopback(name) or name in self.allowed_hosts:
            return
        raise ApiError(
            403,
            f"host {name!r} is not allowed to reach the mock's control API and inbox "
            f"(a guard against DNS rebinding); allow it with {OPTION_HINT}",
        )

    def check_token(self, scope: Scope, path: str, headers: dict[bytes, bytes]) -> bytes | None:
        assert self.token is not None
        assert self.cookie is not None
        scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer":
            if hmac.compare_digest(given.strip(), self.token):
                return None
            raise ApiError(401, "wrong admin token", headers=BEARER_CHALLENGE)
        cookie = headers.get(b"cookie")
        if cookie is not None:
            given_cookie = cookie_parser(cookie.decode("latin-1")).get(COOKIE, "")
            # utf-8: an octal escape in a quoted cookie can decode past latin-1.
            if hmac.compare_digest(given_cookie.encode("utf-8", "replace"), self.cookie.encode()):
                return None
        if path == INBOX and scope["method"] == "GET":
            # parse_qsl decodes %-escapes as UTF-8 (with replacement), never raising.
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            tokens = [value for key, value in query if key == "token"]
            if tokens and hmac.compare_digest(tokens[0].encode(), self.token):
                # Strict: the browser sends it with the page's own requests only.
                return f"{COOKIE}={self.cookie}; Path=/; HttpOnly; SameSite=Strict".encode()
            if tokens:
                raise ApiError(401, "wrong admin token", headers=BEARER_CHALLENGE)
        raise ApiError(
            401,
            "this mock needs its admin token: send Authorization: Bearer <token>, "
            "or open /?token=<token> once in the browser",
            headers=BEARER_CHALLENGE,
        )


def check_same_origin(host: str, headers: dict[bytes, bytes]) -> None:
    """Refuse a state-changing request that a page of another origin made."""
    if headers.get(b"sec-fetch-site", b"").lower() == b"cross-site":
        raise ApiError(403, "cross-site requests may not change the mock (Sec-Fetch-Site)")
    origin = headers.get(b"origin")
    if origin is None:
        return  # not a browser (curl, httpx), or a same-origin GET-like request
    text = origin.decode("latin-1").strip().lower()
    scheme, sep, netloc = text.partition("://")
    if sep and scheme in ("http", "https") and host and netloc == host.strip().lower():
        return
    raise ApiError(
        403, f"requests from origin {text!r} may not change the mock: only its own pages may"
    )


def check_json_body(headers: dict[bytes, bytes]) -> None:
    """A body, if any, must be JSON: the one kind an HTML form cannot send."""
    length = headers.get(b"content-length")
    has_body = b"transfer-encoding" in headers or (length is not None and length.strip() != b"0")
    if not has_body:
        return
    content_type = headers.get(b"content-type")
    text = None if content_type is None else content_type.decode("latin-1")
    if not is_json(text):
        raise ApiError(415, f"Content-Type must be application/json (got {text or 'none'})")
