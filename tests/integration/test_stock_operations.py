"""Stock operations on the ledger: moves, transfers, samples, counts, scrap and returns — each
site-scoped, audited, announced, converted exactly to base units, refused where the matrix says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.errors import InvalidInput, NotFound, PermissionDenied
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.domain.storage import StorageMismatch
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.lot import Lot
from lotline.models.outbox import OutboxEvent
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.signatures import service as signatures
from lotline.stock import check as ledger_check
from lotline.stock import disposal, operations, transfers
from lotline.stock import service as stock
from lotline.stock.operations import Amount, Source
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock

Q, A = StockStatus.QUARANTINE, StockStatus.AVAILABLE


@dataclass
class Floor:
    lot: int
    product: int
    dock: int
    qa_bin: int
    qa_two: int
    freezer: int
    ambient: int
    store: int
    far_freezer: int  # at site B


def build_floor(db: Database, clock: FakeClock, people: People) -> Floor:
    """Site A: a store with a dock, a frozen QA bin, a freezer bin and an ambient bin; site B: a
    freezer; a frozen product counted in EA and packed 12 to a case; one lot at site A."""
    site_a, site_b = people.site_ids["A"], people.site_ids["B"]
    with db.transaction(clock=clock) as uow:
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
        packaging.set_packaging(uow, product_id=product.id, levels=[packaging.LevelInput("CS", Decimal(12))])

        def place(site: int, code: str, parent: int | None, kind: str = "BIN", **extra: object) -> int:
            return places.create_location(
                uow, site_id=site, code=code, name_zh=code, name_en=code, kind=kind, parent_id=parent, **extra
            ).id

        store = place(site_a, "WH", None, "WAREHOUSE")
        far = place(site_b, "WHB", None, "WAREHOUSE")
        floor = Floor(
            lot=lots.register_lot(
                uow,
                product_id=product.id,
                site_id=site_a,
                source="PRODUCTION",
                production_date=date(2026, 2, 20),
            ).id,
            product=product.id,
            dock=place(site_a, "DOCK", store, storage_condition_id=frozen.id),
            qa_bin=place(site_a, "QA-01", store, is_qa_area=True, storage_condition_id=frozen.id),
            qa_two=place(site_a, "QA-02", store, is_qa_area=True, storage_condition_id=frozen.id),
            freezer=place(site_a, "FZ-01", store, storage_condition_id=frozen.id),
            ambient=place(site_a, "AMB-01", store),
            store=store,
            far_freezer=place(site_b, "FZ-B1", far, storage_condition_id=frozen.id),
        )
        return floor


def seed(db: Database, clock: FakeClock, floor: Floor, qty: int, bucket: Bucket, kind: MovementKind) -> None:
    with db.transaction(clock=clock) as uow:
        stock.post(
            uow,
            kind=kind,
            lot=uow.session.get_one(Lot, floor.lot),
            quantity=Quantity(Decimal(qty)),
            entered_qty=Decimal(qty),
            entered_unit="EA",
            target=bucket,
        )


def set_quality(db: Database, floor: Floor, status: QualityStatus) -> None:
    with db.transaction() as uow:
        uow.session.get_one(Lot, floor.lot).quality_status = status.value


def principal(db: Database, who: str) -> Principal:
    with db.transaction(read_only=True) as uow:
        return auth.principal_for(auth.get_user_by_name(uow, username=who, field="user"))


def rows(db: Database) -> tuple[int, int, int, int]:
    """Movements, on-hand rows, audit records and outbox events: what a refusal must not change."""
    with db.transaction(read_only=True) as uow:
        return tuple(  # type: ignore[return-value]
            int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())
            for model in (StockMovement, StockOnHand, AuditRecord, OutboxEvent)
        )


def on_hand(db: Database) -> dict[tuple[int, str], Decimal]:
    with db.transaction(read_only=True) as uow:
        found = uow.session.execute(
            select(StockOnHand.location_id, StockOnHand.stock_status, StockOnHand.qty_base).where(
                StockOnHand.qty_base > 0
            )
        )
        return {(location, status): qty for location, status, qty in found}


def grant(db: Database, clock: FakeClock, who: str, meaning: Meaning, lot_id: int) -> str:
    with db.transaction(clock=clock) as uow:
        secret, _ = signatures.authorize_signing(
            uow,
            principal=principal(db, who),
            web_session=None,
            username=who,
            password=PASSWORD,
            meaning=meaning,
            record_type="lot",
            record_id=str(lot_id),
            client_ip=None,
        )
        return secret


def closes(db: Database) -> None:
    with db.transaction(read_only=True) as uow:
        assert ledger_check.differences(uow) == []
        assert all(b.closes for b in ledger_check.mass_balances(uow).values())


@pytest.fixture
def floor(db: Database, clock: FakeClock, people: People) -> Floor:
    return build_floor(db, clock, people)


def test_the_ten_left_in_quarantine_go_only_to_a_qa_bin_or_are_returned_or_scrapped(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    admin = principal(db, "admin")
    seed(db, clock, floor, 40, Bucket(floor.qa_bin, Q), MovementKind.RECEIPT)
    set_quality(db, floor, QualityStatus.RELEASED)
    with db.transaction(clock=clock) as uow:  # QA releases 30 of 40: a status move
        stock.post(
            uow,
            kind=MovementKind.STATUS,
            lot=uow.session.get_one(Lot, floor.lot),
            quantity=Quantity(Decimal(30)),
            entered_qty=Decimal(30),
            entered_unit="EA",
            source=Bucket(floor.qa_bin, Q),
            target=Bucket(floor.qa_bin, A),
        )
    with db.transaction(clock=clock) as uow:  # 2 cases of 12 → 24 EA, exactly
        moved = operations.move(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_bin, A),
            to_location_id=floor.freezer,
            amount=Amount(Decimal(2), "CS"),
        )
        assert (moved.movements[0].base_qty, moved.movements[0].entered_unit) == (Decimal(24), "CS")
    before = rows(db)
    for refused in (
        lambda uow: operations.move(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_bin, Q),
            to_location_id=floor.freezer,
            amount=Amount(Decimal(10), "EA"),
        ),
        lambda uow: transfers.transfer_out(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_bin, Q),
            to_location_id=floor.far_freezer,
            amount=Amount(Decimal(10), "EA"),
        ),
    ):
        with pytest.raises(TransactionNotAllowed) as no, db.transaction(clock=clock) as uow:
            refused(uow)
        assert no.value.details()["blocked_by"] == ["stock.quarantine"]
    assert rows(db) == before
    # Into another QA bin it may go (MOVE_TO_QA); scrapping and returning need a signature.
    with db.transaction(clock=clock) as uow:
        operations.move(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_bin, Q),
            to_location_id=floor.qa_two,
            amount=Amount(Decimal(10), "EA"),
        )
    before = rows(db)
    with pytest.raises(signatures.SigningGrantInvalid), db.transaction(clock=clock) as uow:
        disposal.scrap(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_two, Q),
            amount=Amount(Decimal(4), "EA"),
            reason="torn",
            signing_grant="lls_forged",
        )
    assert rows(db)[:2] == before[:2]
    with db.transaction(clock=clock) as uow:
        disposal.scrap(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_two, Q),
            amount=Amount(Decimal(4), "EA"),
            reason="torn cartons",
            signing_grant=grant(db, clock, "admin", Meaning.SCRAP, floor.lot),
        )
    with db.transaction(clock=clock) as uow:
        disposal.return_to_supplier(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.qa_two, Q),
            amount=Amount(Decimal(6), "EA"),
            reason="wrong spec",
            reference="RMA-7",
            signing_grant=grant(db, clock, "admin", Meaning.RETURN_TO_SUPPLIER, floor.lot),
        )
    assert on_hand(db) == {(floor.qa_bin, "AVAILABLE"): Decimal(6), (floor.freezer, "AVAILABLE"): Decimal(24)}
    closes(db)


def test_frozen_goods_are_refused_into_an_ambient_bin_naming_both_conditions(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 10, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    before = rows(db)
    with pytest.raises(StorageMismatch) as warm, db.transaction(clock=clock) as uow:
        operations.move(
            uow,
            principal=principal(db, "admin"),
            lot_id=floor.lot,
            source=Source(floor.freezer),
            to_location_id=floor.ambient,
            amount=Amount(Decimal(5), "EA"),
        )
    assert warm.value.field == "to_location_id"
    assert (warm.value.params["needed"], warm.value.params["location"]) == ("FROZEN", "AMB-01")
    assert "ambient" in str(warm.value.params["provided"])
    assert rows(db) == before


def test_a_transfer_is_in_transit_then_received_with_a_shortage_and_the_books_close(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 30, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    admin = principal(db, "admin")
    with db.transaction(clock=clock) as uow:
        sent = transfers.transfer_out(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer),
            to_location_id=floor.far_freezer,
            amount=Amount(Decimal(2), "CS"),
        )
    assert on_hand(db) == {
        (floor.freezer, "AVAILABLE"): Decimal(6),
        (floor.far_freezer, "IN_TRANSIT"): Decimal(24),
    }
    # The warehouse user holds stock.move at site B only: site A's stock is not theirs to move.
    with pytest.raises(NotFound), db.transaction(clock=clock) as uow:
        operations.move(
            uow,
            principal=principal(db, "warehouse"),
            lot_id=floor.lot,
            source=Source(floor.freezer),
            to_location_id=floor.dock,
            amount=Amount(Decimal(1), "EA"),
        )
    with pytest.raises(PermissionDenied), db.transaction(clock=clock) as uow:
        transfers.receive_transfer(uow, principal=principal(db, "viewer"), txn_id=sent.txn_id)
    before = rows(db)
    with pytest.raises(InvalidInput) as why, db.transaction(clock=clock) as uow:
        transfers.receive_transfer(
            uow, principal=principal(db, "warehouse"), txn_id=sent.txn_id, received=Amount(Decimal(21), "EA")
        )
    assert why.value.field == "reason"
    assert rows(db) == before
    with db.transaction(clock=clock) as uow:
        received = transfers.receive_transfer(
            uow,
            principal=principal(db, "warehouse"),
            txn_id=sent.txn_id,
            received=Amount(Decimal(21), "EA"),
            reason="3 crushed on the truck",
        )
    assert [m.kind for m in received.movements] == ["transfer_in", "transit_shortage"]
    assert on_hand(db) == {
        (floor.freezer, "AVAILABLE"): Decimal(6),
        (floor.far_freezer, "AVAILABLE"): Decimal(21),
    }
    with pytest.raises(transfers.TransferAlreadyReceived), db.transaction(clock=clock) as uow:
        transfers.receive_transfer(uow, principal=admin, txn_id=sent.txn_id)
    closes(db)


def test_samples_retained_samples_and_a_count_each_book_their_own_movement(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 100, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    admin = principal(db, "admin")
    with db.transaction(clock=clock) as uow:
        operations.take_sample(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer),
            amount=Amount(Decimal(2), "EA"),
            reference="INSP-1",
        )
        operations.retain_sample(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer),
            to_location_id=floor.qa_bin,
            amount=Amount(Decimal(3), "EA"),
        )
    assert on_hand(db) == {
        (floor.freezer, "AVAILABLE"): Decimal(95),
        (floor.qa_bin, "RETAINED_SAMPLE"): Decimal(3),
    }
    # A small difference (2 of 95, under 5 %) needs a reason but no signature.
    with db.transaction(clock=clock) as uow:
        small = disposal.count(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer),
            counted=Amount(Decimal(93), "EA"),
            reason="recount",
        )
    assert (small.movements[0].kind, small.movements[0].base_qty, small.signature_id) == (
        "adjust_down",
        2,
        None,
    )
    # A large one (8 CS = 96 against 93 is 3.2 %, fine; 120 is not) must be signed.
    before = rows(db)
    with pytest.raises(signatures.SigningGrantInvalid), db.transaction(clock=clock) as uow:
        disposal.count(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer),
            counted=Amount(Decimal(10), "CS"),
            reason="found a pallet",
        )
    assert rows(db) == before
    with db.transaction(clock=clock) as uow:
        large = disposal.count(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer),
            counted=Amount(Decimal(10), "CS"),
            reason="found a pallet",
            signing_grant=grant(db, clock, "admin", Meaning.APPROVE, floor.lot),
        )
    assert (large.movements[0].kind, large.movements[0].base_qty) == ("adjust_up", 27)
    assert large.signature_id is not None
    closes(db)


def test_one_audit_record_and_one_event_per_operation(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 10, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    before = rows(db)
    with db.transaction(clock=clock) as uow:
        operations.move(
            uow,
            principal=principal(db, "admin"),
            lot_id=floor.lot,
            source=Source(floor.freezer),
            to_location_id=floor.dock,
            amount=Amount(Decimal(10), "EA"),
        )
    after = rows(db)
    assert (after[0] - before[0], after[2] - before[2], after[3] - before[3]) == (1, 1, 1)
    with db.transaction(read_only=True) as uow:
        last = uow.session.execute(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).scalar_one()
        assert (last.action, last.entity_type, last.entity_id) == ("move", "lot", str(floor.lot))


def _take_fifty(db: Database, clock: FakeClock, floor: Floor, who: Principal) -> int:
    taken = 0
    for _ in range(50):
        try:
            with db.transaction(clock=clock) as uow:
                operations.take_sample(
                    uow,
                    principal=who,
                    lot_id=floor.lot,
                    source=Source(floor.freezer, A),
                    amount=Amount(Decimal(1), "EA"),
                )
            taken += 1
        except stock.NotEnoughStock:
            pass
    return taken


@pytest.mark.postgres
def test_four_threads_taking_from_one_bucket_never_drive_it_negative(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    seed(db, clock, floor, 150, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    admin = principal(db, "admin")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _take_fifty(db, clock, floor, admin), range(4)))
    assert sum(results) == 150
    assert on_hand(db) == {}
    closes(db)


def test_catch_weight_count_and_weight_travel_with_the_stock_and_balance(
    db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    with db.transaction(clock=clock) as uow:
        lot_type = catalog.create_lot_type(
            uow, code="RM", name_zh="原料", name_en="Raw", code_template="{site}{yy}{doy:03}{seq:04}"
        )
        pork = catalog.create_product(
            uow,
            code="PORK",
            name_zh="猪肉",
            name_en="Pork",
            base_unit="KGM",
            catch_weight=True,
            lot_type_id=lot_type.id,
            shelf_life_amount=10,
            shelf_life_unit="DAYS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        lot = lots.register_lot(
            uow,
            product_id=pork.id,
            site_id=people.site_ids["A"],
            source="PRODUCTION",
            production_date=date(2026, 3, 1),
        )
        lot.quality_status = QualityStatus.RELEASED.value
        stock.post(
            uow,
            kind=MovementKind.OPENING,
            lot=lot,
            quantity=Quantity(Decimal("250.5"), Decimal(10), Decimal("250.5")),
            entered_qty=Decimal("250.5"),
            entered_unit="KGM",
            target=Bucket(floor.ambient, A),
        )
        lot_id = lot.id
    admin = principal(db, "admin")
    with pytest.raises(InvalidInput) as not_cw, db.transaction(clock=clock) as uow:
        operations.take_sample(
            uow,
            principal=admin,
            lot_id=floor.lot,
            source=Source(floor.freezer, A),
            amount=Amount(Decimal(1), "EA", count=Decimal(1)),
        )
    assert not_cw.value.field == "count"
    with db.transaction(clock=clock) as uow:
        operations.take_sample(  # 500 g of one piece, stated in grams
            uow,
            principal=admin,
            lot_id=lot_id,
            source=Source(floor.ambient),
            amount=Amount(Decimal(500), "GRM", count=Decimal(1), weight_kg=Decimal("0.5")),
        )
        moved = operations.move(  # the whole rest: every piece and kilogram goes with it
            uow,
            principal=admin,
            lot_id=lot_id,
            source=Source(floor.ambient),
            to_location_id=floor.dock,
            amount=Amount(Decimal(250), "KGM"),
        )
    assert (moved.movements[0].count, moved.movements[0].weight_kg) == (Decimal(9), Decimal(250))
    with db.transaction(read_only=True) as uow:
        balance = ledger_check.mass_balances(uow, [lot_id])[lot_id]
        assert balance.closes
        assert (balance.on_hand.count, balance.on_hand.weight_kg) == (Decimal(9), Decimal(250))
    closes(db)
