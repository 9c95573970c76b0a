"""The SMPP 3.4 server on the real mock, driven by the third-party `smpplib` client.

Binds of every type and every bind error, GSM and UCS-2 submits, long messages in
all three forms, receipts, enquire_link, unbind, scenarios and the rate limit,
webhooks from SMPP submits, malformed input, and the unbind at SIGTERM.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp
from httpsig.verify import HeaderVerifier
from ports import free_port
from receiver import Receiver

from augnet_mock.models import DEFAULT_PROJECT_ID
from augnet_mock.server import LiveServer
from augnet_mock.smpp_codec import (
    BindTransceiver,
    EnquireLink,
    GenericNack,
    PduReader,
    Status,
    Unbind,
    UnbindResp,
    decode,
    encode,
)

TO = "447515650839"  # as SMPP clients send it: no "+"
RECEIPT = re.compile(
    r"id:(?P<id>\S+) sub:001 dlvrd:(?P<dlvrd>\d{3}) submit date:(?P<submit>\d{10}) "
    r"done date:(?P<done>\d{10}) stat:(?P<stat>[A-Z]+) err:(?P<err>\d{3}) text:(?P<text>.*)"
)
WAIT = 10.0


class Esme:
    """An smpplib client that records what the SMSC sends back."""

    def __init__(self, port: int) -> None:
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=WAIT, allow_unknown_opt_params=True
        )
        self.responses: list[Any] = []  # submit_sm_resp, in arrival order
        self.delivered: list[Any] = []  # deliver_sm
        self.client.set_message_sent_handler(lambda pdu: self.responses.append(pdu))
        self.client.set_message_received_handler(lambda pdu: self.delivered.append(pdu))
        self.client.set_error_pdu_handler(lambda pdu: None)  # statuses are checked by tests
        self.client.connect()

    def bind(self, project: dict[str, Any], kind: str = "transceiver") -> Any:
        login = project["smpp"]
        bind = getattr(self.client, f"bind_{kind}")
        return bind(system_id=login["systemId"], password=login["password"])

    def submit(self, short_message: bytes, **fields: Any) -> Any:
        values = {
            "source_addr_ton": smpplib.consts.SMPP_TON_ALNUM,
            "source_addr": "TAXI",
            "dest_addr_ton": smpplib.consts.SMPP_TON_INTL,
            "destination_addr": TO,
            "short_message": short_message,
        } | fields
        return self.client.send_message(**values)

    def submit_text(self, text: str, *, use_udhi: bool = True, **fields: Any) -> list[Any]:
        """Send `text` as smpplib splits it; the submit_sm_resp of every part."""
        parts, coding, esm_class = smpplib.gsm.make_parts(text, use_udhi=use_udhi)
        reference = random.randint(0, 0xFFFF)
        for i, part in enumerate(parts, start=1):
            extra: dict[str, Any] = {}
            if not use_udhi and len(parts) > 1:
                extra = {
                    "sar_msg_ref_num": reference,
                    "sar_total_segments": len(parts),
                    "sar_segment_seqnum": i,
                }
            self.submit(part, data_coding=coding, esm_class=esm_class, **extra, **fields)
        return self.read_responses(len(parts))

    def read_responses(self, count: int) -> list[Any]:
        start = len(self.responses)
        while len(self.responses) < start + count:
            self.client.read_once()
        return self.responses[start : start + count]

    def read_deliveries(self, count: int) -> list[Any]:
        while len(self.delivered) < count:
            self.client.read_once()
        return self.delivered[:count]

    def close(self) -> None:
        if self.client.state != smpplib.consts.SMPP_CLIENT_STATE_CLOSED:
            try:
                if self.client.state != smpplib.consts.SMPP_CLIENT_STATE_OPEN:
                    self.client.unbind()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
                pass
            self.client.disconnect()


@pytest.fixture
def esme(server: LiveServer) -> Iterator[Callable[..., Esme]]:
    """Connected smpplib clients on the shared server; closed after the test."""
    opened: list[Esme] = []

    def make(live: LiveServer | None = None) -> Esme:
        port = (live or server).smpp_port
        assert port is not None
        e = Esme(port)
        opened.append(e)
        return e

    yield make
    for e in opened:
        e.close()


def new_project(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/_mock/projects", json=fields)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


def message(client: httpx2.Client, sid: str) -> dict[str, Any]:
    response = client.get(f"/_mock/messages/{sid}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def wait_for_status(client: httpx2.Client, sid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        m = message(client, sid)
        if m["status"] == status or time.monotonic() > deadline:
            assert m["status"] == status, m
            return m
        time.sleep(0.01)


def sessions(client: httpx2.Client, project: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.get("/_mock/smpp/sessions", params={"projectId": project["projectId"]})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["sessions"]
    return found


def sid_of(resp: Any) -> str:
    message_id: bytes = resp.message_id
    return message_id.decode()


# -- binds ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transmitter", "receiver", "transceiver"])
def test_bind_of_every_type(
    kind: str, esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """Each bind type succeeds with the project's login and is listed with its type."""
    e = esme()
    resp = e.bind(project, kind)
    assert resp.status == Status.ESME_ROK
    assert resp.command == f"bind_{kind}_resp"
    [listed] = sessions(client, project)
    assert listed["bindType"] == kind
    assert listed["systemId"] == project["smpp"]["systemId"]
    assert listed["projectId"] == project["projectId"]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", listed["peer"])
    assert listed["pdusIn"] == 1
    assert listed["pdusOut"] == 1


