"""Reading orders and allocating them: the order list (site-scoped, filtered, paged) and one order
with its lines, what each has allocated or is short of, and the Allocate button."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from lotline.api.deps import get_uow, requires
from lotline.api.schemas import IdPath
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Partner, Product
from lotline.models.outbound import Allocation, SalesOrderLine
from lotline.models.site import Site
from lotline.outbound import allocation, orders
from lotline.outbound.allocation import AllocationStatus
from lotline.outbound.orders import OrderStatus
from lotline.outbound.status_text import LINE_STATUS, ORDER_STATUS
from lotline.uow import UnitOfWork
from lotline.web.fields import choice, optional_int, readable_sites
from lotline.web.outbound.labels import by_id, customers, minimum_text
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/orders")
def order_list(
    request: Request,
    status: str | None = None,
    customer_id: str | None = None,
    site_id: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    allowed = principal.site_ids_with(Permission.ORDER_READ)
    chosen_status = choice(status, OrderStatus, "status")
    chosen_customer = optional_int(customer_id, "customer_id")
    chosen_site = optional_int(site_id, "site_id")
    scope = frozenset(allowed) if allowed is not None else None
    if chosen_site is not None:
        scope = frozenset({chosen_site}) & scope if scope is not None else frozenset({chosen_site})
    page = orders.list_orders(
        uow,
        site_ids=scope,
        status=chosen_status,
        customer_id=chosen_customer,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    found = list(page.items)
    line_counts = dict(
        uow.session.execute(
            select(SalesOrderLine.order_id, func.count(SalesOrderLine.id))
            .where(SalesOrderLine.order_id.in_([o.id for o in found]))
            .group_by(SalesOrderLine.order_id)
        )
        .tuples()
        .all()
    )
    partners = by_id(uow, Partner, {o.customer_id for o in found})
    site_rows = readable_sites(uow, principal, Permission.ORDER_READ)
    filters = {"status": chosen_status, "customer_id": chosen_customer, "site_id": chosen_site}
    kept = {name: value for name, value in filters.items() if value is not None}
    next_url = f"/orders?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None
    return render(
        request,
        "outbound/list.html",
        active="orders",
        rows=[
            {
                "order": order,
                "customer": partners.get(order.customer_id),
                "lines": line_counts.get(order.id, 0),
            }
            for order in found
        ],
        sites=site_rows,
        site_by_id={s.id: s for s in site_rows},
        customers=customers(uow),
        statuses=list(OrderStatus),
        status_labels=ORDER_STATUS,
        chosen=filters,
        can_enter=principal.site_ids_with(Permission.ORDER_WRITE) != set(),
        next_url=next_url,
    )


def _allocated(uow: UnitOfWork, line_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """Per line, how much its allocations hold in each status (released ones left out; one query)."""
    found: dict[int, dict[str, Decimal]] = defaultdict(dict)
    if not line_ids:
        return found
    rows = uow.session.execute(
        select(Allocation.line_id, Allocation.status, func.sum(Allocation.qty_base))
        .where(Allocation.line_id.in_(line_ids), Allocation.status != AllocationStatus.RELEASED.value)
        .group_by(Allocation.line_id, Allocation.status)
    )
    for line_id, status, total in rows:
        found[line_id][status] = Decimal(total or 0)
    return found


@router.get("/orders/{order_id}")
def order_page(
    request: Request,
    order_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    order = orders.visible_order(uow, principal, order_id, Permission.ORDER_READ)
    lines = orders.order_lines(uow, order_id=order.id)
    products = by_id(uow, Product, {line.product_id for line in lines})
    held = _allocated(uow, [line.id for line in lines])
    _ = gettext_for(request.state.language)
    rows: list[dict[str, Any]] = []
    for line in lines:
        amounts = held.get(line.id, {})
        allocated = sum(amounts.values(), Decimal(0))
        rows.append(
            {
                "line": line,
                "product": products[line.product_id],
                "allocated": allocated,
                "short": max(line.qty_base - allocated, Decimal(0)),
                "flagged": amounts.get(AllocationStatus.FLAGGED.value, Decimal(0)),
                "minimum": minimum_text(_, line),
            }
        )
    return render(
        request,
        "outbound/order.html",
        active="orders",
        order=order,
        rows=rows,
        customer=uow.session.get(Partner, order.customer_id),
        site=uow.session.get_one(Site, order.site_id),
        status_labels=ORDER_STATUS,
        line_status_labels=LINE_STATUS,
        can_allocate=principal.can(Permission.ORDER_WRITE, order.site_id)
        and any(row["short"] > 0 or row["flagged"] > 0 for row in rows)
        and order.status in (OrderStatus.OPEN.value, OrderStatus.ALLOCATED.value),
    )


@router.post("/orders/{order_id}/allocate")
def allocate_order(
    request: Request,
    order_id: IdPath,
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    order = orders.visible_order(uow, principal, order_id, Permission.ORDER_WRITE)
    target = f"/orders/{order.id}"
    try:
        wave = allocation.allocate_order(uow, order_id=order.id)
    except LotlineError as error:
        uow.rollback()
        return redirect(target, flash=error.render(_), kind="error")
    if not wave.lines:
        return redirect(target, flash=_("Nothing was left to allocate."))
    if wave.short_lines:
        return redirect(
            target,
            flash=_("Allocated %(lines)s lines; %(short)s of them are short of eligible stock.")
            % {"lines": wave.lines, "short": wave.short_lines},
            kind="error",
        )
    return redirect(target, flash=_("Allocated %(lines)s lines in full.") % {"lines": wave.lines})
