"""Unit tests for augnet_mock.signing: Digest header and cavage-12 hmac-sha256 signatures.

Signatures are cross-checked against the independent `httpsig` implementation in both
directions (we sign / httpsig verifies, httpsig signs / we verify).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from httpsig.sign import HeaderSigner
from httpsig.utils import generate_message
from httpsig.verify import HeaderVerifier
from hypothesis import given
from hypothesis import strategies as st

from augnet_mock.signing import (
    ALGORITHM,
    DEFAULT_MAX_SKEW,
    SIGNED_HEADERS,
    SignatureError,
    digest,
    http_date,
    parse_signature,
    sign,
    signed_headers,
    signing_string,
    verify,
)

# The provider's example callback.
PROJECT_ID = "326488d2-f853-4dd6-8610-93f9011ac4e5"
HOST = "webhook.site"
PATH = "/hooks/catch/7128601/o5rp4yj/"
DATE = "Wed, 08 Jan 2020 17:24:57 GMT"
DATE_TS = datetime(2020, 1, 8, 17, 24, 57, tzinfo=UTC).timestamp()
KEY = "augnet-mock-signing-key"
BODY = b'{"id":"5e1610b8-8b1b-4a2e-9b1c-5c8d1f7d2a10","status":"DELIVERED"}'
HEADER_LIST = ["(request-target)", "date", "digest", "host"]


def _b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _example_headers(
    *, body: bytes = BODY, path: str = PATH, host: str = HOST, key: str | bytes | None = KEY
) -> dict[str, str]:
    return signed_headers(
        body=body, url_host=host, path=path, date=DATE, key_id=PROJECT_ID, key=key
    )


def _verify_example(headers: dict[str, str], **overrides: object) -> None:
    kwargs: dict[str, object] = {
        "method": "POST",
        "path": PATH,
        "headers": headers,
        "body": BODY,
        "key": KEY,
        "key_id": PROJECT_ID,
        "now": DATE_TS,
    }
    kwargs.update(overrides)
    verify(**kwargs)  # type: ignore[arg-type]


def _httpsig_accepts(
    headers: dict[str, str], *, key: str | bytes, path: str, host: str, method: str = "POST"
) -> bool:
    verifier = HeaderVerifier(
        headers=headers,
        secret=key,
        required_headers=HEADER_LIST,
        method=method,
        path=path,
        host=host,
    )
    return bool(verifier.verify())


def _httpsig_sign(
    *, body: bytes, path: str, host: str, key: str | bytes, headers: list[str] = HEADER_LIST
) -> dict[str, str]:
    signer = HeaderSigner(key_id=PROJECT_ID, secret=key, algorithm=ALGORITHM, headers=headers)
    base = {
        "Date": DATE,
        "Host": host,
        "Digest": "SHA-256=" + _b64sha256(body),
        "Content-Type": "application/json",
    }
    return dict(signer.sign(base, host=host, method="POST", path=path))


# --- digest -------------------------------------------------------------------------


def test_digest_of_empty_body_is_known_vector() -> None:
    """digest(b"") is the well-known SHA-256 of the empty string, base64, with prefix."""
    assert digest(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


@pytest.mark.parametrize("body", [b"abc", BODY, bytes(range(256)), "héllo €".encode()])
def test_digest_matches_independent_hashlib(body: bytes) -> None:
    """digest(body) equals "SHA-256=" + base64(sha256(body)) computed independently."""
    assert digest(body) == "SHA-256=" + _b64sha256(body)


# --- signing string ------------------------------------------------------------------


def test_signing_string_exact_format() -> None:
    """The signing string is four "name: value" lines joined by LF, method lowercased."""
    headers = {"Date": DATE, "Digest": digest(BODY), "Host": HOST}
    assert signing_string("POST", PATH, headers) == (
        f"(request-target): post {PATH}\ndate: {DATE}\ndigest: {digest(BODY)}\nhost: {HOST}"
    )


def test_signing_string_preserves_query_and_ignores_header_case() -> None:
    """The request target keeps its query string verbatim; header name case is ignored."""
    headers = {"DATE": DATE, "digest": "SHA-256=x", "hOsT": HOST}
    path = "/hooks/a%2Fb/?x=1&y=%20z&empty="
    lines = signing_string("Post", path, headers).split("\n")
    assert lines == [
        f"(request-target): post {path}",
        f"date: {DATE}",
        "digest: SHA-256=x",
        f"host: {HOST}",
    ]


def test_signing_string_is_what_httpsig_generates() -> None:
    """Our signing string is byte-identical to httpsig's generate_message for the same inputs."""
    headers = {"Date": DATE, "Digest": digest(BODY), "Host": HOST}
    path = PATH + "?a=1&b=2"
    ours = signing_string("POST", path, headers).encode("ascii")
    assert ours == generate_message(HEADER_LIST, headers, HOST, "POST", path)


