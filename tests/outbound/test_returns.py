"""Customer returns: cite the shipment line, land in quarantine with a reason, never more than
shipped minus what already came back; audited, site-scoped, and the ledger still balances."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from lotline.domain.errors import InvalidInput, NotFound
from lotline.models.audit import AuditRecord
from lotline.models.outbound import CustomerReturn
from lotline.models.stock import StockMovement
from lotline.outbound import picking, returns, shipping
from lotline.outbound.returns import ReturnTooLarge
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import (
    invariants_hold,
    on_hand,
    order_for,
    order_of_line,
    principal,
    qa_bin,
    rows,
)
from tests.outbound_fixtures import Shelf, build_shelf


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


@pytest.fixture
def shipped_line(db: Database, clock: FakeClock, shelf: Shelf) -> int:
    """The shipment line of lot E (30 EA) of a shipped order."""
    line = order_for(db, clock, shelf, "30")
    with db.transaction(clock=clock) as uow:
        picking.pick(
            uow,
            line_id=line,
            scanned=shelf.codes["E"],
            quantity=Decimal(30),
            unit="EA",
            principal=principal(db),
        )
        shipment = shipping.ship(
            uow,
            order_id=order_of_line(db, line),
            carrier_id=None,
            vehicle=None,
            legs=[],
            principal=principal(db),
        )
        (shipped,) = shipping.shipment_lines(uow, shipment_id=shipment.id)
        return shipped.id


def take_back(
    db: Database, clock: FakeClock, line: int, qty: str, place: int, unit: str = "EA", **extra: object
):  # type: ignore[no-untyped-def]
    with db.transaction(clock=clock) as uow:
        given = {"reason": "damaged in transit", "principal": principal(db), **extra}
        returned = returns.receive_return(
            uow,
            shipment_line_id=line,
            quantity=Decimal(qty),
            unit=unit,
            location_id=place,
            **given,  # type: ignore[arg-type]
        )
        return returned.qty_base


def test_a_return_lands_in_quarantine_citing_the_shipment_line(
    db: Database, clock: FakeClock, shelf: Shelf, shipped_line: int
) -> None:
    place = qa_bin(db, clock, shelf)
    assert take_back(db, clock, shipped_line, "1", place, unit="CS") == Decimal(12)
    e = shelf.lots["E"]
    assert on_hand(db, e) == {(place, "QUARANTINE", ""): Decimal(12)}
    with db.transaction(read_only=True) as uow:
        kept = uow.session.scalars(select(CustomerReturn)).one()
        assert (kept.shipment_line_id, kept.reason, kept.entered_qty, kept.entered_unit) == (
            shipped_line,
            "damaged in transit",
            Decimal(1),
            "CS",
        )
        movement = uow.session.get_one(StockMovement, kept.movement_id)
        assert (movement.kind, movement.to_status, movement.reference_type, movement.reference_id) == (
            "customer_return",
            "QUARANTINE",
            "shipment_line",
            str(shipped_line),
        )
        assert uow.session.scalars(
            select(AuditRecord.action).where(AuditRecord.action == "customer_return")
        ).all() == ["customer_return"]
    invariants_hold(db)


def test_never_more_comes_back_than_was_shipped(
    db: Database, clock: FakeClock, shelf: Shelf, shipped_line: int
) -> None:
    place = qa_bin(db, clock, shelf)
    before = rows(db)
    with pytest.raises(ReturnTooLarge):
        take_back(db, clock, shipped_line, "31", place)
    assert rows(db) == before
    take_back(db, clock, shipped_line, "20", place)
    with pytest.raises(ReturnTooLarge) as refused:
        take_back(db, clock, shipped_line, "11", place)
    assert refused.value.params["left"] == Decimal(10)
    take_back(db, clock, shipped_line, "10", place)
    with pytest.raises(ReturnTooLarge):
        take_back(db, clock, shipped_line, "1", place)
    assert on_hand(db, shelf.lots["E"]) == {(place, "QUARANTINE", ""): Decimal(30)}
    invariants_hold(db)


def test_a_return_needs_a_reason_and_a_known_line_and_place(
    db: Database, clock: FakeClock, shelf: Shelf, shipped_line: int
) -> None:
    place = qa_bin(db, clock, shelf)
    before = rows(db)
    with pytest.raises(InvalidInput) as no_reason:
        take_back(db, clock, shipped_line, "1", place, reason="  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(NotFound):
        take_back(db, clock, 999, "1", place)
    with pytest.raises(NotFound):
        take_back(db, clock, shipped_line, "1", 999)
    assert rows(db) == before


def test_a_user_of_another_site_cannot_see_the_shipment_line(
    db: Database, clock: FakeClock, shelf: Shelf, shipped_line: int
) -> None:
    place = qa_bin(db, clock, shelf)
    before = rows(db)
    with pytest.raises(NotFound):
        take_back(db, clock, shipped_line, "1", place, principal=principal(db, "warehouse"))
    assert rows(db) == before
