"""Geometry of the NPS trend, drawn as inline SVG by the template (no script: the CSP allows none), and the
CSV writer of the dashboard's table."""

from __future__ import annotations

import csv
import io

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 240, 12, 36, 44


def trend(months: list[dict]) -> dict:
    """NPS per month as a line on −100..100 with a zero line, and the response rate as light columns
    on 0..100 % behind it; a month without answers leaves a gap in the line."""
    plot = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(months), 1)

    def y_nps(value: float) -> float:
        return round(TOP + plot * (100 - value) / 200, 1)

    points, columns, segments, current = [], [], [], []
    for i, month in enumerate(months):
        x = round(LEFT + i * slot + slot / 2, 1)
        rate = month.get("response_rate")
        if rate is not None:
            height = plot * rate / 100
            columns.append({"x": round(x - min(slot / 3, 14), 1), "y": round(TOP + plot - height, 1),
                            "width": round(min(2 * slot / 3, 28), 1), "height": round(height, 1),
                            "month": month["month"], "value": rate})
        if month.get("nps") is None:
            if current:
                segments.append(current)
            current = []
            continue
        point = {"x": x, "y": y_nps(month["nps"]), "value": month["nps"], "month": month["month"],
                 "answered": month["answered"]}
        points.append(point)
        current.append(point)
    if current:
        segments.append(current)
    lines = [" ".join(f"{p['x']},{p['y']}" for p in segment) for segment in segments]
    ticks = [{"value": value, "y": y_nps(value)} for value in (100, 50, 0, -50, -100)]
    labels = [{"text": m["month"][2:], "x": round(LEFT + i * slot + slot / 2, 1)} for i, m in enumerate(months)]
    return {"points": points, "lines": lines, "columns": columns, "ticks": ticks, "labels": labels,
            "width": WIDTH, "height": HEIGHT, "left": LEFT, "zero": y_nps(0), "baseline": TOP + plot}


def csv_text(headers: list[str], rows: list[list]) -> str:
    """Comma-separated with a header row; a cell starting like a formula is quoted as text for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([f"'{cell}" if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell
                         for cell in row])
    return out.getvalue()