# --- signed_headers / sign -------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", b""])
def test_signed_headers_without_key_has_no_authorization(key: str | bytes | None) -> None:
    """With no (or an empty) key the callback carries Date/Host/Digest but no Authorization."""
    headers = _example_headers(key=key)
    assert "Authorization" not in headers
    assert headers["Date"] == DATE
    assert headers["Host"] == HOST
    assert headers["Digest"] == digest(BODY)
    assert headers["Content-Type"] == "application/json"


def test_signed_headers_with_key_has_exact_authorization_format() -> None:
    """With a key, Authorization is exactly the provider's Signature header format."""
    headers = _example_headers()
    message = f"(request-target): post {PATH}\ndate: {DATE}\ndigest: {digest(BODY)}\nhost: {HOST}"
    expected_sig = base64.b64encode(
        hmac.new(KEY.encode(), message.encode(), hashlib.sha256).digest()
    ).decode()
    assert headers["Authorization"] == (
        f'Signature keyId="{PROJECT_ID}",algorithm="hmac-sha256",'
        f'headers="(request-target) date digest host",signature="{expected_sig}"'
    )


def test_sign_accepts_bytes_and_str_keys_equivalently() -> None:
    """A str key signs as its UTF-8 bytes."""
    headers = {"Date": DATE, "Digest": digest(BODY), "Host": HOST}
    common = {"key_id": PROJECT_ID, "method": "POST", "path": PATH, "headers": headers}
    assert sign(key="clé", **common) == sign(key="clé".encode(), **common)  # type: ignore[arg-type]


def test_parse_signature_splits_parameters() -> None:
    """parse_signature returns each quoted parameter of our own header."""
    params = parse_signature(_example_headers()["Authorization"])
    assert params["keyId"] == PROJECT_ID
    assert params["algorithm"] == "hmac-sha256"
    assert params["headers"] == " ".join(SIGNED_HEADERS)
    assert set(params) == {"keyId", "algorithm", "headers", "signature"}


# --- independent verification with httpsig ---------------------------------------------


def test_httpsig_verifies_our_signed_headers() -> None:
    """httpsig's HeaderVerifier accepts the provider example signed by signed_headers."""
    headers = _example_headers()
    assert _httpsig_accepts(headers, key=KEY, path=PATH, host=HOST)


def test_httpsig_verifies_our_signature_with_query_string() -> None:
    """httpsig accepts our signature when the request target carries a query string."""
    path = PATH + "?token=a%20b&x=1&y=/z?"
    headers = _example_headers(path=path)
    assert _httpsig_accepts(headers, key=KEY, path=path, host=HOST)
    assert not _httpsig_accepts(headers, key=KEY, path=PATH, host=HOST)


def test_httpsig_verifies_our_sign_directly() -> None:
    """httpsig accepts an Authorization produced by sign() for a non-POST method."""
    headers = {"Date": DATE, "Digest": digest(b""), "Host": HOST}
    headers["Authorization"] = sign(
        key_id=PROJECT_ID, key=b"\x00\xffbin", method="PUT", path="/x?y=1", headers=headers
    )
    assert _httpsig_accepts(headers, key=b"\x00\xffbin", path="/x?y=1", host=HOST, method="PUT")


def test_httpsig_rejects_our_signature_with_wrong_key() -> None:
    """Sanity check on the oracle: httpsig rejects our signature under a different key."""
    headers = _example_headers()
    assert not _httpsig_accepts(headers, key="other-key", path=PATH, host=HOST)


@pytest.mark.parametrize("path", [PATH, PATH + "?a=1&b=%2F"])
def test_our_verify_accepts_httpsig_signature(path: str) -> None:
    """Our verify accepts a signature made by httpsig's HeaderSigner (its param order)."""
    headers = _httpsig_sign(body=BODY, path=path, host=HOST, key=KEY)
    # httpsig orders the parameters keyId, algorithm, signature, headers.
    assert headers["authorization"].startswith(f'Signature keyId="{PROJECT_ID}"')
    _verify_example(headers, path=path)


