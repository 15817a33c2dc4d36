"""Pages: On Call — on_call."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["pages"])
