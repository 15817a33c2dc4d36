"""Codec 12 frames against the protocol's published examples, byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.telematics.decoders import codec12, teltonika
from forecourt.telematics.readings import DecodeError

# The Teltonika wiki's Codec 12 examples ("Codec" page, Codec 12 section): the server's "getinfo" command
# and the tracker's reply. Their CRCs agree with CRC-16/IBM computed over the data.
GETINFO_COMMAND = bytes.fromhex("000000000000000F0C010500000007676574696E666F0100004312")
GETINFO_REPLY = bytes.fromhex(
    "00000000000000900C010600000088494E493A323031392F372F323220373A3232205254433A323031392F372F32322037"
    "3A3533205253543A32204552523A312053523A302042523A302043463A302046473A3020464C3A302054553A302F3020"
    "55543A3020534D533A30204E4F4750533A303A3330204750533A31205341543A302052533A332052463A36352053463A"
    "31204D443A30010000C78F")
REPLY_TEXT = ("INI:2019/7/22 7:22 RTC:2019/7/22 7:53 RST:2 ERR:1 SR:0 BR:0 CF:0 FG:0 FL:0 TU:0/0 UT:0 SMS:0 "
              "NOGPS:0:30 GPS:1 SAT:0 RS:3 RF:65 SF:1 MD:0")


def test_the_getinfo_command_is_encoded_byte_for_byte():
    assert codec12.encode("getinfo") == GETINFO_COMMAND
    assert codec12.decode(GETINFO_COMMAND) == codec12.Message(codec12.COMMAND, "getinfo")


def test_the_getinfo_reply_is_decoded_and_reencoded_byte_for_byte():
    reply = codec12.decode(GETINFO_REPLY)
    assert reply == codec12.Message(codec12.RESPONSE, REPLY_TEXT)
    assert codec12.encode(REPLY_TEXT, codec12.RESPONSE) == GETINFO_REPLY
    assert not codec12.refused(reply.text)


def test_a_stream_of_avl_frames_and_replies_is_cut_at_the_right_places():
    avl = bytes.fromhex("000000000000002808010000016B40D9AD80010000000000000000000000000000000103021503010101425E100000010000F22A")
    stream = GETINFO_REPLY + avl
    assert codec12.frame_length(stream[:8]) is None  # the codec id decides
    assert codec12.frame_length(stream) == len(GETINFO_REPLY)
    assert codec12.frame_length(avl) == teltonika.frame_length(avl) == len(avl)
    assert codec12.is_codec12(GETINFO_REPLY) and not codec12.is_codec12(avl)


@pytest.mark.parametrize("damage, says", [
    (lambda f: f[:-1] + bytes([f[-1] ^ 1]), "CRC"),
    (lambda f: b"\x01" + f[1:], "four zero bytes"),
    (lambda f: f[:4] + (int.from_bytes(f[4:8], "big") + 1).to_bytes(4, "big") + f[8:], "data bytes"),
    (lambda f: f[:10] + b"\x07" + f[11:], "CRC"),
])
def test_every_broken_frame_says_what_is_wrong(damage, says):
    with pytest.raises(DecodeError, match=says):
        codec12.decode(damage(GETINFO_COMMAND))


def test_a_frame_with_a_wrong_type_or_quantity_is_refused_even_with_a_right_crc():
    def framed(data: bytes) -> bytes:
        return b"\x00" * 4 + len(data).to_bytes(4, "big") + data + teltonika.crc16_ibm(data).to_bytes(4, "big")

    with pytest.raises(DecodeError, match="type 0x07"):
        codec12.decode(framed(bytes([0x0C, 1, 7]) + (2).to_bytes(4, "big") + b"hi\x01"))
    with pytest.raises(DecodeError, match="quantities"):
        codec12.decode(framed(bytes([0x0C, 2, 5]) + (2).to_bytes(4, "big") + b"hi\x02"))
    with pytest.raises(DecodeError, match="text size"):
        codec12.decode(framed(bytes([0x0C, 1, 5]) + (9).to_bytes(4, "big") + b"hi\x01"))


def test_replies_that_say_no_are_refusals():
    assert codec12.refused("Error: invalid parameter") and codec12.refused("Command not supported")
    assert not codec12.refused("DOUT1:1 Timeout:2 DOUT2:IGNORED")


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=300))
def test_any_text_survives_the_round_trip(text):
    assert codec12.decode(codec12.encode(text)).text == text


@given(st.binary(max_size=200))
def test_garbage_is_refused_never_crashes(data):
    try:
        codec12.decode(data)
    except DecodeError:
        pass
