"""What picking, shipping and returns share: who may act on an order, the statuses picks and
shipments move, and the matrix asked of every bucket before anything is written.

Stock that went on hold after it was allocated is refused and the hold's allocations are
flagged for re-allocation (``allocation.flag_for_hold``); :class:`HeldSinceAllocation` tells the
caller to keep those flags (commit) although the operation itself is refused. A recall hold is
refused without flagging: the recall releases its allocations outright.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import func, select

from lotline.audit.service import record
from lotline.domain.errors import N_, NotFound, PermissionDenied
from lotline.domain.matrix import StockSituation, TransactionNotAllowed, decide
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import HoldType, StockStatus, Transaction
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.models.stock import StockOnHand
from lotline.outbound.allocation import AllocationStatus, flag_for_hold
from lotline.outbound.orders import LineStatus, OrderStatus
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.stock.service import Bucket, situation_of
from lotline.uow import UnitOfWork


class HeldSinceAllocation(TransactionNotAllowed):
    """Refused because the stock went on hold after it was allocated; its allocations were flagged.

    The caller commits before reporting it, so the flags are kept though the transaction failed.
    """

    message = N_(
        "{transaction} is not allowed: {reasons}. The stock went on hold after it was allocated; "
        "{flagged} allocations are flagged for re-allocation."
    )

    def details(self) -> dict[str, object]:
        return {**super().details(), "flagged_allocations": self.params.get("flagged", 0)}


# --- who may act, and the statuses picks and shipments move -------------------------------------


def scope_site(
    principal: Principal | None, site_id: int, permission: Permission, *, entity: str, key: object, field: str
) -> None:
    """404 where the caller cannot see the site's orders, 403 where they can see but not act."""
    if principal is None or principal.can(permission, site_id):
        return
    if principal.can(Permission.ORDER_READ, site_id):
        raise PermissionDenied(permission=permission.value)
    raise NotFound(entity=entity, key=key, field=field)


def scope_order(principal: Principal | None, order: SalesOrder, permission: Permission) -> None:
    scope_site(principal, order.site_id, permission, entity=N_("order"), key=order.id, field="order_id")


def settle_statuses(uow: UnitOfWork, lines: Iterable[SalesOrderLine]) -> None:
    """Each line's status from its allocations, then each order's from its lines (two queries)."""
    mine = {line.id: line for line in lines}
    if not mine:
        return
    sums: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows = uow.session.execute(
        select(Allocation.line_id, Allocation.status, func.sum(Allocation.qty_base))
        .where(Allocation.line_id.in_(sorted(mine)))
        .group_by(Allocation.line_id, Allocation.status)
    )
    for line_id, status, total in rows:
        sums[line_id][status] = total or Decimal(0)
    for line in mine.values():
        if line.status == LineStatus.CANCELLED.value:
            continue
        got = sums[line.id]
        shipped = got[AllocationStatus.SHIPPED.value]
        picked = shipped + got[AllocationStatus.PICKED.value]
        held = picked + got[AllocationStatus.OPEN.value]
        if shipped >= line.qty_base:
            status = LineStatus.SHIPPED
        elif picked >= line.qty_base:
            status = LineStatus.PICKED
        elif held >= line.qty_base:
            status = LineStatus.ALLOCATED
        else:
            status = LineStatus.SHORT if held > 0 else LineStatus.OPEN
        line.status = status.value
    uow.session.flush()
    order_ids = sorted({line.order_id for line in mine.values()})
    statuses: dict[int, set[str]] = defaultdict(set)
    for order_id, status in uow.session.execute(
        select(SalesOrderLine.order_id, SalesOrderLine.status).where(SalesOrderLine.order_id.in_(order_ids))
    ):
        if status != LineStatus.CANCELLED.value:
            statuses[order_id].add(status)
    now = uow.now()
    for order in uow.session.scalars(select(SalesOrder).where(SalesOrder.id.in_(order_ids))):
        if order.status == OrderStatus.CANCELLED.value or not statuses[order.id]:
            continue
        found = statuses[order.id]
        if found <= {LineStatus.SHIPPED.value}:
            order.status = OrderStatus.SHIPPED.value
        elif found <= {LineStatus.SHIPPED.value, LineStatus.PICKED.value}:
            order.status = OrderStatus.PICKED.value
        elif found <= {LineStatus.SHIPPED.value, LineStatus.PICKED.value, LineStatus.ALLOCATED.value}:
            order.status = OrderStatus.ALLOCATED.value
        else:
            order.status = OrderStatus.OPEN.value
        order.updated_at = now
    uow.session.flush()


