"""Small helpers that turn domain objects into responses shared by API and pages."""

from __future__ import annotations

import json

from fastapi import Response

from forecourt.core.clock import now


def vehicle_with_ownership(vehicle, ownership) -> dict:
    return {"vehicle": vehicle, "owned_since": ownership.started_at, "owned_until": ownership.ended_at}


def export_response(document: dict, customer_id: int) -> Response:
    filename = f"forecourt-my-data-{customer_id}-{now():%Y%m%d}.json"
    return Response(json.dumps(document, indent=2, ensure_ascii=False, default=str),
                    media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
