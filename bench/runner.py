"""Customer 360 latency and telemetry ingest throughput on SQLite and PostgreSQL (``make bench``).

``customer360`` builds (once, then reuses) a network of 100,000 customers per engine, times the
JSON API, the HTML page and a raw-SQL baseline and writes ``bench/results/customer360.json``.
``telemetry`` builds a fresh fleet per engine, measures MQTT QoS 1 ingest against a bare
subscriber, the HTTP batch endpoint and Teltonika TCP, and writes ``bench/results/telemetry.json``.
``pipeline`` builds a fresh database per engine with a million deals and times the pipeline
dashboards; it writes ``bench/results/pipeline.json``. ``oncall`` times a crash alert through MQTT to
the case on the agent's console (server-sent events) while the telemetry load runs, and writes
``bench/results/oncall.json``. ``workday`` has six personas use the product as ``make run`` serves it,
alone and while 200 cars report once a second, and writes ``bench/results/workday.json``
(``FORECOURT_BENCH_WORKDAY_SECONDS`` shortens its phases). ``sharing`` times car sharing's map search
with 500 hubs and 20,000 cars against a raw-SQL baseline and writes ``bench/results/sharing.json``.
``engagement`` composes one occasion's messages across many drivers against a plain SQL pass.
``scale`` drains one stream with 1, 2 and 4 ingest workers sharing a subscription (with where the
cores went), kills one of two workers in a 100,000-message stream, ingests on the first and the last
day of a month of history, counts the database load of open consoles polling and pushed, and times
retention by partition drop and by row delete (PostgreSQL); it writes ``bench/results/scaling.json``. ``--only`` runs one of them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import customer360, datasets, engagement, oncall, pipeline, report, scale, sharing, telemetry, workday

RESULTS = Path(__file__).resolve().parent / "results" / "customer360.json"
TELEMETRY_RESULTS = Path(__file__).resolve().parent / "results" / "telemetry.json"
BENCHMARKS = ("customer360", "telemetry", "pipeline", "oncall", "workday", "sharing", "engagement", "scale")


def run(*, prepared: list[datasets.Dataset], requests: int, warmup: int, output: Path | None,
        console: Console) -> dict:
    """Measures every prepared network, prints the table, writes the document and returns it."""
    results: dict[str, dict] = {}
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        for dataset in prepared:
            # Other work on a shared machine moves the tail; the load says how much there was.
            load_before = [round(x, 2) for x in os.getloadavg()]
            figures = customer360.measure(dataset.settings, requests=requests, warmup=warmup, progress=progress,
                                          label=dataset.engine)
            results[dataset.engine] = {**figures, **report.verdict(figures),
                                       "network_built_seconds": dataset.built_seconds,
                                       "load_average_before": load_before,
                                       "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    pg_url = next((d.url for d in prepared if d.engine == "postgresql"), None)
    document = report.document(results, requests=requests, warmup=warmup, machine_info=report.machine(pg_url))
    console.print(report.table(results))
    if output is not None:
        report.write(output, document)
        console.print(f"Written to {output}")
    return document


def _scale_parts(parser, value: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(set(parts) - set(scale.PARTS))
    if unknown or not parts:
        parser.error(f"--scale-parts: choose from {', '.join(scale.PARTS)} (got {value!r})")
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--customers", type=int, default=100_000, help="network size (default 100,000)")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per variant (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed rounds first (default 50)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached networks")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file (default {RESULTS})")
    parser.add_argument("--only", choices=BENCHMARKS, help="run one benchmark (default: all)")
    telemetry_sizes = telemetry.Sizes()
    group = parser.add_argument_group("telemetry")
    group.add_argument("--messages", type=int, default=telemetry_sizes.messages,
                       help=f"MQTT messages per variant (default {telemetry_sizes.messages:,})")
    group.add_argument("--cars", type=int, default=telemetry_sizes.cars,
                       help=f"simulated cars (default {telemetry_sizes.cars:,})")
    group.add_argument("--http-requests", type=int, default=telemetry_sizes.http_requests,
                       help=f"timed HTTP batch requests (default {telemetry_sizes.http_requests})")
    group.add_argument("--tracker-frames", type=int, default=telemetry_sizes.tracker_frames,
                       help=f"Codec 8 frames per tracker connection (default {telemetry_sizes.tracker_frames})")
    group.add_argument("--telemetry-output", type=Path, default=TELEMETRY_RESULTS,
                       help=f"JSON file (default {TELEMETRY_RESULTS})")
    group = parser.add_argument_group("pipeline")
    group.add_argument("--opportunities", type=int, default=1_000_000,
                       help="deals loaded per engine (default 1,000,000)")
    group.add_argument("--pipeline-repeats", type=int, default=5, help="timed calls per dashboard (default 5)")
    group.add_argument("--pipeline-output", type=Path, default=pipeline.RESULTS,
                       help=f"JSON file (default {pipeline.RESULTS})")
    group.add_argument("--pipeline-keep", action="store_true",
                       help="keep each engine's database after measuring (to measure again with --pipeline-reuse)")
    group.add_argument("--pipeline-page-only", action="store_true",
                       help="time only the carmaker's whole network page and its raw-SQL baseline")
    group.add_argument("--pipeline-reuse", action="store_true",
                       help="measure a kept database holding at least --opportunities deals instead of building one")
    oncall_sizes = oncall.Sizes()
    group = parser.add_argument_group("oncall")
    group.add_argument("--alerts", type=int, default=oncall_sizes.alerts,
                       help=f"timed crash alerts per engine (default {oncall_sizes.alerts})")
    group.add_argument("--background-msg-per-s", type=int, default=oncall_sizes.background_msg_per_s,
                       help=f"telemetry load while alerts are timed (default {oncall_sizes.background_msg_per_s:,})")
    group.add_argument("--oncall-output", type=Path, default=oncall.RESULTS,
                       help=f"JSON file (default {oncall.RESULTS})")
    workday_sizes = workday.Sizes()
    group = parser.add_argument_group("workday")
    group.add_argument("--workday-seconds", type=float, default=workday_sizes.seconds,
                       help=f"seconds per phase (default {workday_sizes.seconds:g}, "
                            "or FORECOURT_BENCH_WORKDAY_SECONDS)")
    group.add_argument("--workday-cars", type=int, default=workday_sizes.cars,
                       help=f"cars driving, each reporting once a second (default {workday_sizes.cars})")
    group.add_argument("--workday-output", type=Path, default=workday.RESULTS,
                       help=f"JSON file (default {workday.RESULTS})")
    group = parser.add_argument_group("sharing")
    group.add_argument("--hubs", type=int, default=500, help="car-sharing hubs (default 500)")
    group.add_argument("--shared-cars", type=int, default=20_000, help="shared cars (default 20,000)")
    group.add_argument("--sharing-requests", type=int, default=500, help="timed searches (default 500)")
    group.add_argument("--sharing-output", type=Path, default=sharing.RESULTS,
                       help=f"JSON file (default {sharing.RESULTS})")
    group = parser.add_argument_group("engagement")
    group.add_argument("--drivers", type=int, default=engagement.DRIVERS,
                       help=f"drivers with an occasion (default {engagement.DRIVERS:,}, "
                            "or FORECOURT_BENCH_ENGAGEMENT_DRIVERS)")
    group.add_argument("--engagement-output", type=Path, default=engagement.RESULTS,
                       help=f"JSON file (default {engagement.RESULTS})")
    scale_sizes = scale.Sizes()
    group = parser.add_argument_group("scale (PostgreSQL)")
    group.add_argument("--scale-messages", type=int, default=scale_sizes.messages,
                       help=f"MQTT messages per worker count (default {scale_sizes.messages:,})")
    group.add_argument("--scale-cars", type=int, default=scale_sizes.cars,
                       help=f"cars sending the scaling stream (default {scale_sizes.cars:,})")
    group.add_argument("--scale-consoles", type=int, default=scale_sizes.consoles,
                       help=f"open console streams (default {scale_sizes.consoles})")
    group.add_argument("--scale-retention-rows", type=int, default=scale_sizes.retention_rows,
                       help=f"positions in the month dropped or deleted (default {scale_sizes.retention_rows:,})")
    group.add_argument("--scale-fault-messages", type=int, default=scale_sizes.fault_messages,
                       help=f"QoS 1 messages in the stream a worker is killed in (default {scale_sizes.fault_messages:,})")
    group.add_argument("--scale-longlife-cars", type=int, default=scale_sizes.longlife_cars,
                       help=f"cars of the 30-day fleet, one message every 10 s (default {scale_sizes.longlife_cars:,}; "
                            "the goal's fleet is 10,000)")
    group.add_argument("--scale-longlife-days", type=int, default=scale_sizes.longlife_days,
                       help=f"days of history (default {scale_sizes.longlife_days})")
    group.add_argument("--scale-output", type=Path, default=scale.RESULTS, help=f"JSON file (default {scale.RESULTS})")
    group.add_argument("--scale-parts", default=",".join(scale.PARTS),
                       help=f"which parts, comma-separated (default all: {','.join(scale.PARTS)}); measuring some "
                            "replaces only their figures in the JSON file")
    args = parser.parse_args(argv)
    scale_parts = _scale_parts(parser, args.scale_parts)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    console = Console()
    if args.only in (None, "customer360"):
        prepared = [datasets.ensure(engine, args.customers, console=console, rebuild=args.rebuild)
                    for engine in engines]
        document = run(prepared=prepared, requests=args.requests, warmup=args.warmup, output=args.output,
                       console=console)
        missed = [e for e in engines if not document[e]["meets_target"]]
        if missed:
            console.print(f"[red]p95 above {report.TARGET_P95_MS:g} ms on {', '.join(missed)}[/red]")
        for engine in engines:
            ratio = document[engine].get("korean_vs_english")
            if ratio is not None:
                colour = "green" if ratio <= report.KOREAN_BUDGET else "red"
                console.print(f"[{colour}]{engine}: the customer 360 in Korean takes {ratio:.0%} of English "
                              f"(budget {report.KOREAN_BUDGET:.0%})[/{colour}]")
    if args.only in (None, "telemetry"):
        sizes = telemetry.Sizes(messages=args.messages, cars=args.cars, http_requests=args.http_requests,
                                tracker_frames=args.tracker_frames)
        document = telemetry.run(engines=engines, sizes=sizes, output=args.telemetry_output, console=console)
        for engine in engines:
            figures = document[engine]
            if not figures["meets_msg_per_s_target"]:
                console.print(f"[red]{engine}: MQTT ingest below {telemetry.TARGET_MSG_PER_S:,} msg/s[/red]")
            if not figures["meets_ratio_target"]:
                console.print(f"[red]{engine}: MQTT ingest at {figures['ratio_to_baseline']:.0%} of the baseline, "
                              f"below {telemetry.TARGET_RATIO:.0%}[/red]")
    if args.only == "pipeline" and args.pipeline_page_only:
        pipeline.run_page(engines=engines, opportunities=args.opportunities, repeats=args.pipeline_repeats,
                          output=args.pipeline_output, console=console, reuse=args.pipeline_reuse)
    elif args.only in (None, "pipeline"):
        document = pipeline.run(engines=engines, opportunities=args.opportunities, repeats=args.pipeline_repeats,
                                output=args.pipeline_output, console=console, keep=args.pipeline_keep,
                                reuse=args.pipeline_reuse)
        missed = [e for e in engines if not document["meets_target"][e]]
        if missed:
            console.print(f"[red]A pipeline dashboard took {pipeline.TARGET_SECONDS:g} s or more on "
                          f"{', '.join(missed)}[/red]")
        slow = [e for e in engines if not document["network_page_meets_target"][e]]
        if slow:
            console.print(f"[red]The network pipeline page took {pipeline.PAGE_TARGET_SECONDS:g} s or more on "
                          f"{', '.join(slow)}[/red]")
    if args.only in (None, "oncall"):
        sizes = oncall.Sizes(alerts=args.alerts, background_msg_per_s=args.background_msg_per_s)
        document = oncall.run(engines=engines, sizes=sizes, output=args.oncall_output, console=console)
        missed = [e for e in engines if not document[e]["meets_target"]]
        if missed:
            console.print(f"[red]Alert → console p99 not below {oncall.TARGET_P99_MS:g} ms on "
                          f"{', '.join(missed)}[/red]")
    if args.only in (None, "workday"):
        sizes = workday.Sizes(seconds=args.workday_seconds, cars=args.workday_cars, rate=float(args.workday_cars))
        document = workday.run(engines=engines, sizes=sizes, output=args.workday_output, console=console)
        for engine in engines:
            figures = document[engine]
            if not figures["no_failed_requests"]:
                console.print(f"[red]{engine}: {figures['with_telemetry']['failed']} failed requests with "
                              f"telemetry, {figures['baseline']['failed']} without[/red]")
            if not (figures["meets_p95_target"] and figures["meets_ratio_target"]):
                console.print(f"[yellow]{engine}: a request type above {workday.TARGET_P95_MS:g} ms p95 or "
                              f"{workday.TARGET_RATIO:g}× its baseline[/yellow]")
    if args.only in (None, "sharing"):
        document = sharing.run(engines=engines, hubs_count=args.hubs, cars=args.shared_cars,
                               requests=args.sharing_requests, warmup=50, output=args.sharing_output,
                               console=console)
        missed = [e for e in engines if not document["meets_target"][e]]
        if missed:
            console.print(f"[red]Car sharing map search p95 not below {sharing.TARGET_P95_MS:g} ms on "
                          f"{', '.join(missed)}[/red]")
    if args.only in (None, "engagement"):
        document = engagement.run(engines=engines, drivers=args.drivers, output=args.engagement_output,
                                  console=console)
        missed = [e for e in engines if not document[e]["meets_target"]]
        if missed:
            console.print(f"[red]Composing for {args.drivers:,} drivers took {engagement.TARGET_SECONDS:g} s or "
                          f"more on {', '.join(missed)}[/red]")
    if args.only in (None, "scale") and "postgresql" in engines:
        scale.run(sizes=scale.Sizes(messages=args.scale_messages, cars=args.scale_cars, consoles=args.scale_consoles,
                                    retention_rows=args.scale_retention_rows,
                                    fault_messages=args.scale_fault_messages, longlife_cars=args.scale_longlife_cars,
                                    longlife_days=args.scale_longlife_days),
                  output=args.scale_output, console=console, parts=scale_parts)
    return 0
