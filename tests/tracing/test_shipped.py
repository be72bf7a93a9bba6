"""A forward trace down to customers: what each got, what came back, and a returned lot shipped
again — the scenario of the outbound tests (lot E of MILK to the supermarket)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import StockStatus
from lotline.models.lot import Lot
from lotline.outbound import returns
from lotline.stock.service import Bucket, post
from lotline.trace.engine import Direction, summarize
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import principal, qa_bin
from tests.outbound_fixtures import Shelf, build_shelf
from tests.tracing.helpers import ship


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def test_forward_counts_shipments_returns_and_a_reshipment(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    e = shelf.lots["E"]
    first = ship(db, clock, shelf, "30", shelf.codes["E"])
    place = qa_bin(db, clock, shelf)
    clock.advance(hours=2)
    with db.transaction(clock=clock) as uow:
        returns.receive_return(
            uow,
            shipment_line_id=first,
            quantity=Decimal(12),
            unit="EA",
            location_id=place,
            reason="wrong delivery address",
            principal=principal(db),
        )
    # QA finds the returned cases sound: back to available stock, then shipped again.
    with db.transaction(clock=clock) as uow:
        post(
            uow,
            kind=MovementKind.STATUS,
            lot=uow.session.get_one(Lot, e),
            quantity=Quantity(Decimal(12)),
            entered_qty=Decimal(12),
            entered_unit="EA",
            source=Bucket(place, StockStatus.QUARANTINE),
            target=Bucket(place, StockStatus.AVAILABLE),
        )
    clock.advance(hours=2)
    ship(db, clock, shelf, "12", shelf.codes["E"])
    with db.transaction(read_only=True) as uow:
        summary = summarize(uow, lot_ids=[e], direction=Direction.FORWARD)
    (to_shop,) = summary.shipped
    assert (to_shop.customer_id, to_shop.product_id) == (shelf.customer, shelf.product)
    assert (to_shop.qty_base, to_shop.lines, to_shop.lots) == (Decimal(42), 2, 1)
    assert to_shop.returned_qty_base == Decimal(12)
    assert to_shop.first_shipped_at < to_shop.last_shipped_at
    assert summary.on_hand == []  # all of E is with the customer again