@pytest.mark.parametrize(
    ("login", "status"),
    [
        ({"password": "wrong"}, Status.ESME_RINVPASWD),
        ({"system_id": "nobody"}, Status.ESME_RINVSYSID),
    ],
)
def test_bind_errors(
    login: dict[str, str],
    status: int,
    esme: Callable[..., Esme],
    client: httpx2.Client,
    project: dict[str, Any],
) -> None:
    """A wrong password is ESME_RINVPASWD; an unknown system_id is ESME_RINVSYSID."""
    e = esme()
    credentials = {"system_id": project["smpp"]["systemId"], "password": "x"} | login
    with pytest.raises(smpplib.exceptions.PDUError) as info:
        e.client.bind_transmitter(**credentials)
    assert info.value.args[1] == status
    assert sessions(client, project) == []


def raw_pdu(e: Esme, name: str, **fields: Any) -> Any:
    """Send a PDU smpplib encodes but would refuse to send in this state; read the answer."""
    pdu = smpplib.smpp.make_pdu(name, client=e.client, **fields)
    e.client._socket.sendall(pdu.generate())
    return e.client.read_pdu()


def test_second_bind_is_already_bound(esme: Callable[..., Esme], project: dict[str, Any]) -> None:
    """A second bind on a bound session gets ESME_RALYBND; the first bind stands."""
    e = esme()
    e.bind(project, "transmitter")
    login = project["smpp"]
    resp = raw_pdu(e, "bind_receiver", system_id=login["systemId"], password=login["password"])
    assert resp.command == "bind_receiver_resp"
    assert resp.status == Status.ESME_RALYBND
    [ok] = e.submit_text("still bound")
    assert ok.status == Status.ESME_ROK


def test_submit_before_bind_is_refused(esme: Callable[..., Esme]) -> None:
    """submit_sm before any bind gets ESME_RINVBNDSTS."""
    e = esme()
    resp = raw_pdu(e, "submit_sm", source_addr="TAXI", destination_addr=TO, short_message=b"x")
    assert resp.command == "submit_sm_resp"
    assert resp.status == Status.ESME_RINVBNDSTS


def test_receiver_cannot_submit(esme: Callable[..., Esme], project: dict[str, Any]) -> None:
    """A receiver bind may not submit: ESME_RINVBNDSTS."""
    e = esme()
    e.bind(project, "receiver")
    resp = raw_pdu(e, "submit_sm", source_addr="TAXI", destination_addr=TO, short_message=b"x")
    assert resp.status == Status.ESME_RINVBNDSTS


def test_default_project_has_documented_login(esme: Callable[..., Esme]) -> None:
    """The default project binds as augnet/augnet (README)."""
    e = esme()
    resp = e.client.bind_transceiver(system_id="augnet", password="augnet")
    assert resp.status == Status.ESME_ROK


