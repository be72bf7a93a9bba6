"""Reserving many buckets at once (the set-based path a wave takes): each bucket's reservation
grows by exactly its share, and if any one bucket has less free than asked, the whole
reservation is refused and, the transaction rolled back, nothing was reserved."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from bench.workloads.fefo_data import FefoScale, create_reference, load_stock
from lotline.models.stock import StockOnHand
from lotline.outbound.reservations import MANY, AllocationContended, reserve
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


def test_one_bucket_short_refuses_the_whole_reservation(
    db: Database, buckets: dict[int, tuple[Decimal, Decimal]]
) -> None:
    asked = {i: Decimal(1) for i in buckets}
    short = sorted(buckets)[len(buckets) // 2]
    on_hand, reserved = buckets[short]
    asked[short] = on_hand - reserved + Decimal("0.5")  # half a unit more than it has free
    with pytest.raises(AllocationContended), db.transaction() as uow:
        reserve(uow, asked)
    assert _reserved(db, list(buckets)) == {i: reserved for i, (_o, reserved) in buckets.items()}
