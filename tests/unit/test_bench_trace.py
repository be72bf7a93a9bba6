"""The ``trace`` benchmark: its dataset (genealogy and ledger) at a tiny scale, the workload end to
end at the hidden ``smoke`` scale, and the series mode on a tiny series (no timing asserted).

The end-to-end run mirrors ``test_bench_cli.py``: ``python -m bench`` in a subprocess from the
project root, on a fresh SQLite file. The dataset and series tests build a fresh SQLite database
through the harness, in process.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rich.console import Console
from sqlalchemy import String, cast, func, select

from bench.harness import BenchContext, bench_settings, fresh_database
from bench.workloads.trace import run_series
from bench.workloads.trace_data import (
    MOVEMENT_COLUMNS,
    SCALES,
    SERIES,
    Genealogy,
    SeriesScale,
    TraceScale,
    create_reference,
    load_genealogy,
)
from lotline.models.inbound import ReceiptLine
from lotline.models.lot import Lot
from lotline.models.outbound import ShipmentLine
from lotline.models.production import GenealogyEdge, Transformation
from lotline.models.stock import StockMovement
from lotline.stock import check
from lotline.trace.engine import Direction, summarize
from lotline.uow import Database
from tests.unit.test_bench_cli import run_bench

SMALL = replace(SCALES["smoke"], clusters=3)


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Database, Genealogy, dict[str, object]]]:
    """A fresh SQLite database holding the trace dataset at a tiny scale."""
    with fresh_database("sqlite") as url:
        db = Database(bench_settings(url))
        try:
            plant = create_reference(db, SMALL)
            counts, genealogy = load_genealogy(db, plant, SMALL, random.Random(7))
            yield db, genealogy, vars(counts)
        finally:
            db.dispose()


def test_full_scale_and_the_series_have_the_issues_sizes() -> None:
    full = SCALES["full"]
    assert (full.lots, full.lots * full.movements_per_lot) == (1_000_000, 10_000_000)
    series = SERIES["series"]
    assert [steps * series.family_lots for steps in series.steps] == [1_000, 10_000, 100_000, 1_000_000]


def test_movement_rows_fill_every_column_stock_movement_requires() -> None:
    required = {
        column.name
        for column in StockMovement.__table__.columns
        if not column.nullable and column.default is None and column.server_default is None
    }
    assert required <= set(MOVEMENT_COLUMNS)


@pytest.mark.slow
def test_the_ledger_has_ten_movements_a_lot_of_every_kind(
    loaded: tuple[Database, Genealogy, dict[str, object]],
) -> None:
    db, _genealogy, counts = loaded
    kinds = counts["movement_kinds"]
    assert isinstance(kinds, dict)
    with db.transaction(read_only=True) as uow:
        stored = uow.session.execute(select(StockMovement.kind, func.count()).group_by(StockMovement.kind))
        assert dict(stored.tuples().all()) == kinds
    lots = SMALL.lots
    assert 9.5 * lots <= counts["movements"] <= 10.5 * lots
    assert sum(kinds.values()) == counts["movements"]
    assert kinds["consume"] == counts["edges"]  # one per genealogy edge
    assert kinds["produce"] == counts["transformations"]
    assert kinds["receipt"] == counts["receipts"]
    assert kinds["ship"] == counts["shipment_lines"]
    assert kinds["status"] == kinds["putaway"] == lots
    for kind in ("move", "qc_sample", "adjust_up", "adjust_down"):
        assert kinds[kind] > 0, kind


@pytest.mark.slow
def test_the_ledger_adds_up_to_the_stock_and_no_bucket_is_ever_negative(
    loaded: tuple[Database, Genealogy, dict[str, object]],
) -> None:
    db, _genealogy, _counts = loaded
    with db.transaction(read_only=True) as uow:
        assert check.differences(uow) == []
        balances = check.mass_balances(uow)
        assert len(balances) == SMALL.lots
        assert all(balance.closes for balance in balances.values())
        moved = uow.session.execute(
            select(
                StockMovement.lot_id,
                StockMovement.from_location_id,
                StockMovement.from_status,
                StockMovement.to_location_id,
                StockMovement.to_status,
                StockMovement.base_qty,
            ).order_by(StockMovement.occurred_at, StockMovement.id)
        ).tuples()
        held: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
        for lot, source, source_status, target, target_status, qty in moved:
            if target is not None:
                held[lot, target, target_status] += qty
            if source is not None:
                held[lot, source, source_status] -= qty
                assert held[lot, source, source_status] >= 0, (lot, source, source_status)


@pytest.mark.slow
def test_movements_cite_the_transformations_receipts_and_shipments_they_belong_to(
    loaded: tuple[Database, Genealogy, dict[str, object]],
) -> None:
    db, _genealogy, _counts = loaded
    m = StockMovement
    with db.transaction(read_only=True) as uow:
        run = uow.session.execute
        # One consumption per edge: the parent's, of the edge's quantity, in the child's transformation.
        consumed = run(
            select(func.count())
            .select_from(GenealogyEdge)
            .join(Transformation, Transformation.id == GenealogyEdge.transformation_id)
            .join(
                m,
                (m.txn_id == Transformation.txn_id)
                & (m.lot_id == GenealogyEdge.parent_lot_id)
                & (m.kind == "consume")
                & (m.base_qty == GenealogyEdge.qty),
            )
        ).scalar_one()
        assert consumed == run(select(func.count()).select_from(GenealogyEdge)).scalar_one()
        made = run(
            select(func.count(func.distinct(Transformation.id)))
            .join(GenealogyEdge, GenealogyEdge.transformation_id == Transformation.id)
            .join(
                m,
                (m.txn_id == Transformation.txn_id)
                & (m.lot_id == GenealogyEdge.child_lot_id)
                & (m.kind == "produce"),
            )
        ).scalar_one()
        assert made == run(select(func.count()).select_from(Transformation)).scalar_one()
        received = run(
            select(ReceiptLine.base_qty, m.base_qty).join(
                m, (m.reference_type == "receipt_line") & (m.reference_id == cast(ReceiptLine.id, String))
            )
        ).all()
        assert received
        assert all(line == movement for line, movement in received)
        shipped = run(
            select(
                ShipmentLine.location_id, ShipmentLine.qty_base, m.from_location_id, m.base_qty, m.kind
            ).join(m, m.id == ShipmentLine.movement_id)
        ).all()
        assert shipped
        assert all(row[:2] == row[2:4] and row[4] == "ship" for row in shipped)


@pytest.mark.slow
def test_a_trace_as_of_now_finds_the_stock_the_projection_holds(
    loaded: tuple[Database, Genealogy, dict[str, object]],
) -> None:
    db, genealogy, _counts = loaded
    seed = genealogy.raw_lots[0][0]
    with db.transaction(read_only=True) as uow:
        now = summarize(uow, lot_ids=[seed], direction=Direction.FORWARD)
        then = summarize(uow, lot_ids=[seed], direction=Direction.FORWARD, as_of=datetime.now(UTC))
    assert now.on_hand
    assert then.on_hand == now.on_hand
    assert len(then.lots) == len(now.lots) == sum(SMALL.levels)


@pytest.mark.slow
def test_the_series_grows_one_database_by_families_of_the_same_size() -> None:
    family: TraceScale = replace(SCALES["smoke"], seeds=2, repeats=1)
    series = SeriesScale(family=family, steps=(1, 2, 4))
    size = sum(family.levels)
    with fresh_database("sqlite") as url:
        context = BenchContext(
            workload="trace",
            backend="sqlite",
            scale="series",
            database_url=url,
            progress=Console(stderr=True, quiet=True),
        )
        result = run_series(context, series)
        db = Database(bench_settings(url))
        try:
            with db.transaction(read_only=True) as uow:
                per_family = uow.session.execute(
                    select(func.count())
                    .select_from(Lot)
                    .group_by(func.substr(Lot.code, 1, 5))  # "T" and the family's number
                ).scalars()
                assert list(per_family) == [size] * 4
        finally:
            db.dispose()

    assert result.failures == []
    metrics = result.metrics
    for families in series.steps:
        prefix = f"series_{families * size}_"
        assert metrics[prefix + "lots_in_db"] == families * size
        assert 9.5 * families * size <= metrics[prefix + "movements_in_db"] <= 10.5 * families * size
        assert metrics[prefix + "lots_reached"] == size  # the same result, whatever the database's size
        for name in ("floor_p50_ms", "trace_forward_p50_ms", "trace_over_floor", "shipment_lines_reached"):
            assert metrics[prefix + name] > 0, prefix + name
    assert metrics["series_trace_forward_growth"] > 0
    assert metrics["series_floor_growth"] > 0
    assert result.dataset["families"] == 4


@pytest.mark.slow
def test_trace_workload_reports_the_floor_and_summaries_whose_closures_match_it() -> None:
    completed = run_bench("trace", "--db", "sqlite", "--scale", "smoke", "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)  # the whole of stdout is one JSON object
    assert (document["workload"], document["db"], document["scale"]) == ("trace", "sqlite", "smoke")
    dataset, metrics = document["dataset"], document["metrics"]
    assert dataset["depth"] == 8
    assert dataset["edges"] > dataset["lots"] > 0
    assert dataset["diamonds"] > 0
    assert 0 < dataset["max_fanout"] <= 20
    assert 9.5 * dataset["lots"] <= dataset["movements"] <= 10.5 * dataset["lots"]
    for name in (
        "floor_p50_ms",
        "trace_forward_p50_ms",
        "trace_over_floor",
        "trace_backward_p50_ms",
        "lots_reached",
        "shipment_lines_reached",
    ):
        assert metrics[name] > 0, name
    assert metrics["lots_reached"] == sum(dataset["lots_per_level"])  # a raw lot reaches its family
    assert metrics["closure_mismatches"] == 0
    assert document["ok"] is True