def test_login_changed_through_the_control_api(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """New SMPP credentials set with PATCH take effect at the next bind."""
    url = f"/_mock/projects/{project['projectId']}"
    response = client.patch(url, json={"smpp": {"systemId": "shop-smpp", "password": "s3cret"}})
    assert response.status_code == 200, response.text
    e = esme()
    assert e.client.bind_transmitter(system_id="shop-smpp", password="s3cret").status == 0


# -- submits -------------------------------------------------------------------------


def test_gsm_submit_is_recorded(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A GSM 03.38 submit (extension characters too) is recorded like a REST send."""
    e = esme()
    e.bind(project)
    text = "Ride £5 {promo} ~ 10€ off @ Zürich"
    [resp] = e.submit_text(text)
    assert resp.status == Status.ESME_ROK
    m = message(client, sid_of(resp))
    assert m["body"] == text
    assert (m["encoding"], m["segments"], m["api"]) == ("GSM-7", 1, "smpp")
    assert m["to"] == "+" + TO
    assert m["requestedFrom"] == "TAXI"
    assert m["from"] == project["fallbackSender"]  # TAXI is not on the whitelist
    assert m["projectId"] == project["projectId"]
    assert m["incomplete"] is False


def test_ucs2_submit_is_recorded(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A UCS-2 submit (an astral emoji too) decodes to the same text."""
    e = esme()
    e.bind(project)
    text = "Водитель прибыл 🚕"
    [resp] = e.submit_text(text)
    assert resp.status == Status.ESME_ROK
    m = message(client, sid_of(resp))
    assert (m["body"], m["encoding"], m["segments"]) == (text, "UCS-2", 1)


def test_latin1_submit_is_recorded(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """data_coding 3 (Latin-1) decodes to text."""
    e = esme()
    e.bind(project)
    e.submit("Straße".encode("latin-1"), data_coding=3)
    [resp] = e.read_responses(1)
    assert message(client, sid_of(resp))["body"] == "Straße"


def test_whitelisted_international_sender(esme: Callable[..., Esme], client: httpx2.Client) -> None:
    """An international source_addr gains its + and goes out as asked when whitelisted."""
    project = new_project(client, senders=["+441234567890"])
    e = esme()
    e.bind(project)
    e.submit(b"hi", source_addr_ton=1, source_addr="441234567890")
    [resp] = e.read_responses(1)
    assert message(client, sid_of(resp))["from"] == "+441234567890"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"short_message": b"\x00\x41\x00", "data_coding": 8}, Status.ESME_RINVMSGLEN),
        ({"short_message": b"abc\x80"}, Status.ESME_RINVMSGLEN),
        ({"short_message": b""}, Status.ESME_RINVMSGLEN),
        ({"short_message": b"hi", "data_coding": 4}, Status.ESME_RSUBMITFAIL),
        ({"short_message": b"hi", "destination_addr": "12"}, Status.ESME_RINVDSTADR),
        ({"short_message": b"hi", "source_addr": "x" * 12}, Status.ESME_RINVSRCADR),
        ({"short_message": b"\x09\x00\x03", "esm_class": 0x40}, Status.ESME_RINVESMCLASS),
    ],
)
def test_bad_submits_get_a_fitting_status(
    fields: dict[str, Any],
    status: int,
    esme: Callable[..., Esme],
    client: httpx2.Client,
    project: dict[str, Any],
) -> None:
    """Undecodable text, bad addresses or a bad UDH get a precise status, nothing stored."""
    e = esme()
    e.bind(project)
    e.submit(**fields)
    [resp] = e.read_responses(1)
    assert resp.status == status
    assert (
        client.get("/_mock/messages", params={"projectId": project["projectId"]}).json()["messages"]
        == []
    )
    [rejected] = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()[
        "requests"
    ]
    assert rejected["method"] == "SMPP"
    [ok] = e.submit_text("the session goes on")
    assert ok.status == Status.ESME_ROK


