"""SMPP 3.4 on the wire: PDUs, TLVs, text codings and long-message reassembly, sans-IO.

Nothing here touches a socket or a clock. `PduReader` takes bytes and gives back
decoded PDUs (or what was wrong with them); `encode` turns a PDU into bytes. Text
follows the PDU's `data_coding`, the GSM 03.38 table coming from `segmentation`.
`Reassembler` joins the parts of a long message however they came (UDH, SAR TLVs).
Layouts, codes and limits are those of the SMPP v3.4 specification (issue 1.2,
12-Oct-1999); each constant names its section.
"""

from __future__ import annotations

import codecs
import struct
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, ClassVar, Literal, cast

from .segmentation import (
    GSM7_ALL,
    GSM7_ESCAPE,
    GSM7_EXTENSION_TABLE,
    GSM7_TABLE,
)

HEADER = struct.Struct(">IIII")  # §3.2: command_length, command_id, command_status, sequence
HEADER_LENGTH = HEADER.size
# Longer than any PDU this server accepts needs (a submit_sm with a full message_payload
# is about 64 KiB at most: §5.3.2.32 caps message_payload at 64K); anything past it is a
# broken or hostile peer, and buffering it would let one socket hold unbounded memory.
MAX_PDU_LENGTH = 64 * 1024
MAX_SEQUENCE = 0x7FFFFFFF  # §3.2: sequence numbers run 0x00000001 to 0x7FFFFFFF
RESPONSE_BIT = 0x80000000  # §5.1.2: a response's command_id is its request's with this bit
INTERFACE_VERSION = 0x34  # §5.2.4: SMPP version 3.4


class Command(IntEnum):
    """command_id values, SMPP 3.4 §5.1.2.1 (the ones this server speaks)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class Status(IntEnum):
    """command_status error codes, SMPP 3.4 §5.1.3 (the ones this server answers with)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RINVESMCLASS = 0x43
    ESME_RSUBMITFAIL = 0x45
    ESME_RTHROTTLED = 0x58
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_RINVPARLEN = 0xC2
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RUNKNOWNERR = 0xFF


def status_name(code: int) -> str:
    try:
        return Status(code).name
    except ValueError:
        return f"0x{code:08X}"


class Tag(IntEnum):
    """TLV tags, SMPP 3.4 §5.3.2."""

    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


class MessageState(IntEnum):
    """message_state values, SMPP 3.4 §5.2.28."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


# esm_class bits, §5.2.12.
ESM_UDHI = 0x40  # the short message starts with a user data header (GSM 03.40)
ESM_DELIVERY_RECEIPT = 0x04  # an SMSC delivery receipt, in deliver_sm
# registered_delivery bits 0-1, §5.2.17.
RECEIPT_NONE, RECEIPT_FINAL, RECEIPT_FAILURE = 0, 1, 2
# data_coding, §5.2.19 (the ones decoded to text).
DC_DEFAULT, DC_IA5, DC_LATIN1, DC_UCS2 = 0x00, 0x01, 0x03, 0x08
MAX_SHORT_MESSAGE = 254  # §5.2.22: sm_length is one octet, 0 to 254

TLV = tuple[int, bytes]
# (name, kind, maximum): kind "c" is a C-Octet String of at most `maximum` octets with its
# NUL (§3.1), "1"/"2"/"4" an integer of so many octets, "sm" sm_length and short_message.
Field = tuple[str, str, int]


class PduError(ValueError):
    """A PDU that cannot be decoded; `status` is the error to answer with (generic_nack)."""

    def __init__(self, message: str, status: int, command_id: int = 0, sequence: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence = sequence


@dataclass(slots=True, kw_only=True)
class Pdu:
    """A PDU's header fields; subclasses add their body (`layout`) and TLVs.

    Not frozen, though nothing changes a PDU once made: a frozen dataclass's __init__
    sets each field through object.__setattr__, which made building a submit_sm (20
    fields) about four times slower, on the path every submit takes.
    """

    sequence: int
    status: int = 0
    command_id: ClassVar[int]
    layout: ClassVar[tuple[Field, ...]] = ()
    has_tlvs: ClassVar[bool] = False
    # §4.1.4, §4.4.2: a bind_resp or submit_sm_resp with an error status has no body.
    body_on_error: ClassVar[bool] = True

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def name(self) -> str:
        return Command(self.command_id).name.lower()


@dataclass(slots=True, kw_only=True)
class Bind(Pdu):
    """bind_transmitter, bind_receiver, bind_transceiver (§4.1.1, §4.1.3, §4.1.5)."""

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    layout: ClassVar[tuple[Field, ...]] = (
        ("system_id", "c", 16),
        ("password", "c", 9),
        ("system_type", "c", 13),
        ("interface_version", "1", 0),
        ("addr_ton", "1", 0),
        ("addr_npi", "1", 0),
        ("address_range", "c", 41),
    )


@dataclass(slots=True, kw_only=True)
class BindTransmitter(Bind):
    command_id: ClassVar[int] = Command.BIND_TRANSMITTER


@dataclass(slots=True, kw_only=True)
class BindReceiver(Bind):
    command_id: ClassVar[int] = Command.BIND_RECEIVER


@dataclass(slots=True, kw_only=True)
class BindTransceiver(Bind):
    command_id: ClassVar[int] = Command.BIND_TRANSCEIVER


@dataclass(slots=True, kw_only=True)
class BindResp(Pdu):
    """The bind responses (§4.1.2, §4.1.4, §4.1.6): the SMSC's system_id and TLVs."""

    system_id: str = ""
    tlvs: tuple[TLV, ...] = ()
    layout: ClassVar[tuple[Field, ...]] = (("system_id", "c", 16),)
    has_tlvs: ClassVar[bool] = True
    body_on_error: ClassVar[bool] = False


