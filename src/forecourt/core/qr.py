"""QR codes as SVG, for what a person carries from a screen to a phone (a configuration, a server URL)."""

from __future__ import annotations

import io

import segno


def svg(text: str, *, title: str, inline: bool = False) -> str:
    """An SVG QR code of ``text`` (error correction M), black on white with a quiet border.
    ``inline``: for an HTML page rather than an image file (no XML declaration)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="svg", scale=5, border=2, dark="#111",
                                                  light="#fff", title=title, xmldecl=not inline, svgclass="qr")
    return buffer.getvalue().decode("utf-8")
