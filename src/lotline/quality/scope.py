"""What a usage decision covers, read from the on-hand projection before anything is written:
the whole lot, a quantity from one bucket, or every bucket of one SSCC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from lotline.catalog.packaging import convert_for_product
from lotline.domain.errors import N_, Conflict, InvalidInput
from lotline.domain.gs1 import validate_sscc
from lotline.domain.ledger import Quantity
from lotline.domain.status import QualityStatus, StockStatus
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.stock import StockOnHand
from lotline.stock.service import Bucket
from lotline.uow import UnitOfWork

# The stock a decision takes, preferred first: a release frees quarantined stock; a rejection
# also takes stock already released (a complaint, one pallet of a failed truck).
SOURCES = {
    QualityStatus.RELEASED: (StockStatus.QUARANTINE,),
    QualityStatus.REJECTED: (StockStatus.QUARANTINE, StockStatus.AVAILABLE),
}


class NothingToDecide(Conflict):
    code = "decision.nothing_to_decide"
    message = N_("Lot {lot} has no stock there that this decision could take.")


@dataclass(frozen=True)
class Part:
    """What a decision covers: the whole lot (all None), a quantity from a bucket, or an SSCC."""

    quantity: Decimal | None = None
    unit: str | None = None
    location_id: int | None = None
    sscc: str | None = None

    @property
    def whole(self) -> bool:
        return self.quantity is None and self.sscc is None


@dataclass(frozen=True)
class Take:
    """One bucket's stock a decision moves, and how much of it."""

    bucket: Bucket
    quantity: Quantity
    entered_qty: Decimal
    entered_unit: str


def checked_part(part: Part) -> Part:
    if part.sscc is not None:
        part = Part(part.quantity, part.unit, part.location_id, validate_sscc(part.sscc, field="sscc"))
    if part.quantity is not None:
        if part.unit is None:
            raise InvalidInput(N_("{field} is required with a quantity."), field="unit", code="decision.unit")
        if part.location_id is None:
            raise InvalidInput(
                N_("{field} is required with a quantity."), field="location_id", code="decision.location"
            )
        if part.quantity <= 0:
            raise InvalidInput(
                N_("{field} must be greater than zero."), field="quantity", code="decision.quantity"
            )
    elif part.location_id is not None or part.unit is not None:
        raise InvalidInput(
            N_("A location or unit is given without a quantity."), field="quantity", code="decision.quantity"
        )
    return part


def buckets_of(
    uow: UnitOfWork, lot: Lot, statuses: Sequence[StockStatus], *, location_id: int | None, sscc: str | None
) -> list[StockOnHand]:
    """The lot's non-empty buckets in ``statuses`` (optionally at a location / of an SSCC), one query."""
    query = select(StockOnHand).where(
        StockOnHand.lot_id == lot.id,
        StockOnHand.stock_status.in_([s.value for s in statuses]),
        StockOnHand.qty_base > 0,
    )
    if location_id is not None:
        query = query.where(StockOnHand.location_id == location_id)
    if sscc is not None:
        query = query.where(StockOnHand.sscc == sscc)
    return list(uow.session.scalars(query.order_by(StockOnHand.id)))


def _whole_bucket(row: StockOnHand, base_unit: str) -> Take:
    return Take(
        Bucket(row.location_id, StockStatus(row.stock_status), row.sscc),
        Quantity(row.qty_base, row.count, row.weight_kg),
        row.qty_base,
        base_unit,
    )


def stock_taken(uow: UnitOfWork, lot: Lot, part: Part, decision: QualityStatus) -> list[Take]:
    """What the decision moves, read before anything is written."""
    product = uow.session.get_one(Product, lot.product_id)
    statuses = SOURCES[decision]
    if part.quantity is None:
        rows = buckets_of(uow, lot, statuses, location_id=None, sscc=part.sscc)
        if part.sscc is not None and not rows:
            raise NothingToDecide(field="sscc", lot=lot.code)
        return [_whole_bucket(row, product.base_unit) for row in rows]
    assert part.unit is not None
    assert part.location_id is not None
    rows = buckets_of(uow, lot, statuses, location_id=part.location_id, sscc=part.sscc or "")
    if not rows:
        raise NothingToDecide(field="location_id", lot=lot.code)
    rank = {status.value: position for position, status in enumerate(statuses)}
    row = min(rows, key=lambda r: rank[r.stock_status])
    base = convert_for_product(
        uow, product_id=product.id, quantity=part.quantity, from_unit=part.unit, to_unit=product.base_unit
    )
    if base == row.qty_base:  # all of it: count and weight go along for catch weight
        whole = _whole_bucket(row, product.base_unit)
        return [Take(whole.bucket, whole.quantity, part.quantity, part.unit)]
    if row.count is not None or row.weight_kg is not None:
        # How many pieces and kilograms a part of a catch-weight bucket holds is not derivable.
        raise InvalidInput(
            N_("Part of a catch-weight bucket cannot be decided by quantity: decide by SSCC or all of it."),
            field="quantity",
            code="decision.catch_weight_part",
        )
    bucket = Bucket(row.location_id, StockStatus(row.stock_status), row.sscc)
    return [Take(bucket, Quantity(base), part.quantity, part.unit)]
