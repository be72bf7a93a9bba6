"""Posting movements to the stock ledger and keeping the on-hand projection in step.

Every change of stock is one call of :func:`post` (or several sharing a ``txn_id``): it asks
the status × transaction matrix about the stock it takes (per bucket: the lot's quality status,
the bucket's stock status, the holds covering it, expiry at the site's local date), checks the
target location's storage condition against the product's, appends the movement row, and
updates the on-hand rows — all in the caller's transaction. On-hand never goes negative: the
decrement is a guarded UPDATE, so two writers taking the same stock cannot both succeed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select, update

from lotline.db import add_on_hand
from lotline.domain.errors import N_, Conflict, InvalidInput, NotFound
from lotline.domain.expiry import is_expired
from lotline.domain.ledger import SHAPES, STATUS_TARGETS, MovementKind, Quantity
from lotline.domain.matrix import StockSituation, check
from lotline.domain.status import HoldType, QualityStatus, StockStatus, Transaction
from lotline.domain.storage import Band, StorageMismatch, fits
from lotline.models.catalog import Location, Product, StorageCondition
from lotline.models.lot import Hold, Lot
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand
from lotline.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Bucket:
    """Where stock is: a location, a stock status and an SSCC ("" for none)."""

    location_id: int
    status: StockStatus
    sscc: str = ""


class NotEnoughStock(Conflict):
    code = "stock.insufficient"
    message = N_("Only {available} {unit} of lot {lot} is there; {wanted} {unit} cannot be taken.")


class StockReserved(Conflict):
    code = "stock.reserved"
    message = N_(
        "{reserved} {unit} of lot {lot} here are allocated to orders; only {available} {unit} are free, "
        "so {wanted} {unit} cannot be taken. Release the allocations first."
    )


def new_txn() -> str:
    """An id grouping the movements of one business transaction."""
    return str(uuid.uuid4())


def _band(condition: StorageCondition | None) -> Band | None:
    if condition is None:
        return None
    return Band(condition.code, condition.min_temp_c, condition.max_temp_c, condition.max_humidity_pct)


def _condition_name(condition: StorageCondition | None) -> str:
    return condition.code if condition is not None else N_("no stated condition (ambient)")


def check_storage(uow: UnitOfWork, *, product: Product, location: Location) -> None:
    """Refuse putting ``product`` where its storage condition is not kept (naming both)."""
    session = uow.session
    needed = (
        session.get(StorageCondition, product.storage_condition_id) if product.storage_condition_id else None
    )
    provided = (
        session.get(StorageCondition, location.storage_condition_id)
        if location.storage_condition_id
        else None
    )
    if not fits(_band(needed), _band(provided)):
        raise StorageMismatch(
            field="to_location_id",
            product=product.code,
            needed=_condition_name(needed),
            location=location.code,
            provided=_condition_name(provided),
        )


def holds_covering(uow: UnitOfWork, *, lot_id: int, bucket: Bucket) -> frozenset[HoldType]:
    """The active holds on the lot that cover this bucket (whole-lot, its location, its SSCC)."""
    rows = uow.session.scalars(
        select(Hold.hold_type).where(
            Hold.lot_id == lot_id,
            Hold.lifted_at.is_(None),
            or_(Hold.location_id.is_(None), Hold.location_id == bucket.location_id),
            or_(Hold.sscc.is_(None), Hold.sscc == bucket.sscc),
        )
    )
    return frozenset(HoldType(kind) for kind in rows)


def situation_of(uow: UnitOfWork, *, lot: Lot, bucket: Bucket, now: datetime) -> StockSituation:
    """One bucket of a lot as the matrix sees it."""
    zone = uow.session.get_one(Site, lot.site_id).time_zone
    return StockSituation(
        quality=QualityStatus(lot.quality_status),
        stock=bucket.status,
        holds=holds_covering(uow, lot_id=lot.id, bucket=bucket),
        expired=is_expired(expiry_date=lot.expiry_date, expiry_at=lot.expiry_at, site_zone=zone, now=now),
    )


def transaction_for(kind: MovementKind, target: Location | None) -> Transaction | None:
    """What the matrix is asked: a putaway or move into a QA area is MOVE_TO_QA."""
    transaction = SHAPES[kind].transaction
    if transaction in (Transaction.PUTAWAY, Transaction.MOVE) and target is not None and target.is_qa_area:
        return Transaction.MOVE_TO_QA
    return transaction


def _location(uow: UnitOfWork, location_id: int, field: str) -> Location:
    location = uow.session.get(Location, location_id)
    if location is None or not location.active:
        raise NotFound(entity=N_("location"), key=location_id, field=field)
    return location


def _take(
    uow: UnitOfWork, *, lot: Lot, bucket: Bucket, quantity: Quantity, unit: str, reserved: bool
) -> None:
    """Decrement a bucket, refusing (nothing changed) if it holds less than ``quantity``.

    Stock allocated to orders is not taken by anything else: only what is free may go, unless
    the take is itself of ``reserved`` stock (a shipment of picked allocations), which then
    lowers the bucket's reservation by the same amount.
    """
    row = StockOnHand
    key = and_(
        row.lot_id == lot.id,
        row.location_id == bucket.location_id,
        row.stock_status == bucket.status.value,
        row.sscc == bucket.sscc,
    )
    values: dict[str, object] = {"qty_base": row.qty_base - quantity.base, "updated_at": uow.now()}
    if quantity.count is not None:
        values["count"] = row.count - quantity.count
    if quantity.weight_kg is not None:
        values["weight_kg"] = row.weight_kg - quantity.weight_kg
    if reserved:
        values["qty_allocated"] = row.qty_allocated - quantity.base
        enough = and_(row.qty_base >= quantity.base, row.qty_allocated >= quantity.base)
    else:
        enough = row.qty_base - row.qty_allocated >= quantity.base
    taken = uow.session.execute(
        update(row).where(key, enough).values(**values).execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        found = uow.session.execute(select(row.qty_base, row.qty_allocated).where(key)).first()
        held, allocated = found if found is not None else (Decimal(0), Decimal(0))
        if not reserved and allocated > 0 and held >= quantity.base:
            raise StockReserved(
                field="quantity",
                reserved=allocated,
                available=held - allocated,
                wanted=quantity.base,
                unit=unit,
                lot=lot.code,
            )
        raise NotEnoughStock(
            field="quantity",
            available=allocated if reserved else held,
            wanted=quantity.base,
            unit=unit,
            lot=lot.code,
        )


def _put(uow: UnitOfWork, *, lot: Lot, site_id: int, bucket: Bucket, quantity: Quantity) -> None:
    add_on_hand(
        uow.session,
        {
            "lot_id": lot.id,
            "product_id": lot.product_id,
            "site_id": site_id,
            "location_id": bucket.location_id,
            "stock_status": bucket.status.value,
            "sscc": bucket.sscc,
            "qty_base": quantity.base,
            "count": quantity.count,
            "weight_kg": quantity.weight_kg,
            "updated_at": uow.now(),
        },
    )


def _forget_loaded_on_hand(uow: UnitOfWork) -> None:
    """On-hand rows change by SQL statements here: reload any the session already holds."""
    for instance in list(uow.session.identity_map.values()):
        if isinstance(instance, StockOnHand):
            uow.session.expire(instance)


def post(
    uow: UnitOfWork,
    *,
    kind: MovementKind,
    lot: Lot,
    quantity: Quantity,
    entered_qty: Decimal,
    entered_unit: str,
    source: Bucket | None = None,
    target: Bucket | None = None,
    txn_id: str | None = None,
    reason: str | None = None,
    reference: tuple[str, object] | None = None,
    signature_id: int | None = None,
    occurred_at: datetime | None = None,
    transaction: Transaction | None = None,
) -> StockMovement:
    """Append one movement and update on-hand; the matrix and storage rules are asked first.

    ``transaction``: what the matrix is asked instead of the kind's own (a rework consumes
    rejected stock: REWORK, not CONSUME)."""
    shape = SHAPES[kind]
    if shape.from_bucket != (source is not None) or shape.to_bucket != (target is not None):
        raise ValueError(
            f"{kind} moves {'from a bucket' if shape.from_bucket else 'from outside'} "
            f"{'to a bucket' if shape.to_bucket else 'to outside'}"
        )
    if quantity.base <= 0:
        raise InvalidInput(
            N_("{field} must be greater than zero."), field="quantity", code="stock.not_positive"
        )
    if target is not None and kind in STATUS_TARGETS and target.status not in STATUS_TARGETS[kind]:
        raise ValueError(f"{kind} cannot leave stock {target.status}")
    product = uow.session.get_one(Product, lot.product_id)
    now = uow.now()
    target_location = _location(uow, target.location_id, "to_location_id") if target else None
    source_location = _location(uow, source.location_id, "from_location_id") if source else None
    if source is not None:
        asked = transaction or transaction_for(kind, target_location)
        if asked is not None:
            check(asked, situation_of(uow, lot=lot, bucket=source, now=now))
    # Putaway, moves and transfers must keep the product's condition; stock arriving from
    # outside (a receipt, a return) lands where the document says and is put away from there.
    if (
        target_location is not None
        and source_location is not None
        and target_location.id != source_location.id
    ):
        check_storage(uow, product=product, location=target_location)
    acting = target_location or source_location
    assert acting is not None
    movement = StockMovement(
        txn_id=txn_id or new_txn(),
        kind=kind.value,
        lot_id=lot.id,
        product_id=lot.product_id,
        site_id=acting.site_id,
        from_location_id=source.location_id if source else None,
        from_status=source.status.value if source else None,
        from_sscc=source.sscc if source else "",
        to_location_id=target.location_id if target else None,
        to_status=target.status.value if target else None,
        to_sscc=target.sscc if target else "",
        entered_qty=entered_qty,
        entered_unit=entered_unit,
        base_qty=quantity.base,
        count=quantity.count,
        weight_kg=quantity.weight_kg,
        occurred_at=occurred_at or now,
        recorded_at=now,
        actor_name=uow.actor.name,
        actor_id=uow.actor.user_id,
        reference_type=reference[0] if reference else None,
        reference_id=str(reference[1]) if reference else None,
        reason=reason,
        signature_id=signature_id,
    )
    if source is not None:
        _take(
            uow,
            lot=lot,
            bucket=source,
            quantity=quantity,
            unit=product.base_unit,
            reserved=kind is MovementKind.SHIP,
        )
    if target is not None:
        assert target_location is not None
        _put(uow, lot=lot, site_id=target_location.site_id, bucket=target, quantity=quantity)
    uow.session.add(movement)
    uow.session.flush()
    _forget_loaded_on_hand(uow)
    return movement
