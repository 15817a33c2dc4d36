"""JSON routes: advisor."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["advisor"])
