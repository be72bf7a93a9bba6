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
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    String,
    Update,
    bindparam,
    case,
    column,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)

from lotline.audit import service as audit
from lotline.audit.service import record
from lotline.db import (
    IdList,
    days_between,
    expire_loaded,
    insert_rows,
    is_one_of,
    pipelined,
    table_of,
    takes_arrays,
)
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
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, CategoryAllocation, SalesOrder, SalesOrderLine
from lotline.models.site import Site
from lotline.models.types import ExactDecimal, UTCDateTime
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
    refused_if_short,
    release_flagged,
    reserve,
    unreserve,
)
from lotline.outbound.waves import fill_wave
from lotline.outbox import events
from lotline.outbox.service import Event, emit_many
from lotline.uow import UnitOfWork

_DONE_LINES = (LineStatus.SHIPPED.value, LineStatus.CANCELLED.value, LineStatus.PICKED.value)


class _Line(NamedTuple):
    """An order line with everything its allocation needs, as one query returns it."""

    id: int
    order_id: int
    site_id: int
    time_zone: str
    product_id: int
    qty_base: Decimal
    status: str
    order_status: str
    ship_date: date
    delivery_date: date
    min_days: int | None
    min_percent: Decimal | None
    product_min_days: int | None
    product_min_percent: Decimal | None
    strategy: str
    holding: Decimal  # what its open and picked allocations hold
    flagged: int  # how many of its allocations were flagged by a hold since
    shortest_life: int | None  # the product's shortest lot shelf life, expiry − production (days)


def _minimum(days: int | None, percent: Decimal | None) -> MinimumShelfLife | None:
    if days is not None:
        return MinimumShelfLife(days=days)
    if percent is not None:
        return MinimumShelfLife(percent=percent)
    return None


def _mine(*statuses: str) -> tuple[ColumnElement[bool], ...]:
    """The line's allocations in these statuses (correlated to the outer query's line)."""
    return (Allocation.line_id == SalesOrderLine.id, Allocation.status.in_(statuses))


_LINES = (
    select(
        SalesOrderLine.id,
        SalesOrderLine.order_id,
        SalesOrder.site_id,
        Site.time_zone,
        SalesOrderLine.product_id,
        SalesOrderLine.qty_base,
        SalesOrderLine.status,
        SalesOrder.status,
        SalesOrder.ship_date,
        SalesOrderLine.delivery_date,
        SalesOrderLine.min_days,
        SalesOrderLine.min_percent,
        Product.min_ship_days,
        Product.min_ship_percent,
        func.coalesce(Product.allocation_strategy, CategoryAllocation.strategy, Strategy.FEFO.value),
        type_coerce(
            select(func.coalesce(func.sum(Allocation.qty_base), 0))
            .where(*_mine(AllocationStatus.OPEN.value, AllocationStatus.PICKED.value))
            .scalar_subquery(),
            ExactDecimal(),
        ),
        select(func.count()).where(*_mine(AllocationStatus.FLAGGED.value)).scalar_subquery(),
        select(func.min(days_between(Lot.expiry_date, Lot.production_date)))
        .where(Lot.product_id == SalesOrderLine.product_id)
        .scalar_subquery(),
    )
    .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
    .join(Site, Site.id == SalesOrder.site_id)
    .join(Product, Product.id == SalesOrderLine.product_id)
    .outerjoin(CategoryAllocation, CategoryAllocation.category == Product.category)
    .where(is_one_of(SalesOrderLine.id, "ids"))
)


def _load_lines(uow: UnitOfWork, ids: Sequence[int]) -> list[_Line]:
    """The lines, their order, site, product minimum and strategy, and what they hold (one query)."""
    lines = [_Line(*row) for row in uow.session.connection().execute(_LINES, {"ids": ids})]
    if len(lines) != len(ids):
        found = {line.id for line in lines}
        raise InvalidInput(
            N_("Unknown order lines: {ids}."),
            field="line_ids",
            code="allocation.unknown_lines",
            ids=", ".join(str(i) for i in ids if i not in found),
        )
    return lines


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


