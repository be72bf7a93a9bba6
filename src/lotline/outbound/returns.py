"""Customer returns (客户退货): stock a customer sends back, citing the shipment line it left on.

It lands in QUARANTINE at the receiving location (a CUSTOMER_RETURN movement: from outside, so
the matrix has nothing to ask of it; QA decides what becomes of it), with a reason, and is
counted against that shipment line: never more comes back than left on it. The line is locked
while the total is checked, so two returns of the same line cannot both pass.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from lotline.audit.service import record
from lotline.catalog.packaging import convert_for_product
from lotline.domain.errors import N_, Conflict, InvalidInput, LotlineError, NotFound
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.domain.units import plain
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.outbound import CustomerReturn, Shipment, ShipmentLine
from lotline.outbound.fulfilment import scope_site
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.stock.service import Bucket, new_txn, post
from lotline.uow import UnitOfWork


class ReturnTooLarge(Conflict):
    code = "return.more_than_shipped"
    message = N_(
        "Only {left} {unit} of lot {lot} shipped on that line can still come back; {wanted} {unit} cannot."
    )


def returned_so_far(uow: UnitOfWork, shipment_line_id: int) -> Decimal:
    total = uow.session.scalar(
        select(func.sum(CustomerReturn.qty_base)).where(CustomerReturn.shipment_line_id == shipment_line_id)
    )
    return total or Decimal(0)


def receive_return(
    uow: UnitOfWork,
    *,
    shipment_line_id: int,
    quantity: Decimal,
    unit: str,
    location_id: int,
    reason: str,
    principal: Principal | None = None,
) -> CustomerReturn:
    """Take back shipped stock into quarantine at a location; at most what is still out. Audited."""
    line = uow.session.execute(
        select(ShipmentLine).where(ShipmentLine.id == shipment_line_id).with_for_update()
    ).scalar_one_or_none()
    if line is None:
        raise NotFound(entity=N_("shipment line"), key=shipment_line_id, field="shipment_line_id")
    shipment = uow.session.get_one(Shipment, line.shipment_id)
    scope_site(
        principal,
        shipment.site_id,
        Permission.STOCK_MOVE,
        entity=N_("shipment line"),
        key=shipment_line_id,
        field="shipment_line_id",
    )
    place = uow.session.get(Location, location_id)
    if place is None or not place.active:
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    scope_site(
        principal,
        place.site_id,
        Permission.STOCK_MOVE,
        entity=N_("location"),
        key=location_id,
        field="location_id",
    )
    why = (reason or "").strip()
    if not why:
        raise InvalidInput(N_("{field} is required."), field="reason", code="return.reason_required")
    if quantity <= 0:
        raise InvalidInput(N_("{field} must be greater than zero."), field="quantity", code="return.quantity")
    lot = uow.session.get_one(Lot, line.lot_id)
    product = uow.session.get_one(Product, lot.product_id)
    try:
        base = convert_for_product(
            uow, product_id=product.id, quantity=quantity, from_unit=unit, to_unit=product.base_unit
        )
    except LotlineError as error:
        error.field = "unit"
        raise
    left = line.qty_base - returned_so_far(uow, line.id)
    if base > left:
        raise ReturnTooLarge(
            field="quantity",
            left=left,
            wanted=base,
            unit=product.base_unit,
            lot=lot.code,
        )
    txn = new_txn()
    movement = post(
        uow,
        kind=MovementKind.CUSTOMER_RETURN,
        lot=lot,
        quantity=Quantity(base),
        entered_qty=quantity,
        entered_unit=unit,
        target=Bucket(place.id, StockStatus.QUARANTINE, line.sscc),
        txn_id=txn,
        reason=why,
        reference=("shipment_line", line.id),
    )
    returned = CustomerReturn(
        shipment_line_id=line.id,
        lot_id=lot.id,
        location_id=place.id,
        qty_base=base,
        entered_qty=quantity,
        entered_unit=unit,
        reason=why,
        movement_id=movement.id,
        received_at=uow.now(),
        received_by=uow.actor.name,
    )
    uow.session.add(returned)
    uow.session.flush()
    changes = {
        "txn_id": txn,
        "shipment": [None, shipment.number],
        "shipment_line_id": [None, line.id],
        "lot_code": [None, lot.code],
        "location_id": [None, place.id],
        "quantity": [None, [plain(quantity), unit]],
        "qty_base": [None, plain(base)],
        "movement_id": [None, movement.id],
    }
    record(
        uow,
        action="customer_return",
        entity_type="shipment",
        entity_id=shipment.id,
        site_id=place.site_id,
        changes=changes,
        reason=why,
    )
    emit(
        uow,
        events.CUSTOMER_RETURN_RECEIVED,
        subject_type="lot",
        subject_id=lot.id,
        site_id=place.site_id,
        payload={**changes, "return_id": returned.id},
    )
    return returned


__all__ = ["ReturnTooLarge", "receive_return", "returned_so_far"]
