"""JSON routes: On Call — dispatch."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["on call: dispatch"])
