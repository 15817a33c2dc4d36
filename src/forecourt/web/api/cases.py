"""JSON routes: On Call — cases."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["on call: cases"])
