"""Addresses on this site that a person types or scans, built from the address they reached it by."""

from __future__ import annotations

from fastapi import Request

from forecourt.sales import configurator


def page_url(request: Request, code: str) -> str:
    """A saved configuration's page (``/c/<code>``), for its QR code and to share."""
    return f"{str(request.base_url).rstrip('/')}/c/{configurator.display_code(code)}"


def phone_server_url(request: Request, token: str) -> str:
    """What the owner types (or scans) into the app's server field: this site, as the owner reached it."""
    return f"{str(request.base_url).rstrip('/')}/osmand/{token}"
