"""The send route's pure helpers: Basic credentials and the sid answer."""

from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augnet_mock.api import basic_credentials
from augnet_mock.errors import ApiError
from augnet_mock.httpio import CompactJSONResponse, sid_response


def basic(raw: bytes, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(raw).decode()}"


@given(
    project_id=st.text(st.characters(codec="utf-8", exclude_characters=":"), min_size=1),
    api_key=st.text(st.characters(codec="utf-8")),
)
def test_credentials_round_trip(project_id: str, api_key: str) -> None:
    """Whatever the key holds (colons too), the header gives back the pair."""
    header = basic(f"{project_id}:{api_key}".encode())
    assert basic_credentials(header) == (project_id, api_key)


def test_scheme_is_case_insensitive() -> None:
    assert basic_credentials(basic(b"p:k", "bASIC")) == ("p", "k")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer abc", "malformed credentials: expected HTTP Basic"),
        ("Basic ", "malformed credentials: expected HTTP Basic"),
        ("Basic !!!", "Basic value is not base64 of project_id:api_key"),
        (basic(b"\xff\xfe:k"), "Basic value is not base64 of project_id:api_key"),
        (basic(b"no-colon"), "malformed credentials: expected project_id:api_key"),
        (basic(b":key"), "malformed credentials: expected project_id:api_key"),
    ],
)
def test_malformed_headers_get_401(header: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        basic_credentials(header)
    assert caught.value.status == 401
    assert message in caught.value.message
    assert caught.value.headers == {"WWW-Authenticate": 'Basic realm="augnet"'}


def test_failures_are_not_cached() -> None:
    """Each bad header raises afresh, so one error object is never shared."""
    errors = []
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            basic_credentials("Basic !!!")
        errors.append(caught.value)
    assert errors[0] is not errors[1]


@given(st.uuids())
def test_sid_response_matches_the_json_encoder(sid: uuid.UUID) -> None:
    fast = sid_response(str(sid))
    slow = CompactJSONResponse({"sid": str(sid)})
    assert fast.body == slow.body
    assert fast.status_code == slow.status_code == 200
    assert fast.headers.items() == slow.headers.items()
