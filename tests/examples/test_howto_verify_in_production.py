"""How a production receiver verifies callbacks without augnet-mock installed: the
standard-library verifier of docs/verify.md, fed the mock's real callbacks."""

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from stdlib_receiver import production_webhook
from taxi_notifier import TaxiNotifier

from augnet_mock import AugnetMock, LiveServer


@pytest.fixture
def webhook(augnet: AugnetMock) -> Iterator[Starlette]:
    """The production receiver on a free port; its callback URL has a query string."""
    assert augnet.signing_key is not None
    app = production_webhook(augnet.signing_key, augnet.project_id)
    with LiveServer(app=app) as live:
        augnet.webhook_url = f"{live.url}/sms/status?tenant=42"
        yield app


@pytest.mark.augnet(strict_callbacks=True)
def test_genuine_callbacks_pass(
    augnet: AugnetMock, notifier: TaxiNotifier, webhook: Starlette
) -> None:
    """Every genuine callback, query string and all, is accepted and recorded in order."""
    sid = notifier.taxi_arriving("+447700900123", minutes=2, registration="ABC123")
    augnet.wait_for_callback(sid=sid, status="delivered")
    assert webhook.state.statuses[sid] == ["queued", "sent", "delivered"]


def test_forged_callbacks_get_401_with_the_reason(
    augnet: AugnetMock, notifier: TaxiNotifier, webhook: Starlette
) -> None:
    """A callback with a bad signature is refused, saying which check failed."""
    augnet.scenario(callback={"badSignature": True})
    sid = notifier.taxi_arriving("+447700900123", minutes=2, registration="ABC123")
    attempt = augnet.wait_for_callback(sid=sid, status="queued")
    assert attempt.response_status == 401
    assert sid not in webhook.state.statuses
