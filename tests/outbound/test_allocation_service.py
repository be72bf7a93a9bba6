"""Allocation through the service: FEFO that names why it passed each lot over, reservations that
never exceed what a bucket holds, and release that gives the stock back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from lotline.domain.errors import InvalidInput, NotFound
from lotline.domain.status import HoldType, StockStatus
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.models.stock import StockOnHand
from lotline.outbound import allocation, orders
from lotline.places import service as places
from lotline.stock import operations
from lotline.stock.service import StockReserved
from lotline.uow import Database, UnitOfWork
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound_fixtures import DELIVERY_DATE, PASSED_OVER, SHIP_DATE, Shelf, build_shelf


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def order_of(
    db: Database, clock: FakeClock, shelf: Shelf, qty: str = "60", unit: str = "EA", **line: object
) -> int:
    with db.transaction(clock=clock) as uow:
        return orders.create_order(
            uow,
            order=orders.OrderInput(
                customer_id=shelf.customer,
                site_id=shelf.site,
                ship_date=SHIP_DATE,
                lines=[orders.LineInput(product_id=shelf.product, quantity=Decimal(qty), unit=unit, **line)],  # type: ignore[arg-type]
            ),
        ).id


def reserved_by_lot(uow: UnitOfWork) -> dict[int, Decimal]:
    rows = uow.session.execute(
        select(StockOnHand.lot_id, StockOnHand.qty_allocated).where(StockOnHand.qty_allocated > 0)
    )
    return {lot_id: qty for lot_id, qty in rows}


def test_fefo_picks_e_then_f_and_names_why_a_to_d_were_passed_over(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    order_id = order_of(db, clock, shelf)
    with db.transaction(clock=clock) as uow:
        wave = allocation.allocate_order(uow, order_id=order_id)
        (proposal,) = wave.proposals
        assert [(shelf.letter_of(c.candidate.lot_code), c.quantity) for c in proposal.chosen] == [
            ("E", Decimal(30)),
            ("F", Decimal(30)),
        ]
        assert proposal.short == 0
        reasons = {shelf.letter_of(p.candidate.lot_code): p.reasons for p in proposal.passed}
        assert set(reasons) == set(PASSED_OVER)
        for letter, code in PASSED_OVER.items():
            assert code in reasons[letter], (letter, reasons[letter])
        line = uow.session.scalars(select(SalesOrderLine).where(SalesOrderLine.order_id == order_id)).one()
        assert line.delivery_date == DELIVERY_DATE  # ship date + the customer's 2 transit days
        assert line.min_days == 10
        assert line.status == "allocated"
    with db.transaction(read_only=True) as uow:
        reserved = reserved_by_lot(uow)
        assert reserved == {shelf.lots["E"]: Decimal(30), shelf.lots["F"]: Decimal(30)}
        assert uow.session.scalars(
            select(AuditRecord.action).where(AuditRecord.entity_type == "sales_order")
        ).all() == [
            "create",
            "allocate",
        ]


def test_the_explanation_matches_the_allocation_and_a_second_order_takes_what_is_left(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    first = order_of(db, clock, shelf)
    second = order_of(db, clock, shelf, qty="3", unit="CS")  # 36 EA, only 20 of F are left
    with db.transaction(clock=clock) as uow:
        allocation.allocate_order(uow, order_id=first)
        (short,) = allocation.allocate_order(uow, order_id=second).proposals
        assert [(shelf.letter_of(c.candidate.lot_code), c.quantity) for c in short.chosen] == [
            ("F", Decimal(20))
        ]
        assert short.short == Decimal(16)
        passed = {shelf.letter_of(p.candidate.lot_code): p.reasons for p in short.passed}
        assert passed["E"] == ("fully_allocated",)
    with db.transaction(clock=clock) as uow:
        line_id = orders.order_lines(uow, order_id=first)[0].id
        explained = allocation.explain_line(uow, line_id=line_id)
        assert [(explained.lot_codes[a.lot_id], a.qty_base) for a in explained.allocations] == [
            (shelf.codes["E"], Decimal(30)),
            (shelf.codes["F"], Decimal(30)),
        ]
        assert {shelf.letter_of(p.candidate.lot_code) for p in explained.passed} == set(PASSED_OVER)
        assert explained.short == 0


def test_a_line_overriding_the_customer_minimum_may_take_c(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    order_id = order_of(db, clock, shelf, qty="10", min_days=3)
    with db.transaction(clock=clock) as uow:
        (proposal,) = allocation.allocate_order(uow, order_id=order_id).proposals
        assert [shelf.letter_of(c.candidate.lot_code) for c in proposal.chosen] == ["C"]


def test_releasing_a_line_gives_the_stock_back_and_a_new_wave_takes_it_again(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    order_id = order_of(db, clock, shelf)
    with db.transaction(clock=clock) as uow:
        allocation.allocate_order(uow, order_id=order_id)
        line_id = orders.order_lines(uow, order_id=order_id)[0].id
        assert allocation.release_line(uow, line_id=line_id, reason="customer changed the date") == 2
    with db.transaction(read_only=True) as uow:
        assert (
            uow.session.scalar(select(StockOnHand.qty_allocated).where(StockOnHand.lot_id == shelf.lots["E"]))
            == 0
        )
        assert orders.get_line(uow, line_id=line_id).status == "open"
    with db.transaction(clock=clock) as uow:
        again = allocation.allocate_order(uow, order_id=order_id)
        assert again.allocations == 2
        assert uow.session.scalar(select(Allocation.status).where(Allocation.id == 1)) == "released"


def test_a_bad_order_names_its_line_and_writes_nothing(db: Database, clock: FakeClock, shelf: Shelf) -> None:
    with db.transaction(clock=clock) as uow:
        with pytest.raises(InvalidInput) as bad_unit:
            orders.create_order(
                uow,
                order=orders.OrderInput(
                    customer_id=shelf.customer,
                    site_id=shelf.site,
                    ship_date=SHIP_DATE,
                    lines=[
                        orders.LineInput(product_id=shelf.product, quantity=Decimal(1), unit="EA"),
                        orders.LineInput(product_id=shelf.product, quantity=Decimal(1), unit="PAL"),
                    ],
                ),
            )
        assert bad_unit.value.field == "lines[1].unit"
        with pytest.raises(NotFound):
            orders.create_order(
                uow,
                order=orders.OrderInput(
                    customer_id=shelf.customer,
                    site_id=shelf.site,
                    ship_date=SHIP_DATE,
                    lines=[orders.LineInput(product_id=999, quantity=Decimal(1), unit="EA")],
                ),
            )
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalars(select(SalesOrderLine)).all() == []


def test_allocated_stock_is_not_moved_away_but_the_free_rest_is(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    order_id = order_of(db, clock, shelf)  # E 30 (all of it) and F 30 of 50
    with db.transaction(clock=clock) as uow:
        allocation.allocate_order(uow, order_id=order_id)
        parent = places.get_location(uow, location_id=shelf.bin).parent_id
        other = places.create_location(
            uow,
            site_id=shelf.site,
            code="AMB-2",
            name_zh="常温2",
            name_en="Ambient 2",
            kind="BIN",
            parent_id=parent,
        )
        other_id = other.id
    source = operations.Source(shelf.bin, StockStatus.AVAILABLE)
    with db.transaction(clock=clock) as uow, pytest.raises(StockReserved) as refused:
        operations.move(
            uow,
            principal=None,
            lot_id=shelf.lots["F"],
            source=source,
            to_location_id=other_id,
            amount=operations.Amount(Decimal(21), "EA"),
        )
    assert refused.value.params["available"] == Decimal(20)
    with db.transaction(clock=clock) as uow:
        operations.move(
            uow,
            principal=None,
            lot_id=shelf.lots["F"],
            source=source,
            to_location_id=other_id,
            amount=operations.Amount(Decimal(20), "EA"),
        )
    with db.transaction(read_only=True) as uow:
        left = uow.session.execute(
            select(StockOnHand.qty_base, StockOnHand.qty_allocated).where(
                StockOnHand.lot_id == shelf.lots["F"], StockOnHand.location_id == shelf.bin
            )
        ).one()
        assert tuple(left) == (Decimal(30), Decimal(30))


def test_a_hold_after_allocation_flags_it_and_a_new_wave_moves_the_line_off_the_held_lot(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    order_id = order_of(db, clock, shelf)
    with db.transaction(clock=clock) as uow:
        allocation.allocate_order(uow, order_id=order_id)
        lots.place_hold(uow, lot_id=shelf.lots["E"], hold_type=HoldType.DEVIATION, reason="seal broken")
    with db.transaction(read_only=True) as uow:
        flagged = uow.session.execute(
            select(Allocation.lot_id, Allocation.status, Allocation.flag_reason).where(
                Allocation.status == "flagged"
            )
        ).all()
        assert [tuple(row) for row in flagged] == [(shelf.lots["E"], "flagged", "hold.deviation")]
        line = orders.order_lines(uow, order_id=order_id)[0]
        assert line.status == "short"
    with db.transaction(clock=clock) as uow:
        (again,) = allocation.allocate_order(uow, order_id=order_id).proposals
        assert [(shelf.letter_of(c.candidate.lot_code), c.quantity) for c in again.chosen] == [
            ("F", Decimal(20))
        ]
        assert (
            "hold.deviation" in next(p for p in again.passed if p.candidate.lot_id == shelf.lots["E"]).reasons
        )
    with db.transaction(read_only=True) as uow:
        reserved = reserved_by_lot(uow)
        assert reserved == {shelf.lots["F"]: Decimal(50)}


def test_a_recall_hold_gives_the_allocations_back_outright(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    order_id = order_of(db, clock, shelf)
    with db.transaction(clock=clock) as uow:
        allocation.allocate_order(uow, order_id=order_id)
        lots.place_hold(uow, lot_id=shelf.lots["F"], hold_type=HoldType.RECALL, reason="supplier recall")
    with db.transaction(read_only=True) as uow:
        reserved = reserved_by_lot(uow)
        assert reserved == {shelf.lots["E"]: Decimal(30)}
        statuses = dict(uow.session.execute(select(Allocation.lot_id, Allocation.status)).all())
        assert statuses == {shelf.lots["E"]: "open", shelf.lots["F"]: "released"}
        # The line is short now, so its order is no longer allocated.
        line = uow.session.scalars(select(SalesOrderLine).where(SalesOrderLine.order_id == order_id)).one()
        assert line.status == "short"
        assert uow.session.get_one(SalesOrder, order_id).status == "open"


def test_a_wave_keeps_a_minimum_given_as_a_share_of_the_shelf_life(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    """At delivery E keeps 16 of its 48 days (33 %), F 21 of 53 (39 %): 35 % takes F only."""
    order_id = order_of(db, clock, shelf, qty="10", min_percent=Decimal(35))
    with db.transaction(clock=clock) as uow:
        line_ids = [line.id for line in orders.order_lines(uow, order_id=order_id)]
        (proposal,) = allocation.allocate_lines(uow, line_ids=line_ids).proposals  # the wave's reads
        assert [shelf.letter_of(c.candidate.lot_code) for c in proposal.chosen] == ["F"]
        explained = allocation.explain_line(uow, line_id=line_ids[0])
        reasons = {shelf.letter_of(p.candidate.lot_code): p.reasons for p in explained.passed}
        assert "short_of_customer_minimum" in reasons["E"]
