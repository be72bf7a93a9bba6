"""Trace (W1): forward and backward traces through a layered genealogy, against the floor of a
bare recursive query over the same table.

The dataset (``trace_data``) is generated per run: at ``full`` 1,000,000 lots in 20 families of
depth 8, about 2,000,000 genealogy edges (1–3 parents per lot, fan-out at most 20, diamonds
throughout), 4,000,000 shipment lines on the last two levels, 10,000,000 stock movements (every
lot's receipt or production, release, putaway, consumption by its children, shipments, and
moves, samples and counts spread over the lots). Figures, each the median over ``seeds`` lots ×
``repeats`` runs after one untimed run per lot:

- ``floor_p50_ms``: the issue's bare query, exactly (``FLOOR``), from raw lots of different
  families, on one connection held for the phase;
- ``trace_forward_p50_ms``: ``trace.engine.summarize(direction=FORWARD)`` from the same raw lots,
  each in its own read-only unit of work (begin and end included); ``trace_over_floor`` is the
  ratio of the two medians;
- ``trace_backward_p50_ms``: the backward summary from finished lots whose closure is at most
  ``BACKWARD_CLOSURE_MAX`` lots;
- ``lots_reached``, ``shipment_lines_reached``: the forward summary's size (median over seeds).

``--scale series`` (``run_series``) grows one database by appending families of 1,000 lots —
1, 10, 100 and 1,000 of them: 1k to 1M lots, 10 movements per lot — and at each size times the
floor and the forward summary from raw lots spread over the families (oldest to newest). Each
trace reaches the same 1,000 lots; the per-size figures are ``series_<lots>_*`` (lots_in_db,
movements_in_db, load_s, lots_reached, shipment_lines_reached, floor_p50_ms,
trace_forward_p50_ms, trace_over_floor), and ``series_trace_forward_growth`` /
``series_floor_growth`` divide the largest size's median by the smallest's: flat (≈ 1) while the
database grows 1,000× is the issue's "cost follows the result's size, not the database's".

Correctness: for every seed, ``closure()`` must have exactly as many lots as the floor counts
(forward; backward against the same query walked upwards), and the forward summary must list
every one of them; any difference fails the run.
"""

from __future__ import annotations

import math
import random
import statistics
import time

from sqlalchemy import text

from bench.harness import BenchContext, BenchError, WorkloadResult
from bench.workloads.trace_data import (
    SERIES,
    Counts,
    Genealogy,
    SeriesScale,
    add_families,
    check_scale,
    create_reference,
    load_genealogy,
)
from lotline.trace.engine import Direction, Summary, closure, summarize
from lotline.uow import Database

DESCRIPTION = "Trace: forward summary vs the bare recursive query (floor), backward summary, closure check"

# The floor, exactly; ``UP`` is the same walk the other way (the backward check only).
FLOOR = (
    "WITH RECURSIVE down(lot_id) AS (SELECT CAST(:lot AS BIGINT) UNION SELECT e.child_lot_id "
    "FROM genealogy_edge e JOIN down d ON e.parent_lot_id = d.lot_id) SELECT count(*) FROM down"
)
UP = (
    "WITH RECURSIVE up(lot_id) AS (SELECT CAST(:lot AS BIGINT) UNION SELECT e.parent_lot_id "
    "FROM genealogy_edge e JOIN up u ON e.child_lot_id = u.lot_id) SELECT count(*) FROM up"
)
BACKWARD_CLOSURE_MAX = 500


def _ms(began: float) -> float:
    return (time.perf_counter() - began) * 1000


def _floor(db: Database, query: str, seeds: list[int], repeats: int) -> tuple[dict[int, int], list[float]]:
    """The bare query's count per seed, and its timings (one untimed run per seed first)."""
    counts: dict[int, int] = {}
    timings: list[float] = []
    statement = text(query)
    with db.engine.connect() as connection:
        for seed in seeds:
            counts[seed] = int(connection.execute(statement, {"lot": seed}).scalar_one())
        for _ in range(repeats):
            for seed in seeds:
                began = time.perf_counter()
                connection.execute(statement, {"lot": seed}).scalar_one()
                timings.append(_ms(began))
        connection.rollback()
    return counts, timings


