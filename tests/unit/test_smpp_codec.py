"""The SMPP codec: round trips for every PDU type, byte vectors from the SMPP 3.4 layouts,
framing, text codings, long-message headers, reassembly and receipt text."""

from __future__ import annotations

import itertools
import struct
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augnet_mock.segmentation import GSM7_ALL
from augnet_mock.smpp_codec import (
    DC_DEFAULT,
    DC_LATIN1,
    DC_UCS2,
    MAX_PDU_LENGTH,
    PDU_TYPES,
    BindReceiver,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    Command,
    Concat,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    GenericNack,
    Malformed,
    Pdu,
    PduError,
    PduReader,
    Reassembler,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tag,
    TextError,
    Unbind,
    Unframeable,
    decode,
    decode_text,
    encode,
    encode_text,
    payload_of,
    receipt_error,
    receipt_text,
    response_to,
    split_udh,
)


def header(length: int, command_id: int, status: int, sequence: int) -> bytes:
    return struct.pack(">IIII", length, command_id, status, sequence)


# -- round trips ----------------------------------------------------------------------


# C-Octet Strings hold any octet but NUL; the codec reads them as Latin-1.
def c_string(maximum: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=maximum - 1)


octet = st.integers(0, 255)
tlvs = st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=300)), max_size=4).map(tuple)


