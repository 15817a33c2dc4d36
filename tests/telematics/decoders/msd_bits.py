"""The eCall MSD written bit by bit, following X.691 (unaligned PER) by hand, independently of
asn1tools: if the modules in ``telematics/decoders/msd`` drift from the standard's layout, the
decoder stops reading these. ``write_defaults`` writes every DEFAULT FALSE propulsion flag out, as
some in-vehicle systems do (allowed in basic PER, never produced by a canonical encoder)."""

from __future__ import annotations

from dataclasses import dataclass, field

VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # PrintableString FROM (...), in character order
FLAGS = ("gasoline", "diesel", "compressed_natural_gas", "liquid_propane_gas", "electric", "hydrogen", "other")


@dataclass
class Msd:
    version: int = 2
    message_identifier: int = 1
    automatic: bool = True
    test_call: bool = False
    trusted: bool = True
    vehicle_type: int = 1  # 1 = M1
    vin: str = "WFC1A2B30RA000001"
    propulsion: tuple[str, ...] = ("gasoline",)
    timestamp: int = 1_795_000_000
    latitude_mas: int = 174_532_320  # 48.48120° N
    longitude_mas: int = 41_785_200  # 11.60700° E
    direction: int = 45  # 90°
    n1: tuple[int, int] | None = (-10, 20)
    n2: tuple[int, int] | None = (-10, 20)
    passengers: int | None = 2
    additional: tuple[bytes, bytes] | None = None  # (relative OID octets, data)
    write_defaults: bool = False
    padding: bytes = b""  # octets after the MSD, inside its length (a sloppy encoder's)
    bits: list[int] = field(default_factory=list)

    def put(self, value: int, width: int) -> None:
        self.bits.extend((value >> (width - 1 - index)) & 1 for index in range(width))

    def octets(self, data: bytes) -> None:
        self.put(len(data), 8)  # a length determinant below 128
        for byte in data:
            self.put(byte, 8)

    def message(self) -> bytes:
        self.bits = []
        self.put(0, 1)  # MSDMessage: no extension
        self.put(self.additional is not None, 1)
        self.put(0, 1)  # MSDStructure: no extension
        optional_deltas = self.version < 3
        if optional_deltas:
            self.put(self.n1 is not None, 1)
            self.put(self.n2 is not None, 1)
        self.put(self.passengers is not None, 1)
        self.put(self.message_identifier, 8)
        self.put(self.automatic, 1)
        self.put(self.test_call, 1)
        self.put(self.trusted, 1)
        self.put(0, 1)  # VehicleType: a root value
        self.put(self.vehicle_type - 1, 5 if self.version == 3 else 4)
        for char in self.vin:
            self.put(VIN_ALPHABET.index(char), 6)
        flags = FLAGS if self.version > 1 else FLAGS[:6]
        self.put(0, 1)  # VehiclePropulsionStorageType: no extension
        written = [self.write_defaults or name in self.propulsion for name in flags]
        for present in written:
            self.put(present, 1)
        for name, present in zip(flags, written, strict=True):
            if present:
                self.put(name in self.propulsion, 1)
        self.put(self.timestamp, 32)
        self.put(self.latitude_mas + 2**31, 32)
        self.put(self.longitude_mas + 2**31, 32)
        self.put(self.direction, 8)
        for delta in (self.n1, self.n2):
            if delta is not None:
                self.put(delta[0] + 512, 10)
                self.put(delta[1] + 512, 10)
        if self.passengers is not None:
            self.put(self.passengers, 8)
        if self.additional is not None:
            self.octets(self.additional[0])
            self.octets(self.additional[1])
        while len(self.bits) % 8:
            self.bits.append(0)
        data = bytes(int("".join(map(str, self.bits[index:index + 8])), 2) for index in range(0, len(self.bits), 8))
        return data + self.padding

    def encoded(self) -> bytes:
        inner = self.message()
        if self.version == 1:
            return bytes([1]) + inner
        return bytes([self.version, len(inner)]) + inner
