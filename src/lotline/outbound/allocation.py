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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, insert, or_, select, update

from lotline.audit.service import record
from lotline.domain.allocation import (
    Candidate,
    Demand,
    Passed,
    Proposal,
    Strategy,
    allocate,
    allocate_wave,
    rank,
)
from lotline.domain.errors import N_, Conflict, InvalidInput
from lotline.domain.expiry import MinimumShelfLife, is_expired, local_today
from lotline.domain.matrix import StockSituation
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.domain.units import plain
from lotline.models.catalog import Product
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import Allocation, CategoryAllocation, SalesOrder, SalesOrderLine
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.models.types import ExactDecimal
from lotline.outbound.orders import LineStatus, OrderStatus, get_line, line_minimum
from lotline.outbound.waves import fill_wave
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.uow import UnitOfWork


class AllocationStatus(StrEnum):
    OPEN = "open"  # reserved, not yet picked
    PICKED = "picked"
    SHIPPED = "shipped"
    RELEASED = "released"  # given back (re-allocation, cancellation, recall)
    FLAGGED = "flagged"  # the stock went on hold after it was allocated: re-allocate


# Allocations that still count against the line's quantity and the bucket's reservation.
HOLDING = (AllocationStatus.OPEN.value, AllocationStatus.PICKED.value, AllocationStatus.FLAGGED.value)
_DONE_LINES = (LineStatus.SHIPPED.value, LineStatus.CANCELLED.value, LineStatus.PICKED.value)


class AllocationContended(Conflict):
    code = "allocation.contended"
    message = N_("Stock was reserved by someone else meanwhile; nothing was allocated. Run it again.")


