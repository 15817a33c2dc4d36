"""A real TCP conversation with the listener, using the protocol's published example packets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import devices
from forecourt.telematics.listeners.teltonika import TeltonikaListener
from forecourt.telematics.models import ReceivedMessage, Rejection
from forecourt.telematics.readings import Source
from tests.factories import Factory

EXAMPLES = json.loads((Path(__file__).resolve().parents[3] / "shared/data/teltonika/teltonika_spec_examples.json")
                      .read_text())
IMEI = EXAMPLES["imei_handshake"]["imei"]
HELLO = bytes.fromhex(EXAMPLES["imei_handshake"]["device_sends_hex"])


def frame(name: str) -> bytes:
    return bytes.fromhex(EXAMPLES[name]["hex"])


def _tracker_database(fresh_database_url) -> str:
    url = fresh_database_url("teltonika")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        vehicle = Factory(session=session, client=None).vehicle()
        devices.register(session=session, kind=Source.TRACKER, identifier=IMEI, vehicle_id=vehicle.id)
    return url


async def _conversation(url: str, hello: bytes, frames: list[bytes]) -> list[bytes]:
    listener = TeltonikaListener(sessions=make_sessionmaker(get_engine(url)))
    server = await listener.serve("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    answers = []
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(hello)
        await writer.drain()
        answers.append(await asyncio.wait_for(reader.read(1), 10))
        for data in frames:
            if answers[0] != b"\x01":
                break
            writer.write(data)
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.readexactly(4), 10))
        writer.close()
    return answers


def _talk(conversation) -> list[bytes]:
    """Run the conversation on its own event loop in its own thread: a browser test earlier in the
    same process may have left an event loop running in the main thread."""
    import threading

    result: dict = {}

    def run() -> None:
        result["answers"] = asyncio.run(conversation)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    return result["answers"]


def count(url: str, model) -> int:
    with make_sessionmaker(get_engine(url))() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_known_tracker_is_acknowledged_record_by_record_and_a_resend_is_stored_once(fresh_database_url):
    url = _tracker_database(fresh_database_url)
    two = frame("codec8_example3_two_records")
    answers = _talk(_conversation(url, HELLO, [frame("codec8_example1"), two, two, frame("codec8e_example")]))
    assert answers == [b"\x01", b"\x00\x00\x00\x01", b"\x00\x00\x00\x02", b"\x00\x00\x00\x02", b"\x00\x00\x00\x01"]
    assert count(url, ReceivedMessage) == 4  # 1 + 2 + 1: the resent pair once


def test_an_unknown_tracker_is_refused_and_counted(fresh_database_url):
    url = _tracker_database(fresh_database_url)
    stranger = (15).to_bytes(2, "big") + b"356307042441099"
    assert _talk(_conversation(url, stranger, [frame("codec8_example1")])) == [b"\x00"]
    with make_sessionmaker(get_engine(url))() as session:
        assert session.scalars(select(Rejection.reason)).all() == ["unknown tracker IMEI 356307042441099"]


def test_a_corrupted_frame_gets_a_zero_ack_and_the_connection_goes_on(fresh_database_url):
    url = _tracker_database(fresh_database_url)
    corrupted = bytearray(frame("codec8_example1"))
    corrupted[20] ^= 0xFF
    answers = _talk(_conversation(url, HELLO, [bytes(corrupted), frame("codec8_example1")]))
    assert answers == [b"\x01", b"\x00\x00\x00\x00", b"\x00\x00\x00\x01"]
    assert count(url, ReceivedMessage) == 1
    with make_sessionmaker(get_engine(url))() as session:
        assert "CRC" in session.scalars(select(Rejection.reason)).one()


def test_well_framed_records_with_impossible_values_are_rejected_but_acknowledged(fresh_database_url):
    """Otherwise the tracker would send them again forever."""
    from forecourt.telematics.decoders import teltonika

    url = _tracker_database(fresh_database_url)
    good = frame("codec8_example1")
    # Example 1 carries IO 78 as an 8-byte value; make it the odometer (IO 16) holding more than uint32 metres.
    body = bytearray(good[8:-4])
    at = bytes(body).index(bytes.fromhex("014E0000000000000000"))
    body[at + 1] = 16
    body[at + 2:at + 10] = (2**40).to_bytes(8, "big")
    crc = teltonika.crc16_ibm(bytes(body))
    odd = good[:8] + bytes(body) + crc.to_bytes(4, "big")
    teltonika.decode_frame(odd)  # framing is fine ...
    answers = _talk(_conversation(url, HELLO, [odd]))
    assert answers == [b"\x01", b"\x00\x00\x00\x01"]  # ... so it is acknowledged
    assert count(url, ReceivedMessage) == 0
    with make_sessionmaker(get_engine(url))() as session:
        assert session.scalars(select(Rejection.reason)).one()