@dataclass(slots=True, kw_only=True)
class BindTransmitterResp(BindResp):
    command_id: ClassVar[int] = Command.BIND_TRANSMITTER_RESP


@dataclass(slots=True, kw_only=True)
class BindReceiverResp(BindResp):
    command_id: ClassVar[int] = Command.BIND_RECEIVER_RESP


@dataclass(slots=True, kw_only=True)
class BindTransceiverResp(BindResp):
    command_id: ClassVar[int] = Command.BIND_TRANSCEIVER_RESP


@dataclass(slots=True, kw_only=True)
class ShortMessagePdu(Pdu):
    """submit_sm and deliver_sm share one layout (§4.4.1, §4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[TLV, ...] = ()
    layout: ClassVar[tuple[Field, ...]] = (
        ("service_type", "c", 6),
        ("source_addr_ton", "1", 0),
        ("source_addr_npi", "1", 0),
        ("source_addr", "c", 21),
        ("dest_addr_ton", "1", 0),
        ("dest_addr_npi", "1", 0),
        ("destination_addr", "c", 21),
        ("esm_class", "1", 0),
        ("protocol_id", "1", 0),
        ("priority_flag", "1", 0),
        ("schedule_delivery_time", "c", 17),
        ("validity_period", "c", 17),
        ("registered_delivery", "1", 0),
        ("replace_if_present_flag", "1", 0),
        ("data_coding", "1", 0),
        ("sm_default_msg_id", "1", 0),
        ("short_message", "sm", MAX_SHORT_MESSAGE),
    )
    has_tlvs: ClassVar[bool] = True

    def tlv(self, tag: int) -> bytes | None:
        return tlv_value(self.tlvs, tag)


@dataclass(slots=True, kw_only=True)
class SubmitSm(ShortMessagePdu):
    command_id: ClassVar[int] = Command.SUBMIT_SM


@dataclass(slots=True, kw_only=True)
class DeliverSm(ShortMessagePdu):
    command_id: ClassVar[int] = Command.DELIVER_SM


@dataclass(slots=True, kw_only=True)
class SubmitSmResp(Pdu):
    """§4.4.2: the SMSC's message_id for the submitted message."""

    message_id: str = ""
    command_id: ClassVar[int] = Command.SUBMIT_SM_RESP
    layout: ClassVar[tuple[Field, ...]] = (("message_id", "c", 65),)
    body_on_error: ClassVar[bool] = False


@dataclass(slots=True, kw_only=True)
class DeliverSmResp(Pdu):
    """§4.6.2: message_id is unused and set to NULL."""

    message_id: str = ""
    command_id: ClassVar[int] = Command.DELIVER_SM_RESP
    layout: ClassVar[tuple[Field, ...]] = (("message_id", "c", 65),)


