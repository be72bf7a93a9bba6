"""Shipping: picked stock leaves with SHIP movements that drop its reservation in step, on transport
legs closed by their arrivals, with a packing list; stock blocked since it was picked stops the
whole shipment (nothing written), and a hold flags what was picked."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lotline.domain.errors import InvalidInput, NotFound
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.status import HoldType, QualityStatus
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, Pick, SalesOrder, SalesOrderLine, Shipment, ShipmentLine
from lotline.models.stock import StockMovement
from lotline.outbound import picking, shipping
from lotline.outbound.fulfilment import HeldSinceAllocation
from lotline.outbound.shipping import LegArrived, LegInput, NothingPicked
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import (
    allocation_states,
    carrier,
    invariants_hold,
    on_hand,
    order_for,
    order_of_line,
    palletise,
    principal,
    reserved,
    rows,
)
from tests.outbound_fixtures import Shelf, build_shelf


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def picked_in_full(db: Database, clock: FakeClock, shelf: Shelf, line: int) -> None:
    with db.transaction(clock=clock) as uow:
        for letter in ("E", "F"):
            picking.pick(
                uow,
                line_id=line,
                scanned=shelf.codes[letter],
                quantity=Decimal(30),
                unit="EA",
                principal=principal(db),
            )


def ship(db: Database, clock: FakeClock, order_id: int, **given: object) -> int:
    with db.transaction(clock=clock) as uow:
        return shipping.ship(
            uow,
            order_id=order_id,
            carrier_id=given.get("carrier_id"),  # type: ignore[arg-type]
            vehicle=given.get("vehicle"),  # type: ignore[arg-type]
            legs=given.get("legs", []),  # type: ignore[arg-type]
            principal=principal(db),
        ).id


def ship_as_the_interfaces_do(db: Database, clock: FakeClock, order_id: int) -> None:
    with db.transaction(clock=clock) as uow:
        try:
            shipping.ship(
                uow, order_id=order_id, carrier_id=None, vehicle=None, legs=[], principal=principal(db)
            )
        except HeldSinceAllocation:
            uow.commit()
            raise


def test_a_shipment_posts_ship_movements_and_drops_the_reservation_in_step(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    order_id = order_of_line(db, line)
    picked_in_full(db, clock, shelf, line)
    trucks = carrier(db, clock)
    departed = clock.now
    shipment_id = ship(
        db,
        clock,
        order_id,
        carrier_id=trucks,
        vehicle="沪A 12345",
        legs=[
            LegInput(origin="Site A", destination="Hub Suzhou"),
            LegInput(origin="Hub Suzhou", destination="SHOP", vehicle="苏E 54321"),
        ],
    )
    e, f = shelf.lots["E"], shelf.lots["F"]
    assert reserved(db) == {}
    assert on_hand(db, e) == {}
    assert on_hand(db, f) == {(shelf.bin, "AVAILABLE", ""): Decimal(20)}
    with db.transaction(read_only=True) as uow:
        shipment = uow.session.get_one(Shipment, shipment_id)
        assert (shipment.number, shipment.carrier_id, shipment.vehicle) == ("SH-000001", trucks, "沪A 12345")
        moved = uow.session.scalars(select(StockMovement).where(StockMovement.kind == "ship")).all()
        assert sorted((m.lot_id, m.base_qty) for m in moved) == [(e, Decimal(30)), (f, Decimal(30))]
        assert {(m.reference_type, m.reference_id) for m in moved} == {("shipment", str(shipment_id))}
        lines = uow.session.scalars(select(ShipmentLine)).all()
        assert {(sl.lot_id, sl.qty_base, sl.movement_id) for sl in lines} == {
            (m.lot_id, m.base_qty, m.id) for m in moved
        }
        legs = shipping.legs_of(uow, shipment_id=shipment_id)
        assert [(leg.seq, leg.carrier_id, leg.vehicle, leg.departed_at, leg.arrived_at) for leg in legs] == [
            (1, trucks, "沪A 12345", departed, None),
            (2, trucks, "苏E 54321", None, None),
        ]
        assert all(p.shipped for p in uow.session.scalars(select(Pick)))
        assert uow.session.get_one(SalesOrderLine, line).status == "shipped"
        assert uow.session.get_one(SalesOrder, order_id).status == "shipped"
    assert {status for _l, _lot, status, _q in allocation_states(db)} == {"shipped"}
    invariants_hold(db)


def test_legs_close_with_their_arrivals_and_the_last_one_delivers(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    picked_in_full(db, clock, shelf, line)
    shipment_id = ship(db, clock, order_of_line(db, line), legs=[LegInput(), LegInput()])
    hub = clock.now + timedelta(hours=5)
    with db.transaction(clock=clock) as uow:
        shipping.record_arrival(uow, shipment_id=shipment_id, seq=1, arrived_at=hub, principal=principal(db))
        assert uow.session.get_one(Shipment, shipment_id).delivered_at is None
    with pytest.raises(LegArrived), db.transaction(clock=clock) as uow:
        shipping.record_arrival(uow, shipment_id=shipment_id, seq=1, arrived_at=hub, principal=principal(db))
    with pytest.raises(NotFound), db.transaction(clock=clock) as uow:
        shipping.record_arrival(uow, shipment_id=shipment_id, seq=3, arrived_at=None, principal=principal(db))
    clock.advance(days=1)
    with db.transaction(clock=clock) as uow:
        shipping.record_arrival(uow, shipment_id=shipment_id, seq=2, arrived_at=None, principal=principal(db))
        assert uow.session.get_one(Shipment, shipment_id).delivered_at == clock.now


def test_an_arrival_before_the_departure_is_refused(db: Database, clock: FakeClock, shelf: Shelf) -> None:
    line = order_for(db, clock, shelf)
    picked_in_full(db, clock, shelf, line)
    early = clock.now - timedelta(hours=1)
    with pytest.raises(InvalidInput):
        ship(db, clock, order_of_line(db, line), legs=[LegInput(arrived_at=early)])
    shipment_id = ship(db, clock, order_of_line(db, line))
    with pytest.raises(InvalidInput), db.transaction(clock=clock) as uow:
        shipping.record_arrival(
            uow, shipment_id=shipment_id, seq=1, arrived_at=early, principal=principal(db)
        )


def test_only_what_was_picked_ships_and_nothing_picked_is_refused(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    order_id = order_of_line(db, line)
    with pytest.raises(NothingPicked):
        ship(db, clock, order_id)
    with db.transaction(clock=clock) as uow:
        picking.pick(
            uow,
            line_id=line,
            scanned=shelf.codes["E"],
            quantity=Decimal(30),
            unit="EA",
            principal=principal(db),
        )
    ship(db, clock, order_id)
    assert reserved(db) == {shelf.lots["F"]: Decimal(30)}  # F is still allocated, not picked
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(SalesOrderLine, line).status == "allocated"
    with pytest.raises(NothingPicked):
        ship(db, clock, order_id)
    invariants_hold(db)


def test_a_pallet_ships_with_its_sscc(db: Database, clock: FakeClock, shelf: Shelf) -> None:
    code = palletise(db, clock, shelf, "E", 7)
    line = order_for(db, clock, shelf, "30")
    with db.transaction(clock=clock) as uow:
        picking.pick(
            uow, line_id=line, scanned=code, quantity=Decimal(30), unit="EA", principal=principal(db)
        )
    shipment_id = ship(db, clock, order_of_line(db, line))
    with db.transaction(read_only=True) as uow:
        (shipped,) = shipping.shipment_lines(uow, shipment_id=shipment_id)
        assert (shipped.sscc, shipped.qty_base) == (code, Decimal(30))
    invariants_hold(db)


BLOCKS = {"quarantined": "quality.quarantine", "rejected": "quality.rejected", "expired": "expired"}


@pytest.mark.parametrize("how", [*BLOCKS, "recall_held"])
def test_stock_blocked_since_it_was_picked_stops_the_whole_shipment(
    db: Database, clock: FakeClock, shelf: Shelf, how: str
) -> None:
    line = order_for(db, clock, shelf)
    picked_in_full(db, clock, shelf, line)
    e = shelf.lots["E"]
    with db.transaction(clock=clock) as uow:
        if how in ("quarantined", "rejected"):
            status = QualityStatus.QUARANTINE if how == "quarantined" else QualityStatus.REJECTED
            uow.session.get_one(Lot, e).quality_status = status.value
        elif how == "recall_held":
            lots.place_hold(uow, lot_id=e, hold_type=HoldType.RECALL, reason="recall R-7")
    if how == "expired":
        clock.now = datetime(2026, 3, 20, 16, 30, tzinfo=UTC)  # 00:30 on 03-21 in Shanghai: E is past its day
    before, allocations = rows(db), allocation_states(db)
    with pytest.raises(TransactionNotAllowed) as refused:
        ship(db, clock, order_of_line(db, line))
    assert not isinstance(refused.value, HeldSinceAllocation)
    assert refused.value.details()["transaction"] == "ship"
    assert BLOCKS.get(how, "hold.recall") in refused.value.details()["blocked_by"]  # type: ignore[operator]
    assert rows(db) == before
    assert allocation_states(db) == allocations


def test_a_hold_after_picking_stops_the_shipment_and_flags_what_was_picked(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    picked_in_full(db, clock, shelf, line)
    f = shelf.lots["F"]
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=f, hold_type=HoldType.QA, reason="customer complaint on F")
    with pytest.raises(HeldSinceAllocation) as refused:
        ship_as_the_interfaces_do(db, clock, order_of_line(db, line))
    assert "hold.qa" in refused.value.details()["blocked_by"]  # type: ignore[operator]
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalars(select(Shipment)).all() == []
        assert uow.session.scalars(select(StockMovement).where(StockMovement.kind == "ship")).all() == []
        held = uow.session.scalars(select(Allocation).where(Allocation.lot_id == f)).one()
        assert (held.status, held.flag_reason) == ("flagged", "hold.qa")
        assert uow.session.get_one(SalesOrderLine, line).status == "short"
    invariants_hold(db)


def test_the_packing_list_names_lots_expiry_dates_quantities_and_ssccs(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    code = palletise(db, clock, shelf, "F", 9)
    line = order_for(db, clock, shelf)
    picked_in_full(db, clock, shelf, line)
    shipment_id = ship(db, clock, order_of_line(db, line), carrier_id=carrier(db, clock), vehicle="沪A 12345")
    with db.transaction(read_only=True) as uow:
        english = shipping.packing_list_pdf(uow, shipment_id, "en")
        chinese = shipping.packing_list_pdf(uow, shipment_id, "zh_CN")
        readable = shipping.packing_list_pdf(uow, shipment_id, "en", compress=False)
    assert english.startswith(b"%PDF")
    assert chinese.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(english)).pages)
    for expected in (
        shelf.codes["E"],
        shelf.codes["F"],
        "2026-03-20",
        "2026-03-25",
        code,
        "SH-000001",
        "Trucks Ltd",
    ):
        assert expected in text, expected
    assert "Packing list" in text
    assert shelf.codes["E"].encode() in readable  # page streams left uncompressed show the codes as they are
    assert b"STSong-Light" in chinese
    zh_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(chinese)).pages)
    assert shelf.codes["E"] in zh_text
    assert "牛奶" in zh_text


def _race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once in threads (each its own transaction); what each returned or raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test looks at
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.postgres
def test_two_pickers_racing_for_one_lot_and_two_shippers_for_one_order_each_win_once(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    who = principal(db)

    def pick_e() -> object:
        with db.transaction(clock=clock) as uow:
            return (
                picking.pick(
                    uow,
                    line_id=line,
                    scanned=shelf.codes["E"],
                    quantity=Decimal(30),
                    unit="EA",
                    principal=who,
                )
                .picks[0]
                .qty_base
            )

    outcomes = _race(pick_e, pick_e)
    assert Decimal(30) in outcomes
    assert sum(isinstance(o, picking.NotFreeThere) for o in outcomes) == 1, outcomes
    with db.transaction(clock=clock) as uow:
        picking.pick(
            uow, line_id=line, scanned=shelf.codes["F"], quantity=Decimal(30), unit="EA", principal=who
        )
    order_id = order_of_line(db, line)

    def ship_it() -> object:
        with db.transaction(clock=clock) as uow:
            return shipping.ship(
                uow, order_id=order_id, carrier_id=None, vehicle=None, legs=[], principal=who
            ).number

    outcomes = _race(ship_it, ship_it)
    assert "SH-000001" in outcomes
    assert sum(isinstance(o, NothingPicked) for o in outcomes) == 1, outcomes
    with db.transaction(read_only=True) as uow:
        assert len(uow.session.scalars(select(StockMovement).where(StockMovement.kind == "ship")).all()) == 2
    assert reserved(db) == {}
    invariants_hold(db)
