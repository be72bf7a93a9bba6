"""The stock ledger: movements through the matrix and the storage rule, on-hand never negative,
the projection rebuilt from the ledger, and the mass balance closing for every lot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update

from lotline.catalog import service as catalog
from lotline.domain.ledger import MovementKind, Quantity, Term
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.domain.storage import StorageMismatch
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.stock import check as ledger_check
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.conftest import FakeClock

Q, A, R = StockStatus.QUARANTINE, StockStatus.AVAILABLE, StockStatus.REJECTED


@dataclass
class Yard:
    lot_id: int
    dock: int
    qa_bin: int
    freezer_bin: int
    ambient_bin: int


@pytest.fixture
def yard(db: Database, clock: FakeClock) -> Yard:
    """A plant with a dock, a QA bin and a bin in the freezer, an ambient bin, and a frozen lot."""
    with db.transaction(clock=clock) as uow:
        site = sites.create_site(
            uow, code="SH01", name_zh="松江", name_en="Songjiang", time_zone="Asia/Shanghai"
        )
        frozen = catalog.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal(-18)
        )
        lot_type = catalog.create_lot_type(
            uow, code="FG", name_zh="成品", name_en="Finished", code_template="{site}{yy}{doy:03}{seq:04}"
        )
        product = catalog.create_product(
            uow,
            code="DUMP",
            name_zh="水饺",
            name_en="Dumplings",
            base_unit="EA",
            lot_type_id=lot_type.id,
            storage_condition_id=frozen.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        store = places.create_location(
            uow, site_id=site.id, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )

        def place(code: str, **extra: object) -> int:
            return places.create_location(
                uow,
                site_id=site.id,
                code=code,
                name_zh=code,
                name_en=code,
                kind="BIN",
                parent_id=store.id,
                **extra,
            ).id

        dock = place("DOCK")
        qa_bin = place("QA-01", is_qa_area=True, storage_condition_id=frozen.id)
        freezer_bin = place("FZ-01", storage_condition_id=frozen.id)
        ambient_bin = place("AMB-01")
        lot = lots.register_lot(
            uow,
            product_id=product.id,
            site_id=site.id,
            source="PRODUCTION",
            production_date=date(2026, 2, 20),
        )
        return Yard(lot.id, dock, qa_bin, freezer_bin, ambient_bin)


def move(
    db: Database,
    clock: FakeClock,
    yard: Yard,
    kind: MovementKind,
    qty: int,
    source: Bucket | None,
    target: Bucket | None,
) -> StockMovement:
    with db.transaction(clock=clock) as uow:
        lot = uow.session.get_one(Lot, yard.lot_id)
        return stock.post(
            uow,
            kind=kind,
            lot=lot,
            quantity=Quantity(Decimal(qty)),
            entered_qty=Decimal(qty),
            entered_unit="EA",
            source=source,
            target=target,
        )


def on_hand(db: Database) -> dict[tuple[int, str], Decimal]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.location_id, StockOnHand.stock_status, StockOnHand.qty_base).where(
                StockOnHand.qty_base > 0
            )
        )
        return {(location, status): qty for location, status, qty in rows}


def movements(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(StockMovement)).scalar_one())


def test_quarantined_stock_moves_only_into_a_qa_area_and_released_stock_anywhere_it_keeps_cold(
    db: Database, clock: FakeClock, yard: Yard
) -> None:
    move(db, clock, yard, MovementKind.RECEIPT, 40, None, Bucket(yard.dock, Q))
    with pytest.raises(TransactionNotAllowed) as refused:
        move(db, clock, yard, MovementKind.PUTAWAY, 40, Bucket(yard.dock, Q), Bucket(yard.freezer_bin, Q))
    assert "quality.quarantine" in refused.value.details()["blocked_by"]
    move(db, clock, yard, MovementKind.PUTAWAY, 40, Bucket(yard.dock, Q), Bucket(yard.qa_bin, Q))
    # QA releases 30 of the 40 (the decision itself comes with the quality module): a status move.
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Lot, yard.lot_id).quality_status = QualityStatus.RELEASED.value
    move(db, clock, yard, MovementKind.STATUS, 30, Bucket(yard.qa_bin, Q), Bucket(yard.qa_bin, A))
    move(db, clock, yard, MovementKind.MOVE, 30, Bucket(yard.qa_bin, A), Bucket(yard.freezer_bin, A))
    # The 10 still in quarantine stay in the QA area: the freezer bin is refused.
    before = movements(db)
    with pytest.raises(TransactionNotAllowed) as quarantined:
        move(db, clock, yard, MovementKind.MOVE, 10, Bucket(yard.qa_bin, Q), Bucket(yard.freezer_bin, Q))
    assert quarantined.value.details()["blocked_by"] == ["stock.quarantine"]
    # Frozen goods into an ambient bin: refused, naming both conditions.
    with pytest.raises(StorageMismatch) as warm:
        move(db, clock, yard, MovementKind.MOVE, 5, Bucket(yard.freezer_bin, A), Bucket(yard.ambient_bin, A))
    assert warm.value.field == "to_location_id"
    assert warm.value.params["needed"] == "FROZEN"
    assert warm.value.params["location"] == "AMB-01"
    assert movements(db) == before
    assert on_hand(db) == {
        (yard.qa_bin, "QUARANTINE"): Decimal(10),
        (yard.freezer_bin, "AVAILABLE"): Decimal(30),
    }


def test_stock_never_goes_negative_and_a_refusal_writes_nothing(
    db: Database, clock: FakeClock, yard: Yard
) -> None:
    move(db, clock, yard, MovementKind.RECEIPT, 12, None, Bucket(yard.qa_bin, Q))
    before = (movements(db), on_hand(db))
    with pytest.raises(stock.NotEnoughStock) as short:
        move(db, clock, yard, MovementKind.QC_SAMPLE, 13, Bucket(yard.qa_bin, Q), None)
    assert short.value.field == "quantity"
    assert short.value.params["available"] == Decimal(12)
    assert (movements(db), on_hand(db)) == before
    move(db, clock, yard, MovementKind.QC_SAMPLE, 2, Bucket(yard.qa_bin, Q), None)
    assert on_hand(db) == {(yard.qa_bin, "QUARANTINE"): Decimal(10)}


def test_a_hold_on_one_bin_blocks_that_bin_only(db: Database, clock: FakeClock, yard: Yard) -> None:
    move(db, clock, yard, MovementKind.OPENING, 20, None, Bucket(yard.freezer_bin, A))
    move(db, clock, yard, MovementKind.OPENING, 20, None, Bucket(yard.qa_bin, A))
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Lot, yard.lot_id).quality_status = QualityStatus.RELEASED.value
        hold = lots.place_hold(
            uow, lot_id=yard.lot_id, hold_type=HoldType.DEVIATION, reason="torn cartons in FZ-01"
        )
        hold.location_id = yard.freezer_bin
    with db.transaction(read_only=True, clock=clock) as uow:
        lot = uow.session.get_one(Lot, yard.lot_id)
        held = stock.situation_of(uow, lot=lot, bucket=Bucket(yard.freezer_bin, A), now=clock.now)
        free = stock.situation_of(uow, lot=lot, bucket=Bucket(yard.qa_bin, A), now=clock.now)
    assert held.holds == frozenset({HoldType.DEVIATION})
    assert free.holds == frozenset()


def test_the_check_rebuilds_on_hand_from_the_ledger_and_every_balance_closes(
    db: Database, clock: FakeClock, yard: Yard
) -> None:
    move(db, clock, yard, MovementKind.RECEIPT, 40, None, Bucket(yard.dock, Q))
    move(db, clock, yard, MovementKind.PUTAWAY, 40, Bucket(yard.dock, Q), Bucket(yard.qa_bin, Q))
    move(db, clock, yard, MovementKind.QC_SAMPLE, 2, Bucket(yard.qa_bin, Q), None)
    move(
        db,
        clock,
        yard,
        MovementKind.RETAIN_SAMPLE,
        1,
        Bucket(yard.qa_bin, Q),
        Bucket(yard.qa_bin, StockStatus.RETAINED_SAMPLE),
    )
    move(db, clock, yard, MovementKind.STATUS, 5, Bucket(yard.qa_bin, Q), Bucket(yard.qa_bin, R))
    move(db, clock, yard, MovementKind.SCRAP, 5, Bucket(yard.qa_bin, R), None)
    move(db, clock, yard, MovementKind.ADJUST_UP, 1, None, Bucket(yard.qa_bin, Q))
    with db.transaction(read_only=True) as uow:
        assert ledger_check.differences(uow) == []
        balance = ledger_check.mass_balances(uow)[yard.lot_id]
    assert balance.closes
    assert balance.terms[Term.RECEIVED].base == Decimal(40)
    assert balance.terms[Term.SAMPLED].base == Decimal(2)
    assert balance.terms[Term.SCRAPPED].base == Decimal(5)
    assert balance.on_hand.base == Decimal(
        34
    )  # 40 − 2 sampled − 5 scrapped + 1 found; the retained one is on hand
    # Someone edits the projection behind lotline's back: the check finds it.
    with db.engine.begin() as connection:
        connection.execute(
            update(StockOnHand)
            .where(StockOnHand.location_id == yard.qa_bin, StockOnHand.stock_status == "QUARANTINE")
            .values(qty_base=Decimal(99))
        )
    with db.transaction(read_only=True) as uow:
        found = ledger_check.differences(uow)
        assert not ledger_check.mass_balances(uow)[yard.lot_id].closes
    assert [(d.location_id, d.stock_status, d.ledger.base, d.projection.base) for d in found] == [
        (yard.qa_bin, "QUARANTINE", Decimal(33), Decimal(99))
    ]


def test_the_ledger_is_append_only(db: Database, clock: FakeClock, yard: Yard) -> None:
    move(db, clock, yard, MovementKind.RECEIPT, 4, None, Bucket(yard.dock, Q))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as connection:
        connection.execute(text("UPDATE stock_movement SET base_qty = 1"))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as connection:
        connection.execute(text("DELETE FROM stock_movement"))
