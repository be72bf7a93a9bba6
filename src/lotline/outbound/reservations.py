"""Reservations: what an allocation holds of a bucket, kept in ``stock_on_hand.qty_allocated`` by
guarded bulk updates (never above what the bucket holds), and the flags a hold puts on them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import cast

from sqlalchemy import ARRAY, BigInteger, Table, bindparam, column, func, select, update

from lotline.db import MANY_ROWS, takes_arrays, violated_constraint
from lotline.domain.errors import N_, Conflict
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.models.stock import StockOnHand
from lotline.models.types import ExactDecimal
from lotline.outbound.orders import LineStatus, OrderStatus
from lotline.uow import UnitOfWork


class AllocationStatus(StrEnum):
    OPEN = "open"  # reserved, not yet picked
    PICKED = "picked"
    SHIPPED = "shipped"
    RELEASED = "released"  # given back (re-allocation, cancellation, recall)
    FLAGGED = "flagged"  # the stock went on hold after it was allocated: re-allocate


# Allocations that still count against the line's quantity and the bucket's reservation.
HOLDING = (AllocationStatus.OPEN.value, AllocationStatus.PICKED.value, AllocationStatus.FLAGGED.value)


class AllocationContended(Conflict):
    code = "allocation.contended"
    message = N_("Stock was reserved by someone else meanwhile; nothing was allocated. Run it again.")


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


# Where the backend takes arrays (PostgreSQL) the additions are not guarded in SQL: the bucket's
# check constraint (never more allocated than on hand) refuses the statement instead, so that no
# row count need be read and the writes of an allocation can go in one pipeline. Many buckets:
# lock them in id order first (so two allocators never deadlock), then one UPDATE over the
# unnested (id, quantity) pairs; a few: one UPDATE each, in id order.
OVER_ALLOCATED = "ck_stock_on_hand_allocated_within_on_hand"
_ADD = (
    _BUCKET.update()
    .where(_BUCKET.c.id == bindparam("b_id"))
    .values(qty_allocated=_BUCKET.c.qty_allocated + bindparam("b_qty", type_=ExactDecimal()))
)
_LOCK_MANY = (
    select(_BUCKET.c.id)
    .where(_BUCKET.c.id == func.any(bindparam("ids", type_=ARRAY(BigInteger()))))
    .order_by(_BUCKET.c.id)
    .with_for_update()
)
_WANTED = (
    func.unnest(bindparam("ids", type_=ARRAY(BigInteger())), bindparam("qtys", type_=ARRAY(ExactDecimal())))
    .table_valued(column("id", BigInteger()), column("qty", ExactDecimal()))
    .render_derived(name="wanted")
)
_ADD_MANY = (
    _BUCKET.update()
    .where(_BUCKET.c.id == _WANTED.c.id)
    .values(qty_allocated=_BUCKET.c.qty_allocated + _WANTED.c.qty)
)
MANY = MANY_ROWS  # from this many buckets on, the set-based statements


@contextmanager
def refused_if_short() -> Iterator[None]:
    """Turn the bucket's check constraint refusing a reservation into ``AllocationContended``
    (around ``reserve``, or a pipeline it runs in: there the error comes when the block ends)."""
    try:
        yield
    except Exception as error:
        if violated_constraint(error) == OVER_ALLOCATED:
            raise AllocationContended(field="line_ids") from error
        raise


def reserve(uow: UnitOfWork, per_bucket: dict[int, Decimal]) -> None:
    """Add to each bucket's reservation; refuse everything (``AllocationContended``; the
    transaction is to be rolled back) if any bucket has less free than asked.

    On PostgreSQL the refusal may come only when an enclosing ``pipelined`` block ends: run
    that inside ``refused_if_short``."""
    ordered = sorted(per_bucket.items())
    connection = uow.session.connection()
    if not takes_arrays(connection):
        result = connection.execute(_RESERVE, [{"b_id": i, "b_qty": qty} for i, qty in ordered])
        if result.rowcount != len(ordered):
            raise AllocationContended(field="line_ids")
        return
    with refused_if_short():
        if len(ordered) >= MANY:
            ids = [on_hand_id for on_hand_id, _qty in ordered]
            connection.execute(_LOCK_MANY, {"ids": ids})
            connection.execute(_ADD_MANY, {"ids": ids, "qtys": [qty for _id, qty in ordered]})
        else:
            connection.execute(_ADD, [{"b_id": i, "b_qty": qty} for i, qty in ordered])


def unreserve(uow: UnitOfWork, per_bucket: dict[int, Decimal]) -> None:
    params = [{"b_id": on_hand_id, "b_qty": qty} for on_hand_id, qty in sorted(per_bucket.items()) if qty > 0]
    if params:
        uow.session.connection().execute(_UNRESERVE, params)


def release_flagged(uow: UnitOfWork, line_ids: Sequence[int], now: datetime) -> None:
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
    outright, as a recall does — those already flagged by an earlier hold too, so recalled stock
    is reserved for no order); returns how many."""
    statuses = [AllocationStatus.OPEN.value]
    if release:
        statuses.append(AllocationStatus.FLAGGED.value)
    query = select(Allocation).where(Allocation.lot_id == lot_id, Allocation.status.in_(statuses))
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
        # An order is allocated only while none of its lines is short: a line just gone short
        # reopens it.
        uow.session.execute(
            update(SalesOrder)
            .where(
                SalesOrder.id.in_(
                    select(SalesOrderLine.order_id).where(
                        SalesOrderLine.id.in_(sorted({r.line_id for r in rows})),
                        SalesOrderLine.status == LineStatus.SHORT.value,
                    )
                ),
                SalesOrder.status == OrderStatus.ALLOCATED.value,
            )
            .values(status=OrderStatus.OPEN.value, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    uow.session.flush()
    return len(rows)