def test_window_of_submits_answered_by_sequence(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """Fifty submits sent before reading any answer each get their own answer and sid."""
    e = esme()
    e.bind(project)
    sent = [e.submit(f"msg {i}".encode()) for i in range(50)]
    responses = e.read_responses(50)
    assert sorted(r.sequence for r in responses) == sorted(p.sequence for p in sent)
    sids = {r.sequence: sid_of(r) for r in responses}
    assert len(set(sids.values())) == 50
    for pdu in sent[::10]:
        assert message(client, sids[pdu.sequence])["body"] == pdu.short_message.decode()


# -- long messages -------------------------------------------------------------------


def assert_one_message(
    client: httpx2.Client, responses: list[Any], text: str, segments: int
) -> dict[str, Any]:
    assert all(r.status == Status.ESME_ROK for r in responses)
    sids = {sid_of(r) for r in responses}
    assert len(sids) == 1, "every part answers with the message's sid"
    m = message(client, sids.pop())
    assert m["body"] == text
    assert m["segments"] == segments
    assert m["incomplete"] is False
    return m


def test_long_gsm_message_by_udh_8_bit(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A 3-part GSM message with 8-bit UDH references is recorded as one message."""
    e = esme()
    e.bind(project)
    text = ("Your driver Anna is 3 minutes away in a blue Toyota. " * 8)[:400]
    responses = e.submit_text(text)
    assert len(responses) == 3
    assert_one_message(client, responses, text, 3)


def test_long_ucs2_message_by_udh_16_bit(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """UDH with IEI 0x08 (16-bit reference), parts sent last first, joins in order."""
    e = esme()
    e.bind(project)
    text = "Ваш водитель Анна будет через 3 минуты. " * 4  # 160 UCS-2 units: 3 parts
    encoded = text.encode("utf-16-be")
    chunks = [encoded[i : i + 134] for i in range(0, len(encoded), 134)]
    for i, chunk in reversed(list(enumerate(chunks, start=1))):
        udh = bytes([6, 0x08, 4, 0xAB, 0xCD, len(chunks), i])
        e.submit(udh + chunk, data_coding=8, esm_class=0x40)
    assert_one_message(client, e.read_responses(len(chunks)), text, 3)


def test_long_message_by_sar_tlvs(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """The SAR TLVs (no UDH) join parts into one message."""
    e = esme()
    e.bind(project)
    text = "Booking #4821 confirmed for 18:30 at Station Road. " * 7
    responses = e.submit_text(text, use_udhi=False)
    assert len(responses) == 3
    assert_one_message(client, responses, text, 3)


def test_long_message_by_message_payload(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """message_payload carries a long text in one submit_sm."""
    e = esme()
    e.bind(project)
    text = "Поездка подтверждена. " * 10  # 220 UCS-2 units: 4 parts
    e.client.send_message(
        source_addr="TAXI",
        destination_addr=TO,
        short_message=b"",
        data_coding=8,
        message_payload=text.encode("utf-16-be"),
    )
    [resp] = e.read_responses(1)
    assert_one_message(client, [resp], text, 4)


def test_missing_part_is_recorded_incomplete(
    make_server: Callable[..., LiveServer], esme: Callable[..., Esme]
) -> None:
    """A part whose siblings never come is recorded as incomplete after the timeout."""
    live = make_server(clock="manual", smpp_reassembly_timeout=30)
    e = esme(live)
    e.bind({"smpp": {"systemId": "augnet", "password": "augnet"}})
    e.submit(b"\x05\x00\x03\x07\x03\x01first part ", esm_class=0x40)
    e.submit(b"\x05\x00\x03\x07\x03\x03third part", esm_class=0x40)
    first, third = e.read_responses(2)
    assert first.status == third.status == Status.ESME_ROK
    with httpx2.Client(base_url=live.url, trust_env=False) as c:
        assert c.get("/_mock/messages").json()["messages"] == []
        c.post("/_mock/clock/advance", json={"seconds": 30})
        [m] = c.get("/_mock/messages").json()["messages"]
    assert m["sid"] == sid_of(first) == sid_of(third)
    assert m["incomplete"] is True
    assert m["body"] == "first part third part"


# -- receipts ------------------------------------------------------------------------


def parse_receipt(pdu: Any) -> dict[str, str]:
    assert pdu.esm_class & 0x04, "a delivery receipt"
    match = RECEIPT.fullmatch(pdu.short_message.decode())
    assert match, pdu.short_message
    return match.groupdict()


@pytest.mark.parametrize(
    ("to", "stat", "err", "state"),
    [
        (TO, "DELIVRD", "000", 2),
        ("447700900001", "UNDELIV", "003", 5),
        ("447700900003", "REJECTD", "008", 8),
    ],
)
def test_receipt_for_each_final_status(
    to: str,
    stat: str,
    err: str,
    state: int,
    esme: Callable[..., Esme],
    project: dict[str, Any],
) -> None:
    """registered_delivery=1 brings one deliver_sm receipt: text, receipted_message_id
    and message_state as the final status says."""
    e = esme()
    e.bind(project)
    [resp] = e.submit_text("Your code is 4821", destination_addr=to, registered_delivery=1)
    [receipt] = e.read_deliveries(1)
    fields = parse_receipt(receipt)
    assert fields["id"] == sid_of(resp)
    assert (fields["stat"], fields["err"]) == (stat, err)
    assert fields["dlvrd"] == ("001" if stat == "DELIVRD" else "000")
    assert fields["text"] == "Your code is 4821"
    assert receipt.receipted_message_id.decode() == sid_of(resp)
    assert receipt.message_state == state
    assert receipt.source_addr.decode() == to
    assert receipt.destination_addr.decode() == "TAXI"


def test_receipt_on_failure_only(esme: Callable[..., Esme], project: dict[str, Any]) -> None:
    """registered_delivery=2 sends a receipt for a failure and none for a delivery."""
    e = esme()
    e.bind(project)
    e.submit_text("delivered", registered_delivery=2)
    [failed] = e.submit_text("lost", destination_addr="447700900001", registered_delivery=2)
    [receipt] = e.read_deliveries(1)
    assert parse_receipt(receipt)["id"] == sid_of(failed)


def test_receipt_waits_for_a_receiver(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """With only a transmitter bound, the receipt waits and goes to the receiver that binds."""
    sender = esme()
    sender.bind(project, "transmitter")
    [resp] = sender.submit_text("hello", registered_delivery=1)
    wait_for_status(client, sid_of(resp), "delivered")
    listener = esme()
    listener.bind(project, "receiver")
    [receipt] = listener.read_deliveries(1)
    assert parse_receipt(receipt)["id"] == sid_of(resp)


def test_receipt_follows_the_manual_clock(
    make_server: Callable[..., LiveServer], esme: Callable[..., Esme]
) -> None:
    """On a manual clock the receipt comes when the clock passes delivery, dated by it."""
    live = make_server(clock="manual", send_delay=1, delivery_delay=60)
    e = esme(live)
    e.bind({"smpp": {"systemId": "augnet", "password": "augnet"}})
    [resp] = e.submit_text("hello", registered_delivery=1)
    with httpx2.Client(base_url=live.url, trust_env=False) as c:
        assert message(c, sid_of(resp))["status"] == "queued"
        c.post("/_mock/clock/advance", json={"seconds": 3600})
        done = message(c, sid_of(resp))["timeline"][-1]["at"]
    [receipt] = e.read_deliveries(1)
    fields = parse_receipt(receipt)
    # done date is the clock's time of delivery (61 s after submit): YYMMDDhhmm.
    assert fields["done"] == done[2:4] + done[5:7] + done[8:10] + done[11:13] + done[14:16]


# -- scenarios, throttling -----------------------------------------------------------


def add_rule(client: httpx2.Client, project: dict[str, Any], effect: dict[str, Any]) -> None:
    spec = {"match": {"project": project["projectId"]}, "effect": effect, "times": 1}
    response = client.post("/_mock/scenarios", json=spec)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("effect", "status"),
    [
        ({"apiError": {"status": 429, "message": "slow down"}}, Status.ESME_RTHROTTLED),
        ({"apiError": {"status": 503, "message": "down"}}, Status.ESME_RSYSERR),
        ({"apiError": {"status": 500, "message": "boom"}}, Status.ESME_RSYSERR),
    ],
)
def test_scenario_errors_map_to_smpp(
    effect: dict[str, Any],
    status: int,
    esme: Callable[..., Esme],
    client: httpx2.Client,
    project: dict[str, Any],
) -> None:
    """A 429 rule throttles, a 5xx rule is a system error; the next submit goes through."""
    add_rule(client, project, effect)
    e = esme()
    e.bind(project)
    [refused] = e.submit_text("first")
    assert refused.status == status
    [ok] = e.submit_text("second")
    assert ok.status == Status.ESME_ROK


def test_invalid_number_magic_number(esme: Callable[..., Esme], project: dict[str, Any]) -> None:
    """The invalid-number magic number gives ESME_RINVDSTADR."""
    e = esme()
    e.bind(project)
    [resp] = e.submit_text("x", destination_addr="447700900400")
    assert resp.status == Status.ESME_RINVDSTADR


def test_latency_holds_only_its_own_answer(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A latency rule delays its submit_sm_resp; the next submit is answered first."""
    add_rule(client, project, {"latency": 0.5})
    e = esme()
    e.bind(project)
    slow = e.submit(b"slow")
    fast = e.submit(b"fast")
    first, second = e.read_responses(2)
    assert (first.sequence, second.sequence) == (fast.sequence, slow.sequence)
    assert first.status == second.status == Status.ESME_ROK


def test_dropped_connection_closes_the_socket(
    esme: Callable[..., Esme], project: dict[str, Any]
) -> None:
    """The dropped-connection magic number closes the socket with no answer."""
    e = esme()
    e.bind(project)
    e.submit(b"x", destination_addr="447700900903")
    with pytest.raises(smpplib.exceptions.ConnectionError):
        e.client.read_pdu()


def test_rate_limit_throttles(esme: Callable[..., Esme], client: httpx2.Client) -> None:
    """Past smppMaxSubmitsPerSecond, submits get ESME_RTHROTTLED."""
    project = new_project(client, smppMaxSubmitsPerSecond=1)
    e = esme()
    e.bind(project)
    for i in range(5):
        e.submit(f"burst {i}".encode())
    statuses = [r.status for r in e.read_responses(5)]
    assert statuses[0] == Status.ESME_ROK
    assert statuses.count(Status.ESME_RTHROTTLED) >= 3


def test_webhook_from_smpp_submit_is_signed(
    esme: Callable[..., Esme], client: httpx2.Client, receiver: Receiver
) -> None:
    """An SMPP submit fires the project's signed webhooks, which httpsig accepts."""
    project = new_project(client, webhookUrl=receiver.url("/hook"))
    e = esme()
    e.bind(project)
    [resp] = e.submit_text("hello")
    got = receiver.wait_for(3)
    assert [g.json()["SmsStatus"] for g in got] == ["queued", "sent", "delivered"]
    assert got[0].json()["MessageSid"] == sid_of(resp)
    verifier = HeaderVerifier(
        headers=got[0].headers,
        secret=project["signingKey"],
        required_headers=["(request-target)", "date", "digest", "host"],
        method="POST",
        path=got[0].path,
    )
    assert verifier.verify()


# -- session control -----------------------------------------------------------------


def test_enquire_link(esme: Callable[..., Esme], project: dict[str, Any]) -> None:
    """enquire_link is answered with enquire_link_resp, bound or not."""
    e = esme()
    assert raw_pdu(e, "enquire_link").command == "enquire_link_resp"  # smpplib: bound only
    e.bind(project)
    e.client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=e.client))
    assert e.client.read_pdu().command == "enquire_link_resp"


