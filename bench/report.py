"""Figures: percentiles, the machine they were measured on, the JSON file and the printed table."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table
from sqlalchemy import text

from forecourt.core.db import get_engine

TARGET_P95_MS = 25.0
VARIANTS = ("json", "html", "html_ko", "baseline")
KOREAN_BUDGET = 1.10  # the Korean page within 10 % of the English one (median, same run)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of all values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(name: str, values: list[float]) -> dict:
    if not values:
        return {f"{name}_p50_ms": None, f"{name}_p95_ms": None, f"{name}_mean_ms": None, f"{name}_n": 0}
    return {f"{name}_p50_ms": round(percentile(values, 0.50), 2),
            f"{name}_p95_ms": round(percentile(values, 0.95), 2),
            f"{name}_mean_ms": round(sum(values) / len(values), 2), f"{name}_n": len(values)}


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(postgresql_url: str | None = None) -> dict:
    info = {"platform": platform.platform(), "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
            "memory_gb": _memory_gb(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    if postgresql_url:
        try:
            with get_engine(postgresql_url).connect() as conn:
                info["postgresql"] = conn.scalar(text("SHOW server_version"))
        except Exception:  # the figures are still worth writing without the version
            info["postgresql"] = None
    return info


def verdict(figures: dict) -> dict:
    p95s = [figures.get(f"{v}_p95_ms") for v in ("json", "html") if figures.get(f"{v}_p95_ms") is not None]
    ratio = figures.get("korean_vs_english")
    return {"target_p95_ms": TARGET_P95_MS, "meets_target": bool(p95s) and max(p95s) < TARGET_P95_MS,
            "korean_budget": KOREAN_BUDGET, "korean_within_budget": None if ratio is None else ratio <= KOREAN_BUDGET}


def write(path: Path, document: dict) -> None:
    """Written whole then renamed, so an interrupted run never leaves half a file for review."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    scratch.replace(path)


def document(results: dict[str, dict], *, requests: int, warmup: int, machine_info: dict) -> dict:
    return {"benchmark": "customer360", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "requests_per_variant": requests, "warmup_rounds": warmup, "target_p95_ms": TARGET_P95_MS,
            **results, "machine": machine_info}


def table(results: dict[str, dict]) -> Table:
    out = Table(title=f"Customer 360 latency in ms (target: p95 < {TARGET_P95_MS:g} ms)", title_justify="left")
    for column in ("engine", "customers", "variant", "p50", "p95", "mean", "n"):
        out.add_column(column, justify="right" if column not in ("engine", "variant") else "left")
    for engine, figures in results.items():
        for variant in VARIANTS:
            p95 = figures.get(f"{variant}_p95_ms")
            if p95 is None:
                out.add_row(engine, f"{figures['customers']:,}", variant, "—", "—", "—", "0")
                continue
            style = "" if variant == "baseline" else ("green" if p95 < TARGET_P95_MS else "red")
            out.add_row(engine, f"{figures['customers']:,}", variant, f"{figures[f'{variant}_p50_ms']:.2f}",
                        f"[{style}]{p95:.2f}[/{style}]" if style else f"{p95:.2f}",
                        f"{figures[f'{variant}_mean_ms']:.2f}", str(figures[f"{variant}_n"]))
    return out
