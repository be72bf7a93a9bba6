"""Order and allocation endpoints: enter orders, allocate them (one order, or a wave of lines),
read why each line got the lots it got, and release allocations."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import func, select

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.allocation import Passed, Proposal, Strategy
from lotline.domain.errors import N_, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, SalesOrder
from lotline.outbound import allocation, orders
from lotline.outbound.schemas import (
    CategoryStrategyRead,
    CategoryStrategyWrite,
    ChosenRead,
    LineAllocationRead,
    OrderAllocationRead,
    OrderCreate,
    OrderLineRead,
    OrderRead,
    OrderSummary,
    PassedRead,
    ReleaseCreate,
    ReleaseRead,
    WaveCreate,
    WaveRead,
)
from lotline.uow import UnitOfWork

router = APIRouter(tags=["orders"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def _order_read(uow: UnitOfWork, order: SalesOrder) -> OrderRead:
    lines = orders.order_lines(uow, order_id=order.id)
    taken = dict(
        uow.session.execute(
            select(Allocation.line_id, func.sum(Allocation.qty_base))
            .where(
                Allocation.line_id.in_([line.id for line in lines]),
                Allocation.status != allocation.AllocationStatus.RELEASED.value,
            )
            .group_by(Allocation.line_id)
        )
        .tuples()
        .all()
    )
    read = OrderRead.model_validate(order)
    read.lines = [
        OrderLineRead.model_validate(line).model_copy(update={"allocated": taken.get(line.id) or Decimal(0)})
        for line in lines
    ]
    return read


def _passed_read(passed: Sequence[Passed]) -> list[PassedRead]:
    return [
        PassedRead(
            lot_id=p.candidate.lot_id,
            lot_code=p.candidate.lot_code,
            location_id=p.candidate.location_id,
            sscc=p.candidate.sscc,
            stock_status=p.candidate.situation.stock.value,
            expiry_date=p.candidate.expiry_date,
            free=p.candidate.free,
            reasons=list(p.reasons),
            detail=p.detail,
        )
        for p in passed
    ]


def _proposal_read(proposal: Proposal) -> LineAllocationRead:
    return LineAllocationRead(
        line_id=proposal.line_id,
        chosen=[
            ChosenRead(
                lot_id=c.candidate.lot_id,
                lot_code=c.candidate.lot_code,
                location_id=c.candidate.location_id,
                sscc=c.candidate.sscc,
                qty_base=c.quantity,
                expiry_date=c.candidate.expiry_date,
            )
            for c in proposal.chosen
        ],
        passed=_passed_read(proposal.passed),
        short=proposal.short,
    )


@router.post("/orders", response_model=OrderRead, status_code=201)
def create_order(
    body: OrderCreate,
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderRead:
    """Enter a customer's order; each line's delivery date defaults to the ship date plus the
    customer's transit days, its minimum shelf life at delivery to the customer's."""
    if not principal.can(Permission.ORDER_WRITE, body.site_id):
        raise NotFound(entity=N_("site"), key=body.site_id, field="site_id")
    order = orders.create_order(
        uow,
        order=orders.OrderInput(
            customer_id=body.customer_id,
            site_id=body.site_id,
            ship_date=body.ship_date,
            customer_ref=body.customer_ref,
            lines=[
                orders.LineInput(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit=line.unit,
                    delivery_date=line.delivery_date,
                    min_days=line.min_days,
                    min_percent=line.min_percent,
                    ship_to=line.ship_to,
                )
                for line in body.lines
            ],
        ),
    )
    return _order_read(uow, order)


@router.get("/orders", response_model=PageOut[OrderSummary])
def list_orders(
    status: str | None = Query(default=None, max_length=16),
    customer_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[OrderSummary]:
    """Orders at the caller's sites, newest first."""
    sites = principal.site_ids_with(Permission.ORDER_READ)
    page = orders.list_orders(
        uow,
        site_ids=frozenset(sites) if sites is not None else None,
        status=status,
        customer_id=customer_id,
        cursor=cursor,
        limit=limit,
    )
    return PageOut[OrderSummary](
        items=[OrderSummary.model_validate(o) for o in page.items], next_cursor=page.next_cursor
    )