def test_our_verify_accepts_reordered_and_spaced_parameters() -> None:
    """Parameter order and whitespace after commas do not matter to parse_signature/verify."""
    params = parse_signature(_example_headers()["Authorization"])
    headers = _example_headers()
    headers["Authorization"] = (
        f'Signature signature="{params["signature"]}", headers="{params["headers"]}", '
        f'algorithm="{params["algorithm"]}", keyId="{params["keyId"]}"'
    )
    _verify_example(headers)


# --- verify rejections -------------------------------------------------------------------


def test_verify_accepts_the_example() -> None:
    """verify returns None for an untouched signed callback."""
    _verify_example(_example_headers())


def test_verify_rejects_wrong_key() -> None:
    """A different key fails the signature check."""
    with pytest.raises(SignatureError, match="signature does not match"):
        _verify_example(_example_headers(), key="not-the-key")


def test_verify_rejects_tampered_body() -> None:
    """A body that no longer matches the Digest header fails the digest check."""
    with pytest.raises(SignatureError, match="digest does not match the body"):
        _verify_example(_example_headers(), body=BODY + b" ")


def test_verify_rejects_tampered_body_with_recomputed_digest() -> None:
    """Re-computing Digest for a tampered body still fails, now on the signature."""
    headers = _example_headers()
    tampered = BODY.replace(b"DELIVERED", b"FAILED")
    headers["Digest"] = digest(tampered)
    with pytest.raises(SignatureError, match="signature does not match"):
        _verify_example(headers, body=tampered)


@pytest.mark.parametrize(
    "path", ["/hooks/catch/7128601/other/", PATH + "?x=1", PATH.rstrip("/"), PATH.upper()]
)
def test_verify_rejects_changed_path(path: str) -> None:
    """Verifying against a different request target fails the signature check."""
    with pytest.raises(SignatureError, match="signature does not match"):
        _verify_example(_example_headers(), path=path)


def test_verify_rejects_changed_method() -> None:
    """Verifying with a different method fails the signature check."""
    with pytest.raises(SignatureError, match="signature does not match"):
        _verify_example(_example_headers(), method="PUT")


@pytest.mark.parametrize("host", ["evil.example", "webhook.site:8443", "www.webhook.site"])
def test_verify_rejects_changed_host(host: str) -> None:
    """A Host header other than the signed one fails the signature check."""
    headers = _example_headers()
    headers["Host"] = host
    with pytest.raises(SignatureError, match="signature does not match"):
        _verify_example(headers)


def test_verify_rejects_changed_date_within_skew() -> None:
    """A Date changed by one second (still within skew) fails the signature check."""
    headers = _example_headers()
    headers["Date"] = http_date(DATE_TS + 1)
    with pytest.raises(SignatureError, match="signature does not match"):
        _verify_example(headers)


@pytest.mark.parametrize("offset", [DEFAULT_MAX_SKEW + 1, -(DEFAULT_MAX_SKEW + 1), 86400.0])
def test_verify_rejects_date_outside_max_skew(offset: float) -> None:
    """A Date more than max_skew seconds from `now` (either side) fails the date check."""
    with pytest.raises(SignatureError, match="date is outside the allowed skew"):
        _verify_example(_example_headers(), now=DATE_TS + offset)


def test_verify_skew_boundary_and_custom_max_skew() -> None:
    """Exactly max_skew away is accepted; a smaller custom max_skew tightens the window."""
    _verify_example(_example_headers(), now=DATE_TS + DEFAULT_MAX_SKEW)
    _verify_example(_example_headers(), now=DATE_TS - DEFAULT_MAX_SKEW)
    with pytest.raises(SignatureError, match="date is outside the allowed skew"):
        _verify_example(_example_headers(), now=DATE_TS + 11, max_skew=10)


def test_verify_default_now_rejects_old_example_date() -> None:
    """Without `now`, the wall clock is used, so the 2020 example date is out of skew."""
    with pytest.raises(SignatureError, match="date is outside the allowed skew"):
        _verify_example(_example_headers(), now=None)


def test_verify_max_skew_none_skips_date_check() -> None:
    """max_skew=None skips the freshness check entirely."""
    _verify_example(_example_headers(), now=DATE_TS + 10 * 365 * 86400, max_skew=None)


def test_verify_rejects_unparseable_date() -> None:
    """A Date that is not an HTTP date fails the date check (not a crash)."""
    headers = _example_headers()
    headers["Date"] = "yesterday-ish"
    with pytest.raises(SignatureError, match="date header is not an HTTP date"):
        _verify_example(headers)


