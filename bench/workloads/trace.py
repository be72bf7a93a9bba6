"""Trace (W1): forward and backward traces through a layered genealogy, against the floor of a
bare recursive query over the same table.

The dataset (``trace_data``) is generated per run: at ``full`` 1,000,000 lots in 20 families of
depth 8, about 2,000,000 genealogy edges (1–3 parents per lot, fan-out at most 20, diamonds
throughout), 4,000,000 shipment lines on the last two levels. Figures, each the median over
``seeds`` lots × ``repeats`` runs after one untimed run per lot:

- ``floor_p50_ms``: the issue's bare query, exactly (``FLOOR``), from raw lots of different
  families, on one connection held for the phase;
- ``trace_forward_p50_ms``: ``trace.engine.summarize(direction=FORWARD)`` from the same raw lots,
  each in its own read-only unit of work (begin and end included); ``trace_over_floor`` is the
  ratio of the two medians;
- ``trace_backward_p50_ms``: the backward summary from finished lots whose closure is at most
  ``BACKWARD_CLOSURE_MAX`` lots;
- ``lots_reached``, ``shipment_lines_reached``: the forward summary's size (median over seeds).

Correctness: for every seed, ``closure()`` must have exactly as many lots as the floor counts
(forward; backward against the same query walked upwards), and the forward summary must list
every one of them; any difference fails the run.
"""

from __future__ import annotations

import random
import statistics
import time

from sqlalchemy import text

from bench.harness import BenchContext, WorkloadResult
from bench.workloads.trace_data import Genealogy, check_scale, create_reference, load_genealogy
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


def run(ctx: BenchContext) -> WorkloadResult:
    scale = check_scale(ctx.scale)
    rng = random.Random(2026)
    db = Database(ctx.settings())
    result = WorkloadResult()
    try:
        began = time.perf_counter()
        plant = create_reference(db, scale)
        ctx.log(
            f"generating {scale.lots:,} lots in {scale.clusters} families of depth {len(scale.levels) - 1}"
        )
        counts, genealogy = load_genealogy(db, plant, scale, rng)
        result.dataset.update(vars(counts))
        result.dataset.update(
            families=scale.clusters,
            depth=len(scale.levels) - 1,
            lots_per_level=list(scale.levels),
            seeds=scale.seeds,
            repeats=scale.repeats,
            stock_movements="ship movements only",
            load_s=round(time.perf_counter() - began, 1),
        )

        forward = [lots[0] for lots in genealogy.raw_lots][: scale.seeds]
        ctx.log(f"floor: the bare recursive query from {len(forward)} raw lots × {scale.repeats}")
        floor, floor_ms = _floor(db, FLOOR, forward, scale.repeats)
        _check("forward", floor, _closures(db, forward, Direction.FORWARD), result)

        ctx.log(f"forward summaries from the same raw lots × {scale.repeats}")
        summaries, forward_ms = _summaries(db, forward, Direction.FORWARD, scale.repeats)
        for seed, summary in summaries.items():
            if len(summary.lots) != floor[seed]:
                result.failures.append(
                    f"forward summary of lot {seed}: {len(summary.lots)} lots, "
                    f"the bare query counts {floor[seed]}"
                )

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

        floor_p50 = statistics.median(floor_ms)
        forward_p50 = statistics.median(forward_ms)
        result.metrics["floor_p50_ms"] = round(floor_p50, 2)
        result.metrics["trace_forward_p50_ms"] = round(forward_p50, 2)
        result.metrics["trace_over_floor"] = round(forward_p50 / floor_p50, 2)
        if backward_ms:
            result.metrics["trace_backward_p50_ms"] = round(statistics.median(backward_ms), 2)
            result.metrics["backward_lots_reached"] = int(
                statistics.median(len(s.lots) for s in back.values())
            )
        result.metrics["lots_reached"] = int(statistics.median(len(s.lots) for s in summaries.values()))
        result.metrics["shipment_lines_reached"] = int(
            statistics.median(sum(s.lines for s in summary.shipped) for summary in summaries.values())
        )
    finally:
        db.dispose()
    return result
