"""Allocation (分配): reserve stock for order lines by FEFO or FIFO, set-based, and explain it.

A wave of lines is allocated with one candidate query per shipping site (only stock the matrix
lets through: released, available, unheld, unexpired, not reserved in full), one ranking and
filling pass in memory (``domain.allocation``), one bulk insert of allocations and one guarded
bulk update of the buckets' ``qty_allocated``. The guard (``qty_base - qty_allocated >= q``)
is evaluated by the database row by row under its row lock, so concurrent allocators never
over-allocate and unrelated products never wait for each other; if another allocator took the
stock first the wave is refused (nothing written) and can be run again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from lotline.audit.service import record
from lotline.domain.allocation import (
    Demand,
    Passed,
    Proposal,
    Strategy,
    allocate,
    allocate_wave,
)
from lotline.domain.errors import N_, InvalidInput
from lotline.domain.expiry import MinimumShelfLife
from lotline.domain.units import plain
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.outbound.candidates import (
    category_strategies,
    load_candidates,
    product_minimums,
    set_category_strategy,
    strategies,
)
from lotline.outbound.orders import LineStatus, OrderStatus, get_line, line_minimum
from lotline.outbound.reservations import (
    HOLDING,
    AllocationContended,
    AllocationStatus,
    flag_for_hold,
    release_flagged,
    reserve,
    unreserve,
)
from lotline.outbound.waves import fill_wave
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.uow import UnitOfWork

_DONE_LINES = (LineStatus.SHIPPED.value, LineStatus.CANCELLED.value, LineStatus.PICKED.value)


def _holding_by_line(uow: UnitOfWork, line_ids: Sequence[int]) -> dict[int, Decimal]:
    rows = uow.session.execute(
        select(Allocation.line_id, func.sum(Allocation.qty_base))
        .where(Allocation.line_id.in_(list(line_ids)), Allocation.status.in_(HOLDING))
        .group_by(Allocation.line_id)
    )
    return {line_id: total or Decimal(0) for line_id, total in rows}


def demand_of(
    line: SalesOrderLine, order: SalesOrder, quantity: Decimal, at_shipment: MinimumShelfLife | None
) -> Demand:
    return Demand(
        line_id=line.id,
        quantity=quantity,
        ship_date=order.ship_date,
        delivery_date=line.delivery_date,
        at_delivery=line_minimum(line),
        at_shipment=at_shipment,
    )


@dataclass(frozen=True)
class WaveResult:
    proposals: list[Proposal]
    allocations: int

    @property
    def lines(self) -> int:
        return len(self.proposals)

    @property
    def short_lines(self) -> int:
        return sum(1 for p in self.proposals if p.short > 0)


def allocate_lines(uow: UnitOfWork, *, line_ids: Sequence[int], explain: bool = False) -> WaveResult:
    """Allocate what each line still needs, all lines in one set-based pass per site.

    A wave reads only the stock it may use; ``explain`` reads every bucket with stock instead, so
    that each proposal also says why every bucket ranked before its lots was passed over.
    """
    ids = sorted(set(line_ids))
    if not ids:
        return WaveResult([], 0)
    now = uow.now()
    pairs = uow.session.execute(
        select(SalesOrderLine, SalesOrder)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(SalesOrderLine.id.in_(ids))
    ).all()
    found = {line.id for line, _order in pairs}
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(
            N_("Unknown order lines: {ids}."),
            field="line_ids",
            code="allocation.unknown_lines",
            ids=", ".join(map(str, missing)),
        )
    release_flagged(uow, ids, now)
    holding = _holding_by_line(uow, ids)
    minimums = product_minimums(uow, {line.product_id for line, _o in pairs})
    by_site: dict[int, list[tuple[SalesOrderLine, SalesOrder, Demand]]] = defaultdict(list)
    for line, order in pairs:
        if line.status in _DONE_LINES or order.status == OrderStatus.CANCELLED.value:
            continue
        need = line.qty_base - holding.get(line.id, Decimal(0))
        if need <= 0:
            continue
        by_site[order.site_id].append((line, order, demand_of(line, order, need, minimums[line.product_id])))
    proposals: list[Proposal] = []
    for site_id, entries in by_site.items():
        product_of = {line.id: line.product_id for line, _o, _d in entries}
        demands = [d for _l, _o, d in entries]
        if not explain:  # the same lots as allocate_wave over all eligible stock, reading far less
            proposals += fill_wave(
                uow,
                site_id=site_id,
                demands=demands,
                product_of=product_of,
                strategies=strategies(uow, product_of.values()),
                now=now,
            )
            continue
        ranked = load_candidates(
            uow, site_id=site_id, product_ids=set(product_of.values()), now=now, eligible_from=None
        )
        proposals += allocate_wave(demands, ranked, product_of)
    written = _write(uow, proposals, now)
    _set_line_statuses(uow, [line for line, _o in pairs], holding, proposals)
    _audit(uow, pairs, proposals)
    return WaveResult(proposals, written)


def _write(uow: UnitOfWork, proposals: Sequence[Proposal], now: datetime) -> int:
    rows: list[dict[str, Any]] = []
    per_bucket: dict[int, Decimal] = defaultdict(Decimal)
    for proposal in proposals:
        for position, chosen in enumerate(proposal.chosen, start=1):
            c = chosen.candidate
            rows.append(
                {
                    "line_id": proposal.line_id,
                    "on_hand_id": c.on_hand_id,
                    "lot_id": c.lot_id,
                    "location_id": c.location_id,
                    "sscc": c.sscc,
                    "qty_base": chosen.quantity,
                    "rank": position,
                    "status": AllocationStatus.OPEN.value,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            per_bucket[c.on_hand_id] += chosen.quantity
    if not rows:
        return 0
    reserve(uow, per_bucket)
    uow.session.execute(insert(Allocation), rows)
    return len(rows)


def _set_line_statuses(
    uow: UnitOfWork,
    lines: Sequence[SalesOrderLine],
    holding: dict[int, Decimal],
    proposals: Sequence[Proposal],
) -> None:
    added = {p.line_id: p.allocated for p in proposals}
    for line in lines:
        if line.id not in added:
            continue
        total = holding.get(line.id, Decimal(0)) + added[line.id]
        status = (
            LineStatus.ALLOCATED
            if total >= line.qty_base
            else LineStatus.SHORT
            if total > 0
            else LineStatus.OPEN
        )
        line.status = status.value
    uow.session.flush()
    order_ids = {line.order_id for line in lines}
    open_left = set(
        uow.session.scalars(
            select(SalesOrderLine.order_id).where(
                SalesOrderLine.order_id.in_(sorted(order_ids)),
                SalesOrderLine.status.in_((LineStatus.OPEN.value, LineStatus.SHORT.value)),
            )
        )
    )
    for order in uow.session.scalars(select(SalesOrder).where(SalesOrder.id.in_(sorted(order_ids)))):
        if order.status in (OrderStatus.OPEN.value, OrderStatus.ALLOCATED.value):
            order.status = (OrderStatus.OPEN if order.id in open_left else OrderStatus.ALLOCATED).value
            order.updated_at = uow.now()


def _audit(uow: UnitOfWork, pairs: Sequence[Any], proposals: Sequence[Proposal]) -> None:
    """One audit record and one event per order: which lots each of its lines got."""
    order_of = {line.id: order for line, order in pairs}
    per_order: dict[int, list[Proposal]] = defaultdict(list)
    for proposal in proposals:
        per_order[order_of[proposal.line_id].id].append(proposal)
    for order_id, mine in per_order.items():
        order = order_of[mine[0].line_id]
        lines = {
            str(p.line_id): {
                "allocated": [
                    [
                        c.candidate.lot_code,
                        c.candidate.location_id,
                        c.candidate.sscc,
                        plain(c.quantity),
                    ]
                    for c in p.chosen
                ],
                "short": plain(p.short),
            }
            for p in mine
        }
        record(
            uow,
            action="allocate",
            entity_type="sales_order",
            entity_id=order_id,
            site_id=order.site_id,
            changes={"lines": [None, lines]},
        )
        emit(
            uow,
            events.ORDER_ALLOCATED,
            subject_type="sales_order",
            subject_id=order_id,
            site_id=order.site_id,
            payload={"lines": {k: v["short"] for k, v in lines.items()}},
        )


def allocate_order(uow: UnitOfWork, *, order_id: int) -> WaveResult:
    """Allocate every line of one order, explaining each bucket passed over."""
    ids = list(uow.session.scalars(select(SalesOrderLine.id).where(SalesOrderLine.order_id == order_id)))
    return allocate_lines(uow, line_ids=ids, explain=True)


def release_line(uow: UnitOfWork, *, line_id: int, reason: str) -> int:
    """Give back a line's open and flagged allocations (re-allocation, cancellation); audited."""
    line = get_line(uow, line_id=line_id)
    order = uow.session.get_one(SalesOrder, line.order_id)
    rows = list(
        uow.session.scalars(
            select(Allocation).where(
                Allocation.line_id == line.id,
                Allocation.status.in_((AllocationStatus.OPEN.value, AllocationStatus.FLAGGED.value)),
            )
        )
    )
    per_bucket: dict[int, Decimal] = defaultdict(Decimal)
    now = uow.now()
    for row in rows:
        per_bucket[row.on_hand_id] += row.qty_base
        row.status = AllocationStatus.RELEASED.value
        row.updated_at = now
    unreserve(uow, per_bucket)
    if rows and line.status in (LineStatus.ALLOCATED.value, LineStatus.SHORT.value):
        line.status = LineStatus.OPEN.value
        order.status = OrderStatus.OPEN.value if order.status == OrderStatus.ALLOCATED.value else order.status
    uow.session.flush()
    record(
        uow,
        action="release_allocation",
        entity_type="sales_order",
        entity_id=order.id,
        site_id=order.site_id,
        changes={"line_id": [None, line.id], "released": [None, [r.id for r in rows]]},
        reason=reason,
    )
    return len(rows)


