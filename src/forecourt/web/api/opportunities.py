"""JSON routes: sales — opportunities."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["sales: opportunities"])
