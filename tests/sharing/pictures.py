"""Real pictures for the photo tests, made with Pillow: a JPEG with the phone's GPS in its EXIF, a PNG, a WebP."""

from __future__ import annotations

import io

from PIL import Image


def jpeg(width: int = 640, height: int = 480, colour=(200, 40, 40), gps: bool = True) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (53.0, 33.0, 0.0), 3: "E", 4: (9.0, 59.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 320, height: int = 200) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 120, 200, 255)).save(out, "PNG")
    return out.getvalue()


def webp(width: int = 300, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 160, 60)).save(out, "WEBP")
    return out.getvalue()
