"""Production orders: the list (the reader's sites, by status), the new-order form, and one order —
planned against produced, what each lot consumed, gave and lost, its completions, and the
Close and Cancel buttons. Everything goes through :mod:`lotline.production.orders`."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.api.schemas import IdPath
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Product
from lotline.models.production import ProductionOrder
from lotline.models.site import Site
from lotline.production import orders
from lotline.production.orders import OrderStatus
from lotline.uow import UnitOfWork
from lotline.web.fields import choice, optional_int, readable_sites
from lotline.web.fulfilment.common import quantity_field, text_field, unit_field
from lotline.web.outbound.labels import by_id
from lotline.web.production.labels import ALL as LABELS
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50
HEADER_FIELDS = ("site_id", "product_id", "quantity", "unit", "line", "note")
MAX_LINE = 40
MAX_NOTE = 2000


def active_products(uow: UnitOfWork) -> list[Product]:
    return list(uow.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code)))


@router.get("/production")
def production_home(principal: Principal = requires(Permission.PRODUCTION_READ)) -> Response:
    return redirect("/production/orders")


@router.get("/production/orders")
def order_list(
    request: Request,
    status: str | None = None,
    site_id: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    allowed = principal.site_ids_with(Permission.PRODUCTION_READ)
    chosen_status = choice(status, OrderStatus, "status")
    chosen_site = optional_int(site_id, "site_id")
    page = orders.list_orders(
        uow,
        criteria=orders.OrderFilter(
            site_ids=frozenset(allowed) if allowed is not None else None,
            site_id=chosen_site,
            status=chosen_status,
        ),
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    found = list(page.items)
    sites = readable_sites(uow, principal, Permission.PRODUCTION_READ)
    filters = {"status": chosen_status, "site_id": chosen_site}
    kept = {name: value for name, value in filters.items() if value is not None}
    next_url = (
        f"/production/orders?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None
    )
    return render(
        request,
        "production/orders.html",
        active="production",
        orders=found,
        products=by_id(uow, Product, {order.product_id for order in found}),
        sites=sites,
        site_by_id={site.id: site for site in sites},
        statuses=list(OrderStatus),
        chosen=filters,
        can_enter=principal.site_ids_with(Permission.PRODUCTION_WRITE) != set(),
        next_url=next_url,
        **LABELS,
    )


def _form_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    header: dict[str, str],
    *,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "production/order_new.html",
        status_code=status_code,
        active="production",
        header=header,
        error=error,
        error_field=error_field,
        sites=readable_sites(uow, principal, Permission.PRODUCTION_WRITE),
        products=active_products(uow),
    )


@router.get("/production/orders/new")
def order_form(
    request: Request,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    header = {name: "" for name in HEADER_FIELDS}
    sites = readable_sites(uow, principal, Permission.PRODUCTION_WRITE)
    if len(sites) == 1:
        header["site_id"] = str(sites[0].id)
    return _form_page(request, uow, principal, header)


def _order_input(uow: UnitOfWork, header: dict[str, str]) -> orders.OrderInput:
    site_id = optional_int(header["site_id"], "site_id")
    if site_id is None:
        raise InvalidInput(N_("{field} is required."), field="site_id", code="web.required")
    product_id = optional_int(header["product_id"], "product_id")
    if product_id is None:
        raise InvalidInput(N_("{field} is required."), field="product_id", code="web.required")
    product = uow.session.get(Product, product_id)
    if product is None:
        raise NotFound(entity=N_("product"), key=product_id, field="product_id")
    return orders.OrderInput(
        site_id=site_id,
        product_id=product_id,
        quantity=quantity_field(header["quantity"]),
        unit=unit_field(header["unit"], product.base_unit),
        line=text_field(header["line"], "line", max_length=MAX_LINE),
        note=text_field(header["note"], "note", max_length=MAX_NOTE, lines=True),
    )


@router.post("/production/orders/new")
def order_submit(
    request: Request,
    site_id: str = Form(default=""),
    product_id: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    line: str = Form(default=""),
    note: str = Form(default=""),
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    header = {
        "site_id": site_id.strip(),
        "product_id": product_id.strip(),
        "quantity": quantity.strip(),
        "unit": unit.strip().upper(),
        "line": line.strip(),
        "note": note.strip(),
    }
    try:
        created = orders.create_order(uow, principal=principal, order=_order_input(uow, header))
    except LotlineError as error:
        uow.rollback()
        return _form_page(
            request,
            uow,
            principal,
            header,
            error=error.render(_),
            error_field=error.field,
            status_code=STATUS_BY_KIND[error.kind],
        )
    return redirect(
        f"/production/orders/{created.id}",
        flash=_("Production order %(number)s opened.") % {"number": created.number},
    )


@router.get("/production/orders/{order_id}")
def order_page(
    request: Request,
    order_id: IdPath,
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    order = orders.visible_order(uow, principal, order_id)
    flows = orders.flows(uow, order_id=order.id)
    completions = orders.transformations_of(uow, order_id=order.id)
    products = by_id(uow, Product, {order.product_id} | {flow.product_id for flow in flows})
    product = products[order.product_id]
    produced = sum(
        (f.qty_base for f in flows if f.kind == "produce" and f.product_id == order.product_id), Decimal(0)
    )
    can_write = principal.can(Permission.PRODUCTION_WRITE, order.site_id)
    is_open = order.status == OrderStatus.OPEN.value
    return render(
        request,
        "production/order.html",
        active="production",
        order=order,
        product=product,
        site=uow.session.get_one(Site, order.site_id),
        produced=produced,
        share=produced / order.planned_base_qty if order.planned_base_qty else None,
        flows=flows,
        products=products,
        completions=completions,
        can_complete=can_write and is_open,
        can_close=can_write and is_open,
        can_cancel=can_write and is_open and not completions,
        **LABELS,
    )


def _finish(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    order: ProductionOrder,
    status: OrderStatus,
    reason: str,
) -> Response:
    _ = gettext_for(request.state.language)
    target = f"/production/orders/{order.id}"
    number = order.number
    try:
        orders.finish_order(
            uow,
            principal=principal,
            order_id=order.id,
            status=status,
            reason=text_field(reason, "reason", max_length=MAX_NOTE, lines=True),
        )
    except LotlineError as error:
        uow.rollback()
        return redirect(target, flash=error.render(_), kind="error")
    done = (
        _("Production order %(number)s closed.")
        if status is OrderStatus.CLOSED
        else _("Production order %(number)s cancelled.")
    )
    return redirect(target, flash=done % {"number": number})


@router.post("/production/orders/{order_id}/close")
def close_order(
    request: Request,
    order_id: IdPath,
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    order = orders.visible_order(uow, principal, order_id, Permission.PRODUCTION_WRITE)
    return _finish(request, uow, principal, order, OrderStatus.CLOSED, reason)


@router.post("/production/orders/{order_id}/cancel")
def cancel_order(
    request: Request,
    order_id: IdPath,
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    order = orders.visible_order(uow, principal, order_id, Permission.PRODUCTION_WRITE)
    return _finish(request, uow, principal, order, OrderStatus.CANCELLED, reason)
