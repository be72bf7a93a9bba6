"""Reserving many buckets at once (the set-based path a wave takes): each bucket's reservation
grows by exactly its share, and if any one bucket has less free than asked, the whole
reservation is refused and, the transaction rolled back, nothing was reserved. And a wave's
audit records and events, written set-based, are one per order and chain like any other."""

from __future__ import annotations

import logging
import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from bench.workloads.fefo_data import FefoScale, create_reference, load_orders, load_stock
from lotline.audit.sealer import seal_pending
from lotline.audit.verify import verify_chain
from lotline.domain.allocation import Proposal
from lotline.models.audit import AuditRecord
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.models.outbox import OutboxEvent
from lotline.models.stock import StockOnHand
from lotline.outbound import allocation
from lotline.outbound.allocation import allocate_lines
from lotline.outbound.reservations import MANY, AllocationContended, reserve
from lotline.outbox.events import ORDER_ALLOCATED
from lotline.uow import Database

SCALE = FefoScale(
    products=20,
    hot_products=1,
    hot_lots=20,
    stock_rows=200,
    bins=4,
    customers=2,
    wave_lines=0,
    single_lines=0,
    ops_per_allocator=0,
)


def _reserved(db: Database, ids: list[int]) -> dict[int, Decimal]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.id, StockOnHand.qty_allocated).where(StockOnHand.id.in_(ids))
        )
        return {i: reserved for i, reserved in rows}


@pytest.fixture
def buckets(db: Database) -> dict[int, tuple[Decimal, Decimal]]:
    plant = create_reference(db, SCALE)
    load_stock(db, plant, SCALE, random.Random(5))
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.id, StockOnHand.qty_base, StockOnHand.qty_allocated)
            .where(StockOnHand.qty_base > StockOnHand.qty_allocated + 1)
            .order_by(StockOnHand.id.desc())
            .limit(MANY + 4)
        ).all()
    assert len(rows) == MANY + 4
    return {i: (on_hand, reserved) for i, on_hand, reserved in rows}


def test_many_buckets_are_reserved_each_by_its_share(
    db: Database, buckets: dict[int, tuple[Decimal, Decimal]]
) -> None:
    asked = {i: Decimal(1 + n % 2) for n, i in enumerate(buckets)}
    with db.transaction() as uow:
        reserve(uow, asked)
    after = _reserved(db, list(buckets))
    assert after == {i: reserved + asked[i] for i, (_on_hand, reserved) in buckets.items()}


@pytest.mark.parametrize("count", [MANY + 4, 3], ids=["set-based", "a-few"])
def test_one_bucket_short_refuses_the_whole_reservation(
    db: Database, buckets: dict[int, tuple[Decimal, Decimal]], count: int
) -> None:
    """Many buckets (lock, one UPDATE) or a few (one UPDATE each): either way one short bucket
    refuses all (on PostgreSQL by the bucket's check constraint, not by a row count)."""
    buckets = dict(sorted(buckets.items())[:count])
    asked = {i: Decimal(1) for i in buckets}
    short = sorted(buckets)[len(buckets) // 2]
    on_hand, reserved = buckets[short]
    asked[short] = on_hand - reserved + Decimal("0.5")  # half a unit more than it has free
    with pytest.raises(AllocationContended), db.transaction() as uow:
        reserve(uow, asked)
    assert _reserved(db, list(buckets)) == {i: reserved for i, (_o, reserved) in buckets.items()}


def test_a_wave_writes_one_sealed_audit_record_and_one_event_per_order(db: Database) -> None:
    """The wave's records and events are written set-based (record_many, emit_many): one per
    order, MAC'd, and the sealer chains them like any other record."""
    plant = create_reference(db, SCALE)
    counts, ids = load_stock(db, plant, SCALE, random.Random(7))
    orders = load_orders(db, plant, ids, [("wave", 30, 3, None)], counts, random.Random(8))
    with db.transaction() as uow:
        outcome = allocate_lines(uow, line_ids=orders["wave"].line_ids)
    assert {p.line_id for p in outcome.proposals} == set(orders["wave"].line_ids)
    with db.transaction(read_only=True) as uow:
        records = uow.session.scalars(select(AuditRecord).where(AuditRecord.action == "allocate")).all()
        events = uow.session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == ORDER_ALLOCATED)
        ).all()
        order_ids = {
            str(order_id)
            for order_id in uow.session.scalars(
                select(SalesOrderLine.order_id).where(SalesOrderLine.id.in_(orders["wave"].line_ids))
            )
        }
    assert len(order_ids) == 30
    assert sorted(r.entity_id for r in records) == sorted(order_ids)
    assert sorted(e.subject_id for e in events) == sorted(order_ids)
    seal_pending(db)
    with db.transaction(read_only=True) as uow:
        assert verify_chain(uow).ok