def _demand(line: _Line) -> Demand:
    return Demand(
        line_id=line.id,
        quantity=line.qty_base - line.holding,
        ship_date=line.ship_date,
        delivery_date=line.delivery_date,
        at_delivery=_minimum(line.min_days, line.min_percent),
        at_shipment=_minimum(line.product_min_days, line.product_min_percent),
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
    that each proposal also says why every bucket ranked before its lots was passed over. Every
    step is one statement for all the lines, and on PostgreSQL the writes go in one pipeline (a
    single line costs six round trips: ping, BEGIN, lines, heads, writes, COMMIT).
    """
    ids = sorted(set(line_ids))
    if not ids:
        return WaveResult([], 0)
    now = uow.now()
    uow.session.flush()
    lines = _load_lines(uow, ids)
    flagged = [line.id for line in lines if line.flagged]
    if flagged:  # given back first: what they held is allocated afresh
        release_flagged(uow, flagged, now)
    by_site: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        if line.status in _DONE_LINES or line.order_status == OrderStatus.CANCELLED.value:
            continue
        if line.qty_base - line.holding > 0:
            by_site[line.site_id].append(line)
    proposals: list[Proposal] = []
    for site_id, mine in by_site.items():
        product_of = {line.id: line.product_id for line in mine}
        demands = [_demand(line) for line in mine]
        if not explain:  # the same lots as allocate_wave over all eligible stock, reading far less
            proposals += fill_wave(
                uow,
                site_id=site_id,
                time_zone=mine[0].time_zone,
                demands=demands,
                product_of=product_of,
                strategies={line.product_id: Strategy(line.strategy) for line in mine},
                now=now,
                shortest_lives={
                    line.product_id: None if line.shortest_life is None else line.shortest_life + 1
                    for line in mine
                },
            )
            continue
        ranked = load_candidates(
            uow, site_id=site_id, product_ids=set(product_of.values()), now=now, eligible_from=None
        )
        proposals += allocate_wave(demands, ranked, product_of)
    # The writes read nothing back: one round trip for all of them where the driver pipelines.
    with refused_if_short(), pipelined(uow.session.connection()):
        written = _write(uow, proposals, now)
        _set_statuses(uow, lines, proposals, now)
        _audit(uow, lines, proposals)
    return WaveResult(proposals, written)


# Statements built once (their cache keys are computed once), run on the Core connection: the
# ORM's bulk paths cost more Python than a single line's whole allocation should.
_ALLOCATIONS = table_of(Allocation)


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
    insert_rows(uow.session.connection(), _ALLOCATIONS, rows)
    return len(rows)


def _line_status(line: _Line, added: Decimal) -> LineStatus:
    total = line.holding + added
    if total >= line.qty_base:
        return LineStatus.ALLOCATED
    return LineStatus.SHORT if total > 0 else LineStatus.OPEN


_OPEN_LINES = (LineStatus.OPEN.value, LineStatus.SHORT.value)
_LINE_TABLE = table_of(SalesOrderLine)
_ORDER_TABLE = table_of(SalesOrder)
_SET_LINE_STATUS = (
    update(_LINE_TABLE).where(is_one_of(_LINE_TABLE.c.id, "ids")).values(status=bindparam("status"))
)
_ORDER_OPEN = _ORDER_TABLE.c.status.in_((OrderStatus.OPEN.value, OrderStatus.ALLOCATED.value))


def _order_status(still_open: ColumnElement[bool]) -> Any:
    """An order is allocated once none of its lines is open or short."""
    return case((still_open, OrderStatus.OPEN.value), else_=OrderStatus.ALLOCATED.value)


_SET_ORDER_STATUS = (
    update(_ORDER_TABLE)
    .where(is_one_of(_ORDER_TABLE.c.id, "ids"), _ORDER_OPEN)
    .values(
        status=_order_status(
            exists().where(_LINE_TABLE.c.order_id == _ORDER_TABLE.c.id, _LINE_TABLE.c.status.in_(_OPEN_LINES))
        ),
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
)


def _set_both_statuses() -> Update:
    """Lines and orders in one statement where the backend takes arrays: the lines' UPDATE is a
    data-modifying CTE, whose new statuses the orders' UPDATE reads from its RETURNING (the
    statement's snapshot still shows the old ones), the order's other lines from the table."""
    given = (
        func.unnest(bindparam("line_ids", type_=IdList()), bindparam("statuses", type_=ARRAY(String())))
        .table_valued(column("id", BigInteger()), column("status", String()))
        .render_derived(name="given")
    )
    changed = (
        update(_LINE_TABLE)
        .where(_LINE_TABLE.c.id == given.c.id)
        .values(status=given.c.status)
        .returning(_LINE_TABLE.c.order_id, _LINE_TABLE.c.status)
        .cte("changed")
    )
    other = _LINE_TABLE.alias("other")
    still_open = or_(
        exists().where(changed.c.order_id == _ORDER_TABLE.c.id, changed.c.status.in_(_OPEN_LINES)),
        exists().where(
            other.c.order_id == _ORDER_TABLE.c.id,
            other.c.status.in_(_OPEN_LINES),
            ~is_one_of(other.c.id, "line_ids"),
        ),
    )
    return (
        update(_ORDER_TABLE)
        .add_cte(changed)
        .where(is_one_of(_ORDER_TABLE.c.id, "ids"), _ORDER_OPEN)
        .values(status=_order_status(still_open), updated_at=bindparam("now", type_=UTCDateTime()))
    )


_SET_BOTH_STATUSES = _set_both_statuses()


def _set_statuses(
    uow: UnitOfWork, lines: Sequence[_Line], proposals: Sequence[Proposal], now: datetime
) -> None:
    """The lines' statuses and their orders': one statement on PostgreSQL, else one UPDATE per
    line status and one for the orders."""
    of = {line.id: line for line in lines}
    status_of = {p.line_id: _line_status(of[p.line_id], p.allocated).value for p in proposals}
    if not status_of:
        return
    connection = uow.session.connection()
    order_ids = sorted({line.order_id for line in lines})
    if takes_arrays(connection):
        connection.execute(
            _SET_BOTH_STATUSES,
            {
                "line_ids": list(status_of),
                "statuses": list(status_of.values()),
                "ids": order_ids,
                "now": now,
            },
        )
    else:
        by_status: dict[str, list[int]] = defaultdict(list)
        for line_id, status in status_of.items():
            by_status[status].append(line_id)
        for status, ids in by_status.items():
            connection.execute(_SET_LINE_STATUS, {"ids": ids, "status": status})
        connection.execute(_SET_ORDER_STATUS, {"ids": order_ids, "now": now})
    expire_loaded(uow.session, SalesOrderLine, of, ("status",))
    expire_loaded(uow.session, SalesOrder, order_ids, ("status", "updated_at"))


def _audit(uow: UnitOfWork, lines: Sequence[_Line], proposals: Sequence[Proposal]) -> None:
    """One audit record and one event per order: which lots each of its lines got."""
    of = {line.id: line for line in lines}
    per_order: dict[int, list[Proposal]] = defaultdict(list)
    for proposal in proposals:
        per_order[of[proposal.line_id].order_id].append(proposal)
    entries: list[audit.Entry] = []
    queued: list[Event] = []
    for order_id, mine in per_order.items():
        site_id = of[mine[0].line_id].site_id
        allocated = {
            str(p.line_id): {
                "allocated": [
                    [c.candidate.lot_code, c.candidate.location_id, c.candidate.sscc, plain(c.quantity)]
                    for c in p.chosen
                ],
                "short": plain(p.short),
            }
            for p in mine
        }
        entries.append(
            audit.Entry(
                action="allocate",
                entity_type="sales_order",
                entity_id=order_id,
                changes={"lines": [None, allocated]},
                site_id=site_id,
            )
        )
        queued.append(
            Event(
                subject_type="sales_order",
                subject_id=order_id,
                payload={"lines": {k: v["short"] for k, v in allocated.items()}},
                site_id=site_id,
            )
        )
    audit.record_many(uow, entries)
    emit_many(uow, events.ORDER_ALLOCATED, queued)


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
