"""Counts, scrap and return to the supplier: the operations that take stock off the books.

Scrap and return to the supplier are signed decisions, whatever the quantity (the matrix's
NEEDS_SIGNATURE); a count adjustment is signed (meaning APPROVE) when it moves more than
``Settings.adjustment_signature_percent`` of what the bucket held, or when the bucket held nothing.
Every one of them needs a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lotline.catalog.packaging import convert_for_product
from lotline.domain.errors import N_, InvalidInput
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.matrix import check
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import StockStatus, Transaction
from lotline.models.stock import StockOnHand
from lotline.outbox import events
from lotline.signatures import service as signatures
from lotline.stock.operations import (
    Amount,
    Outcome,
    Source,
    Taking,
    announce,
    bucket_row,
    quantity_of,
    stated_reason,
    taking_from,
)
from lotline.stock.service import new_txn, post, situation_of
from lotline.uow import UnitOfWork

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CountPlan:
    """What a count would book: the bucket, what it held, what was found, and whether it is signed."""

    taking: Taking
    on_hand: Quantity
    counted: Quantity
    needs_signature: bool

    @property
    def difference(self) -> Decimal:
        return self.counted.base - self.on_hand.base


def plan_count(
    uow: UnitOfWork, *, principal: Principal | None, lot_id: int, source: Source, counted: Amount
) -> CountPlan:
    """Compare a counted quantity with the bucket's on-hand (nothing is written)."""
    taking = taking_from(uow, principal, lot_id, source, field="location_id")
    if counted.qty < 0:
        raise InvalidInput(N_("{field} cannot be negative."), field="quantity", code="stock.negative")
    if taking.bucket.status is StockStatus.IN_TRANSIT:
        raise InvalidInput(
            N_("{field}: stock in transit is not counted; receive the transfer and book any shortage."),
            field="stock_status",
            code="stock.in_transit_count",
        )
    product = taking.product
    if not product.catch_weight and (counted.count is not None or counted.weight_kg is not None):
        raise InvalidInput(
            N_("{field}: {product} is not a catch-weight product."),
            field="count",
            code="stock.not_catch_weight",
            product=product.code,
        )
    base = convert_for_product(
        uow, product_id=product.id, quantity=counted.qty, from_unit=counted.unit, to_unit=product.base_unit
    )
    row: StockOnHand | None = bucket_row(uow, lot_id, taking.bucket)
    held = Quantity(row.qty_base, row.count, row.weight_kg) if row is not None else Quantity()
    found = Quantity(base, counted.count, counted.weight_kg)
    gap = abs(base - held.base)
    limit = uow.settings.adjustment_signature_percent
    large = gap > 0 and (held.base == 0 or gap * HUNDRED > limit * held.base)
    return CountPlan(taking, held, found, large)


def _signed_content(taking: Taking, **extra: object) -> dict[str, object]:
    return {
        "lot_id": taking.lot.id,
        "code": taking.lot.code,
        "location_id": taking.bucket.location_id,
        "stock_status": taking.bucket.status.value,
        "sscc": taking.bucket.sscc,
        **{name: str(value) if isinstance(value, Decimal) else value for name, value in extra.items()},
    }


def _component(found: Decimal | None, held: Decimal | None) -> Decimal | None:
    return None if found is None else found - (held or Decimal(0))


