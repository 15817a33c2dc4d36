"""Geometry of the insights page's charts: horizontal bars (one or two a row) and monthly columns, drawn as
inline SVG by the template like the pipeline's own charts (``pipeline_charts``; the CSP allows no script)."""

from __future__ import annotations

from forecourt.web.views.pipeline_charts import _nice_ceiling

WIDTH, LABEL, ROW, BAR = 640, 190, 30, 11
MONTH_WIDTH, MONTH_HEIGHT, MONTH_TOP, MONTH_BOTTOM, MONTH_LEFT = 720, 220, 12, 36, 44


def bars(rows: list[dict], keys: tuple[str, ...], *, label: str = "label", top: float | None = None) -> dict:
    """One row per item, one bar per key (a share 0–1 when ``top`` is 1, else a count), on one scale."""
    values = [float(row.get(key) or 0) for row in rows for key in keys]
    scale = top if top is not None else float(_nice_ceiling(int(max(values, default=0))))
    room = WIDTH - LABEL - 70
    height = BAR * len(keys) + 2 * (len(keys) - 1)
    out = []
    for i, row in enumerate(rows):
        y = i * ROW
        parts = []
        for j, key in enumerate(keys):
            value = row.get(key)
            parts.append({"key": key, "value": value, "x": LABEL, "y": y + j * (BAR + 2),
                          "width": round(max(room * float(value or 0) / (scale or 1), 1 if value else 0), 1)})
        out.append({"label": row.get(label) or "—", "y": y, "text_y": y + height / 2 + 4, "parts": parts})
    return {"rows": out, "width": WIDTH, "height": max(len(rows) * ROW, ROW), "bar": BAR, "label_width": LABEL,
            "value_x": WIDTH - 4}


def months(rows: list[dict]) -> dict:
    """Two columns a month, leads and those that became deals, with gridlines at quarters of the top."""
    top = _nice_ceiling(max((r["leads"] for r in rows), default=0))
    plot = MONTH_HEIGHT - MONTH_TOP - MONTH_BOTTOM
    slot = (MONTH_WIDTH - MONTH_LEFT) / max(len(rows), 1)
    bar = max(min(slot / 3, 18), 2)
    columns = []
    for i, row in enumerate(rows):
        left = MONTH_LEFT + i * slot + (slot - 2 * bar) / 2
        for j, key in enumerate(("leads", "converted")):
            height = plot * row[key] / top
            columns.append({"series": key, "month": row["key"], "value": row[key], "x": round(left + j * bar, 1),
                            "y": round(MONTH_TOP + plot - height, 1), "width": round(bar - 1, 1),
                            "height": round(height, 1)})
    ticks = [{"value": round(top * k / 4), "y": round(MONTH_TOP + plot * (1 - k / 4), 1)} for k in range(5)]
    labels = [{"text": r["key"][2:], "x": round(MONTH_LEFT + i * slot + slot / 2, 1)} for i, r in enumerate(rows)]
    return {"columns": columns, "ticks": ticks, "labels": labels, "width": MONTH_WIDTH, "height": MONTH_HEIGHT,
            "left": MONTH_LEFT, "baseline": MONTH_TOP + plot}
