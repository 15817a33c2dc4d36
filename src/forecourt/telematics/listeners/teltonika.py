"""The Teltonika TCP listener: IMEI handshake, Codec 8 / 8 Extended frames, ACK after commit.

A tracker opens a connection, sends its IMEI and waits for 0x01 (known device) or 0x00 (refused).
It then sends AVL frames; the server answers each with the number of records it accepted, as a
4-byte integer, only once they are committed — a tracker that gets no answer, or a smaller count,
sends the same records again, and the message keys store them once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import transaction
from forecourt.telematics import devices
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.decoders import teltonika
from forecourt.telematics.readings import DecodeError, Source

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 300  # trackers send at least every few minutes; idle sockets are closed
MAX_BAD_FRAMES = 5


@dataclass
class ListenerStats:
    connections: int = 0
    refused_devices: int = 0
    frames: int = 0
    records: int = 0
    bad_frames: int = 0


class TeltonikaListener:
    def __init__(self, *, sessions: sessionmaker[Session], after_commit=None):
        self.sessions = sessions
        self.after_commit = after_commit
        self.stats = ListenerStats()

    async def serve(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self.handle, host, port)

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
            await self._frames(reader, writer, imei)
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
            needed = teltonika.frame_length(buffer)
            while needed is None or len(buffer) < needed:
                chunk = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_SECONDS)
                if not chunk:
                    return
                buffer += chunk
                needed = teltonika.frame_length(buffer)
            frame, buffer = buffer[:needed], buffer[needed:]
            self.stats.frames += 1
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