@router.get("/orders/{order_id}", response_model=OrderRead)
def read_order(
    order_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderRead:
    """One order with its lines and what each has allocated."""
    return _order_read(uow, orders.visible_order(uow, principal, order_id, Permission.ORDER_READ))


@router.post("/orders/{order_id}/allocate", response_model=OrderAllocationRead)
def allocate_order(
    order_id: IdPath,
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderAllocationRead:
    """Allocate what each line still needs by FEFO/FIFO; for every lot passed over, each reason."""
    order = orders.visible_order(uow, principal, order_id, Permission.ORDER_WRITE)
    wave = allocation.allocate_order(uow, order_id=order.id)
    strategy = allocation.strategies(
        uow, [line.product_id for line in orders.order_lines(uow, order_id=order.id)]
    )
    product_of = {line.id: line.product_id for line in orders.order_lines(uow, order_id=order.id)}
    return OrderAllocationRead(
        order_id=order.id,
        status=order.status,
        lines=[
            _proposal_read(p).model_copy(update={"strategy": strategy[product_of[p.line_id]].value})
            for p in wave.proposals
        ],
    )


@router.post("/allocations/wave", response_model=WaveRead)
def allocate_wave(
    body: WaveCreate,
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> WaveRead:
    """Allocate many lines in one set-based pass (lines at sites the caller may not write: 404)."""
    sites = principal.site_ids_with(Permission.ORDER_WRITE)
    if sites is not None:
        outside = orders.lines_outside(uow, line_ids=body.line_ids, site_ids=frozenset(sites))
        if outside:
            raise NotFound(entity=N_("order line"), key=outside[0], field="line_ids")
    wave = allocation.allocate_lines(uow, line_ids=body.line_ids)
    return WaveRead(lines=wave.lines, allocations=wave.allocations, short_lines=wave.short_lines)


@router.get("/order-lines/{line_id}/allocation", response_model=LineAllocationRead)
def explain_line(
    line_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> LineAllocationRead:
    """The line's allocated lots and why each lot ranked before them was passed over."""
    line = orders.visible_line(uow, principal, line_id, Permission.ORDER_READ)
    explained = allocation.explain_line(uow, line_id=line.id)
    expiries = dict(
        uow.session.execute(
            select(Lot.id, Lot.expiry_date).where(
                Lot.id.in_(sorted({a.lot_id for a in explained.allocations}))
            )
        )
        .tuples()
        .all()
    )
    return LineAllocationRead(
        line_id=line.id,
        strategy=explained.strategy.value,
        chosen=[
            ChosenRead(
                allocation_id=a.id,
                lot_id=a.lot_id,
                lot_code=explained.lot_codes[a.lot_id],
                location_id=a.location_id,
                sscc=a.sscc,
                qty_base=a.qty_base,
                expiry_date=expiries.get(a.lot_id),
                status=a.status,
            )
            for a in explained.allocations
        ],
        passed=_passed_read(explained.passed),
        short=explained.short,
    )


@router.post("/order-lines/{line_id}/release", response_model=ReleaseRead)
def release_line(
    body: ReleaseCreate,
    line_id: IdPath,
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> ReleaseRead:
    """Give back the line's open and flagged allocations, with a reason."""
    line = orders.visible_line(uow, principal, line_id, Permission.ORDER_WRITE)
    return ReleaseRead(
        line_id=line.id, released=allocation.release_line(uow, line_id=line.id, reason=body.reason)
    )


@router.get("/allocation-strategies", response_model=list[CategoryStrategyRead])
def list_category_strategies(
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[CategoryStrategyRead]:
    """The product categories allocated FIFO or FEFO by rule (any other: FEFO, unless the product says)."""
    return [
        CategoryStrategyRead(category=category, strategy=strategy.value)
        for category, strategy in allocation.category_strategies(uow).items()
    ]


@router.put("/allocation-strategies/{category}", response_model=list[CategoryStrategyRead])
def set_category_strategy(
    body: CategoryStrategyWrite,
    category: str = Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f/]+$"),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> list[CategoryStrategyRead]:
    """Allocate a product category by FEFO or FIFO (a product's own strategy still wins)."""
    allocation.set_category_strategy(
        uow, category=category, strategy=Strategy(body.strategy) if body.strategy else None
    )
    return list_category_strategies(principal, uow)
