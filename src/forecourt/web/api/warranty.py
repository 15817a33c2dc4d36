"""JSON routes: warranty."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["warranty"])
