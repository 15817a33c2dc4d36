"""The Teltonika TCP listener: IMEI handshake, Codec 8 / 8 Extended frames, ACK after commit.

A tracker opens a connection, sends its IMEI and waits for 0x01 (known device) or 0x00 (refused).
It then sends AVL frames; the server answers each with the number of records it accepted, as a
4-byte integer, only once they are committed — a tracker that gets no answer, or a smaller count,
sends the same records again, and the message keys store them once.

Commands go the other way on the same connection (Codec 12): one poller for the whole listener
asks every ``COMMAND_POLL_SECONDS`` which connected trackers have a command waiting
(``telematics.commands``), writes it, and marks it sent; the tracker's Codec 12 reply is its
answer. Codec 12 carries no id, so a connection has at most one command in flight; a tracker that
is not connected keeps its commands pending until it connects or their deadline passes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import transaction
from forecourt.telematics import commands, devices
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.decoders import codec12, teltonika
from forecourt.telematics.readings import DecodeError, Source

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 300  # trackers send at least every few minutes; idle sockets are closed
MAX_BAD_FRAMES = 5
COMMAND_POLL_SECONDS = 0.5
REPLY_WAIT_SECONDS = 60  # a command unanswered this long no longer holds the next one back


@dataclass
class ListenerStats:
    connections: int = 0
    refused_devices: int = 0
    frames: int = 0
    records: int = 0
    bad_frames: int = 0
    commands_sent: int = 0
    replies: int = 0


@dataclass
class Connection:
    """A connected tracker, as the command poller sees it."""

    writer: asyncio.StreamWriter
    in_flight: int | None = None  # the command whose reply is awaited
    sent_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def free(self) -> bool:
        if self.in_flight is not None and time.monotonic() - self.sent_at > REPLY_WAIT_SECONDS:
            self.in_flight = None  # its deadline has long passed: the schedule reports it
        return self.in_flight is None


class TeltonikaListener:
    def __init__(self, *, sessions: sessionmaker[Session], after_commit=None,
                 command_poll_seconds: float = COMMAND_POLL_SECONDS, tracker_texts: dict[str, str] | None = None):
        self.sessions = sessions
        self.tracker_texts = tracker_texts  # Settings.tracker_commands: what each command is on the wire
        self.after_commit = after_commit
        self.stats = ListenerStats()
        self.connections: dict[str, Connection] = {}
        self.command_poll_seconds = command_poll_seconds
        self._poller: asyncio.Task | None = None

    async def serve(self, host: str, port: int) -> asyncio.Server:
        server = await asyncio.start_server(self.handle, host, port)
        self._poller = asyncio.create_task(self._poll_commands())
        return server

    # --- commands ----------------------------------------------------------------------------------

    def _waiting(self, imeis: list[str]) -> dict[str, tuple[int, str]]:
        with transaction(self.sessions) as session:
            return commands.waiting_for_trackers(session=session, imeis=imeis, tracker_texts=self.tracker_texts)

    def _mark_sent(self, command_id: int) -> None:
        with transaction(self.sessions, write=True) as session:
            commands.mark_sent(session=session, command_id=command_id)

    def _answer(self, imei: str, command_id: int | None, frame: bytes) -> None:
        """The tracker's Codec 12 reply answers the command in flight; anything else is written down."""
        try:
            reply = codec12.decode(frame)
        except DecodeError as error:
            self._reject(imei, str(error), frame)
            return
        if reply.kind != codec12.RESPONSE or command_id is None:
            self._reject(imei, f"Codec 12 {'reply' if reply.kind == codec12.RESPONSE else 'command'} with no "
                               f"command waiting for it: {reply.text[:200]}", frame)
            return
        with transaction(self.sessions, write=True) as session:
            commands.record_answer(session=session, command_id=command_id, device_identifier=imei,
                                   ok=not codec12.refused(reply.text), answer=reply.text)

    async def _poll_commands(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.command_poll_seconds)
            try:
                free = [imei for imei, connection in self.connections.items() if connection.free()]
                if free:
                    waiting = await loop.run_in_executor(None, self._waiting, free)
                    for imei, (command_id, text) in waiting.items():
                        await self._send_command(imei, command_id, text)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away for a moment: the commands wait for the next round
                log.exception("commands for trackers could not be looked up")

    async def _send_command(self, imei: str, command_id: int, text: str) -> None:
        connection = self.connections.get(imei)
        if connection is None or not connection.free():
            return
        async with connection.lock:
            connection.in_flight, connection.sent_at = command_id, time.monotonic()
            try:
                connection.writer.write(codec12.encode(text))
                await connection.writer.drain()
            except (ConnectionError, RuntimeError):
                connection.in_flight = None  # it stays pending for the tracker's next connection
                return
        self.stats.commands_sent += 1
        await asyncio.get_running_loop().run_in_executor(None, self._mark_sent, command_id)

    def _known(self, imei: str) -> bool:
        with transaction(self.sessions, write=True) as session:
            if devices.by_identity(session=session, kind=Source.TRACKER, identifiers={imei}):
                return True
            pipeline.reject(session=session, channel="teltonika", device_id=imei, reason=f"unknown tracker IMEI {imei}")
            return False

    def _reject(self, imei: str | None, reason: str, excerpt: bytes) -> None:
        with transaction(self.sessions, write=True) as session:
            pipeline.reject(session=session, channel="teltonika", device_id=imei, reason=reason, excerpt=excerpt)

    def _store(self, imei: str, packet, frame: bytes) -> int:
        """Commit the records; records that are well framed but carry impossible values are recorded
        as a rejection and still acknowledged, so a tracker does not resend them forever."""
        try:
            readings = teltonika.to_readings(imei, packet)
        except DecodeError as error:
            self._reject(imei, str(error), frame)
            return len(packet.records)
        with transaction(self.sessions, write=True) as session:
            report = pipeline.ingest(session=session, readings=readings, channel="teltonika")
        if self.after_commit is not None and report.vehicle_ids:
            self.after_commit(report.vehicle_ids)
        return len(packet.records)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One tracker connection. Any input problem ends in a rejection row, never in a crash."""
        self.stats.connections += 1
        loop = asyncio.get_running_loop()
        imei: str | None = None
        try:
            head = await asyncio.wait_for(reader.readexactly(2), READ_TIMEOUT_SECONDS)
            length = int.from_bytes(head, "big")
            if not 1 <= length <= 64:
                raise DecodeError(f"IMEI length {length} is not plausible")
            imei = teltonika.read_imei(head + await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_SECONDS))
            if not await loop.run_in_executor(None, self._known, imei):
                self.stats.refused_devices += 1
                writer.write(teltonika.IMEI_REJECT)
                await writer.drain()
                return
            writer.write(teltonika.IMEI_ACCEPT)
            await writer.drain()
            connection = self.connections[imei] = Connection(writer)  # a reconnecting tracker replaces its old one
            try:
                await self._frames(reader, writer, imei)
            finally:
                if self.connections.get(imei) is connection:
                    del self.connections[imei]
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass  # the tracker went away or fell silent; it will reconnect and resend what was not acked
        except DecodeError as error:
            await loop.run_in_executor(None, self._reject, imei, str(error), b"")
        except Exception:
            log.exception("tracker connection %s failed", imei)
        finally:
            writer.close()

    async def _frames(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, imei: str) -> None:
        loop = asyncio.get_running_loop()
        buffer = b""
        bad = 0
        while True:
            needed = codec12.frame_length(buffer)
            while needed is None or len(buffer) < needed:
                chunk = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_SECONDS)
                if not chunk:
                    return
                buffer += chunk
                needed = codec12.frame_length(buffer)
            frame, buffer = buffer[:needed], buffer[needed:]
            self.stats.frames += 1
            if codec12.is_codec12(frame):  # a reply to a command, not records: no record count is sent back
                connection = self.connections.get(imei)
                command_id = connection.in_flight if connection is not None else None
                if connection is not None:
                    connection.in_flight = None
                self.stats.replies += 1
                await loop.run_in_executor(None, self._answer, imei, command_id, frame)
                continue
            try:
                packet = teltonika.decode_frame(frame)
            except DecodeError as error:
                bad += 1
                self.stats.bad_frames += 1
                await loop.run_in_executor(None, self._reject, imei, str(error), frame)
                writer.write(teltonika.ack(0))  # nothing accepted: the tracker sends the records again
                await writer.drain()
                if bad >= MAX_BAD_FRAMES:
                    return
                continue
            bad = 0
            accepted = await loop.run_in_executor(None, self._store, imei, packet, frame)
            self.stats.records += accepted
            writer.write(teltonika.ack(accepted))
            await writer.drain()