def test_an_order_is_allocated_once_none_of_its_lines_is_open_or_short(db: Database) -> None:
    """Orders' statuses follow their lines, also those the wave did not touch (on PostgreSQL the
    lines and orders are updated in one statement that still sees the old statuses)."""
    plant = create_reference(db, SCALE)
    counts, ids = load_stock(db, plant, SCALE, random.Random(9))
    orders = load_orders(db, plant, ids, [("wave", 12, 3, None)], counts, random.Random(10))
    firsts = [lines[0] for lines in orders["wave"].lines]
    with db.transaction() as uow:
        allocate_lines(uow, line_ids=firsts)

    def statuses() -> tuple[dict[int, str], dict[int, list[str]]]:
        with db.transaction(read_only=True) as uow:
            rows = uow.session.execute(
                select(SalesOrder.id, SalesOrder.status, SalesOrderLine.status)
                .join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
                .where(SalesOrderLine.id.in_(orders["wave"].line_ids))
            ).all()
        lines: dict[int, list[str]] = {}
        for order_id, _status, line_status in rows:
            lines.setdefault(order_id, []).append(line_status)
        return {order_id: status for order_id, status, _l in rows}, lines

    order_status, line_statuses = statuses()
    assert set(order_status.values()) == {"open"}  # two lines of each are still open
    assert all(sorted(mine).count("open") >= 2 for mine in line_statuses.values())
    with db.transaction() as uow:
        allocate_lines(uow, line_ids=orders["wave"].line_ids)
    order_status, line_statuses = statuses()
    for order_id, mine in line_statuses.items():
        expected = "allocated" if set(mine) == {"allocated"} else "open"
        assert order_status[order_id] == expected
    assert "allocated" in order_status.values()


def _line_statuses(db: Database, lines: list[int]) -> dict[int, str]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(SalesOrderLine.id, SalesOrderLine.status).where(SalesOrderLine.id.in_(lines))
        )
        return {line_id: status for line_id, status in rows}


@pytest.mark.postgres
def test_stock_taken_meanwhile_refuses_the_pipelined_write_and_nothing_is_written(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL an allocation's writes go in one pipeline and nobody reads a row count: when
    another allocator reserved the stock between the head read and the write, the bucket's check
    constraint refuses, the caller gets AllocationContended, and after the rollback there is no
    allocation, reservation, status, audit record or event of it. (On SQLite the writer lock
    serialises allocators: this cannot happen there.)"""
    plant = create_reference(db, SCALE)
    counts, ids = load_stock(db, plant, SCALE, random.Random(11))
    orders = load_orders(db, plant, ids, [("wave", 4, 2, None)], counts, random.Random(12))
    lines = orders["wave"].line_ids
    real_fill = allocation.fill_wave
    taken: list[int] = []

    def fill_then_lose_the_race(uow: object, **kwargs: object) -> list[Proposal]:
        proposals = real_fill(uow, **kwargs)  # type: ignore[arg-type]
        chosen = sorted({c.candidate.on_hand_id for p in proposals for c in p.chosen})
        with db.transaction() as rival:  # another allocator, committed first
            rival.session.execute(
                update(StockOnHand)
                .where(StockOnHand.id.in_(chosen))
                .values(qty_allocated=StockOnHand.qty_base)
            )
        taken.extend(chosen)
        return proposals

    monkeypatch.setattr(allocation, "fill_wave", fill_then_lose_the_race)
    before = _line_statuses(db, lines)
    with caplog.at_level(logging.WARNING), pytest.raises(AllocationContended), db.transaction() as uow:
        allocate_lines(uow, line_ids=lines)
    assert taken
    assert "pipeline aborted" not in caplog.text  # psycopg's echo of the error, not logged as noise
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Allocation)) == 0
        assert (
            uow.session.scalar(
                select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "allocate")
            )
            == 0
        )
        assert (
            uow.session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == ORDER_ALLOCATED)
            )
            == 0
        )
        reserved = uow.session.execute(
            select(StockOnHand.qty_allocated, StockOnHand.qty_base).where(StockOnHand.id.in_(taken))
        ).all()
    assert _line_statuses(db, lines) == before
    assert all(mine == on_hand for mine, on_hand in reserved)  # the rival's, none of ours on top