@dataclass(slots=True, kw_only=True)
class Unbind(Pdu):
    command_id: ClassVar[int] = Command.UNBIND


@dataclass(slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id: ClassVar[int] = Command.UNBIND_RESP


@dataclass(slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id: ClassVar[int] = Command.ENQUIRE_LINK


@dataclass(slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id: ClassVar[int] = Command.ENQUIRE_LINK_RESP


@dataclass(slots=True, kw_only=True)
class GenericNack(Pdu):
    command_id: ClassVar[int] = Command.GENERIC_NACK


PDU_TYPES: tuple[type[Pdu], ...] = (
    BindTransmitter,
    BindReceiver,
    BindTransceiver,
    BindTransmitterResp,
    BindReceiverResp,
    BindTransceiverResp,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
)
PDU_BY_COMMAND: dict[int, type[Pdu]] = {t.command_id: t for t in PDU_TYPES}
# The response type of each request, for answering it.
RESPONSE_OF: dict[int, type[Pdu]] = {
    t.command_id & ~RESPONSE_BIT: t for t in PDU_TYPES if t.command_id & RESPONSE_BIT
}
del RESPONSE_OF[0]  # generic_nack answers no request of its own


def tlv_value(tlvs: tuple[TLV, ...], tag: int) -> bytes | None:
    for t, value in tlvs:
        if t == tag:
            return value
    return None


# -- encoding -----------------------------------------------------------------------


def encode(pdu: Pdu) -> bytes:
    """The PDU's bytes, header included."""
    body = bytearray()
    if pdu.status == 0 or pdu.body_on_error:
        for name, kind, maximum in pdu.layout:
            value = getattr(pdu, name)
            if kind == "c":
                raw = value.encode("latin-1")
                if len(raw) >= maximum or 0 in raw:
                    raise ValueError(f"{name}: at most {maximum - 1} octets with no NUL")
                body += raw
                body.append(0)
            elif kind == "sm":
                if len(value) > maximum:
                    raise ValueError(f"{name}: at most {maximum} octets")
                body.append(len(value))
                body += value
            else:
                body += value.to_bytes(int(kind), "big")
        if pdu.has_tlvs:
            for tag, value in pdu.tlvs:  # type: ignore[attr-defined]  # has_tlvs: the field exists
                body += struct.pack(">HH", tag, len(value))
                body += value
    header = HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.status, pdu.sequence)
    return header + bytes(body)


def submit_sm_resp_bytes(sequence: int, status: int, message_id: str) -> bytes:
    """encode(SubmitSmResp(...)) without building the PDU: every submit's answer."""
    if status:
        return HEADER.pack(HEADER_LENGTH, Command.SUBMIT_SM_RESP, status, sequence)
    body = message_id.encode("latin-1") + b"\0"
    return HEADER.pack(HEADER_LENGTH + len(body), Command.SUBMIT_SM_RESP, 0, sequence) + body


# -- decoding -----------------------------------------------------------------------


def decode(data: bytes) -> Pdu:
    """One whole PDU (header included); PduError says what was wrong and how to answer."""
    if len(data) < HEADER_LENGTH:
        raise PduError("shorter than a PDU header", Status.ESME_RINVCMDLEN)
    length, command_id, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise PduError(
            f"command_length {length} but {len(data)} octets",
            Status.ESME_RINVCMDLEN,
            command_id,
            sequence,
        )
    return decode_body(command_id, status, sequence, bytes(data[HEADER_LENGTH:]))


def decode_body(command_id: int, status: int, sequence: int, body: bytes) -> Pdu:
    cls = PDU_BY_COMMAND.get(command_id)
    if cls is None:
        raise PduError(
            f"unknown command_id 0x{command_id:08X}", Status.ESME_RINVCMDID, command_id, sequence
        )
    if cls is SubmitSm or cls is DeliverSm:
        fast = _short_message_fast(
            cast(type[ShortMessagePdu], cls), sequence, status, body, command_id
        )
        if fast is not None:
            return fast
    values: dict[str, Any] = {"sequence": sequence, "status": status}
    if not body and cls.layout and cls.command_id & RESPONSE_BIT:
        # A response may leave its body out (§4.1.4, §4.4.2), and some clients send an
        # empty deliver_sm_resp: its one field is unused anyway.
        return cls(**values)
    pos, end = 0, len(body)
    try:
        for name, kind, maximum in cls.layout:
            if kind == "c":
                nul = body.find(0, pos, min(end, pos + maximum))
                if nul < 0:
                    raise PduError(
                        f"{name}: no NUL within {maximum} octets",
                        Status.ESME_RINVCMDLEN if pos + maximum > end else Status.ESME_RINVPARLEN,
                        command_id,
                        sequence,
                    )
                values[name] = body[pos:nul].decode("latin-1")
                pos = nul + 1
            elif kind == "1":
                values[name] = body[pos]
                pos += 1
            elif kind == "sm":
                length = body[pos]
                pos += 1
                if length > maximum or pos + length > end:
                    raise PduError(
                        f"sm_length {length} runs past the PDU", Status.ESME_RINVMSGLEN, command_id
                    )
                values[name] = body[pos : pos + length]
                pos += length
            else:  # pragma: no cover - every layout uses the kinds above
                raise AssertionError(kind)
    except IndexError:
        raise PduError(
            f"{cls.__name__}: body ends inside its fields", Status.ESME_RINVCMDLEN, command_id
        ) from None
    except PduError as exc:
        exc.sequence = sequence
        raise
    if cls.has_tlvs:
        values["tlvs"] = _decode_tlvs(body, pos, command_id, sequence)
    elif pos != end:
        raise PduError(
            f"{end - pos} octets after the last field", Status.ESME_RINVCMDLEN, command_id, sequence
        )
    return cls(**values)


def _short_message_fast(
    cls: type[ShortMessagePdu], sequence: int, status: int, body: bytes, command_id: int
) -> Pdu | None:
    """submit_sm / deliver_sm unrolled (§4.4.1): the hot path of every submit. None when
    anything is off, so that the general decoder names the fault."""
    find, end = body.find, len(body)
    a = find(0, 0, 6)  # service_type
    b = find(0, a + 3, a + 24) if a >= 0 else -1  # source_addr, after its ton and npi
    c = find(0, b + 3, b + 24) if b >= 0 else -1  # destination_addr, after its ton and npi
    d = find(0, c + 4, c + 21) if c >= 0 else -1  # schedule_delivery_time, after 3 octets
    e = find(0, d + 1, d + 18) if d >= 0 else -1  # validity_period
    if e < 0 or e + 6 > end:
        return None
    p = e + 1  # registered_delivery, replace_if_present, data_coding, sm_default_msg_id
    length = body[p + 4]
    q = p + 5 + length
    if length > MAX_SHORT_MESSAGE or q > end:
        return None
    return cls(
        sequence=sequence,
        status=status,
        service_type=body[:a].decode("latin-1"),
        source_addr_ton=body[a + 1],
        source_addr_npi=body[a + 2],
        source_addr=body[a + 3 : b].decode("latin-1"),
        dest_addr_ton=body[b + 1],
        dest_addr_npi=body[b + 2],
        destination_addr=body[b + 3 : c].decode("latin-1"),
        esm_class=body[c + 1],
        protocol_id=body[c + 2],
        priority_flag=body[c + 3],
        schedule_delivery_time=body[c + 4 : d].decode("latin-1"),
        validity_period=body[d + 1 : e].decode("latin-1"),
        registered_delivery=body[p],
        replace_if_present_flag=body[p + 1],
        data_coding=body[p + 2],
        sm_default_msg_id=body[p + 3],
        short_message=body[p + 5 : q],
        tlvs=_decode_tlvs(body, q, command_id, sequence) if q < end else (),
    )


def _decode_tlvs(body: bytes, pos: int, command_id: int, sequence: int) -> tuple[TLV, ...]:
    tlvs: list[TLV] = []
    end = len(body)
    while pos < end:
        if pos + 4 > end:
            raise PduError(
                "a TLV header is cut short", Status.ESME_RINVOPTPARSTREAM, command_id, sequence
            )
        tag, length = struct.unpack_from(">HH", body, pos)
        pos += 4
        if pos + length > end:
            raise PduError(
                f"TLV 0x{tag:04X} runs past the PDU", Status.ESME_RINVPARLEN, command_id, sequence
            )
        tlvs.append((tag, body[pos : pos + length]))
        pos += length
    return tuple(tlvs)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A framed PDU that could not be decoded: answer generic_nack(status), go on."""

    command_id: int
    sequence: int
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Unframeable:
    """A command_length that cannot be framed: answer generic_nack, then close."""

    sequence: int
    reason: str


Event = Pdu | Malformed | Unframeable


class PduReader:
    """Frames a byte stream into PDUs by command_length (§3.2). Bytes in, events out.

    After an `Unframeable` the stream has lost its framing for good, so the
    reader ignores everything that follows.
    """

    def __init__(self, max_length: int = MAX_PDU_LENGTH) -> None:
        self.max_length = max_length
        self.broken = False
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Event]:
        if self.broken:
            return []
        buf = self._buf
        buf += data
        events: list[Event] = []
        pos, end = 0, len(buf)
        while end - pos >= HEADER_LENGTH:
            length, command_id, status, sequence = HEADER.unpack_from(buf, pos)
            if length < HEADER_LENGTH or length > self.max_length:
                self.broken = True
                events.append(
                    Unframeable(
                        sequence, f"command_length {length} is outside 16..{self.max_length}"
                    )
                )
                buf.clear()
                return events
            if end - pos < length:
                break
            body = bytes(buf[pos + HEADER_LENGTH : pos + length])
            pos += length
            try:
                events.append(decode_body(command_id, status, sequence, body))
            except PduError as exc:
                events.append(Malformed(command_id, sequence, exc.status, str(exc)))
        del buf[:pos]
        return events


# -- text ---------------------------------------------------------------------------


class TextError(ValueError):
    """A short message that is not valid text in its data_coding."""

    def __init__(self, message: str, status: int = Status.ESME_RINVMSGLEN) -> None:
        super().__init__(message)
        self.status = status


# Unpacked GSM 03.38 (one septet per octet, §5.2.19 data_coding 0): decoded by reading the
# octets as Latin-1 and translating each to its GSM character.
_GSM_DECODE = {i: ch for i, ch in enumerate(GSM7_TABLE) if i != GSM7_ESCAPE}
# The same as a 256-entry charmap for codecs.charmap_decode (C speed); octets past 0x7F
# and the escape map to U+FFFE, "undefined", which the strict decoder refuses.
_GSM_CHARMAP = "".join(_GSM_DECODE.get(i, "\ufffe") for i in range(256))
_GSM_ENCODE = {ord(ch): i for i, ch in _GSM_DECODE.items()} | {
    ord(ch): f"\x1b{chr(code)}" for code, ch in GSM7_EXTENSION_TABLE.items()
}


def decode_text(
    data: bytes, data_coding: int, *, errors: Literal["strict", "replace"] = "strict"
) -> str:
    """The text of a short message; TextError if it is not valid in its coding."""
    coding = data_coding
    if coding in (DC_DEFAULT, DC_IA5):
        # IA5 is ASCII (§5.2.19); clients that say 1 send plain ASCII text in practice.
        if coding == DC_IA5:
            if not data.isascii() and errors == "strict":
                raise TextError("data_coding 1 (IA5) holds a non-ASCII octet")
            return data.decode("ascii", errors)
        return _gsm_decode(data, errors)
    if coding == DC_LATIN1:
        return data.decode("latin-1")
    if coding == DC_UCS2:
        if len(data) % 2 and errors == "strict":
            raise TextError(f"UCS-2 text needs an even number of octets, got {len(data)}")
        try:
            return data.decode("utf-16-be", errors)
        except UnicodeDecodeError as exc:
            raise TextError(f"not valid UCS-2: {exc.reason}") from None
    raise TextError(
        f"data_coding 0x{coding:02X} is not supported; use 0 (GSM), 3 (Latin-1) or 8 (UCS-2)",
        Status.ESME_RSUBMITFAIL,
    )


def _gsm_decode(data: bytes, errors: str) -> str:
    if not data.isascii():
        if errors == "strict":
            bad = next(b for b in data if b > 0x7F)
            raise TextError(f"octet 0x{bad:02X} is not a GSM 03.38 septet")
        data = bytes(b if b <= 0x7F else 0x20 for b in data)
    if GSM7_ESCAPE not in data:
        return codecs.charmap_decode(data, "strict", _GSM_CHARMAP)[0]
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == GSM7_ESCAPE:
            i += 1
            if i == n:
                if errors == "strict":
                    raise TextError("the text ends on a GSM 03.38 escape")
                break
            nb = data[i]
            # TS 23.038 §6.2.1.1: an unknown extension shows as its basic-table character.
            ext = GSM7_EXTENSION_TABLE.get(nb)
            out.append(ext if ext is not None else _GSM_DECODE.get(nb, " "))
        else:
            out.append(_GSM_DECODE[b])
        i += 1
    return "".join(out)


def encode_text(text: str, data_coding: int) -> bytes:
    """`text` in `data_coding`; ValueError if it cannot be."""
    if data_coding == DC_DEFAULT:
        if not GSM7_ALL.issuperset(text):
            raise ValueError("text has characters outside the GSM 03.38 alphabet")
        return text.translate(_GSM_ENCODE).encode("latin-1")
    if data_coding == DC_IA5:
        return text.encode("ascii")
    if data_coding == DC_LATIN1:
        return text.encode("latin-1")
    if data_coding == DC_UCS2:
        return text.encode("utf-16-be")
    raise ValueError(f"data_coding 0x{data_coding:02X} is not supported")


# -- long messages ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concat:
    """Where one part of a long message belongs: reference, total parts, its number."""

    reference: int
    total: int
    index: int


def split_udh(short_message: bytes) -> tuple[Concat | None, bytes]:
    """(concatenation info, payload) of a message with a user data header (TS 23.040
    §9.2.3.24): IEI 0x00 has an 8-bit reference, IEI 0x08 a 16-bit one."""
    if not short_message:
        raise TextError("esm_class says UDH, but the message is empty", Status.ESME_RINVESMCLASS)
    udhl = short_message[0]
    if 1 + udhl > len(short_message):
        raise TextError(f"UDH length {udhl} runs past the message", Status.ESME_RINVESMCLASS)
    header, payload = short_message[1 : 1 + udhl], short_message[1 + udhl :]
    concat: Concat | None = None
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            raise TextError("a UDH element is cut short", Status.ESME_RINVESMCLASS)
        iei, iel = header[pos], header[pos + 1]
        data = header[pos + 2 : pos + 2 + iel]
        if len(data) != iel:
            raise TextError(
                f"UDH element 0x{iei:02X} runs past the header", Status.ESME_RINVESMCLASS
            )
        if iei == 0x00 and iel == 3:
            concat = Concat(data[0], data[1], data[2])
        elif iei == 0x08 and iel == 4:
            concat = Concat(int.from_bytes(data[:2], "big"), data[2], data[3])
        pos += 2 + iel
    if concat is not None:
        _check_concat(concat, Status.ESME_RINVESMCLASS)
    return concat, payload


def sar_concat(pdu: ShortMessagePdu) -> Concat | None:
    """Concatenation from the SAR TLVs (§5.3.2.22-24), or None when they are absent."""
    ref, total, index = (
        pdu.tlv(tag)
        for tag in (Tag.SAR_MSG_REF_NUM, Tag.SAR_TOTAL_SEGMENTS, Tag.SAR_SEGMENT_SEQNUM)
    )
    if ref is None and total is None and index is None:
        return None
    if ref is None or total is None or index is None:
        raise TextError(
            "sar_msg_ref_num, sar_total_segments and sar_segment_seqnum go together",
            Status.ESME_RINVOPTPARAMVAL,
        )
    if (len(ref), len(total), len(index)) != (2, 1, 1):
        raise TextError("a SAR TLV has the wrong length", Status.ESME_RINVPARLEN)
    concat = Concat(int.from_bytes(ref, "big"), total[0], index[0])
    _check_concat(concat, Status.ESME_RINVOPTPARAMVAL)
    return concat


def _check_concat(concat: Concat, status: int) -> None:
    if concat.total == 0 or not 1 <= concat.index <= concat.total:
        raise TextError(f"part {concat.index} of {concat.total} cannot exist", status)


@dataclass(frozen=True, slots=True)
class Payload:
    """A submit_sm's user data: its bytes and, for a part, where it belongs."""

    data: bytes
    concat: Concat | None


def payload_of(pdu: ShortMessagePdu) -> Payload:
    """The user data of a submit_sm, from short_message (with or without UDH) or the
    message_payload TLV (§5.3.2.32: then sm_length must be 0)."""
    if not pdu.tlvs and not pdu.esm_class & ESM_UDHI:
        return Payload(pdu.short_message, None)  # the common case: one plain part
    message_payload = pdu.tlv(Tag.MESSAGE_PAYLOAD)
    if message_payload is not None:
        if pdu.short_message:
            raise TextError(
                "message_payload and short_message cannot both be set", Status.ESME_RINVMSGLEN
            )
        data = message_payload
    else:
        data = pdu.short_message
    concat: Concat | None = None
    if pdu.esm_class & ESM_UDHI:
        concat, data = split_udh(data)
    sar = sar_concat(pdu)
    return Payload(data, concat or sar)


@dataclass(slots=True)
class Reassembly:
    """The parts of one long message received so far."""

    id: str  # assigned when its first part arrives: every part's answer carries it
    total: int
    started: float
    context: Any  # what the caller needs once it completes (coding, addresses, ...)
    parts: dict[int, bytes] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.total

    def joined(self) -> bytes:
        """The parts received, in order (with gaps where some are missing)."""
        return b"".join(self.parts[i] for i in sorted(self.parts))


class Reassembler:
    """Long messages in the making, keyed by whatever identifies one (the caller's key
    holds the project, addresses and reference). Bounded: past `max_pending` the oldest
    is handed back by `add` as expired, rather than kept forever."""

    def __init__(self, new_id: Callable[[], str], *, max_pending: int = 10_000) -> None:
        self.new_id = new_id
        self.max_pending = max_pending
        self._pending: OrderedDict[Hashable, Reassembly] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self, key: Hashable, concat: Concat, data: bytes, *, now: float, context: Any
    ) -> tuple[Reassembly, list[Reassembly]]:
        """File one part; (its message, any evicted to stay bounded). When the message is
        complete it is no longer pending. A part sent twice keeps its latest copy."""
        entry = self._pending.get(key)
        evicted: list[Reassembly] = []
        if entry is None:
            entry = Reassembly(self.new_id(), concat.total, now, context)
            self._pending[key] = entry
            while len(self._pending) > self.max_pending:
                evicted.append(self._pending.popitem(last=False)[1])
        entry.parts[concat.index] = data
        if entry.complete:
            self._pending.pop(key, None)
        return entry, evicted

    def discard(self, key: Hashable, entry_id: str | None = None) -> Reassembly | None:
        """Remove and return the message under `key` (only if it is `entry_id`, if given)."""
        entry = self._pending.get(key)
        if entry is None or (entry_id is not None and entry.id != entry_id):
            return None
        return self._pending.pop(key)

    def clear(self) -> None:
        self._pending.clear()


# -- delivery receipts --------------------------------------------------------------

RECEIPT_STAT = {"delivered": "DELIVRD", "undelivered": "UNDELIV", "failed": "REJECTD"}
RECEIPT_STATE = {
    "delivered": MessageState.DELIVERED,
    "undelivered": MessageState.UNDELIVERABLE,
    "failed": MessageState.REJECTED,
}
RECEIPT_TEXT_CHARS = 20  # SMPP 3.4 Appendix B: the first 20 characters of the message


def receipt_date(epoch: float) -> str:
    """YYMMDDhhmm in UTC (SMPP 3.4 Appendix B)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%y%m%d%H%M")


def receipt_error(error_code: str | None) -> str:
    """The receipt's 3-digit `err`: the last three digits of the error code, or 000."""
    digits = "".join(c for c in error_code or "" if c.isdigit())
    return (digits[-3:] or "0").zfill(3)


def receipt_text(
    message_id: str,
    *,
    status: str,
    submitted: float,
    done: float,
    error_code: str | None,
    text: str,
) -> str:
    """The standard receipt text (SMPP 3.4 Appendix B)."""
    delivered = "001" if status == "delivered" else "000"
    return (
        f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{receipt_date(submitted)} "
        f"done date:{receipt_date(done)} stat:{RECEIPT_STAT[status]} "
        f"err:{receipt_error(error_code)} text:{text[:RECEIPT_TEXT_CHARS]}"
    )


def response_to(request: Pdu, **values: Any) -> Pdu:
    """The response PDU type for `request`, with its sequence number."""
    return RESPONSE_OF[request.command_id](sequence=request.sequence, **values)
