"""What the trace tests share: an order of the outbound scenario, picked and shipped."""

from __future__ import annotations

from decimal import Decimal

from lotline.outbound import picking, shipping
from lotline.uow import Database
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import order_for, order_of_line, principal
from tests.outbound_fixtures import Shelf


def ship(db: Database, clock: FakeClock, shelf: Shelf, qty: str, scanned: str) -> int:
    """An order of ``qty`` EA, picked by scanning ``scanned`` and shipped: its shipment line."""
    line = order_for(db, clock, shelf, qty)
    with db.transaction(clock=clock) as uow:
        picking.pick(
            uow, line_id=line, scanned=scanned, quantity=Decimal(qty), unit="EA", principal=principal(db)
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