@dataclass(frozen=True)
class Explanation:
    """A line's allocations and, for every bucket ranked before its last one, why it was passed over."""

    line: SalesOrderLine
    order: SalesOrder
    strategy: Strategy
    allocations: list[Allocation]
    passed: tuple[Passed, ...]
    short: Decimal
    lot_codes: dict[int, str]


def explain_line(uow: UnitOfWork, *, line_id: int) -> Explanation:
    """Why the line has the lots it has (one candidate query, the same ranking as the wave)."""
    line = get_line(uow, line_id=line_id)
    order = uow.session.get_one(SalesOrder, line.order_id)
    mine = list(
        uow.session.scalars(
            select(Allocation)
            .where(Allocation.line_id == line.id, Allocation.status != AllocationStatus.RELEASED.value)
            .order_by(Allocation.rank, Allocation.id)
        )
    )
    own: dict[int, Decimal] = defaultdict(Decimal)
    for row in mine:
        if row.status in HOLDING:
            own[row.on_hand_id] += row.qty_base
    ranked = load_candidates(
        uow,
        site_id=order.site_id,
        product_ids=[line.product_id],
        now=uow.now(),
        eligible_from=None,
        extra_free=own,
    ).get(line.product_id, [])
    minimum = product_minimums(uow, [line.product_id])[line.product_id]
    simulated = allocate(demand_of(line, order, line.qty_base, minimum), ranked)
    holding = sum(own.values(), Decimal(0))
    shipped = sum((r.qty_base for r in mine if r.status == AllocationStatus.SHIPPED.value), Decimal(0))
    codes = {c.lot_id: c.lot_code for c in ranked}
    missing = {r.lot_id for r in mine} - set(codes)
    if missing:
        found = uow.session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(sorted(missing))))
        codes.update({lot_id: code for lot_id, code in found})
    return Explanation(
        line=line,
        order=order,
        strategy=strategies(uow, [line.product_id])[line.product_id],
        allocations=mine,
        passed=simulated.passed,
        short=max(line.qty_base - holding - shipped, Decimal(0)),
        lot_codes=codes,
    )


# The outbound services' one entry point: what the other modules (candidates, reservations) hold
# is named here too.
__all__ = [
    "HOLDING",
    "AllocationContended",
    "AllocationStatus",
    "Explanation",
    "WaveResult",
    "allocate_lines",
    "allocate_order",
    "category_strategies",
    "explain_line",
    "flag_for_hold",
    "load_candidates",
    "product_minimums",
    "release_line",
    "reserve",
    "set_category_strategy",
    "strategies",
    "unreserve",
]
