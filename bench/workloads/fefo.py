"""FEFO allocation (W2): a wave of order lines, single lines one transaction each, and four
concurrent allocator processes fighting over the same hot lots — never over-allocating.

The dataset (``fefo_data``) is generated per run: at ``full`` 20,000 products, about 1,000,000
lot × location buckets (hot products with 5,000 lots each), expiry over two years, quarantined,
rejected, held and retained-sample stock mixed in, customers with a minimum shelf life at
delivery. Everything timed goes through the real service,
``outbound.allocation.allocate_lines(uow, line_ids=...)`` inside ``Database.transaction``:

- ``wave_lines_per_s``: one transaction allocating every line of the wave (10,000 at full);
- ``single_line_p50/p95/p99_ms``: one line per transaction, commit included (and any row lock
  waited for), after a few untimed warm-up lines;
- 4 allocator processes (multiprocessing "spawn", each with its own engine) allocate single
  lines of the hot products and release every second one. ``AllocationContended`` (another
  allocator took the stock first; nothing written) is retried and counted as ``retries``.

Afterwards ``over_allocations`` counts the buckets whose ``qty_allocated`` differs from the sum
of their holding allocations or exceeds what they hold: it must be 0 (the run fails otherwise).
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import random
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from sqlalchemy import func, or_, select

from bench.harness import BenchContext, BenchError, WorkloadResult, bench_settings
from bench.probes import CpuMeter, LockSampler, tagged_url
from bench.workloads.fefo_data import (
    BENCH_ACTOR,
    OrderSet,
    check_scale,
    create_reference,
    load_orders,
    load_stock,
)
from lotline.models.outbound import Allocation
from lotline.models.stock import StockOnHand
from lotline.outbound.allocation import HOLDING, AllocationContended, allocate_lines, release_line
from lotline.uow import Database, UnitOfWork

DESCRIPTION = "FEFO allocation: wave lines/s, single-line p99, 4 concurrent allocators (over-allocation)"

WARM_UP_LINES = 20
MAX_RETRIES = 200
PHASE_TIMEOUT_S = 900.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _retrying(db: Database, work: Callable[[UnitOfWork], object], index: int) -> int:
    """Run ``work`` in its own transaction until no other allocator got there first; the retries."""
    for attempt in range(MAX_RETRIES):
        try:
            with db.transaction(actor=BENCH_ACTOR) as uow:
                work(uow)
            return attempt
        except AllocationContended:
            continue
    raise BenchError(f"allocator {index}: still contended after {MAX_RETRIES} attempts")


def _allocating(line_id: int) -> Callable[[UnitOfWork], object]:
    return lambda uow: allocate_lines(uow, line_ids=[line_id])


def _releasing(line_id: int) -> Callable[[UnitOfWork], object]:
    return lambda uow: release_line(uow, line_id=line_id, reason="bench")


def _allocator(
    database_url: str, index: int, line_ids: list[int], go: Event, results: Queue[dict[str, Any]]
) -> None:
    """One allocator process: allocate its lines one by one, releasing every second one."""
    sys.stdout = sys.stderr  # the parent's stdout carries the JSON result only
    db = Database(bench_settings(tagged_url(database_url, f"bench-allocator-{index}")))
    outcome: dict[str, Any] = {"index": index, "ops": 0, "retries": 0, "allocations": 0, "releases": 0}
    try:
        with db.transaction(read_only=True) as uow:  # connect (and import everything) before the start
            uow.session.execute(select(1))
        results.put({"index": index, "ready": True})
        go.wait()
        outcome["start"] = time.time()
        for position, line_id in enumerate(line_ids):
            outcome["retries"] += _retrying(db, _allocating(line_id), index)
            outcome["allocations"] += 1
            if position % 2:
                previous = line_ids[position - 1]
                outcome["retries"] += _retrying(db, _releasing(previous), index)
                outcome["releases"] += 1
        outcome["end"] = time.time()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        outcome["error"] = f"allocator {index}: {type(exc).__name__}: {exc}"
    finally:
        outcome["ops"] = outcome["allocations"] + outcome["releases"]
        db.dispose()
    results.put(outcome)


def _concurrent(ctx: BenchContext, line_sets: list[list[int]], result: WorkloadResult) -> None:
    spawn = multiprocessing.get_context("spawn")
    results: Queue[dict[str, Any]] = spawn.Queue()
    go = spawn.Event()
    processes = [
        spawn.Process(
            target=_allocator,
            args=(ctx.database_url, index, lines, go, results),
            name=f"bench-fefo-allocator-{index}",
            daemon=True,
        )
        for index, lines in enumerate(line_sets)
    ]
    for process in processes:
        process.start()

    def answer(deadline: float) -> dict[str, Any]:
        while True:
            try:
                return results.get(timeout=0.5)
            except queue.Empty:
                dead = [p.name for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise BenchError(
                        f"allocator process(es) exited unexpectedly: {', '.join(dead)}"
                    ) from None
                if time.time() > deadline:
                    raise BenchError("allocator processes stopped answering") from None

    sampler = LockSampler(ctx.database_url)
    meter = CpuMeter()
    try:
        for _ in processes:
            answer(time.time() + 120)
        sampler.start()
        meter.start()
        go.set()
        outcomes = [answer(time.time() + PHASE_TIMEOUT_S) for _ in processes]
    finally:
        busy = meter.stop()
        sampler.stop()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    errors = [o["error"] for o in outcomes if "error" in o]
    result.failures += errors
    ops = sum(o["ops"] for o in outcomes)
    result.metrics["concurrent_ops"] = ops
    result.metrics["retries"] = sum(o["retries"] for o in outcomes)
    if not errors:
        span = max(o["end"] for o in outcomes) - min(o["start"] for o in outcomes)
        result.metrics["concurrent_ops_per_s"] = round(ops / span, 1) if span else 0.0
    if busy is not None:
        result.metrics["concurrent_cpu_busy_pct"] = round(100 * busy, 1)
    if sampler.enabled:
        counts = sampler.counts("allocator")
        result.metrics["allocator_lock_wait_pct"] = round(counts.waiting_pct, 1)
        result.dataset["lock_samples"] = sampler.samples


def over_allocations(db: Database) -> int:
    """Buckets whose reservation is not the sum of their holding allocations, or exceeds on hand."""
    held = (
        select(Allocation.on_hand_id, func.sum(Allocation.qty_base).label("held"))
        .where(Allocation.status.in_(HOLDING))
        .group_by(Allocation.on_hand_id)
        .subquery()
    )
    query = (
        select(func.count())
        .select_from(StockOnHand)
        .outerjoin(held, held.c.on_hand_id == StockOnHand.id)
        .where(
            or_(
                func.coalesce(held.c.held, 0) != StockOnHand.qty_allocated,
                StockOnHand.qty_allocated > StockOnHand.qty_base,
            )
        )
    )
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(query).scalar_one())


def _single_lines(db: Database, lines: OrderSet, result: WorkloadResult) -> None:
    latencies: list[float] = []
    for line_id in lines.line_ids:
        began = time.perf_counter()
        with db.transaction(actor=BENCH_ACTOR) as uow:
            allocate_lines(uow, line_ids=[line_id])
        latencies.append((time.perf_counter() - began) * 1000)
    result.metrics["single_line_p50_ms"] = round(statistics.median(latencies), 2)
    result.metrics["single_line_p95_ms"] = round(_percentile(latencies, 0.95), 2)
    result.metrics["single_line_p99_ms"] = round(_percentile(latencies, 0.99), 2)
    result.metrics["single_line_max_ms"] = round(max(latencies), 2)


def run(ctx: BenchContext) -> WorkloadResult:
    scale = check_scale(ctx.scale)
    rng = random.Random(2026)
    db = Database(ctx.settings())
    result = WorkloadResult()
    try:
        began = time.perf_counter()
        plant = create_reference(db, scale)
        ctx.log(f"generating {scale.products:,} products and about {scale.stock_rows:,} stock rows")
        counts, ids = load_stock(db, plant, scale, rng)
        per_allocator = math.ceil(2 * scale.ops_per_allocator / 3)  # two lines give three operations
        hot = plant.products[: scale.hot_products]
        sets = load_orders(
            db,
            plant,
            ids,
            [
                ("warm-up", WARM_UP_LINES, 1, None),
                ("wave", scale.wave_lines // scale.lines_per_order, scale.lines_per_order, None),
                ("single", scale.single_lines, 1, None),
                ("concurrent", scale.allocators * per_allocator, 1, hot),
            ],
            counts,
            rng,
        )
        result.dataset.update(vars(counts))
        result.dataset.update(
            products=scale.products,
            hot_products=scale.hot_products,
            hot_lots=scale.hot_lots,
            bins=scale.bins,
            customers=scale.customers,
            wave_lines=len(sets["wave"].line_ids),
            single_lines=len(sets["single"].line_ids),
            allocators=scale.allocators,
            load_s=round(time.perf_counter() - began, 1),
        )

        ctx.log(f"warm-up: {WARM_UP_LINES} single lines (not timed)")
        for line_id in sets["warm-up"].line_ids:
            with db.transaction(actor=BENCH_ACTOR) as uow:
                allocate_lines(uow, line_ids=[line_id])

        wave = sets["wave"].line_ids
        ctx.log(f"wave: {len(wave):,} lines in one transaction")
        began = time.perf_counter()
        with db.transaction(actor=BENCH_ACTOR) as uow:
            outcome = allocate_lines(uow, line_ids=wave)
        wave_s = time.perf_counter() - began
        result.metrics["wave_s"] = round(wave_s, 3)
        result.metrics["wave_lines_per_s"] = round(len(wave) / wave_s, 1)
        result.metrics["wave_allocations"] = outcome.allocations
        result.metrics["wave_short_lines"] = outcome.short_lines

        ctx.log(f"single lines: {len(sets['single'].line_ids):,}, one transaction each")
        _single_lines(db, sets["single"], result)

        lines = sets["concurrent"].line_ids
        line_sets = [lines[n * per_allocator : (n + 1) * per_allocator] for n in range(scale.allocators)]
        ctx.log(f"{scale.allocators} allocator processes × {per_allocator} lines of {len(hot)} hot products")
        _concurrent(ctx, line_sets, result)

        ctx.log("checking every bucket's reservation against its allocations")
        result.metrics["over_allocations"] = over_allocations(db)
        if result.metrics["over_allocations"]:
            result.failures.append(f"{result.metrics['over_allocations']} buckets over- or mis-allocated")
    finally:
        db.dispose()
    return result
