"""How to test code that talks SMPP: bind a real client (smpplib) as the test's project,
submit, and assert on what was recorded and on the delivery receipt."""

import smpplib.client
import smpplib.consts
import smpplib.gsm

from augnet_mock import AugnetMock


def test_smpp_submit_and_receipt(augnet: AugnetMock) -> None:
    """A long message sent over SMPP is recorded once, and its receipt comes back."""
    receipts = []
    client = smpplib.client.Client(
        augnet.smpp_host, augnet.smpp_port, allow_unknown_opt_params=True
    )
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    client.connect()
    client.bind_transceiver(system_id=augnet.smpp_system_id, password=augnet.smpp_password)

    text = "Your taxi ABC123 is 2 minutes away. " * 5  # 180 characters: 2 parts
    parts, coding, esm_class = smpplib.gsm.make_parts(text)
    for part in parts:
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr="TAXI",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            destination_addr="447700900123",
            short_message=part,
            data_coding=coding,
            esm_class=esm_class,
            registered_delivery=True,
        )
    for _ in range(10):  # submit_sm_resp for each part, then the receipt
        if receipts:
            break
        client.read_once()
    client.unbind()
    client.disconnect()

    augnet.assert_sent(to="+447700900123", body=text, segments=2, count=1)
    receipt = receipts[0].short_message.decode()
    assert "stat:DELIVRD" in receipt
    assert receipts[0].receipted_message_id.decode() == augnet.last_message().sid
