"""``python -m bench WORKLOAD --db sqlite|postgres --scale ci|full [--json]``.

Exit status: 0 when the workload ran and its checks held, 1 when a check failed (for
``audit``: the chain did not verify) or the run broke, 2 for a usage error (unknown
workload, a bench database URL the harness refuses to touch).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench import workloads
from bench.harness import (
    BACKENDS,
    HIDDEN_SCALES,
    SCALES,
    BenchContext,
    BenchError,
    WorkloadResult,
    environment,
    fresh_database,
    postgres_url,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="lotline benchmarks: each run starts from an empty, freshly migrated database.",
    )
    parser.add_argument("workload", nargs="?", help=f"one of: {', '.join(workloads.names())}")
    parser.add_argument("--db", choices=BACKENDS, default="sqlite", help="database backend (default: sqlite)")
    parser.add_argument(
        "--scale",
        choices=SCALES + HIDDEN_SCALES,
        default="ci",
        metavar="{" + ",".join(SCALES) + "}",
        help="dataset size: ci runs in seconds, full is the issue's acceptance size (default: ci)",
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    return parser


def _table(document: dict[str, object]) -> Table:
    table = Table(title=f"bench {document['workload']} — {document['db']}, scale {document['scale']}")
    table.add_column("", style="dim")
    table.add_column("name")
    table.add_column("value", justify="right")
    for section in ("metrics", "dataset", "environment"):
        values = document.get(section)
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            shown = (
                f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
            )
            table.add_row(section, escape(str(name)), escape(shown))
        table.add_section()
    return table


def _document(
    args: argparse.Namespace,
    result: WorkloadResult,
    env: dict[str, object],
    started: datetime,
    elapsed_s: float,
) -> dict[str, object]:
    return {
        "workload": args.workload,
        "db": args.db,
        "scale": args.scale,
        "dataset": result.dataset,
        "metrics": result.metrics,
        "ok": not result.failures,
        "failures": result.failures,
        "environment": env,
        "started_at": started.isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    errors = Console(stderr=True, log_path=False)
    if args.list:
        for name in workloads.names():
            _run, description = workloads.load(name)
            print(f"{name}\t{description}")
        return EXIT_OK
    if not args.workload:
        errors.print("[red]name a workload[/red] — " + ", ".join(workloads.names()))
        return EXIT_USAGE
    if args.workload not in workloads.WORKLOADS:
        known = ", ".join(workloads.names())
        errors.print(f"[red]unknown workload {escape(repr(args.workload))}[/red] (known workloads: {known})")
        return EXIT_USAGE
    try:
        if args.db == "postgres":
            postgres_url()  # refuse a forbidden URL before anything runs
    except BenchError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        return EXIT_USAGE

    runner, _description = workloads.load(args.workload)
    started = datetime.now(UTC)
    began = time.perf_counter()
    try:
        # In JSON mode stray prints (from any library) go to stderr: stdout carries one object.
        with redirect_stdout(sys.stderr if args.json else sys.stdout), fresh_database(args.db) as url:
            errors.log(f"bench {args.workload}: {args.db}, scale {args.scale}")
            env = environment(url)
            context = BenchContext(
                workload=args.workload, backend=args.db, scale=args.scale, database_url=url, progress=errors
            )
            result = runner(context)
    except BenchError as exc:
        errors.print(f"[red]bench {escape(args.workload)} failed:[/red] {escape(str(exc))}")
        return EXIT_FAILED
    document = _document(args, result, env, started, time.perf_counter() - began)

    if args.json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        Console().print(_table(document))
    for failure in result.failures:
        errors.print(f"[red]FAILED:[/red] {escape(failure)}")
    return EXIT_FAILED if result.failures else EXIT_OK