def test_clean_unbind(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """unbind gets unbind_resp, then the server closes the session and unlists it."""
    e = esme()
    e.bind(project)
    resp = e.client.unbind()
    assert (resp.command, resp.status) == ("unbind_resp", 0)
    assert e.client._socket.recv(1) == b""  # closed by the server
    deadline = time.monotonic() + WAIT
    while sessions(client, project) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sessions(client, project) == []


def test_idle_session_is_closed(make_server: Callable[..., LiveServer]) -> None:
    """A session silent for the inactivity timeout is closed by the server."""
    live = make_server(smpp_inactivity_timeout=0.2)
    assert live.smpp_port is not None
    with socket.create_connection(("127.0.0.1", live.smpp_port), timeout=WAIT) as sock:
        assert sock.recv(1) == b""


# -- malformed input -----------------------------------------------------------------


def raw_socket(live: LiveServer) -> socket.socket:
    assert live.smpp_port is not None
    return socket.create_connection(("127.0.0.1", live.smpp_port), timeout=WAIT)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack(">IIII", 0x00100001, 0x15, 0, 1),  # command_length over 64 KiB
        struct.pack(">IIII", 8, 0x15, 0, 1),  # command_length under 16
    ],
    ids=["over-the-limit", "under-16"],
)
def test_unframeable_length_nacks_and_closes(
    garbage: bytes, server: LiveServer, esme: Callable[..., Esme], project: dict[str, Any]
) -> None:
    """A length that cannot be framed gets generic_nack and a clean close; another
    bound session keeps working."""
    other = esme()
    other.bind(project)
    with raw_socket(server) as sock:
        sock.sendall(garbage)
        answer = read_all(sock)
    [nack] = PduReader().feed(answer)
    assert nack == GenericNack(sequence=1, status=Status.ESME_RINVCMDLEN)
    [ok] = other.submit_text("still here")
    assert ok.status == Status.ESME_ROK