def _summaries(
    db: Database, seeds: list[int], direction: Direction, repeats: int
) -> tuple[dict[int, Summary], list[float]]:
    """The summary per seed (untimed run), then ``repeats`` timed runs per seed."""
    found: dict[int, Summary] = {}
    timings: list[float] = []
    for seed in seeds:
        with db.transaction(read_only=True) as uow:
            found[seed] = summarize(uow, lot_ids=[seed], direction=direction)
    for _ in range(repeats):
        for seed in seeds:
            began = time.perf_counter()
            with db.transaction(read_only=True) as uow:
                summarize(uow, lot_ids=[seed], direction=direction)
            timings.append(_ms(began))
    return found, timings


def _closures(db: Database, seeds: list[int], direction: Direction) -> dict[int, int]:
    with db.transaction(read_only=True) as uow:
        return {seed: len(closure(uow, lot_ids=[seed], direction=direction)) for seed in seeds}


def _check(name: str, floor: dict[int, int], closures: dict[int, int], result: WorkloadResult) -> None:
    for seed, expected in floor.items():
        if closures[seed] != expected:
            result.failures.append(
                f"{name} closure of lot {seed}: {closures[seed]} lots, the bare query counts {expected}"
            )


def _backward_seeds(db: Database, genealogy: Genealogy, wanted: int, rng: random.Random) -> list[int]:
    """Finished lots of different families whose backward closure is small enough."""
    candidates = [rng.choice(lots) for lots in genealogy.finished_lots]
    sizes = _closures(db, candidates, Direction.BACKWARD)
    return [lot for lot in candidates if sizes[lot] <= BACKWARD_CLOSURE_MAX][:wanted]


def _forward(
    db: Database, seeds: list[int], repeats: int, result: WorkloadResult, name: str = "forward"
) -> dict[str, float | int]:
    """The floor and the forward summary from ``seeds``, checked against each other: the
    medians, and the summary's size (median over the seeds)."""
    floor, floor_ms = _floor(db, FLOOR, seeds, repeats)
    _check(name, floor, _closures(db, seeds, Direction.FORWARD), result)
    summaries, forward_ms = _summaries(db, seeds, Direction.FORWARD, repeats)
    for seed, summary in summaries.items():
        if len(summary.lots) != floor[seed]:
            result.failures.append(
                f"{name} summary of lot {seed}: {len(summary.lots)} lots, the bare query counts {floor[seed]}"
            )
    floor_p50, forward_p50 = statistics.median(floor_ms), statistics.median(forward_ms)
    return {
        "floor_p50_ms": round(floor_p50, 2),
        "trace_forward_p50_ms": round(forward_p50, 2),
        "trace_over_floor": round(forward_p50 / floor_p50, 2),
        "lots_reached": int(statistics.median(len(s.lots) for s in summaries.values())),
        "shipment_lines_reached": int(
            statistics.median(sum(s.lines for s in summary.shipped) for summary in summaries.values())
        ),
    }


def run(ctx: BenchContext) -> WorkloadResult:
    if ctx.scale in SERIES:
        return run_series(ctx, SERIES[ctx.scale])
    scale = check_scale(ctx.scale)
    rng = random.Random(2026)
    db = Database(ctx.settings())
    result = WorkloadResult()
    try:
        began = time.perf_counter()
        plant = create_reference(db, scale)
        ctx.log(
            f"generating {scale.lots:,} lots in {scale.clusters} families of depth {len(scale.levels) - 1}, "
            f"~{scale.lots * scale.movements_per_lot:,} movements"
        )
        counts, genealogy = load_genealogy(db, plant, scale, rng)
        result.dataset.update(vars(counts))
        result.dataset.update(
            families=scale.clusters,
            depth=len(scale.levels) - 1,
            lots_per_level=list(scale.levels),
            seeds=scale.seeds,
            repeats=scale.repeats,
            load_s=round(time.perf_counter() - began, 1),
        )
        ctx.log(f"loaded in {result.dataset['load_s']} s")

        forward = [lots[0] for lots in genealogy.raw_lots][: scale.seeds]
        ctx.log(f"floor and forward summaries from {len(forward)} raw lots × {scale.repeats}")
        result.metrics.update(_forward(db, forward, scale.repeats, result))

        backward = _backward_seeds(db, genealogy, scale.seeds, rng)
        ctx.log(f"backward summaries from {len(backward)} finished lots × {scale.repeats}")
        up, _up_ms = _floor(db, UP, backward, 0)
        _check("backward", up, _closures(db, backward, Direction.BACKWARD), result)
        back, backward_ms = _summaries(db, backward, Direction.BACKWARD, scale.repeats)
        result.metrics["closure_mismatches"] = len(result.failures)
        if not backward:
            result.failures.append(
                f"no finished lot with a backward closure of at most {BACKWARD_CLOSURE_MAX}"
            )
        if backward_ms:
            result.metrics["trace_backward_p50_ms"] = round(statistics.median(backward_ms), 2)
            result.metrics["backward_lots_reached"] = int(
                statistics.median(len(s.lots) for s in back.values())
            )
    finally:
        db.dispose()
    return result


