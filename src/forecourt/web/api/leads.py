"""JSON routes: sales — leads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["sales: leads"])
