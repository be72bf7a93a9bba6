"""Picking (拣货): confirm an order line's allocated stock by scanning its lot or its SSCC.

A scan of an allocated lot or pallet confirms that allocation (part of it, when less is picked).
A scan of other stock takes it instead: its reservation moves from the proposed allocations to
the scanned bucket in the same transaction (guarded, like allocation's). Taking another *lot*
than the one proposed is a FEFO deviation: it needs a stated reason signed by the picker
(meaning OVERRIDE, on the order line) and the lot must still meet the line's delivery date and
minimum shelf life. The matrix is asked (PICK) before anything is written; stock that went on
hold after it was allocated is refused and the hold's allocations are flagged for
re-allocation — :class:`HeldSinceAllocation` tells the caller to keep those flags (commit)
even though the pick itself is refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from lotline.audit.service import record
from lotline.catalog.packaging import convert_for_product
from lotline.domain.allocation import Candidate, Demand, reasons_against
from lotline.domain.errors import N_, Conflict, InvalidInput, LotlineError, NotFound
from lotline.domain.expiry import MinimumShelfLife, local_today
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import StockStatus, Transaction
from lotline.domain.units import plain
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, Pick, SalesOrder, SalesOrderLine
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.outbound.allocation import AllocationStatus, reserve, unreserve
from lotline.outbound.fulfilment import (
    bucket_of,
    buckets_by_id,
    lots_by_id,
    refuse_blocked,
    scope_order,
    settle_statuses,
)
from lotline.outbound.orders import LineStatus, line_minimum
from lotline.outbound.scans import MAX_SCAN_LENGTH, Scanned, read_scan, resolve_scan
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.paging import Page, keyset_page
from lotline.signatures import service as signatures
from lotline.stock.service import situation_of
from lotline.uow import UnitOfWork

SIGNED_RECORD = "sales_order_line"  # what a FEFO deviation's signature is bound to


class PickTooLarge(Conflict):
    code = "pick.more_than_allocated"
    message = N_(
        "Only {allocated} {unit} are allocated to this line there; {wanted} {unit} cannot be picked."
    )


class NothingToPick(Conflict):
    code = "pick.nothing_allocated"
    message = N_("Line {line} has no allocated stock left to pick; allocate it first.")


class DeviationNotEligible(Conflict):
    code = "pick.deviation_not_eligible"
    message = N_("Lot {lot} cannot be shipped on this line: {reasons}.")
    reason_codes = "codes"

    def details(self) -> dict[str, object]:
        reasons = self.params.get("codes", ())
        return {"reasons": list(reasons) if isinstance(reasons, tuple | list) else []}


class NotFreeThere(Conflict):
    code = "pick.not_free"
    message = N_("Lot {lot} has no {wanted} {unit} there that other orders have not reserved.")


# --- the pick -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picked:
    """What one scan confirmed: the pick rows written (one per allocation it drew on)."""

    picks: list[Pick]
    line: SalesOrderLine
    deviation: bool


def _line_locked(uow: UnitOfWork, line_id: int) -> tuple[SalesOrderLine, SalesOrder]:
    line = uow.session.execute(
        select(SalesOrderLine).where(SalesOrderLine.id == line_id).with_for_update()
    ).scalar_one_or_none()
    if line is None:
        raise NotFound(entity=N_("order line"), key=line_id, field="line_id")
    return line, uow.session.get_one(SalesOrder, line.order_id)


def _open_allocations(uow: UnitOfWork, line_id: int) -> list[Allocation]:
    return list(
        uow.session.scalars(
            select(Allocation)
            .where(Allocation.line_id == line_id, Allocation.status == AllocationStatus.OPEN.value)
            .order_by(Allocation.rank, Allocation.id)
            .with_for_update()
        )
    )


def _draw(allocations: Sequence[Allocation], quantity: Decimal) -> list[tuple[Allocation, Decimal]]:
    """How much to take from each allocation, in order, to make up ``quantity``."""
    drawn, left = [], quantity
    for allocation in allocations:
        if left <= 0:
            break
        take = min(allocation.qty_base, left)
        drawn.append((allocation, take))
        left -= take
    return drawn


def _split_off(uow: UnitOfWork, allocation: Allocation, quantity: Decimal, status: str) -> Allocation:
    """The part of an allocation that changes status: itself when all of it, else a new row."""
    now = uow.now()
    if quantity == allocation.qty_base:
        allocation.status, allocation.updated_at = status, now
        return allocation
    allocation.qty_base -= quantity
    allocation.updated_at = now
    part = Allocation(
        line_id=allocation.line_id,
        on_hand_id=allocation.on_hand_id,
        lot_id=allocation.lot_id,
        location_id=allocation.location_id,
        sscc=allocation.sscc,
        qty_base=quantity,
        rank=allocation.rank,
        status=status,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(part)
    uow.session.flush()
    return part


def _substitute(
    uow: UnitOfWork, site_id: int, product: Product, lot: Lot | None, sscc: str | None, quantity: Decimal
) -> StockOnHand:
    """The available bucket of the scanned stock at the site with ``quantity`` unreserved."""
    query = select(StockOnHand).where(
        StockOnHand.product_id == product.id,
        StockOnHand.site_id == site_id,
        StockOnHand.qty_base > 0,
    )
    if lot is not None:
        query = query.where(StockOnHand.lot_id == lot.id)
    if sscc is not None:
        query = query.where(StockOnHand.sscc == sscc)
    rows = list(uow.session.scalars(query.order_by(StockOnHand.id)))
    if not rows:
        if sscc is not None:
            raise NotFound(entity=N_("SSCC"), key=sscc, field="scanned")
        raise NotFound(entity=N_("lot"), key=lot.code if lot else "", field="scanned")
    usable = [r for r in rows if r.stock_status == StockStatus.AVAILABLE.value]
    for row in usable:
        if row.qty_base - row.qty_allocated >= quantity:
            return row
    # Nothing available and free: a blocked bucket is reported by the matrix, else the shortage.
    return (usable or rows)[0]


def _demand(line: SalesOrderLine, order: SalesOrder, product: Product, qty: Decimal) -> Demand:
    at_shipment = None
    if product.min_ship_days is not None:
        at_shipment = MinimumShelfLife(days=product.min_ship_days)
    elif product.min_ship_percent is not None:
        at_shipment = MinimumShelfLife(percent=product.min_ship_percent)
    return Demand(
        line_id=line.id,
        quantity=qty,
        ship_date=order.ship_date,
        delivery_date=line.delivery_date,
        at_delivery=line_minimum(line),
        at_shipment=at_shipment,
    )


def _check_deviation(
    uow: UnitOfWork, line: SalesOrderLine, order: SalesOrder, product: Product, lot: Lot, row: StockOnHand
) -> None:
    candidate = Candidate(
        on_hand_id=row.id,
        lot_id=lot.id,
        lot_code=lot.code,
        location_id=row.location_id,
        sscc=row.sscc,
        free=row.qty_base - row.qty_allocated,
        expiry_date=lot.expiry_date,
        production_date=lot.production_date,
        received_at=row.updated_at,
        situation=situation_of(uow, lot=lot, bucket=bucket_of(row), now=uow.now()),
    )
    reasons, _detail = reasons_against(candidate, _demand(line, order, product, line.qty_base))
    if reasons:
        raise DeviationNotEligible(field="scanned", lot=lot.code, reasons=", ".join(reasons), codes=reasons)


def pick(
    uow: UnitOfWork,
    *,
    line_id: int,
    scanned: str,
    quantity: Decimal,
    unit: str,
    principal: Principal | None,
    deviation_reason: str | None = None,
    signing_grant: str | None = None,
) -> Picked:
    """Confirm stock for a line by scanning its lot or SSCC; another lot is a signed FEFO deviation."""
    line, order = _line_locked(uow, line_id)
    scope_order(principal, order, Permission.STOCK_MOVE)
    if line.status in (LineStatus.SHIPPED.value, LineStatus.CANCELLED.value):
        raise NothingToPick(field="line_id", line=line.id)
    product = uow.session.get_one(Product, line.product_id)
    zone = uow.session.get_one(Site, order.site_id).time_zone
    today = local_today(uow.now(), zone)
    scan, lot = resolve_scan(uow, product, order.site_id, read_scan(scanned, today_at_site=today), today)
    if scan.gtin is not None and product.gtin and scan.gtin != product.gtin.zfill(14):
        raise InvalidInput(
            N_("The scanned GTIN {gtin} is not the product {product} of this line."),
            field="scanned",
            code="pick.other_product",
            gtin=scan.gtin,
            product=product.code,
        )
    if quantity <= 0:
        raise InvalidInput(N_("{field} must be greater than zero."), field="quantity", code="pick.quantity")
    try:
        base = convert_for_product(
            uow, product_id=product.id, quantity=quantity, from_unit=unit, to_unit=product.base_unit
        )
    except LotlineError as error:
        error.field = "unit"
        raise
    mine = _open_allocations(uow, line.id)
    if not mine:
        raise NothingToPick(field="line_id", line=line.id)
    matching = [
        a for a in mine if (lot is None or a.lot_id == lot.id) and (scan.sscc is None or a.sscc == scan.sscc)
    ]
    if matching:
        return _pick_allocated(uow, line, order, product, matching, base, quantity, unit, scanned)
    return _pick_other(
        uow,
        line,
        order,
        product,
        mine,
        lot,
        scan,
        base,
        (quantity, unit, scanned),
        principal,
        deviation_reason,
        signing_grant,
    )


def _not_free(lot: Lot, wanted: Decimal, product: Product) -> NotFreeThere:
    return NotFreeThere(field="quantity", lot=lot.code, wanted=wanted, unit=product.base_unit)


def _too_large(
    product: Product, allocated: Decimal, wanted: Decimal, field: str = "quantity"
) -> PickTooLarge:
    return PickTooLarge(field=field, allocated=allocated, wanted=wanted, unit=product.base_unit)


def _pick_allocated(
    uow: UnitOfWork,
    line: SalesOrderLine,
    order: SalesOrder,
    product: Product,
    matching: list[Allocation],
    base: Decimal,
    quantity: Decimal,
    unit: str,
    scanned: str,
) -> Picked:
    allocated = sum((a.qty_base for a in matching), Decimal(0))
    if base > allocated:
        raise _too_large(product, allocated, base)
    drawn = _draw(matching, base)
    lots = lots_by_id(uow, [a.lot_id for a, _q in drawn])
    buckets = buckets_by_id(uow, [a.on_hand_id for a, _q in drawn])
    refuse_blocked(uow, Transaction.PICK, [(lots[a.lot_id], buckets[a.on_hand_id], [a]) for a, _q in drawn])
    picks = [
        _write_pick(
            uow, line, _split_off(uow, a, q, AllocationStatus.PICKED.value), scanned, None, None, None
        )
        for a, q in drawn
    ]
    _announce(uow, line, order, picks, lots, quantity, unit, reason=None)
    return Picked(picks, line, deviation=False)


def _pick_other(
    uow: UnitOfWork,
    line: SalesOrderLine,
    order: SalesOrder,
    product: Product,
    mine: list[Allocation],
    lot: Lot | None,
    scan: Scanned,
    base: Decimal,
    entered: tuple[Decimal, str, str],
    principal: Principal | None,
    deviation_reason: str | None,
    signing_grant: str | None,
) -> Picked:
    quantity, unit, scanned = entered
    proposed_total = sum((a.qty_base for a in mine), Decimal(0))
    if base > proposed_total:
        raise _too_large(product, proposed_total, base)
    row = _substitute(uow, order.site_id, product, lot, scan.sscc, base)
    taken_lot = lot or uow.session.get_one(Lot, row.lot_id)
    refuse_blocked(uow, Transaction.PICK, [(taken_lot, row, [])])
    if row.qty_base - row.qty_allocated < base:
        raise _not_free(taken_lot, base, product)
    same_lot = [a for a in mine if a.lot_id == taken_lot.id]
    deviation = not same_lot
    # The proposal gives way in its own order; a different pallet of a proposed lot gives way first.
    giving = _draw(same_lot + [a for a in mine if a.lot_id != taken_lot.id], base)
    proposed_lot_id = giving[0][0].lot_id
    reason, signature_id = None, None
    if deviation:
        _check_deviation(uow, line, order, product, taken_lot, row)
        reason = (deviation_reason or "").strip()
        if not reason:
            raise InvalidInput(
                N_("{field} is required."), field="deviation_reason", code="pick.reason_required"
            )
        if principal is None:
            raise signatures.SigningGrantInvalid(field="signing_grant")
        proposed = uow.session.get_one(Lot, proposed_lot_id)
        signature_id = signatures.sign(
            uow,
            principal=principal,
            grant_secret=signing_grant,
            meaning=Meaning.OVERRIDE,
            record_type=SIGNED_RECORD,
            record_id=line.id,
            content={
                "action": "fefo_deviation",
                "order": order.number,
                "line_id": line.id,
                "lot_id": taken_lot.id,
                "lot_code": taken_lot.code,
                "proposed_lot_id": proposed.id,
                "proposed_lot_code": proposed.code,
                "location_id": row.location_id,
                "sscc": row.sscc,
                "qty_base": plain(base),
                "reason": reason,
            },
            comment=reason,
        ).id
    released: dict[int, Decimal] = defaultdict(Decimal)
    for allocation, q in giving:
        _split_off(uow, allocation, q, AllocationStatus.RELEASED.value)
        released[allocation.on_hand_id] += q
    unreserve(uow, released)
    try:
        reserve(uow, {row.id: base})
    except Conflict:
        raise _not_free(taken_lot, base, product) from None
    now = uow.now()
    taken = Allocation(
        line_id=line.id,
        on_hand_id=row.id,
        lot_id=taken_lot.id,
        location_id=row.location_id,
        sscc=row.sscc,
        qty_base=base,
        rank=giving[0][0].rank,
        status=AllocationStatus.PICKED.value,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(taken)
    uow.session.flush()
    written = _write_pick(
        uow,
        line,
        taken,
        scanned,
        proposed_lot_id if deviation else None,
        reason,
        signature_id,
    )
    lots = lots_by_id(uow, [taken_lot.id, proposed_lot_id])
    _announce(uow, line, order, [written], lots, quantity, unit, reason=reason)
    return Picked([written], line, deviation=deviation)


def _write_pick(
    uow: UnitOfWork,
    line: SalesOrderLine,
    allocation: Allocation,
    scanned: str,
    proposed_lot_id: int | None,
    reason: str | None,
    signature_id: int | None,
) -> Pick:
    row = Pick(
        line_id=line.id,
        allocation_id=allocation.id,
        lot_id=allocation.lot_id,
        location_id=allocation.location_id,
        sscc=allocation.sscc,
        qty_base=allocation.qty_base,
        scanned=scanned.strip()[:MAX_SCAN_LENGTH],
        deviation=proposed_lot_id is not None,
        proposed_lot_id=proposed_lot_id,
        deviation_reason=reason,
        signature_id=signature_id,
        shipped=False,
        picked_at=uow.now(),
        picked_by=uow.actor.name,
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def _announce(
    uow: UnitOfWork,
    line: SalesOrderLine,
    order: SalesOrder,
    picks: list[Pick],
    lots: dict[int, Lot],
    quantity: Decimal,
    unit: str,
    *,
    reason: str | None,
) -> None:
    settle_statuses(uow, [line])
    described = [
        {
            "pick_id": p.id,
            "lot_code": lots[p.lot_id].code,
            "location_id": p.location_id,
            "sscc": p.sscc,
            "qty_base": plain(p.qty_base),
            "deviation": p.deviation,
            "proposed_lot_code": lots[p.proposed_lot_id].code if p.proposed_lot_id else None,
            "signature_id": p.signature_id,
        }
        for p in picks
    ]
    record(
        uow,
        action="pick",
        entity_type="sales_order",
        entity_id=order.id,
        site_id=order.site_id,
        changes={
            "line_id": [None, line.id],
            "quantity": [None, [plain(quantity), unit]],
            "picks": [None, described],
            "line_status": [None, line.status],
        },
        reason=reason,
    )
    emit(
        uow,
        events.ORDER_PICKED,
        subject_type="sales_order",
        subject_id=order.id,
        site_id=order.site_id,
        payload={"number": order.number, "line_id": line.id, "picks": described},
    )


def deviations(uow: UnitOfWork, *, site_ids: set[int] | None, cursor: str | None, limit: int) -> Page[Pick]:
    """The FEFO-deviation log: picks of a lot other than proposed, at the given sites, newest first."""
    query = (
        select(Pick)
        .join(SalesOrderLine, SalesOrderLine.id == Pick.line_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(Pick.deviation.is_(True))
    )
    if site_ids is not None:
        query = query.where(SalesOrder.site_id.in_(sorted(site_ids)))
    return keyset_page(uow.session, query, Pick.id, cursor=cursor, limit=limit, newest_first=True)


__all__ = [
    "MAX_SCAN_LENGTH",
    "SIGNED_RECORD",
    "DeviationNotEligible",
    "NotFreeThere",
    "NothingToPick",
    "PickTooLarge",
    "Picked",
    "deviations",
    "pick",
]
