"""Geometry of the pipeline's charts, drawn as inline SVG by the templates (no script: the CSP allows none)."""

from __future__ import annotations

from forecourt.core.i18n import lazy_gettext

FUNNEL_WIDTH, FUNNEL_ROW = 560, 34
TREND_WIDTH, TREND_HEIGHT, TREND_TOP, TREND_BOTTOM, TREND_LEFT = 720, 240, 12, 36, 44
SERIES = (("new", lazy_gettext("Started")), ("won", lazy_gettext("Won")), ("lost", lazy_gettext("Lost")))


def funnel(steps: list[dict]) -> dict:
    """Centred bars, as wide as the share of deals that reached the stage."""
    widest = max((s["reached"] for s in steps), default=0) or 1
    first = steps[0]["reached"] if steps else 0
    bars = []
    for i, step in enumerate(steps):
        width = max(FUNNEL_WIDTH * 0.62 * step["reached"] / widest, 2)
        bars.append({"name": step["name"], "code": step["code"], "reached": step["reached"],
                     "share": round(100 * step["reached"] / first) if first else 0,
                     "x": round(130 + (FUNNEL_WIDTH * 0.62 - width) / 2, 1), "y": i * FUNNEL_ROW,
                     "width": round(width, 1)})
    return {"bars": bars, "width": FUNNEL_WIDTH + 40, "height": max(len(steps) * FUNNEL_ROW, FUNNEL_ROW),
            "row": FUNNEL_ROW - 8}


def _nice_ceiling(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


def trend(months: list[dict]) -> dict:
    """Three columns a month (started, won, lost) on one scale, with gridlines at quarters of the top."""
    top = _nice_ceiling(max((m[key] for m in months for key, _ in SERIES), default=0))
    plot_height = TREND_HEIGHT - TREND_TOP - TREND_BOTTOM
    slot = (TREND_WIDTH - TREND_LEFT) / max(len(months), 1)
    bar = max(min(slot / 4, 16), 2)
    columns = []
    for i, month in enumerate(months):
        left = TREND_LEFT + i * slot + (slot - 3 * bar) / 2
        for j, (key, label) in enumerate(SERIES):
            height = plot_height * month[key] / top
            columns.append({"series": key, "label": label, "month": month["month"], "value": month[key],
                            "x": round(left + j * bar, 1), "y": round(TREND_TOP + plot_height - height, 1),
                            "width": round(bar - 1, 1), "height": round(height, 1)})
    ticks = [{"value": round(top * k / 4), "y": round(TREND_TOP + plot_height * (1 - k / 4), 1)} for k in range(5)]
    labels = [{"text": m["month"][2:], "x": round(TREND_LEFT + i * slot + slot / 2, 1)} for i, m in enumerate(months)]
    return {"columns": columns, "ticks": ticks, "labels": labels, "width": TREND_WIDTH, "height": TREND_HEIGHT,
            "left": TREND_LEFT, "baseline": TREND_TOP + plot_height, "series": SERIES}