def test_unknown_command_is_nacked_and_the_session_goes_on(server: LiveServer) -> None:
    """An unknown command_id gets generic_nack ESME_RINVCMDID; the session stays open."""
    with raw_socket(server) as sock:
        sock.sendall(struct.pack(">IIII", 16, 0x00000103, 0, 7) + encode(EnquireLink(sequence=8)))
        reader = PduReader()
        events: list[Any] = []
        while len(events) < 2:
            events += reader.feed(sock.recv(4096))
    assert events[0] == GenericNack(sequence=7, status=Status.ESME_RINVCMDID)
    assert decode(encode(events[1])).sequence == 8


def test_truncated_header_then_close_harms_nothing(
    server: LiveServer, esme: Callable[..., Esme], project: dict[str, Any]
) -> None:
    """A header cut short and a hang-up leave the server and other sessions working."""
    other = esme()
    other.bind(project)
    with raw_socket(server) as sock:
        sock.sendall(encode(EnquireLink(sequence=1))[:9])
    [ok] = other.submit_text("still here")
    assert ok.status == Status.ESME_ROK


def test_random_bytes_never_hurt_another_session(
    server: LiveServer, esme: Callable[..., Esme], project: dict[str, Any]
) -> None:
    """Random bytes on many connections get nacks or a close; a bound session goes on."""
    other = esme()
    other.bind(project)
    rng = random.Random(3405)
    for _ in range(20):
        with raw_socket(server) as sock:
            sock.sendall(rng.randbytes(rng.randint(1, 300)))
            sock.shutdown(socket.SHUT_WR)
            read_all(sock)  # whatever comes back, the server closes in the end
    [ok] = other.submit_text("still here")
    assert ok.status == Status.ESME_ROK
    assert server.runtime.errors == []