def count(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    lot_id: int,
    source: Source,
    counted: Amount,
    reason: str | None,
    signing_grant: str | None = None,
) -> Outcome:
    """Book a count: the difference is an ADJUST_UP or ADJUST_DOWN, signed when it is large."""
    plan = plan_count(uow, principal=principal, lot_id=lot_id, source=source, counted=counted)
    taking, txn = plan.taking, new_txn()
    difference = plan.difference
    why = stated_reason(reason, required=difference != 0)
    if difference == 0:
        announce(
            uow,
            action="count",
            event=events.STOCK_COUNTED,
            lot=taking.lot,
            site_id=taking.place.site_id,
            txn_id=txn,
            movements=[],
            reason=why,
        )
        return Outcome(txn, [])
    lot = taking.lot
    # Counting is asked of the matrix even when stock is found (no bucket is taken from then).
    check(Transaction.ADJUST, situation_of(uow, lot=lot, bucket=taking.bucket, now=uow.now()))
    signature_id = None
    if plan.needs_signature:
        if principal is None:
            raise signatures.SigningGrantInvalid(field="signing_grant")
        signature = signatures.sign(
            uow,
            principal=principal,
            grant_secret=signing_grant,
            meaning=Meaning.APPROVE,
            record_type="lot",
            record_id=lot.id,
            content=_signed_content(
                taking, action="count", on_hand=plan.on_hand.base, counted=plan.counted.base, reason=why
            ),
            comment=why,
        )
        signature_id = signature.id
    up = difference > 0
    sign = Decimal(1) if up else Decimal(-1)
    quantity = Quantity(
        abs(difference),
        None if (c := _component(plan.counted.count, plan.on_hand.count)) is None else sign * c,
        None if (w := _component(plan.counted.weight_kg, plan.on_hand.weight_kg)) is None else sign * w,
    )
    adjusted = post(
        uow,
        kind=MovementKind.ADJUST_UP if up else MovementKind.ADJUST_DOWN,
        lot=lot,
        quantity=quantity,
        entered_qty=abs(difference),
        entered_unit=taking.product.base_unit,
        source=None if up else taking.bucket,
        target=taking.bucket if up else None,
        txn_id=txn,
        reason=why,
        reference=("count", txn),
        signature_id=signature_id,
    )
    announce(
        uow,
        action="count",
        event=events.STOCK_COUNTED,
        lot=lot,
        site_id=taking.place.site_id,
        txn_id=txn,
        movements=[adjusted],
        reason=why,
        signature_id=signature_id,
    )
    return Outcome(txn, [adjusted], signature_id)


def _dispose(
    uow: UnitOfWork,
    *,
    kind: MovementKind,
    principal: Principal,
    lot_id: int,
    source: Source,
    amount: Amount,
    reason: str | None,
    signing_grant: str | None,
    reference: str | None,
) -> Outcome:
    taking = taking_from(uow, principal, lot_id, source)
    why = stated_reason(reason, required=True)
    quantity = quantity_of(uow, taking.product, amount, whole=bucket_row(uow, lot_id, taking.bucket))
    transaction = Transaction.SCRAP if kind is MovementKind.SCRAP else Transaction.RETURN_TO_SUPPLIER
    # Ask the matrix before signing: a refused disposal should not consume the signer's grant.
    check(transaction, situation_of(uow, lot=taking.lot, bucket=taking.bucket, now=uow.now()))
    meaning = Meaning.SCRAP if kind is MovementKind.SCRAP else Meaning.RETURN_TO_SUPPLIER
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=meaning,
        record_type="lot",
        record_id=taking.lot.id,
        content=_signed_content(
            taking,
            action=kind.value,
            quantity=amount.qty,
            unit=amount.unit,
            base_qty=quantity.base,
            reason=why,
            reference=reference,
        ),
        comment=why,
    )
    txn = new_txn()
    disposed = post(
        uow,
        kind=kind,
        lot=taking.lot,
        quantity=quantity,
        entered_qty=amount.qty,
        entered_unit=amount.unit,
        source=taking.bucket,
        txn_id=txn,
        reason=why,
        reference=(kind.value, reference) if reference else None,
        signature_id=signature.id,
    )
    announce(
        uow,
        action=kind.value,
        event=events.STOCK_SCRAPPED if kind is MovementKind.SCRAP else events.STOCK_RETURNED_TO_SUPPLIER,
        lot=taking.lot,
        site_id=taking.place.site_id,
        txn_id=txn,
        movements=[disposed],
        reason=why,
        signature_id=signature.id,
    )
    return Outcome(txn, [disposed], signature.id)


def scrap(
    uow: UnitOfWork,
    *,
    principal: Principal,
    lot_id: int,
    source: Source,
    amount: Amount,
    reason: str | None,
    signing_grant: str | None,
    reference: str | None = None,
) -> Outcome:
    """Scrap or destroy stock: signed (meaning SCRAP), with a reason."""
    return _dispose(
        uow,
        kind=MovementKind.SCRAP,
        principal=principal,
        lot_id=lot_id,
        source=source,
        amount=amount,
        reason=reason,
        signing_grant=signing_grant,
        reference=reference,
    )


def return_to_supplier(
    uow: UnitOfWork,
    *,
    principal: Principal,
    lot_id: int,
    source: Source,
    amount: Amount,
    reason: str | None,
    signing_grant: str | None,
    reference: str | None = None,
) -> Outcome:
    """Send stock back to its supplier: signed (meaning RETURN_TO_SUPPLIER), with a reason."""
    return _dispose(
        uow,
        kind=MovementKind.RETURN_TO_SUPPLIER,
        principal=principal,
        lot_id=lot_id,
        source=source,
        amount=amount,
        reason=reason,
        signing_grant=signing_grant,
        reference=reference,
    )