def pdu_strategy(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    values: dict[str, st.SearchStrategy[Any]] = {"sequence": st.integers(1, 0x7FFFFFFF)}
    kinds = {name: (kind, maximum) for name, kind, maximum in cls.layout}
    for f in fields(cls):
        if f.name in kinds:
            kind, maximum = kinds[f.name]
            values[f.name] = (
                c_string(maximum)
                if kind == "c"
                else st.binary(max_size=maximum)
                if kind == "sm"
                else octet
            )
        elif f.name == "tlvs":
            values["tlvs"] = tlvs
    # A response with an error status has no body (SMPP 3.4 §4.1.4, §4.4.2): its fields
    # stay at their defaults, so a round trip compares like with like.
    ok = st.builds(cls, status=st.just(0), **values)
    if cls.layout and not cls.body_on_error:
        failed = st.builds(cls, status=st.integers(1, 0xFFFFFFFF), sequence=values["sequence"])
        return st.one_of(ok, failed)
    return st.one_of(ok, st.builds(cls, status=st.integers(0, 0xFFFFFFFF), **values))


@pytest.mark.parametrize("cls", PDU_TYPES, ids=lambda c: c.__name__)
def test_every_pdu_type_round_trips(cls: type[Pdu]) -> None:
    """Every PDU type decodes back to itself from its own encoding, TLVs included."""

    @settings(deadline=None)  # a loaded machine must not fail a correct round trip
    @given(pdu_strategy(cls))
    def round_trip(pdu: Pdu) -> None:
        raw = encode(pdu)
        assert struct.unpack(">I", raw[:4])[0] == len(raw)
        assert decode(raw) == pdu
        assert PduReader().feed(raw) == [pdu]

    round_trip()


@settings(deadline=None)
@given(st.lists(pdu_strategy(SubmitSm), min_size=1, max_size=5), st.data())
def test_a_stream_cut_anywhere_yields_the_same_pdus(pdus: list[Pdu], data: st.DataObject) -> None:
    """However TCP splits the stream, the reader frames the same PDUs in order."""
    stream = b"".join(encode(p) for p in pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = PduReader()
    out = []
    for start, end in itertools.pairwise([0, *cuts, len(stream)]):
        out += reader.feed(stream[start:end])
    assert out == pdus
    assert reader.buffered == 0


# -- byte vectors, built by hand from the SMPP 3.4 layouts (§4) -----------------------


def test_bind_transmitter_vector() -> None:
    """bind_transmitter (§4.1.1): system_id, password, system_type as C strings, then
    interface_version, addr_ton, addr_npi and an empty address_range."""
    body = b"shop\x00secret\x00\x00" + bytes([0x34, 0x01, 0x01]) + b"\x00"
    raw = header(16 + len(body), 0x00000002, 0, 7) + body
    pdu = BindTransmitter(sequence=7, system_id="shop", password="secret", addr_ton=1, addr_npi=1)
    assert decode(raw) == pdu
    assert encode(pdu) == raw


def test_bind_transceiver_resp_vector() -> None:
    """bind_transceiver_resp (§4.1.6): system_id, then the sc_interface_version TLV."""
    body = b"augnet\x00" + bytes([0x02, 0x10, 0x00, 0x01, 0x34])
    raw = header(16 + len(body), 0x80000009, 0, 1) + body
    pdu = BindTransceiverResp(sequence=1, system_id="augnet", tlvs=((0x0210, b"\x34"),))
    assert encode(pdu) == raw
    assert decode(raw) == pdu


def test_failed_bind_resp_has_no_body() -> None:
    """A bind_resp with an error status is the header alone (§4.1.2)."""
    raw = header(16, 0x80000002, 0x0E, 3)
    assert encode(BindTransmitterResp(sequence=3, status=Status.ESME_RINVPASWD)) == raw
    assert decode(raw) == BindTransmitterResp(sequence=3, status=0x0E)


def test_submit_sm_vector() -> None:
    """submit_sm (§4.4.1): every mandatory field in order, sm_length, then TLVs."""
    body = (
        b"\x00"  # service_type
        + bytes([5, 0])
        + b"TAXI\x00"  # source ton, npi, addr
        + bytes([1, 1])
        + b"447700900123\x00"  # dest ton, npi, addr
        + bytes([0x00, 0x00, 0x00])  # esm_class, protocol_id, priority_flag
        + b"\x00\x00"  # schedule_delivery_time, validity_period
        + bytes([0x01, 0x00, 0x08, 0x00])  # registered_delivery, replace, data_coding, msg id
        + bytes([4])
        + "Hé".encode("utf-16-be")  # sm_length, short_message
        + bytes([0x02, 0x0C, 0x00, 0x02, 0x12, 0x34])  # sar_msg_ref_num = 0x1234
    )
    raw = header(16 + len(body), 0x00000004, 0, 0x7FFFFFFF) + body
    pdu = decode(raw)
    assert isinstance(pdu, SubmitSm)
    assert (pdu.source_addr_ton, pdu.source_addr, pdu.dest_addr_ton, pdu.destination_addr) == (
        5,
        "TAXI",
        1,
        "447700900123",
    )
    assert (pdu.registered_delivery, pdu.data_coding) == (1, 8)
    assert decode_text(pdu.short_message, pdu.data_coding) == "Hé"
    assert pdu.tlv(Tag.SAR_MSG_REF_NUM) == b"\x12\x34"
    assert encode(pdu) == raw


def test_submit_sm_resp_vector() -> None:
    """submit_sm_resp (§4.4.2): message_id as a C string; none on error."""
    raw = header(16 + 4, 0x80000004, 0, 9) + b"abc\x00"
    assert encode(SubmitSmResp(sequence=9, message_id="abc")) == raw
    throttled = header(16, 0x80000004, 0x58, 9)
    assert encode(SubmitSmResp(sequence=9, status=Status.ESME_RTHROTTLED)) == throttled


def test_header_only_pdus_vectors() -> None:
    """enquire_link, unbind and generic_nack are a 16-octet header (§4.11, §4.2, §4.3)."""
    assert encode(EnquireLink(sequence=5)) == header(16, 0x15, 0, 5)
    assert encode(Unbind(sequence=6)) == header(16, 0x06, 0, 6)
    assert encode(GenericNack(sequence=7, status=3)) == header(16, 0x80000000, 3, 7)


def test_deliver_sm_resp_accepts_an_empty_body() -> None:
    """An empty deliver_sm_resp (some clients send one) still decodes."""
    assert decode(header(16, 0x80000005, 0, 2)) == DeliverSmResp(sequence=2)


def test_response_to_keeps_the_sequence() -> None:
    """A response is the request's type with the response bit, and its sequence number."""
    resp = response_to(BindReceiver(sequence=42), status=Status.ESME_RALYBND)
    assert resp.command_id == Command.BIND_RECEIVER_RESP
    assert (resp.sequence, resp.status) == (42, Status.ESME_RALYBND)


# -- malformed input ------------------------------------------------------------------


def test_unknown_command_id_is_malformed_not_fatal() -> None:
    """An unknown command_id gives ESME_RINVCMDID and the next PDU still decodes."""
    events = PduReader().feed(header(16, 0x00000103, 0, 4) + encode(EnquireLink(sequence=5)))
    assert events == [
        Malformed(0x103, 4, Status.ESME_RINVCMDID, "unknown command_id 0x00000103"),
        EnquireLink(sequence=5),
    ]


def test_reader_keeps_going_after_a_malformed_body() -> None:
    """A body cut inside its fields is reported and the stream carries on."""
    bad = header(16 + 3, 0x00000002, 0, 8) + b"abc"  # system_id with no NUL
    events = PduReader().feed(bad + encode(EnquireLink(sequence=9)))
    assert isinstance(events[0], Malformed)
    assert events[0].status == Status.ESME_RINVCMDLEN
    assert events[0].sequence == 8
    assert events[1] == EnquireLink(sequence=9)


@pytest.mark.parametrize("length", [0, 15, MAX_PDU_LENGTH + 1, 0xFFFFFFFF])
def test_a_length_outside_the_frame_limits_is_unframeable(length: int) -> None:
    """A command_length under 16 or over the limit breaks framing for good."""
    reader = PduReader()
    events = reader.feed(header(length, 0x15, 0, 3) + encode(EnquireLink(sequence=4)))
    assert len(events) == 1
    assert isinstance(events[0], Unframeable)
    assert events[0].sequence == 3
    assert reader.broken
    assert reader.feed(encode(EnquireLink(sequence=5))) == []


def test_a_truncated_header_waits_for_more() -> None:
    """Fewer than 16 octets are kept, not guessed at."""
    reader = PduReader()
    raw = encode(EnquireLink(sequence=1))
    assert reader.feed(raw[:10]) == []
    assert reader.feed(raw[10:]) == [EnquireLink(sequence=1)]


def test_trailing_octets_after_a_header_only_pdu_are_malformed() -> None:
    """Octets past the last field of a PDU with no TLVs are reported."""
    with pytest.raises(PduError) as info:
        decode(header(18, 0x15, 0, 1) + b"xx")
    assert info.value.status == Status.ESME_RINVCMDLEN


def test_sm_length_past_the_pdu_is_malformed() -> None:
    """An sm_length that claims more octets than remain is ESME_RINVMSGLEN."""
    raw = encode(SubmitSm(sequence=1, short_message=b"hello"))
    cut = raw[:-5] + b"he"
    cut = struct.pack(">I", len(cut)) + cut[4:]
    with pytest.raises(PduError) as info:
        decode(cut)
    assert info.value.status == Status.ESME_RINVMSGLEN


def test_a_cut_tlv_is_malformed() -> None:
    """A TLV whose length runs past the PDU is reported, not read out of bounds."""
    raw = encode(SubmitSm(sequence=1, tlvs=((0x0424, b"abcdef"),)))[:-2]
    raw = struct.pack(">I", len(raw)) + raw[4:]
    with pytest.raises(PduError) as info:
        decode(raw)
    assert info.value.status == Status.ESME_RINVPARLEN


@settings(deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    """Any bytes at all give events, never an exception."""
    events = PduReader().feed(data)
    assert all(isinstance(e, Pdu | Malformed | Unframeable) for e in events)


# -- text -----------------------------------------------------------------------------


@settings(deadline=None)
@given(st.text(st.sampled_from(sorted(GSM7_ALL))))
def test_gsm_text_round_trips(text: str) -> None:
    """Every GSM 03.38 character, extension table included, survives unpacked encoding."""
    assert decode_text(encode_text(text, DC_DEFAULT), DC_DEFAULT) == text


def test_gsm_unpacked_septets() -> None:
    """data_coding 0 is one septet per octet: @ is 0x00, € is ESC 0x65 (TS 23.038)."""
    assert encode_text("@£€{", DC_DEFAULT) == bytes([0x00, 0x01, 0x1B, 0x65, 0x1B, 0x28])
    assert decode_text(bytes([0x48, 0x69, 0x11]), DC_DEFAULT) == "Hi_"


@settings(deadline=None)
@given(st.text())
def test_ucs2_round_trips(text: str) -> None:
    """UCS-2 (UTF-16 big-endian) carries any text, astral characters as surrogate pairs."""
    try:
        raw = encode_text(text, DC_UCS2)
    except UnicodeEncodeError:  # a lone surrogate in the generated text
        return
    assert decode_text(raw, DC_UCS2) == text


def test_latin1_decodes() -> None:
    """data_coding 3 is Latin-1."""
    assert decode_text("Grüße".encode("latin-1"), DC_LATIN1) == "Grüße"


@pytest.mark.parametrize(
    ("data", "coding", "status"),
    [
        (b"\x00\x48\x00", DC_UCS2, Status.ESME_RINVMSGLEN),  # odd length
        (b"\xd8\x00\x00\x41", DC_UCS2, Status.ESME_RINVMSGLEN),  # lone surrogate
        (b"abc\x80", DC_DEFAULT, Status.ESME_RINVMSGLEN),  # not a septet
        (b"abc\x1b", DC_DEFAULT, Status.ESME_RINVMSGLEN),  # ends on an escape
        (b"abc", 0x04, Status.ESME_RSUBMITFAIL),  # binary data: not text
    ],
)
def test_undecodable_text_says_why(data: bytes, coding: int, status: int) -> None:
    """Text that is not valid in its coding raises with the status to answer."""
    with pytest.raises(TextError) as info:
        decode_text(data, coding)
    assert info.value.status == status


# -- long messages --------------------------------------------------------------------


def test_udh_with_8_and_16_bit_references() -> None:
    """IEI 0x00 carries an 8-bit reference, IEI 0x08 a 16-bit one (TS 23.040 §9.2.3.24)."""
    assert split_udh(b"\x05\x00\x03\x2a\x03\x02text") == (Concat(0x2A, 3, 2), b"text")
    assert split_udh(b"\x06\x08\x04\x12\x34\x02\x01text") == (Concat(0x1234, 2, 1), b"text")


def test_udh_without_concatenation_is_just_stripped() -> None:
    """A UDH with other elements (here port addressing) leaves the payload alone."""
    assert split_udh(b"\x06\x05\x04\x0b\x84\x23\xf0hi") == (None, b"hi")


@pytest.mark.parametrize(
    "udh", [b"", b"\x09\x00\x03", b"\x05\x00\x03\x01\x02\x03", b"\x05\x00\x03\x01\x00\x00"]
)
def test_bad_udh_is_refused(udh: bytes) -> None:
    """A UDH that runs past the message, or names a part that cannot exist, is refused."""
    with pytest.raises(TextError) as info:
        split_udh(udh)
    assert info.value.status == Status.ESME_RINVESMCLASS


def test_sar_tlvs_give_the_part() -> None:
    """sar_msg_ref_num, sar_total_segments and sar_segment_seqnum place a part."""
    pdu = SubmitSm(
        sequence=1,
        short_message=b"part",
        tlvs=((0x020C, b"\x01\x02"), (0x020E, b"\x03"), (0x020F, b"\x01")),
    )
    assert payload_of(pdu).concat == Concat(0x0102, 3, 1)


def test_sar_tlvs_must_come_together() -> None:
    """Only some of the SAR TLVs is refused."""
    pdu = SubmitSm(sequence=1, tlvs=((0x020C, b"\x01\x02"),))
    with pytest.raises(TextError):
        payload_of(pdu)


def test_message_payload_replaces_short_message() -> None:
    """message_payload carries the whole text when sm_length is 0, and not alongside it."""
    assert payload_of(SubmitSm(sequence=1, tlvs=((0x0424, b"long"),))).data == b"long"
    with pytest.raises(TextError):
        payload_of(SubmitSm(sequence=1, short_message=b"x", tlvs=((0x0424, b"y"),)))


def test_reassembler_joins_parts_in_any_order() -> None:
    """Parts arriving out of order come out joined in order, under one id."""
    ids = iter(["m1", "m2"])
    r = Reassembler(lambda: next(ids))
    first, _ = r.add("k", Concat(1, 3, 3), b"C", now=0, context=None)
    second, _ = r.add("k", Concat(1, 3, 1), b"A", now=1, context=None)
    last, _ = r.add("k", Concat(1, 3, 2), b"B", now=2, context=None)
    assert first is second is last
    assert last.complete
    assert (last.id, last.joined()) == ("m1", b"ABC")
    assert len(r) == 0


def test_reassembler_discards_only_the_named_message() -> None:
    """An expiry for an older message leaves a newer one under the same key alone."""
    ids = iter(["old", "new"])
    r = Reassembler(lambda: next(ids))
    r.add("k", Concat(1, 2, 1), b"A", now=0, context=None)
    assert r.discard("k", "old") is not None
    r.add("k", Concat(1, 2, 1), b"A", now=1, context=None)
    assert r.discard("k", "old") is None
    assert len(r) == 1


def test_reassembler_is_bounded() -> None:
    """Past max_pending, the oldest message in the making is handed back."""
    counter = itertools.count()
    r = Reassembler(lambda: f"m{next(counter)}", max_pending=2)
    r.add("a", Concat(1, 2, 1), b"A", now=0, context=None)
    r.add("b", Concat(1, 2, 1), b"B", now=0, context=None)
    _, evicted = r.add("c", Concat(1, 2, 1), b"C", now=0, context=None)
    assert [e.id for e in evicted] == ["m0"]
    assert len(r) == 2


# -- receipts -------------------------------------------------------------------------


def test_receipt_text_is_the_standard_format() -> None:
    """The receipt text follows SMPP 3.4 Appendix B, dates as YYMMDDhhmm in UTC."""
    text = receipt_text(
        "abc",
        status="undelivered",
        submitted=1_767_225_600.0,  # 2026-01-01T00:00Z
        done=1_767_225_600.0 + 3_720,
        error_code="30003",
        text="Your code is 123456, valid for 5 minutes",
    )
    assert text == (
        "id:abc sub:001 dlvrd:000 submit date:2601010000 done date:2601010102 "
        "stat:UNDELIV err:003 text:Your code is 123456,"
    )


@pytest.mark.parametrize(("code", "err"), [(None, "000"), ("30008", "008"), ("x", "000")])
def test_receipt_error_is_three_digits(code: str | None, err: str) -> None:
    """err is the last three digits of the error code, 000 without one."""
    assert receipt_error(code) == err


def test_deliver_sm_round_trips_with_receipt_tlvs() -> None:
    """A receipt deliver_sm carries receipted_message_id (a C string) and message_state."""
    pdu = DeliverSm(
        sequence=3,
        esm_class=0x04,
        short_message=b"id:abc stat:DELIVRD",
        tlvs=((0x001E, b"abc\x00"), (0x0427, b"\x02")),
    )
    assert decode(encode(pdu)) == pdu


def test_bind_types_differ_only_in_command_id() -> None:
    """The three binds share one layout and differ in command_id (§4.1)."""
    kinds = {BindTransmitter: 0x02, BindReceiver: 0x01, BindTransceiver: 0x09}
    for cls, command_id in kinds.items():
        assert encode(cls(sequence=1))[4:8] == struct.pack(">I", command_id)