def test_smpp_and_rest_share_the_store(
    esme: Callable[..., Esme], client: httpx2.Client, project: dict[str, Any]
) -> None:
    """A REST send says api rest, an SMPP submit api smpp, in one message list."""
    auth = (project["projectId"], project["apiKey"])
    response = client.post("/api/v2/message", auth=auth, json={"to": "+" + TO, "body": "rest"})
    assert response.status_code == 200, response.text
    e = esme()
    e.bind(project)
    e.submit_text("smpp")
    listed = client.get("/_mock/messages", params={"projectId": project["projectId"]}).json()
    assert sorted((m["body"], m["api"]) for m in listed["messages"]) == [
        ("rest", "rest"),
        ("smpp", "smpp"),
    ]


def test_smpp_port_in_health(server: LiveServer, client: httpx2.Client) -> None:
    """Health reports the port SMPP listens on."""
    assert client.get("/_mock/health").json()["smppPort"] == server.smpp_port


def test_smpp_can_be_off() -> None:
    """A LiveServer with smpp_port=None listens on no SMPP port."""
    with LiveServer(smpp_port=None) as live:
        assert live.smpp_port is None
        assert httpx2.get(live.url + "/_mock/health").json()["smppPort"] is None


# -- shutdown ------------------------------------------------------------------------


def test_sigterm_unbinds_bound_sessions() -> None:
    """On SIGTERM a bound session gets an unbind before the process exits."""
    http_port, smpp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGNET_MOCK_")}
    ports = ["--port", str(http_port), "--smpp-port", str(smpp_port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "augnet_mock", "serve", *ports],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", smpp_port), timeout=WAIT)
                break
            except OSError:
                assert time.monotonic() < deadline, "the SMPP port never opened"
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.05)
        with sock:
            reader = PduReader()
            sock.sendall(encode(BindTransceiver(sequence=1, system_id="augnet", password="augnet")))
            events: list[Any] = []
            while not events:
                events += reader.feed(sock.recv(4096))
            assert events[0].status == Status.ESME_ROK
            proc.send_signal(signal.SIGTERM)
            events = []
            while not events:
                events += reader.feed(sock.recv(4096))
            assert isinstance(events[0], Unbind)
            sock.sendall(encode(UnbindResp(sequence=events[0].sequence)))
        assert proc.wait(WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_default_project_id_is_bound_by_default_login(
    esme: Callable[..., Esme], client: httpx2.Client
) -> None:
    """The default login binds the default project."""
    e = esme()
    e.client.bind_transmitter(system_id="augnet", password="augnet")
    listed = client.get("/_mock/smpp/sessions", params={"projectId": DEFAULT_PROJECT_ID})
    assert [s["systemId"] for s in listed.json()["sessions"]] == ["augnet"]