@pytest.mark.parametrize("name", ["Digest", "Date", "Host", "Authorization"])
def test_verify_rejects_missing_header(name: str) -> None:
    """Each of Digest, Date, Host and Authorization is required and named when missing."""
    headers = _example_headers()
    del headers[name]
    with pytest.raises(SignatureError, match=f"missing {name.lower()} header"):
        _verify_example(headers)


def test_verify_header_names_are_case_insensitive() -> None:
    """verify finds headers regardless of the case of their names."""
    headers = {k.upper(): v for k, v in _example_headers().items()}
    _verify_example(headers)


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer abc.def", "not a Signature"),
        ("Basic dXNlcjpwYXNz", "not a Signature"),
        ("", "not a Signature"),
        (f"Signature keyId={PROJECT_ID}", "malformed Signature parameters"),
        ('Signature keyId="a" algorithm="hmac-sha256"', "malformed Signature parameters"),
        ('Signature keyId="unterminated', "malformed Signature parameters"),
        ('Signature keyId="a",,signature="b"', "malformed Signature parameters"),
        ('Signature key-id="a"', "malformed Signature parameters"),
    ],
)
def test_verify_rejects_malformed_authorization(authorization: str, message: str) -> None:
    """A non-Signature scheme or unparseable parameters fail the Authorization parse."""
    headers = _example_headers()
    headers["Authorization"] = authorization
    with pytest.raises(SignatureError, match=message):
        _verify_example(headers)


def test_verify_rejects_garbage_signature_value() -> None:
    """A well-formed header whose signature value is garbage fails the signature check."""
    headers = _example_headers()
    params = parse_signature(headers["Authorization"])
    for bad in ["", "AAAA", "not base64!", "sïgnature", params["signature"][:-4]]:
        headers["Authorization"] = (
            f'Signature keyId="{PROJECT_ID}",algorithm="hmac-sha256",'
            f'headers="{params["headers"]}",signature="{bad}"'
        )
        with pytest.raises(SignatureError, match="signature does not match"):
            _verify_example(headers)


def test_verify_rejects_non_ascii_digest_header() -> None:
    """A Digest header with non-ASCII characters fails the digest check (not a TypeError)."""
    headers = _example_headers()
    headers["Digest"] = "SHA-256=é"
    with pytest.raises(SignatureError, match="digest does not match the body"):
        _verify_example(headers)


def test_verify_rejects_unsupported_algorithm() -> None:
    """An algorithm other than hmac-sha256 is rejected and named."""
    headers = _example_headers()
    headers["Authorization"] = headers["Authorization"].replace("hmac-sha256", "hmac-sha1")
    with pytest.raises(SignatureError, match="unsupported algorithm 'hmac-sha1'"):
        _verify_example(headers)


def test_verify_rejects_wrong_key_id_when_given() -> None:
    """When key_id is given, a different keyId fails the keyId check."""
    with pytest.raises(SignatureError, match="keyId does not match"):
        _verify_example(_example_headers(), key_id="00000000-0000-0000-0000-000000000000")


def test_verify_ignores_key_id_when_not_given() -> None:
    """With key_id=None any keyId is accepted if the signature matches."""
    _verify_example(_example_headers(), key_id=None)


@pytest.mark.parametrize(
    "covered",
    [
        ["date"],
        ["(request-target)", "date", "digest"],
        ["date", "digest", "host"],
        ["(request-target)", "date", "host"],
        ["(request-target)", "digest", "host"],
        ["(request-target)", "date", "digest", "host", "content-type"],
    ],
)
def test_verify_rejects_signature_not_covering_all_headers(covered: list[str]) -> None:
    """A valid httpsig signature over a different header set fails the coverage check."""
    headers = _httpsig_sign(body=BODY, path=PATH, host=HOST, key=KEY, headers=covered)
    with pytest.raises(SignatureError, match=r"does not cover \(request-target\) date digest host"):
        _verify_example(headers)


def test_verify_rejects_signature_without_headers_param() -> None:
    """A Signature with no headers= parameter (defaults to "date") fails the coverage check."""
    headers = _httpsig_sign(body=BODY, path=PATH, host=HOST, key=KEY, headers=[])
    assert "headers=" not in headers["authorization"]
    with pytest.raises(SignatureError, match="does not cover"):
        _verify_example(headers)


# --- property tests ----------------------------------------------------------------------

