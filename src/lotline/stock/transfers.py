"""Transfers between sites: stock leaves in transit and is received in the status it had.

The TRANSFER_OUT movement keeps the status the stock left with (``from_status``); receiving
restores it at the destination, and whatever did not arrive is a TRANSIT_SHORTAGE movement
(counted as lost), so every lot's mass balance closes.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from lotline.domain.errors import N_, Conflict, InvalidInput, NotFound
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.models.catalog import Product
from lotline.models.stock import StockMovement
from lotline.outbox import events
from lotline.stock.operations import (
    Amount,
    OtherSite,
    Outcome,
    Source,
    announce,
    book_one,
    lot_by_id,
    place_by_id,
    quantity_of,
    scope,
    stated_reason,
    taking_from,
)
from lotline.stock.service import Bucket, post
from lotline.uow import UnitOfWork


class SameSite(InvalidInput):
    code = "stock.same_site"
    message = N_("{field}: {location} is at the same site; use a move, not a transfer.")


class TransferAlreadyReceived(Conflict):
    code = "stock.transfer_received"
    message = N_("Transfer {txn_id} has already been received.")


def transfer_out(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    lot_id: int,
    source: Source,
    to_location_id: int,
    amount: Amount,
    reason: str | None = None,
) -> Outcome:
    """Send stock to another site: in transit at the destination until it is received."""
    taking = taking_from(uow, principal, lot_id, source)
    target_place = place_by_id(uow, to_location_id, "to_location_id")
    if target_place.site_id == taking.place.site_id:
        raise SameSite(field="to_location_id", location=target_place.code)
    # The status it had is kept on the movement itself (from_status) and restored on receipt.
    return book_one(
        uow,
        taking,
        amount,
        kind=MovementKind.TRANSFER_OUT,
        target=Bucket(to_location_id, StockStatus.IN_TRANSIT, taking.bucket.sscc),
        action="transfer_out",
        event=events.STOCK_TRANSFER_SENT,
        reason=reason,
    )


def transfer_sent(uow: UnitOfWork, *, txn_id: str, lock: bool = False) -> StockMovement:
    """The TRANSFER_OUT movement of a transfer (locked: two receivers of one transfer queue up)."""
    query = select(StockMovement).where(
        StockMovement.txn_id == txn_id, StockMovement.kind == MovementKind.TRANSFER_OUT.value
    )
    sent = uow.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if sent is None:
        raise NotFound(entity=N_("transfer"), key=txn_id, field="txn_id")
    return sent


def receive_transfer(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    txn_id: str,
    received: Amount | None = None,
    to_location_id: int | None = None,
    reason: str | None = None,
) -> Outcome:
    """Receive a transfer in the status it left with; what did not arrive is a transit shortage."""
    sent = transfer_sent(uow, txn_id=txn_id, lock=True)
    assert sent.to_location_id is not None
    assert sent.from_status is not None
    lot = lot_by_id(uow, sent.lot_id)
    scope(principal, sent.site_id, Permission.STOCK_MOVE, lot_id=lot.id)
    already = uow.session.execute(
        select(StockMovement.id)
        .where(StockMovement.txn_id == txn_id, StockMovement.kind != MovementKind.TRANSFER_OUT.value)
        .limit(1)
    ).first()
    if already is not None:
        raise TransferAlreadyReceived(field="txn_id", txn_id=txn_id)
    product = uow.session.get_one(Product, lot.product_id)
    in_transit = Bucket(sent.to_location_id, StockStatus.IN_TRANSIT, sent.to_sscc)
    whole = Quantity(sent.base_qty, sent.count, sent.weight_kg)
    arrived = whole if received is None else quantity_of(uow, product, received)
    if arrived.base > whole.base:
        raise InvalidInput(
            N_("{field}: more was received than was sent ({sent} {unit})."),
            field="quantity",
            code="stock.more_than_sent",
            sent=sent.base_qty,
            unit=product.base_unit,
        )
    destination = to_location_id if to_location_id is not None else sent.to_location_id
    place = place_by_id(uow, destination, "to_location_id")
    if place.site_id != sent.site_id:
        raise OtherSite(field="to_location_id", location=place.code)
    short = Quantity(
        whole.base - arrived.base,
        _less(whole.count, arrived.count),
        _less(whole.weight_kg, arrived.weight_kg),
    )
    reason_text = stated_reason(reason, required=short.base > 0)
    posted = (
        [
            post(
                uow,
                kind=MovementKind.TRANSFER_IN,
                lot=lot,
                quantity=arrived,
                entered_qty=received.qty if received else sent.entered_qty,
                entered_unit=received.unit if received else sent.entered_unit,
                source=in_transit,
                target=Bucket(destination, StockStatus(sent.from_status), sent.to_sscc),
                txn_id=txn_id,
                reason=reason_text,
            )
        ]
        if arrived.base > 0
        else []
    )
    if short.base > 0:
        posted.append(
            post(
                uow,
                kind=MovementKind.TRANSIT_SHORTAGE,
                lot=lot,
                quantity=short,
                entered_qty=short.base,
                entered_unit=product.base_unit,
                source=in_transit,
                txn_id=txn_id,
                reason=reason_text,
            )
        )
    announce(
        uow,
        action="transfer_in",
        event=events.STOCK_TRANSFER_RECEIVED,
        lot=lot,
        site_id=sent.site_id,
        txn_id=txn_id,
        movements=posted,
        reason=reason_text,
    )
    return Outcome(txn_id, posted)


def _less(total: Decimal | None, part: Decimal | None) -> Decimal | None:
    if total is None:
        return None
    rest = total - (part or Decimal(0))
    return rest if rest > 0 else None
