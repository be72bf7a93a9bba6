"""Four allocator processes on PostgreSQL, fighting over the same hot lots, never over-allocate.

Each process allocates its own single-line orders of one product, one transaction per line,
and gives back every second line it got (``release_line``) — more than 1,000 operations in
all, against 24 buckets that cannot serve every line. When another process reserved the stock
first, ``allocate_lines`` refuses with ``AllocationContended`` and writes nothing; the process
runs it again. Afterwards every bucket's ``qty_allocated`` is exactly the sum of its holding
allocations and never above what it holds, no line holds more than it ordered, and the
ledger check finds nothing to correct.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline.catalog import service as catalog
from lotline.config import Settings
from lotline.domain.expiry import local_today
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.outbound import Allocation, SalesOrderLine
from lotline.models.stock import StockOnHand
from lotline.outbound import orders
from lotline.outbound.allocation import HOLDING, AllocationContended, allocate_lines, release_line
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.stock import check as ledger_check
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database

PROCESSES = 4
LINES_PER_PROCESS = 170  # 170 allocations + 85 releases = 255 operations per process
LOTS = 12
BINS = 2
PER_BUCKET = Decimal(25)
ZONE = "Asia/Shanghai"


def _allocator(database_url: str, audit_key: str, line_ids: list[int]) -> dict[str, int]:
    """Allocate each line in its own transaction, retrying when contended; release every second."""
    db = Database(Settings(_env_file=None, database_url=database_url, audit_key=audit_key))
    done = {"allocations": 0, "releases": 0, "retries": 0}
    try:
        for position, line_id in enumerate(line_ids):
            while True:
                try:
                    with db.transaction() as uow:
                        allocate_lines(uow, line_ids=[line_id])
                    break
                except AllocationContended:
                    done["retries"] += 1
            done["allocations"] += 1
            if position % 2:
                with db.transaction() as uow:
                    release_line(uow, line_id=line_ids[position - 1], reason="concurrency test")
                done["releases"] += 1
    finally:
        db.dispose()
    return done


def _hot_lots(db: Database) -> list[list[int]]:
    """One product with 12 released lots in 2 bins (25 EA per bucket) and 4 × 170 one-line orders."""
    with db.transaction() as uow:
        site = sites.create_site(uow, code="HOT", name_zh="热点", name_en="Hot", time_zone=ZONE)
        today = local_today(datetime.now(UTC), ZONE)
        lot_type = catalog.create_lot_type(
            uow, code="HT", name_zh="热", name_en="Hot", code_template="HT{yy}{doy:03}{seq:04}"
        )
        product = catalog.create_product(
            uow,
            code="HOTMILK",
            name_zh="热销奶",
            name_en="Best-selling milk",
            base_unit="EA",
            lot_type_id=lot_type.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        customer = places.create_partner(
            uow, code="SHOP", name_zh="超市", name_en="Shop", is_customer=True, default_transit_days=1
        )
        store = places.create_location(
            uow, site_id=site.id, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )
        bins = [
            places.create_location(
                uow,
                site_id=site.id,
                code=f"AMB-{n}",
                name_zh=f"常温{n}",
                name_en=f"Ambient {n}",
                kind="BIN",
                parent_id=store.id,
            )
            for n in range(BINS)
        ]
        for n in range(LOTS):
            lot = lots.register_lot(
                uow, product_id=product.id, site_id=site.id, source="PRODUCTION", production_date=today
            )
            lot.expiry_date = today + timedelta(days=60 + n)  # FEFO order: every process wants lot 0 first
            lot.quality_status = QualityStatus.RELEASED.value
            uow.session.flush()
            for shelf in bins:
                stock.post(
                    uow,
                    kind=MovementKind.OPENING,
                    lot=lot,
                    quantity=Quantity(PER_BUCKET),
                    entered_qty=PER_BUCKET,
                    entered_unit="EA",
                    target=Bucket(shelf.id, StockStatus.AVAILABLE, ""),
                )
        line_sets: list[list[int]] = []
        for process in range(PROCESSES):
            mine = []
            for number in range(LINES_PER_PROCESS):
                order = orders.create_order(
                    uow,
                    order=orders.OrderInput(
                        customer_id=customer.id,
                        site_id=site.id,
                        ship_date=today + timedelta(days=1),
                        lines=[
                            orders.LineInput(
                                product_id=product.id,
                                quantity=Decimal(3 + (number + process) % 7),
                                unit="EA",
                            )
                        ],
                    ),
                )
                mine.append(orders.order_lines(uow, order_id=order.id)[0].id)
            line_sets.append(mine)
        return line_sets


@pytest.mark.postgres
@pytest.mark.slow
def test_four_allocators_on_the_same_hot_lots_never_over_allocate_and_the_ledger_balances(
    db: Database,
) -> None:
    line_sets = _hot_lots(db)
    key = db.settings.audit_key.get_secret_value()
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        outcomes = pool.starmap(_allocator, [(db.settings.database_url, key, lines) for lines in line_sets])

    operations = sum(o["allocations"] + o["releases"] for o in outcomes)
    assert operations >= 1_000
    with db.transaction(read_only=True) as uow:
        held = (
            select(Allocation.on_hand_id, func.sum(Allocation.qty_base).label("held"))
            .where(Allocation.status.in_(HOLDING))
            .group_by(Allocation.on_hand_id)
            .subquery()
        )
        buckets = uow.session.execute(
            select(StockOnHand.id, StockOnHand.qty_base, StockOnHand.qty_allocated, held.c.held).outerjoin(
                held, held.c.on_hand_id == StockOnHand.id
            )
        ).all()
        assert len(buckets) == LOTS * BINS
        wrong = [
            (bucket_id, on_hand, reserved, allocated)
            for bucket_id, on_hand, reserved, allocated in buckets
            if reserved != (allocated or 0) or reserved > on_hand
        ]
        assert wrong == []
        reserved_total = sum(reserved for _id, _on_hand, reserved, _held in buckets)
        assert reserved_total > 0  # the hot lots were really fought over, not left alone
        overfilled = uow.session.execute(
            select(SalesOrderLine.id)
            .join(Allocation, Allocation.line_id == SalesOrderLine.id)
            .where(Allocation.status.in_(HOLDING))
            .group_by(SalesOrderLine.id, SalesOrderLine.qty_base)
            .having(func.sum(Allocation.qty_base) > SalesOrderLine.qty_base)
        ).all()
        assert overfilled == []
        assert ledger_check.differences(uow) == []
