"""Stock operations: putaway and moves, samples; the helpers transfers, counts and disposal share.

Each is one business transaction on top of :func:`lotline.stock.service.post`: the caller's
right at the stock's site is checked, quantities are converted exactly to the product's base
unit, the movements are posted (the matrix and the storage rule are asked there), and one audit
record and one outbox event are written in the same transaction. Scrap and return to the
supplier are always signed; a count adjustment is signed when it is large
(``Settings.adjustment_signature_percent`` of the bucket).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from lotline.audit.service import record
from lotline.catalog.packaging import convert_for_product
from lotline.domain.errors import N_, InvalidInput, NotFound, PermissionDenied
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.stock import StockMovement, StockOnHand
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.stock.service import Bucket, new_txn, post
from lotline.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Amount:
    """A quantity as entered: value and unit, and for catch weight the count and weight (kg)."""

    qty: Decimal
    unit: str
    count: Decimal | None = None
    weight_kg: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where stock is taken from; the status may be left out when the place holds only one."""

    location_id: int
    status: StockStatus | None = None
    sscc: str = ""


@dataclass(frozen=True)
class Outcome:
    """What one operation did: its transaction id and the movements it posted."""

    txn_id: str
    movements: list[StockMovement]
    signature_id: int | None = None


class OtherSite(InvalidInput):
    code = "stock.other_site"
    message = N_("{field}: {location} is at another site; use a transfer between sites.")


# --- finding stock, checking rights ------------------------------------------------------------


def scope(principal: Principal | None, site_id: int, permission: Permission, *, lot_id: int) -> None:
    """404 where the caller cannot see the site's stock, 403 where they can see but not act."""
    if principal is None or principal.can(permission, site_id):
        return
    if principal.can(Permission.STOCK_READ, site_id):
        raise PermissionDenied(permission=permission.value)
    raise NotFound(entity=N_("lot"), key=lot_id, field="lot_id")


def lot_by_id(uow: UnitOfWork, lot_id: int) -> Lot:
    lot = uow.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(entity=N_("lot"), key=lot_id, field="lot_id")
    return lot


def place_by_id(uow: UnitOfWork, location_id: int, field: str) -> Location:
    location = uow.session.get(Location, location_id)
    if location is None or not location.active:
        raise NotFound(entity=N_("location"), key=location_id, field=field)
    return location


def bucket_row(uow: UnitOfWork, lot_id: int, bucket: Bucket) -> StockOnHand | None:
    return uow.session.execute(
        select(StockOnHand).where(
            StockOnHand.lot_id == lot_id,
            StockOnHand.location_id == bucket.location_id,
            StockOnHand.stock_status == bucket.status.value,
            StockOnHand.sscc == bucket.sscc,
        )
    ).scalar_one_or_none()


def _resolve(uow: UnitOfWork, lot: Lot, source: Source) -> Bucket:
    """The bucket meant: the status given, or the only one with stock at that place."""
    if source.status is not None:
        return Bucket(source.location_id, source.status, source.sscc)
    statuses = list(
        uow.session.scalars(
            select(StockOnHand.stock_status)
            .where(
                StockOnHand.lot_id == lot.id,
                StockOnHand.location_id == source.location_id,
                StockOnHand.sscc == source.sscc,
                StockOnHand.qty_base > 0,
            )
            .limit(2)
        )
    )
    if len(statuses) != 1:
        raise InvalidInput(
            N_("{field} is required: say which stock status to take from."),
            field="stock_status",
            code="stock.status_required",
        )
    return Bucket(source.location_id, StockStatus(statuses[0]), source.sscc)


@dataclass(frozen=True)
class Taking:
    lot: Lot
    product: Product
    place: Location
    bucket: Bucket


def taking_from(
    uow: UnitOfWork, principal: Principal | None, lot_id: int, source: Source, field: str = "from_location_id"
) -> Taking:
    lot = lot_by_id(uow, lot_id)
    place = place_by_id(uow, source.location_id, field)
    scope(principal, place.site_id, Permission.STOCK_MOVE, lot_id=lot.id)
    bucket = _resolve(uow, lot, source)
    return Taking(lot, uow.session.get_one(Product, lot.product_id), place, bucket)


def quantity_of(
    uow: UnitOfWork, product: Product, amount: Amount, *, whole: StockOnHand | None = None
) -> Quantity:
    """``amount`` in the product's base unit, exactly; catch weight carried (or the whole bucket's)."""
    if amount.qty <= 0:
        raise InvalidInput(
            N_("{field} must be greater than zero."), field="quantity", code="stock.not_positive"
        )
    base = convert_for_product(
        uow, product_id=product.id, quantity=amount.qty, from_unit=amount.unit, to_unit=product.base_unit
    )
    count, weight = amount.count, amount.weight_kg
    if not product.catch_weight and (count is not None or weight is not None):
        raise InvalidInput(
            N_("{field}: {product} is not a catch-weight product."),
            field="count" if count is not None else "weight_kg",
            code="stock.not_catch_weight",
            product=product.code,
        )
    for name, value in (("count", count), ("weight_kg", weight)):
        if value is not None and value <= 0:
            raise InvalidInput(
                N_("{field} must be greater than zero."), field=name, code="stock.not_positive"
            )
    # Taking a whole catch-weight bucket takes all its cases and kilograms, stated or not.
    if whole is not None and product.catch_weight and base == whole.qty_base:
        count = whole.count if count is None else count
        weight = whole.weight_kg if weight is None else weight
    return Quantity(base, count, weight)