_PCHAR_LITERAL = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@"
_pchar = st.one_of(st.sampled_from(_PCHAR_LITERAL), st.integers(0, 255).map(lambda b: f"%{b:02X}"))
_segment = st.lists(_pchar, max_size=10).map("".join)
_query = st.lists(st.one_of(_pchar, st.sampled_from("/?")), max_size=20).map("".join)
paths = st.tuples(
    st.lists(_segment, min_size=1, max_size=5).map(lambda segs: "/" + "/".join(segs)),
    st.one_of(st.just(""), _query.map(lambda q: "?" + q)),
).map("".join)
hosts = st.from_regex(
    r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?)"
    r"{0,3}(:[0-9]{1,5})?\Z",
    fullmatch=True,
)
# httpsig encodes str secrets as ASCII, so text keys stay printable ASCII; bytes are arbitrary.
keys = st.one_of(
    st.binary(min_size=1, max_size=64),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=64),
)
timestamps = st.integers(0, 4_102_444_800)  # 1970 .. 2100


@given(
    body=st.binary(max_size=2048),
    path=paths,
    host=hosts,
    key=keys,
    key_id=st.uuids().map(str),
    ts=timestamps,
)
def test_property_signed_headers_verify_with_us_and_httpsig(
    body: bytes, path: str, host: str, key: str | bytes, key_id: str, ts: int
) -> None:
    """For any body/path/host/key, our verify and httpsig both accept signed_headers output."""
    headers = signed_headers(
        body=body, url_host=host, path=path, date=http_date(ts), key_id=key_id, key=key
    )
    assert headers["Digest"] == "SHA-256=" + _b64sha256(body)
    verify(method="POST", path=path, headers=headers, body=body, key=key, key_id=key_id, now=ts)
    assert _httpsig_accepts(headers, key=key, path=path, host=host)


@given(
    body=st.binary(min_size=1, max_size=512),
    path=paths,
    host=hosts,
    key=keys,
    data=st.data(),
)
def test_property_flipping_any_body_byte_fails_verify(
    body: bytes, path: str, host: str, key: str | bytes, data: st.DataObject
) -> None:
    """Flipping any single byte of the body makes our verify raise on the digest check."""
    headers = signed_headers(
        body=body, url_host=host, path=path, date=DATE, key_id=PROJECT_ID, key=key
    )
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    tampered = bytearray(body)
    tampered[index] ^= mask
    with pytest.raises(SignatureError, match="digest does not match the body"):
        verify(
            method="POST", path=path, headers=headers, body=bytes(tampered), key=key, now=DATE_TS
        )


@given(path=paths, host=hosts, key=keys, body=st.binary(max_size=256))
def test_property_httpsig_signature_verifies_with_us(
    path: str, host: str, key: str | bytes, body: bytes
) -> None:
    """For any path/host/key/body, our verify accepts what httpsig's HeaderSigner produced."""
    headers = _httpsig_sign(body=body, path=path, host=host, key=key)
    verify(
        method="POST",
        path=path,
        headers=headers,
        body=body,
        key=key,
        key_id=PROJECT_ID,
        now=DATE_TS,
    )


# --- http_date -------------------------------------------------------------------------


def test_http_date_matches_provider_example() -> None:
    """http_date renders the provider's example instant exactly, from float or datetime."""
    assert http_date(DATE_TS) == DATE
    assert http_date(datetime(2020, 1, 8, 17, 24, 57, tzinfo=UTC)) == DATE


def test_http_date_converts_other_timezones_to_gmt() -> None:
    """An aware datetime in another zone is rendered as the same instant in GMT."""
    plus_two = timezone(timedelta(hours=2))
    assert http_date(datetime(2020, 1, 8, 19, 24, 57, tzinfo=plus_two)) == DATE


@given(ts=st.floats(0, 4_102_444_800, allow_nan=False, allow_infinity=False))
def test_property_http_date_round_trips_timestamps(ts: float) -> None:
    """http_date(ts) ends in GMT and parses back to ts truncated to whole seconds."""
    # fromtimestamp rounds to microseconds first, so x.9999996 may render as x+1.
    rendered = http_date(ts)
    assert rendered.endswith(" GMT")
    parsed = parsedate_to_datetime(rendered)
    assert parsed.tzinfo is not None
    assert parsed.timestamp() == int(parsed.timestamp())
    assert -1e-6 <= ts - parsed.timestamp() < 1
    assert http_date(parsed) == rendered


@given(
    when=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_property_http_date_round_trips_datetimes(when: datetime) -> None:
    """http_date(dt) ends in GMT, is 29 chars, and parses back to dt without microseconds."""
    rendered = http_date(when)
    assert rendered.endswith("GMT")
    assert len(rendered) == len(DATE)
    assert parsedate_to_datetime(rendered) == when.replace(microsecond=0)