def strategies(uow: UnitOfWork, product_ids: Iterable[int]) -> dict[int, Strategy]:
    """Each product's strategy: its own, else its category's, else FEFO (one query)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = uow.session.execute(
        select(Product.id, Product.allocation_strategy, CategoryAllocation.strategy)
        .outerjoin(CategoryAllocation, CategoryAllocation.category == Product.category)
        .where(Product.id.in_(ids))
    )
    return {pid: Strategy(own or by_category or Strategy.FEFO.value) for pid, own, by_category in rows}


def set_category_strategy(uow: UnitOfWork, *, category: str, strategy: Strategy | None) -> None:
    """Set (None: clear, back to FEFO) the strategy of a product category; audited."""
    category = category.strip()
    if not category:
        raise InvalidInput(N_("{field} is required."), field="category", code="allocation.category_required")
    row = uow.session.get(CategoryAllocation, category)
    before = row.strategy if row is not None else None
    after = strategy.value if strategy is not None else None
    if before == after:
        return
    if row is None:
        uow.session.add(CategoryAllocation(category=category, strategy=after))
    elif after is None:
        uow.session.delete(row)
    else:
        row.strategy = after
    uow.session.flush()
    record(
        uow,
        action="set_allocation_strategy",
        entity_type="product_category",
        entity_id=category,
        changes={"strategy": [before, after]},
    )


def category_strategies(uow: UnitOfWork) -> dict[str, Strategy]:
    return {
        row.category: Strategy(row.strategy)
        for row in uow.session.scalars(select(CategoryAllocation).order_by(CategoryAllocation.category))
    }


def _product_minimums(uow: UnitOfWork, product_ids: Iterable[int]) -> dict[int, MinimumShelfLife | None]:
    rows = uow.session.execute(
        select(Product.id, Product.min_ship_days, Product.min_ship_percent).where(
            Product.id.in_(sorted(set(product_ids)))
        )
    )
    found: dict[int, MinimumShelfLife | None] = {}
    for pid, days, percent in rows:
        if days is not None:
            found[pid] = MinimumShelfLife(days=days)
        elif percent is not None:
            found[pid] = MinimumShelfLife(percent=percent)
        else:
            found[pid] = None
    return found


_COVERING_HOLD = exists().where(
    Hold.lot_id == StockOnHand.lot_id,
    Hold.lifted_at.is_(None),
    or_(Hold.location_id.is_(None), Hold.location_id == StockOnHand.location_id),
    or_(Hold.sscc.is_(None), Hold.sscc == StockOnHand.sscc),
)


def load_candidates(
    uow: UnitOfWork,
    *,
    site_id: int,
    product_ids: Iterable[int],
    now: datetime,
    eligible_from: date | None,
    extra_free: dict[int, Decimal] | None = None,
) -> dict[int, list[Candidate]]:
    """The site's buckets of these products, ranked per product by its strategy (one query).

    ``eligible_from`` given: only buckets ALLOCATE may use and that are still good on that date
    (the wave's path). None: every bucket with stock, with its holds, so that each one passed
    over can be explained. ``extra_free`` adds back what a line itself holds in a bucket.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    site = uow.session.get_one(Site, site_id)
    row = StockOnHand
    query = (
        select(
            row.id,
            row.product_id,
            row.lot_id,
            Lot.code,
            row.location_id,
            row.sscc,
            row.stock_status,
            row.qty_base - row.qty_allocated,
            Lot.quality_status,
            Lot.expiry_date,
            Lot.expiry_at,
            Lot.production_date,
            Lot.created_at,
        )
        .join(Lot, Lot.id == row.lot_id)
        .where(row.site_id == site_id, row.product_id.in_(ids), row.qty_base > 0)
    )
    if eligible_from is not None:
        query = query.where(
            row.stock_status == StockStatus.AVAILABLE.value,
            Lot.quality_status == QualityStatus.RELEASED.value,
            row.qty_base > row.qty_allocated,
            Lot.expiry_date >= max(eligible_from, local_today(now, site.time_zone)),
            or_(Lot.expiry_at.is_(None), Lot.expiry_at > now),
            ~_COVERING_HOLD,
        )
    rows = uow.session.execute(query).all()
    holds = {} if eligible_from is not None else _holds_by_lot(uow, {r[2] for r in rows})
    extra = extra_free or {}
    found: dict[int, list[Candidate]] = defaultdict(list)
    for (
        on_hand_id,
        pid,
        lot_id,
        code,
        location_id,
        sscc,
        status,
        free,
        quality,
        expiry,
        expiry_at,
        made,
        created,
    ) in rows:
        covering = frozenset(
            kind
            for kind, hold_location, hold_sscc in holds.get(lot_id, ())
            if (hold_location is None or hold_location == location_id)
            and (hold_sscc is None or hold_sscc == sscc)
        )
        situation = StockSituation(
            quality=QualityStatus(quality),
            stock=StockStatus(status),
            holds=covering,
            expired=is_expired(expiry_date=expiry, expiry_at=expiry_at, site_zone=site.time_zone, now=now),
        )
        found[pid].append(
            Candidate(
                on_hand_id=on_hand_id,
                lot_id=lot_id,
                lot_code=code,
                location_id=location_id,
                sscc=sscc,
                free=free + extra.get(on_hand_id, Decimal(0)),
                expiry_date=expiry,
                production_date=made,
                received_at=created,
                situation=situation,
            )
        )
    order = strategies(uow, found)
    for pid, candidates in found.items():
        candidates.sort(key=rank(order[pid]))
    return found


def _holds_by_lot(
    uow: UnitOfWork, lot_ids: set[int]
) -> dict[int, list[tuple[HoldType, int | None, str | None]]]:
    found: dict[int, list[tuple[HoldType, int | None, str | None]]] = defaultdict(list)
    if not lot_ids:
        return found
    rows = uow.session.execute(
        select(Hold.lot_id, Hold.hold_type, Hold.location_id, Hold.sscc).where(
            Hold.lot_id.in_(sorted(lot_ids)), Hold.lifted_at.is_(None)
        )
    )
    for lot_id, kind, location_id, sscc in rows:
        found[lot_id].append((HoldType(kind), location_id, sscc))
    return found


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
    _release_flagged(uow, ids, now)
    holding = _holding_by_line(uow, ids)
    minimums = _product_minimums(uow, {line.product_id for line, _o in pairs})
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


_BUCKET = cast(Table, StockOnHand.__table__)
_RESERVE = (
    _BUCKET.update()
    .where(
        _BUCKET.c.id == bindparam("b_id"),
        _BUCKET.c.qty_base - _BUCKET.c.qty_allocated >= bindparam("b_qty", type_=ExactDecimal()),
    )
    .values(qty_allocated=_BUCKET.c.qty_allocated + bindparam("b_qty", type_=ExactDecimal()))
)
_UNRESERVE = (
    _BUCKET.update()
    .where(_BUCKET.c.id == bindparam("b_id"))
    .values(qty_allocated=_BUCKET.c.qty_allocated - bindparam("b_qty", type_=ExactDecimal()))
)


def reserve(uow: UnitOfWork, per_bucket: dict[int, Decimal]) -> None:
    """Add to each bucket's reservation, guarded; refuse everything if any bucket has less free."""
    params = [{"b_id": on_hand_id, "b_qty": qty} for on_hand_id, qty in sorted(per_bucket.items())]
    result = uow.session.connection().execute(_RESERVE, params)
    if result.rowcount != len(params):
        raise AllocationContended(field="line_ids")


def unreserve(uow: UnitOfWork, per_bucket: dict[int, Decimal]) -> None:
    params = [{"b_id": on_hand_id, "b_qty": qty} for on_hand_id, qty in sorted(per_bucket.items()) if qty > 0]
    if params:
        uow.session.connection().execute(_UNRESERVE, params)


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
    minimum = _product_minimums(uow, [line.product_id])[line.product_id]
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


def _release_flagged(uow: UnitOfWork, line_ids: Sequence[int], now: datetime) -> None:
    """Give back what the lines hold in stock that went on hold since: it is allocated afresh."""
    flagged = list(
        uow.session.scalars(
            select(Allocation).where(
                Allocation.line_id.in_(list(line_ids)), Allocation.status == AllocationStatus.FLAGGED.value
            )
        )
    )
    per_bucket: dict[int, Decimal] = defaultdict(Decimal)
    for row in flagged:
        per_bucket[row.on_hand_id] += row.qty_base
        row.status = AllocationStatus.RELEASED.value
        row.updated_at = now
    unreserve(uow, per_bucket)
    uow.session.flush()


def flag_for_hold(
    uow: UnitOfWork,
    *,
    lot_id: int,
    location_id: int | None,
    sscc: str | None,
    reason: str,
    release: bool = False,
) -> int:
    """Flag the open allocations a new hold covers, for re-allocation (``release``: give them back
    outright, as a recall does); returns how many."""
    query = select(Allocation).where(
        Allocation.lot_id == lot_id, Allocation.status == AllocationStatus.OPEN.value
    )
    if location_id is not None:
        query = query.where(Allocation.location_id == location_id)
    if sscc is not None:
        query = query.where(Allocation.sscc == sscc)
    rows = list(uow.session.scalars(query))
    now = uow.now()
    per_bucket: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        row.status = (AllocationStatus.RELEASED if release else AllocationStatus.FLAGGED).value
        row.flag_reason = reason
        row.updated_at = now
        per_bucket[row.on_hand_id] += row.qty_base
    if release:
        unreserve(uow, per_bucket)
    if rows:
        uow.session.execute(
            update(SalesOrderLine)
            .where(
                SalesOrderLine.id.in_(sorted({r.line_id for r in rows})),
                SalesOrderLine.status == LineStatus.ALLOCATED.value,
            )
            .values(status=LineStatus.SHORT.value)
            .execution_options(synchronize_session="fetch")
        )
    uow.session.flush()
    return len(rows)


__all__ = [
    "AllocationContended",
    "AllocationStatus",
    "Explanation",
    "WaveResult",
    "allocate_lines",
    "allocate_order",
    "explain_line",
    "flag_for_hold",
    "load_candidates",
    "release_line",
    "strategies",
]