# --- the matrix, and flagging stock held since it was allocated --------------------------------


def bucket_of(row: StockOnHand) -> Bucket:
    return Bucket(row.location_id, StockStatus(row.stock_status), row.sscc)


def _flaggable(situation: StockSituation) -> bool:
    """A hold other than a recall: its allocations wait for re-allocation (a recall releases them)."""
    return bool(situation.holds - {HoldType.RECALL}) and HoldType.RECALL not in situation.holds


def flag_held(uow: UnitOfWork, lot: Lot, *, extra: Sequence[Allocation] = ()) -> int:
    """Flag the open allocations every active hold of the lot covers (and ``extra``); audited."""
    holds = list(
        uow.session.scalars(
            select(Hold).where(Hold.lot_id == lot.id, Hold.lifted_at.is_(None)).order_by(Hold.id)
        )
    )
    flagged = 0
    for hold in holds:
        if hold.hold_type == HoldType.RECALL.value:
            continue
        flagged += flag_for_hold(
            uow,
            lot_id=lot.id,
            location_id=hold.location_id,
            sscc=hold.sscc,
            reason=f"hold.{hold.hold_type.lower()}",
        )
    now = uow.now()
    blocking = next(
        (f"hold.{h.hold_type.lower()}" for h in holds if h.hold_type != HoldType.RECALL.value), "hold"
    )
    for allocation in extra:
        if allocation.status != AllocationStatus.FLAGGED.value:
            allocation.status = AllocationStatus.FLAGGED.value
            allocation.flag_reason = blocking
            allocation.updated_at = now
            flagged += 1
    uow.session.flush()
    if flagged:
        touched = select(Allocation.line_id).where(
            Allocation.lot_id == lot.id,
            Allocation.status == AllocationStatus.FLAGGED.value,
            Allocation.updated_at == now,
        )
        settle_statuses(
            uow, uow.session.scalars(select(SalesOrderLine).where(SalesOrderLine.id.in_(touched)))
        )
    if flagged:
        record(
            uow,
            action="flag_allocations",
            entity_type="lot",
            entity_id=lot.id,
            site_id=lot.site_id,
            changes={"flagged": [None, flagged], "holds": [None, [h.id for h in holds]]},
        )
        emit(
            uow,
            events.ALLOCATIONS_FLAGGED,
            subject_type="lot",
            subject_id=lot.id,
            site_id=lot.site_id,
            payload={"lot_code": lot.code, "flagged": flagged},
        )
    return flagged


def refuse_blocked(
    uow: UnitOfWork,
    transaction: Transaction,
    taken: Sequence[tuple[Lot, StockOnHand, Sequence[Allocation]]],
    *,
    flag_picked: bool = False,
) -> None:
    """Ask the matrix about every bucket before anything is written; refuse on the first block.

    A hold (other than a recall) flags the lot's allocations and raises HeldSinceAllocation; the
    picked allocations of ``taken`` are flagged too when ``flag_picked`` (a refused shipment).
    """
    now = uow.now()
    for lot, row, allocations in taken:
        situation = situation_of(uow, lot=lot, bucket=bucket_of(row), now=now)
        verdict = decide(transaction, situation)
        if verdict.allowed:
            continue
        reasons = ", ".join(verdict.blocked_by)
        if _flaggable(situation):
            flagged = flag_held(uow, lot, extra=allocations if flag_picked else ())
            if flagged:
                raise HeldSinceAllocation(
                    transaction=transaction.value,
                    reasons=reasons,
                    blocked_by=verdict.blocked_by,
                    flagged=flagged,
                )
        raise TransactionNotAllowed(
            transaction=transaction.value, reasons=reasons, blocked_by=verdict.blocked_by
        )


def lots_by_id(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, Lot]:
    return {lot.id: lot for lot in uow.session.scalars(select(Lot).where(Lot.id.in_(sorted(set(ids)))))}


def buckets_by_id(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, StockOnHand]:
    return {
        row.id: row
        for row in uow.session.scalars(select(StockOnHand).where(StockOnHand.id.in_(sorted(set(ids)))))
    }


__all__ = [
    "HeldSinceAllocation",
    "bucket_of",
    "buckets_by_id",
    "flag_held",
    "lots_by_id",
    "refuse_blocked",
    "scope_order",
    "scope_site",
    "settle_statuses",
]
