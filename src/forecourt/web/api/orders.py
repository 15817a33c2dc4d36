"""JSON routes: sales — orders."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["sales: orders"])
