"""How to test a webhook receiver: point the project's callbacks at it, send, and wait
for the callbacks it answered."""

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from taxi_notifier import TaxiNotifier, status_webhook

from augnet_mock import AugnetMock, LiveServer


@pytest.fixture
def webhook(augnet: AugnetMock) -> Iterator[Starlette]:
    """The app's webhook, served on a free port, receiving this project's callbacks."""
    assert augnet.signing_key is not None
    app = status_webhook(signing_key=augnet.signing_key)
    with LiveServer(app=app) as live:
        augnet.webhook_url = f"{live.url}/augnet/status"
        yield app


@pytest.mark.augnet(strict_callbacks=True)  # fail if any callback is not answered with 2xx
def test_every_status_is_verified(
    augnet: AugnetMock, notifier: TaxiNotifier, webhook: Starlette
) -> None:
    """The webhook verifies and records queued, sent and delivered, in order."""
    sid = notifier.taxi_arriving("+447700900123", minutes=2, registration="ABC123")
    augnet.wait_for_callback(sid=sid, status="delivered")
    assert webhook.state.statuses[sid] == ["queued", "sent", "delivered"]


def test_forged_callbacks_are_rejected(
    augnet: AugnetMock, notifier: TaxiNotifier, webhook: Starlette
) -> None:
    """A callback with a bad signature gets 401 and is not recorded."""
    augnet.scenario(callback={"badSignature": True})
    sid = notifier.taxi_arriving("+447700900123", minutes=2, registration="ABC123")
    assert augnet.wait_for_callback(sid=sid, status="queued").response_status == 401
    assert sid not in webhook.state.statuses
