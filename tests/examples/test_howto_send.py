"""How to test code that sends SMS: give it the mock's URL and credentials, then assert
on what it sent."""

import httpx2
import pytest
from taxi_notifier import TaxiNotifier

from augnet_mock import AugnetMock

RIDER = "+447700900123"


def test_rider_gets_one_sms(augnet: AugnetMock, notifier: TaxiNotifier) -> None:
    """The rider gets one single-segment SMS naming the taxi."""
    notifier.taxi_arriving(RIDER, minutes=2, registration="ABC123")
    augnet.assert_sent(to=RIDER, body_contains="registration ABC123", segments=1, count=1)


def test_login_code(augnet: AugnetMock, notifier: TaxiNotifier) -> None:
    """The code the rider is texted can be read back, as a user would type it."""
    notifier.login_code(RIDER, "482913")
    assert augnet.extract_code(to=RIDER) == "482913"


def test_ready_client(augnet: AugnetMock) -> None:
    """The handle's ready client is bound to the mock and this test's project."""
    augnet.client.post("/api/v2/message", json={"to": RIDER, "body": "Your taxi ABC123 is here"})
    augnet.assert_sent(to=RIDER, body_contains="ABC123", segments=1, count=1)


def test_in_process(augnet: AugnetMock) -> None:
    """With the mock's transport, the client reaches the mock with no socket at all."""
    transport = augnet.transport()
    with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth, transport=transport) as client:
        TaxiNotifier(client).taxi_arriving(RIDER, minutes=5, registration="XYZ789")
    augnet.assert_sent(to=RIDER, body_contains="XYZ789")


def test_rate_limit_reaches_the_app(augnet: AugnetMock, notifier: TaxiNotifier) -> None:
    """A scenario makes the next send fail as the real API would: 429 with Retry-After."""
    augnet.scenario(like="rate_limited", times=1)
    with pytest.raises(httpx2.HTTPStatusError) as failure:
        notifier.taxi_arriving(RIDER, minutes=2, registration="ABC123")
    assert failure.value.response.headers["Retry-After"] == "1"
    notifier.taxi_arriving(RIDER, minutes=2, registration="ABC123")  # the next one goes


@pytest.mark.augnet(clock="manual")
def test_slow_delivery_without_waiting(augnet: AugnetMock, notifier: TaxiNotifier) -> None:
    """On a manual clock, 30 seconds of slow delivery pass at once and nothing sleeps."""
    sid = notifier.taxi_arriving(augnet.magic.slow_delivery, minutes=2, registration="ABC123")
    augnet.clock.advance(1)
    assert augnet.message(sid).status == "sent"
    augnet.clock.advance(30)
    assert augnet.message(sid).status == "delivered"
