"""A wave reads only the head of each product's stock, yet allocates exactly what the domain's
``allocate_wave`` gives over every eligible bucket: same lots, same quantities, same shortfalls.

The stock is the benchmark's generator at a small scale (Zipf lots per product, holds,
quarantine, retained samples, expiry over two years, customers with minimum shelf life in days
or per cent, FIFO products), with more products than one candidate query takes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy import select

from bench.workloads.fefo_data import FefoScale, create_reference, load_orders, load_stock
from lotline.domain.allocation import Proposal, allocate_wave
from lotline.models.lot import Lot
from lotline.models.outbound import SalesOrder, SalesOrderLine
from lotline.models.site import Site
from lotline.outbound import allocation, waves
from lotline.outbound.waves import PRODUCTS_PER_QUERY, fill_wave
from lotline.uow import Database, UnitOfWork

SCALE = FefoScale(
    products=PRODUCTS_PER_QUERY + 60,
    hot_products=2,
    hot_lots=80,
    stock_rows=3_000,
    bins=8,
    customers=12,
    wave_lines=0,
    single_lines=0,
    ops_per_allocator=0,
)


def _both(uow: UnitOfWork, line_ids: Sequence[int]) -> tuple[list[Proposal], list[Proposal]]:
    """(all eligible stock through ``allocate_wave``, the wave's head reads) for the same lines."""
    pairs = uow.session.execute(
        select(SalesOrderLine, SalesOrder)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(SalesOrderLine.id.in_(line_ids))
    ).all()
    minimums = allocation.product_minimums(uow, {line.product_id for line, _o in pairs})
    demands = [allocation.demand_of(line, o, line.qty_base, minimums[line.product_id]) for line, o in pairs]
    product_of = {line.id: line.product_id for line, _o in pairs}
    site_id = pairs[0][1].site_id
    now = uow.now()
    everything = allocation.load_candidates(
        uow,
        site_id=site_id,
        product_ids=set(product_of.values()),
        now=now,
        eligible_from=min(d.delivery_date for d in demands),
    )
    expected = allocate_wave(demands, everything, product_of)
    strategies = allocation.strategies(uow, product_of.values())
    got = fill_wave(
        uow,
        site_id=site_id,
        time_zone=uow.session.get_one(Site, site_id).time_zone,
        demands=demands,
        product_of=product_of,
        strategies=strategies,
        now=now,
        shortest_lives=_shortest_lives(uow, set(product_of.values())),
    )
    return expected, got


def _shortest_lives(uow: UnitOfWork, product_ids: set[int]) -> dict[int, int | None]:
    """Per product, the shortest shelf life of its lots, counted here in Python."""
    lives: dict[int, int | None] = dict.fromkeys(product_ids)
    rows = uow.session.execute(
        select(Lot.product_id, Lot.expiry_date, Lot.production_date).where(Lot.product_id.in_(product_ids))
    )
    for pid, expiry, made in rows:
        if made is not None:
            life = (expiry - made).days + 1
            known = lives[pid]
            lives[pid] = life if known is None else min(known, life)
    return lives


def _outcome(proposals: Sequence[Proposal]) -> list[tuple[int, list[tuple[int, Decimal]], Decimal]]:
    return [(p.line_id, [(c.candidate.on_hand_id, c.quantity) for c in p.chosen], p.short) for p in proposals]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_head_reads_allocate_exactly_what_all_eligible_stock_gives(db: Database, seed: int) -> None:
    _compare_waves(db, seed)


@pytest.mark.slow
def test_heads_of_one_bucket_stop_each_line_where_its_read_stopped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heads so short that nearly every line walks to where its class's read stopped and comes
    up short there: the products are read in full and the outcome is still the same."""
    monkeypatch.setattr(waves, "HEAD_ROWS", 1)
    monkeypatch.setattr(waves, "HEAD_ROWS_PER_LINE", 0)
    _compare_waves(db, 3)


def _compare_waves(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    plant = create_reference(db, SCALE)
    counts, ids = load_stock(db, plant, SCALE, rng)
    hot = plant.products[: SCALE.hot_products]
    orders = load_orders(
        db,
        plant,
        ids,
        [
            ("every product", 3, 500, plant.products),  # more products than one query takes
            ("hot wave", 12, 10, hot),
            ("single", 40, 1, None),
            ("large", 12, 1, hot),
        ],
        counts,
        rng,
    )
    with db.transaction() as uow:
        # Large lines need more than a single product's first read holds: it reads everything.
        for line in uow.session.scalars(
            select(SalesOrderLine).where(SalesOrderLine.id.in_(orders["large"].line_ids))
        ):
            line.qty_base = Decimal(rng.choice((800, 2_000, 9_000)))
    with db.transaction() as uow:
        waves = [orders["every product"].line_ids, orders["hot wave"].line_ids]
        waves += [[line] for line in orders["single"].line_ids + orders["large"].line_ids]
        for line_ids in waves:
            expected, got = _both(uow, line_ids)
            assert _outcome(got) == _outcome(expected)
            allocation._write(uow, got, uow.now())  # the next wave sees these reservations
        uow.rollback()
