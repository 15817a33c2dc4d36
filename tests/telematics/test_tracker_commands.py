"""Commands to an aftermarket tracker over a real TCP connection to the Teltonika listener."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import select

from forecourt.core.clock import now
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import commands, devices
from forecourt.telematics.decoders import codec12
from forecourt.telematics.listeners.teltonika import TeltonikaListener
from forecourt.telematics.models import Rejection
from forecourt.telematics.readings import Source
from tests.factories import Factory
from tests.telematics.test_teltonika_listener import HELLO, IMEI, frame


def _database(fresh_database_url) -> tuple[str, str]:
    url = fresh_database_url("commands")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        vehicle = Factory(session=session, client=None).vehicle()
        devices.register(session=session, kind=Source.TRACKER, identifier=IMEI, vehicle_id=vehicle.id)
        vin = vehicle.vin
    return url, vin


def _ask(url: str, vin: str, action: str = "unlock", seconds: int = 60) -> int:
    with transaction(make_sessionmaker(get_engine(url)), write=True) as session:
        return commands.request(session=session, vin=vin, action=action, reason="sharing:reservation:7",
                                deadline=timedelta(seconds=seconds), now=now()).id


def _command(url: str, command_id: int):
    with make_sessionmaker(get_engine(url))() as session:
        return commands.get(session=session, command_id=command_id)


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readexactly(8), 10)
    return head + await asyncio.wait_for(reader.readexactly(int.from_bytes(head[4:], "big") + 4), 10)


def _run(coroutine):
    """On an event loop of its own thread (a browser test may have left one running in this one)."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(value=asyncio.run(coroutine)))
    thread.start()
    thread.join(90)
    return result["value"]


async def _tracker(url: str, script, tracker_texts: dict[str, str] | None = None) -> object:
    """A listener on a free port and one tracker connected to it, driven by ``script(reader, writer)``."""
    listener = TeltonikaListener(sessions=make_sessionmaker(get_engine(url)), command_poll_seconds=0.05,
                                 tracker_texts=tracker_texts)
    server = await listener.serve("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HELLO)
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(1), 10) == b"\x01"
        try:
            return await script(reader, writer)
        finally:
            writer.close()


def test_a_waiting_command_goes_out_when_the_tracker_connects_and_its_reply_acknowledges_it(fresh_database_url):
    url, vin = _database(fresh_database_url)
    unlock = _ask(url, vin)
    assert _command(url, unlock).status == "pending"  # nobody connected: it waits

    async def script(reader, writer):
        received = await _read_frame(reader)
        assert received == codec12.encode("setdigout 1? 2")  # byte for byte, CRC included
        assert _command(url, unlock).status in ("pending", "sent")
        writer.write(frame("codec8_example1"))  # records still flow on the same connection
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(4), 10) == b"\x00\x00\x00\x01"
        writer.write(codec12.encode("DOUT1:1 Timeout:2 DOUT2:IGNORED", codec12.RESPONSE))
        await writer.drain()
        lock = await asyncio.get_running_loop().run_in_executor(None, _ask, url, vin, "lock")
        second = await _read_frame(reader)  # the next command goes only after the reply
        writer.write(codec12.encode("Error: DOUT2 is busy", codec12.RESPONSE))
        await writer.drain()
        for _ in range(100):
            if _command(url, lock).status == "refused":
                break
            await asyncio.sleep(0.05)
        return second, lock

    second, lock = _run(_tracker(url, script))
    assert codec12.decode(second).text == "setdigout ?1 0 2"
    done = _command(url, unlock)
    assert (done.status, done.answer) == ("acknowledged", "DOUT1:1 Timeout:2 DOUT2:IGNORED")
    refused = _command(url, lock)
    assert (refused.status, refused.answer) == ("refused", "Error: DOUT2 is busy")