def _movement_changes(movements: list[StockMovement]) -> dict[str, object]:
    return {
        "movements": [
            {
                "id": m.id,
                "kind": m.kind,
                "from": [m.from_location_id, m.from_status, m.from_sscc] if m.from_location_id else None,
                "to": [m.to_location_id, m.to_status, m.to_sscc] if m.to_location_id else None,
                "qty": [str(m.entered_qty), m.entered_unit],
                "base_qty": str(m.base_qty),
                "count": None if m.count is None else str(m.count),
                "weight_kg": None if m.weight_kg is None else str(m.weight_kg),
            }
            for m in movements
        ]
    }


def announce(
    uow: UnitOfWork,
    *,
    action: str,
    event: str,
    lot: Lot,
    site_id: int,
    txn_id: str,
    movements: list[StockMovement],
    reason: str | None,
    signature_id: int | None = None,
) -> None:
    """The operation's one audit record and its outbox event, in the caller's transaction."""
    changes = _movement_changes(movements)
    if signature_id is not None:
        changes["signature_id"] = [None, signature_id]
    record(
        uow,
        action=action,
        entity_type="lot",
        entity_id=lot.id,
        site_id=site_id,
        changes={"txn_id": txn_id, **changes},
        reason=reason,
    )
    emit(
        uow,
        event,
        subject_type="lot",
        subject_id=lot.id,
        site_id=site_id,
        payload={"txn_id": txn_id, "lot_code": lot.code, **changes},
    )


def stated_reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise InvalidInput(N_("{field} is required."), field="reason", code="stock.reason_required")
    return text or None


def book_one(
    uow: UnitOfWork,
    taking: Taking,
    amount: Amount,
    *,
    kind: MovementKind,
    target: Bucket | None,
    action: str,
    event: str,
    reason: str | None,
    reference: tuple[str, object] | None = None,
) -> Outcome:
    """Post one movement of ``amount`` from the taken bucket and announce it (audit + event)."""
    quantity = quantity_of(uow, taking.product, amount, whole=bucket_row(uow, taking.lot.id, taking.bucket))
    txn = new_txn()
    posted = post(
        uow,
        kind=kind,
        lot=taking.lot,
        quantity=quantity,
        entered_qty=amount.qty,
        entered_unit=amount.unit,
        source=taking.bucket,
        target=target,
        txn_id=txn,
        reason=stated_reason(reason, required=False),
        reference=reference,
    )
    announce(
        uow,
        action=action,
        event=event,
        lot=taking.lot,
        site_id=taking.place.site_id,
        txn_id=txn,
        movements=[posted],
        reason=posted.reason,
    )
    return Outcome(txn, [posted])


# --- putaway and moves within a site ----------------------------------------------------------


def move(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    lot_id: int,
    source: Source,
    to_location_id: int,
    amount: Amount,
    to_sscc: str | None = None,
    putaway: bool = False,
    reason: str | None = None,
) -> Outcome:
    """Put away or move stock within its site (into a QA area this is MOVE_TO_QA)."""
    taking = taking_from(uow, principal, lot_id, source)
    target_place = place_by_id(uow, to_location_id, "to_location_id")
    if target_place.site_id != taking.place.site_id:
        raise OtherSite(field="to_location_id", location=target_place.code)
    kind = MovementKind.PUTAWAY if putaway else MovementKind.MOVE
    sscc = taking.bucket.sscc if to_sscc is None else to_sscc
    return book_one(
        uow,
        taking,
        amount,
        kind=kind,
        target=Bucket(to_location_id, taking.bucket.status, sscc),
        action=kind.value,
        event=events.STOCK_MOVED,
        reason=reason,
    )


# --- samples ----------------------------------------------------------------------------------


def take_sample(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    lot_id: int,
    source: Source,
    amount: Amount,
    reason: str | None = None,
    reference: str | None = None,
) -> Outcome:
    """A QC sample taken for testing: it leaves the books (consumed by the test)."""
    taking = taking_from(uow, principal, lot_id, source)
    return book_one(
        uow,
        taking,
        amount,
        kind=MovementKind.QC_SAMPLE,
        target=None,
        action="qc_sample",
        event=events.STOCK_SAMPLED,
        reason=reason,
        reference=("sample", reference) if reference else None,
    )


def retain_sample(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    lot_id: int,
    source: Source,
    to_location_id: int,
    amount: Amount,
    reason: str | None = None,
) -> Outcome:
    """Keep a retained sample (留样): still on hand, in a status that is never allocated."""
    taking = taking_from(uow, principal, lot_id, source)
    target_place = place_by_id(uow, to_location_id, "to_location_id")
    if target_place.site_id != taking.place.site_id:
        raise OtherSite(field="to_location_id", location=target_place.code)
    return book_one(
        uow,
        taking,
        amount,
        kind=MovementKind.RETAIN_SAMPLE,
        target=Bucket(to_location_id, StockStatus.RETAINED_SAMPLE, taking.bucket.sscc),
        action="retain_sample",
        event=events.STOCK_RETAINED,
        reason=reason,
    )


__all__ = [
    "Amount",
    "OtherSite",
    "Outcome",
    "Source",
    "move",
    "retain_sample",
    "take_sample",
]
