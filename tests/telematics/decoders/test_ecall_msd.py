"""The eCall minimum set of data (EN 15722), versions 1 to 3: public encodings from an open-source
eCall stack, MSDs of our own written bit by bit (so the modules are checked against X.691, not
against themselves), round trips, non-canonical encodings, and fuzzing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecourt.telematics.decoders import ecall_msd
from forecourt.telematics.readings import DecodeError
from tests.telematics.decoders.msd_bits import VIN_ALPHABET, Msd

FUZZ = settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])

# --- public vectors ---------------------------------------------------------------------------------
# From the Legato Application Framework (github.com/legatoproject/legato-af, Mozilla Public License
# 2.0), whose test sources give each MSD with its decoded values in a comment.

# paQmiECallTest.c, MsdBlob_1: format version 2 carrying the example VIN of EN 15722 (ECALLEXAMPLE02013).
LEGATO_V2 = bytes.fromhex("02251C0680E30A51439E2955D43800800437F80A3105669023F8A71166932185B004150043C040")
# apps/test/modemServices/ecall/ecallIntegrationTest/eCallTest/le_ecallTest.c, the MSD for
# VIN WM9VDSVDSYA123456: format version 1 with additional data.
LEGATO_V1_ADDITIONAL = bytes.fromhex(
    "015C0681D54970D65C3597CA0420C41467F103ADE68AC52E9BB8413F149C07414FB414F60101808" "13E82181823230" "0")
# The same file, the MSD for VIN ASDAJNPR1VABCDEFG: version 1, its additional data cut short.
LEGATO_V1_CUT = bytes.fromhex("014C0780A64D29259760170A2CC34E3D051B184861EBA0C8FF737E6420D104013F8100")


def test_the_standards_example_vin_as_legato_encodes_it_in_version_2():
    msd = ecall_msd.decode(LEGATO_V2)
    assert (msd.version, msd.message_identifier, msd.vin) == (2, 1, "ECALLEXAMPLE02013")
    assert (msd.automatic_activation, msd.test_call, msd.position_can_be_trusted) == (True, False, True)
    assert msd.vehicle_type == "passengerVehicleClassM1" and msd.propulsion == ("gasoline",)
    assert msd.timestamp == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=1367878452)
    assert (msd.latitude, msd.longitude) == (18859320 / 3_600_000, 187996428 / 3_600_000)
    assert msd.direction == 90.0  # 45 two-degree steps
    assert msd.recent_deltas == ((0, 10), (0, 30)) and msd.passengers == 2
    assert msd.recent_positions == ((pytest.approx(msd.latitude), pytest.approx(msd.longitude + 1000 / 3_600_000)),
                                    (pytest.approx(msd.latitude), pytest.approx(msd.longitude + 4000 / 3_600_000)))
    assert msd.additional_data is None and msd.problems == ()


def test_a_version_1_msd_with_additional_data_from_legato():
    msd = ecall_msd.decode(LEGATO_V1_ADDITIONAL)
    assert (msd.version, msd.vin, msd.message_identifier) == (1, "WM9VDSVDSYA123456", 1)
    assert msd.propulsion == ("gasoline", "electric")
    assert msd.timestamp == datetime(1973, 11, 29, 21, 33, 9, tzinfo=UTC)  # 123456789: a clock not set
    assert (msd.latitude, msd.longitude, msd.direction) == (173881200 / 3_600_000, 41822520 / 3_600_000, 28.0)
    assert msd.recent_deltas == ((10, -10), (10, -20)) and msd.passengers == 2
    assert msd.additional_data == {"oid": "1.2.125", "data": b"00FF".hex()}


def test_a_broken_appendix_does_not_cost_the_msd_before_it():
    msd = ecall_msd.decode(LEGATO_V1_CUT)
    assert (msd.vin, msd.test_call, msd.propulsion) == ("ASDAJNPR1VABCDEFG", True,
                                                        ("gasoline", "compressed_natural_gas"))
    assert msd.additional_data is None
    assert msd.problems and "additional data could not be read" in msd.problems[0]


# --- our own, bit by bit ----------------------------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2, 3])
def test_our_own_msds_in_every_version(version):
    sent = Msd(version=version, vehicle_type=14 if version == 3 else 4, propulsion=("diesel", "electric"),
               additional=(bytes([0x81, 0x00, 0x05]), b"\x01\x02"))
    msd = ecall_msd.decode(sent.encoded())
    assert (msd.version, msd.vin, msd.message_identifier) == (version, sent.vin, 1)
    assert msd.vehicle_type == ("trailersCategoryO" if version == 3 else "lightCommercialVehiclesClassN1")
    assert msd.propulsion == ("diesel", "electric")
    assert msd.timestamp == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=sent.timestamp)
    assert (msd.latitude, msd.longitude) == (pytest.approx(48.4812), pytest.approx(11.607))
    assert msd.recent_positions == ((pytest.approx(48.4809222), pytest.approx(11.6075556)),
                                    (pytest.approx(48.4806444), pytest.approx(11.6081111)))
    assert msd.additional_data == {"oid": "128.5", "data": "0102"}
    assert msd.problems == ()


def test_other_storage_and_the_new_vehicle_types_exist_from_their_version_on():
    assert ecall_msd.decode(Msd(version=2, propulsion=("other",)).encoded()).propulsion == ("other",)
    assert ecall_msd.decode(Msd(version=3, vehicle_type=23).encoded()).vehicle_type == "otherVehicleCategory"
    occupants = ecall_msd.decode(Msd(version=3, passengers=5).encoded())
    assert occupants.passengers == 5  # numberOfOccupants in version 3


@pytest.mark.parametrize("version", [1, 2, 3])
def test_default_flags_written_out_and_padding_are_read(version):
    """Non-canonical but valid PER: every DEFAULT FALSE flag present, and octets after the MSD."""
    canonical = Msd(version=version, propulsion=("hydrogen",))
    sloppy = dataclasses.replace(canonical, write_defaults=True, padding=b"\x00\x00")
    assert sloppy.encoded() != canonical.encoded()
    assert ecall_msd.decode(sloppy.encoded()).as_json() | {"raw": None} == \
        ecall_msd.decode(canonical.encoded()).as_json() | {"raw": None}


def test_values_the_standard_marks_unknown_or_impossible():
    unknown = ecall_msd.decode(Msd(latitude_mas=2147483647, longitude_mas=2147483647, direction=255,
                                   passengers=255, timestamp=0).encoded())
    assert (unknown.latitude, unknown.longitude, unknown.direction, unknown.passengers, unknown.timestamp) == \
        (None, None, None, None, None)
    assert unknown.recent_positions == ()
    assert "the car did not know its position (sent as unknown)" in unknown.problems
    assert "the car's clock failed (timestamp 0)" in unknown.problems
    odd = ecall_msd.decode(Msd(latitude_mas=400_000_000, direction=200).encoded())
    assert odd.latitude is None and odd.direction is None
    assert any("not a place on Earth" in p for p in odd.problems)
    assert any("direction 200" in p for p in odd.problems)
    bad_oid = ecall_msd.decode(Msd(additional=(b"\x81", b"")).encoded())
    assert bad_oid.additional_data == {"oid": "81", "data": ""}
    assert "the additional data's object identifier is malformed" in bad_oid.problems


@pytest.mark.parametrize("payload, complaint", [
    (b"", "empty"),
    (b"\x04\x10" + bytes(16), "format version 4 is not one Forecourt reads"),
    (b"\x00", "format version 0"),
    (LEGATO_V2[:20], "could not be decoded"),
    (LEGATO_V2[:1], "could not be decoded"),
    (b"\x02" + bytes(5000), "limit is 4096"),
    ("02251C", "an MSD is bytes"),
])
def test_what_cannot_be_read_is_refused_with_its_reason(payload, complaint):
    with pytest.raises(DecodeError, match=complaint):
        ecall_msd.decode(payload)


# --- round trips and fuzzing ------------------------------------------------------------------------

vins = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)
deltas = st.tuples(st.integers(-512, 511), st.integers(-512, 511))


@st.composite
def msds(draw) -> Msd:
    version = draw(st.sampled_from([1, 2, 3]))
    flags = ["gasoline", "diesel", "compressed_natural_gas", "liquid_propane_gas", "electric", "hydrogen"]
    return Msd(
        version=version, message_identifier=draw(st.integers(0, 255)), automatic=draw(st.booleans()),
        test_call=draw(st.booleans()), trusted=draw(st.booleans()),
        vehicle_type=draw(st.integers(1, 23 if version == 3 else 13)), vin=draw(vins),
        propulsion=tuple(draw(st.lists(st.sampled_from(flags + (["other"] if version > 1 else [])), unique=True))),
        timestamp=draw(st.integers(1, 2**32 - 1)),
        latitude_mas=draw(st.integers(-324_000_000, 324_000_000)),
        longitude_mas=draw(st.integers(-648_000_000, 648_000_000)),
        direction=draw(st.integers(0, 179)), n1=draw(deltas if version == 3 else st.none() | deltas),
        n2=draw(deltas if version == 3 else st.none() | deltas), passengers=draw(st.none() | st.integers(0, 254)),
        additional=draw(st.none() | st.tuples(st.sampled_from([b"\x01", b"\x01\x04\x01", b"\x81\x00"]),
                                              st.binary(max_size=20))),
        write_defaults=draw(st.booleans()))


@FUZZ
@given(msds())
def test_every_msd_we_write_reads_back_and_reencodes_to_the_canonical_bits(sent):
    msd = ecall_msd.decode(sent.encoded())
    assert (msd.version, msd.vin, msd.message_identifier) == (sent.version, sent.vin, sent.message_identifier)
    assert (msd.automatic_activation, msd.test_call, msd.position_can_be_trusted) == \
        (sent.automatic, sent.test_call, sent.trusted)
    assert set(msd.propulsion) == set(sent.propulsion)
    assert msd.latitude == sent.latitude_mas / 3_600_000 and msd.direction == sent.direction * 2
    assert msd.passengers == sent.passengers
    assert msd.recent_deltas == tuple(d for d in (sent.n1, sent.n2) if d is not None)
    spec = ecall_msd.specification(sent.version)
    value = spec.decode("MSDMessage", sent.message())
    canonical = ecall_msd.encode(sent.version, value)
    assert canonical == dataclasses.replace(sent, write_defaults=False).encoded()


valid = [LEGATO_V2, LEGATO_V1_ADDITIONAL, Msd(version=3).encoded()]


@st.composite
def damaged(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(valid)))
    for _ in range(draw(st.integers(1, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[:draw(st.integers(0, len(data)))])


@FUZZ
@given(st.binary(max_size=200) | damaged())
def test_any_bytes_give_an_msd_or_a_clear_decode_error(payload):
    try:
        msd = ecall_msd.decode(payload)
    except DecodeError as error:
        assert str(error) and str(error).isprintable() and len(str(error)) < 400
        return
    assert msd.version in (1, 2, 3) and len(msd.vin) == 17
    assert msd.latitude is None or -90 <= msd.latitude <= 90
    assert msd.direction is None or 0 <= msd.direction <= 358
    msd.as_json()