def test_a_tracker_that_does_not_reply_in_time_times_out_and_its_late_reply_is_kept_aside(fresh_database_url):
    url, vin = _database(fresh_database_url)
    unlock = _ask(url, vin, seconds=5)

    def expire() -> int:
        with transaction(make_sessionmaker(get_engine(url)), write=True) as session:
            return commands.expire_due(session=session, now=now() + timedelta(seconds=6))

    async def script(reader, writer):
        await _read_frame(reader)
        for _ in range(100):
            if _command(url, unlock).status == "sent":
                break
            await asyncio.sleep(0.05)
        expired = await asyncio.get_running_loop().run_in_executor(None, expire)
        writer.write(codec12.encode("DOUT1:1 Timeout:2", codec12.RESPONSE))
        await writer.drain()
        for _ in range(100):
            if _command(url, unlock).late_result is not None:
                break
            await asyncio.sleep(0.05)
        return expired

    assert _run(_tracker(url, script)) == 1
    command = _command(url, unlock)
    assert (command.status, command.late_result, command.sent_at is not None) == ("timed_out", "ok", True)


def test_an_unasked_reply_is_written_down_and_the_connection_goes_on(fresh_database_url):
    url, _vin = _database(fresh_database_url)

    async def script(reader, writer):
        writer.write(codec12.encode("DOUT1:1", codec12.RESPONSE))
        writer.write(frame("codec8_example1"))
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(4), 10)

    assert _run(_tracker(url, script)) == b"\x00\x00\x00\x01"
    with make_sessionmaker(get_engine(url))() as session:
        assert "no command waiting" in session.scalars(select(Rejection.reason)).one()


def test_the_simulated_tracker_fleet_runs_the_command_it_finds_between_its_acks(fresh_database_url):
    """``forecourt simulate --via teltonika``: the command reaches a simulated FMB mid-conversation."""
    from forecourt.telematics.simulator.runner import Simulation, SimulationConfig

    url = fresh_database_url("commands_sim")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        Factory(session=session, client=None).vehicle()
    sessions = make_sessionmaker(get_engine(url))
    listener = TeltonikaListener(sessions=sessions, command_poll_seconds=0.05)
    ready, stop, port = threading.Event(), threading.Event(), {}

    async def serve() -> None:
        server = await listener.serve("127.0.0.1", 0)
        port["value"] = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        simulation = Simulation(SimulationConfig(vehicles=1, rate=5, via="teltonika", duration=3, workers=1,
                                                 teltonika=f"127.0.0.1:{port['value']}"), sessions)
        (car,) = simulation.prepare()
        unlock = _ask(url, car.vin)
        stats = simulation.run(threading.Event())
    finally:
        stop.set()
        thread.join(10)
    assert stats.errors == 0, stats.last_error
    command = _command(url, unlock)
    assert (command.status, command.answer) == ("acknowledged", "DOUT1:1 Timeout:2 DOUT2:IGNORED")
    assert listener.stats.bad_frames == 0 and listener.stats.replies == 1


def test_a_tracker_wired_otherwise_gets_the_configured_texts_on_the_wire(fresh_database_url):
    """``FORECOURT_TRACKER_COMMANDS`` as the listener is given it: each action's text, byte for byte."""
    url, vin = _database(fresh_database_url)
    texts = get_settings(tracker_commands={"unlock": "setdigout 1", "lock": "setdigout 0"}).tracker_commands
    unlock = _ask(url, vin)
    lock = _ask(url, vin, "lock")

    async def script(reader, writer):
        sent = [await _read_frame(reader)]
        writer.write(codec12.encode("DOUT1:1", codec12.RESPONSE))
        await writer.drain()
        sent.append(await _read_frame(reader))
        writer.write(codec12.encode("DOUT1:0", codec12.RESPONSE))
        await writer.drain()
        for _ in range(100):
            if _command(url, lock).status == "acknowledged":
                break
            await asyncio.sleep(0.05)
        return sent

    first, second = _run(_tracker(url, script, tracker_texts=texts))
    assert (first, second) == (codec12.encode("setdigout 1"), codec12.encode("setdigout 0"))
    assert [_command(url, c).status for c in (unlock, lock)] == ["acknowledged", "acknowledged"]
