"""Scaling: the same QoS 1 stream drained by 1, 2 and 4 workers in one shared subscription.

Each worker is pinned to one core with ``taskset`` (worker *i* on core *i* mod cores), and every run
is profiled (``scale_profile``): CPU seconds per part of the pipeline and how busy the machine was.
The baseline — one worker on a plain subscription, the embedded default — is measured in the same
run, first. Figures: messages per second for each step, the speed-up and efficiency of each step
(speed-up over the cores the step can use), and per core: messages per CPU second of the whole
pipeline (broker, database, workers, publisher), which is what a core adds when it is ours alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import make_url

from bench import scale, scale_profile, telemetry

GOAL_SPEEDUP, GOAL_MSG_PER_S = 1.8, 20_000  # with 2 workers, against one


def measure(fleet: telemetry.Fleet, broker: str, *, sizes, logs: Path, console: Console) -> dict:
    database = make_url(fleet.url).database
    cores = os.cpu_count() or 1
    figures: dict = {}
    runs = {}
    for name, workers, shared in (("baseline", 1, False), ("1", 1, True), ("2", 2, True), ("4", 4, True)):
        runs[name] = scale_profile.measured(
            lambda meter, workers=workers, shared=shared: scale.ingest_throughput(
                fleet, broker, workers=workers, shared=shared, messages=sizes.messages, logs=logs, meter=meter),
            database=database, messages=sizes.messages)
        profile = runs[name]["profile"]
        console.print(f"{'one worker, plain subscription' if name == 'baseline' else name + ' worker(s), shared'}: "
                      f"{runs[name]['msg_per_s']:,} msg/s; {profile['msg_per_s_per_core']:,} msg per CPU second; "
                      f"machine busy {profile['machine_busy']:.0%}, ours {profile['pipeline_share_of_busy']:.0%}")
    figures["baseline_msg_per_s"] = runs["baseline"]["msg_per_s"]
    for name in ("1", "2", "4"):
        key = f"msg_per_s_{name}_worker" + ("s" if name != "1" else "")
        figures[key] = runs[name]["msg_per_s"]
    one, two, four = figures["msg_per_s_1_worker"], figures["msg_per_s_2_workers"], figures["msg_per_s_4_workers"]
    figures |= {
        "speedup_2_workers": round(two / one, 2),
        "speedup_4_workers": round(four / one, 2),
        "speedup_2_to_4_workers": round(four / two, 2),
        # a step's speed-up over the cores it can use (4 workers share the machine's cores)
        "efficiency_2_workers": round(two / one / min(2, cores), 2),
        "efficiency_4_workers": round(four / one / min(4, cores), 2),
        "msg_per_s_per_core_4_workers": round(four / min(4, cores)),
        "msg_per_s_per_core_2_workers": round(two / min(2, cores)),
    }
    for name, run in runs.items():
        profile = run["profile"]
        suffix = "baseline" if name == "baseline" else f"{name}_worker" + ("s" if name != "1" else "")
        figures[f"msg_per_cpu_second_{suffix}"] = profile["msg_per_s_per_core"]
        figures[f"msg_per_cpu_second_server_side_{suffix}"] = profile["msg_per_s_per_core_server_side"]
        figures[f"machine_busy_{suffix}"] = profile["machine_busy"]
        figures[f"profile_{suffix}"] = profile
    per_core = runs["2"]["profile"]["msg_per_s_per_core_server_side"]
    figures |= {
        # If the two cores were the server side's alone: what two workers would reach at the CPU cost measured.
        "projected_msg_per_s_2_workers_own_cores": per_core * min(2, cores) if per_core else None,
        "meets_speedup_2_workers": figures["speedup_2_workers"] >= GOAL_SPEEDUP,
        "meets_20000_msg_per_s_2_workers": two >= GOAL_MSG_PER_S,
        "limit_2_workers": _limit(runs["2"]["profile"]),
    }
    return figures


def _limit(profile: dict) -> str:
    """Where the two-worker run's time went, in a sentence for the JSON."""
    parts = profile["cpu_seconds_per_1000_msgs"]
    total = sum(parts.values()) or 1
    shares = ", ".join(f"{role} {seconds / total:.0%}" for role, seconds in
                       sorted(parts.items(), key=lambda item: -item[1]))
    busy = profile["machine_busy"] or 0
    cause = "the cores were saturated" if busy >= 0.9 else "the cores were not saturated"
    return (f"{cause} (machine {busy:.0%} busy, {profile['pipeline_share_of_busy']:.0%} of it this pipeline); "
            f"the pipeline's CPU time per message: {shares}")