def _spread(genealogy: Genealogy, wanted: int) -> list[int]:
    """The raw lot of ``wanted`` families spread evenly from the oldest to the newest."""
    raw = genealogy.raw_lots
    if wanted <= 1 or len(raw) == 1:
        return [raw[0][0]]
    picked = sorted({position * (len(raw) - 1) // (wanted - 1) for position in range(wanted)})
    return [raw[position][0] for position in picked]


def run_series(ctx: BenchContext, series: SeriesScale) -> WorkloadResult:
    """One database grown step by step (families appended), the forward trace timed at each size."""
    if list(series.steps) != sorted(set(series.steps)) or series.steps[0] < 1:
        raise BenchError(f"series steps must be increasing family counts, got {series.steps}")
    family = series.family
    rng = random.Random(2026)
    db = Database(ctx.settings())
    result = WorkloadResult()
    counts, genealogy = Counts(), Genealogy()
    timed_runs = family.seeds * family.repeats  # per size, whatever the number of seeds
    load_total = 0.0
    try:
        plant = create_reference(db, family)
        for families in series.steps:
            began = time.perf_counter()
            ctx.log(
                f"series: appending {families - len(genealogy.clusters):,} families of "
                f"{series.family_lots:,} lots ({families * series.family_lots:,} lots in all)"
            )
            add_families(db, plant, family, families - len(genealogy.clusters), rng, counts, genealogy)
            load_s = time.perf_counter() - began
            load_total += load_s
            seeds = _spread(genealogy, family.seeds)
            repeats = math.ceil(timed_runs / len(seeds))
            ctx.log(
                f"series at {counts.lots:,} lots (loaded in {load_s:.1f} s): floor and forward "
                f"summaries from {len(seeds)} raw lots × {repeats}"
            )
            measured = _forward(db, seeds, repeats, result, f"forward at {counts.lots:,} lots")
            prefix = f"series_{families * series.family_lots}_"
            result.metrics.update(
                {
                    f"{prefix}lots_in_db": counts.lots,
                    f"{prefix}movements_in_db": counts.movements,
                    f"{prefix}load_s": round(load_s, 2),
                    **{prefix + name: value for name, value in measured.items()},
                }
            )
        first, last = (
            f"series_{steps * series.family_lots}_" for steps in (series.steps[0], series.steps[-1])
        )
        for name in ("trace_forward_p50_ms", "floor_p50_ms"):
            growth = result.metrics[last + name] / result.metrics[first + name]
            result.metrics[f"series_{name.removesuffix('_p50_ms')}_growth"] = round(growth, 2)
        result.metrics["closure_mismatches"] = len(result.failures)
        result.dataset.update(vars(counts))
        result.dataset.update(
            families=len(genealogy.clusters),
            family_lots=series.family_lots,
            lots_per_level=list(family.levels),
            depth=len(family.levels) - 1,
            steps_families=list(series.steps),
            steps_lots=[steps * series.family_lots for steps in series.steps],
            timed_runs_per_step=timed_runs,
            load_s=round(load_total, 1),
        )
    finally:
        db.dispose()
    return result
