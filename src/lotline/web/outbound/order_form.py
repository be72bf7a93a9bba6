"""The order entry form: customer, shipping site, ship date and lines (product, quantity and unit,
optional delivery date, optional minimum shelf life at delivery in days or %).

Lines are rows of parallel fields; "Add line" re-renders with one more row, so no script is
needed. A mistake re-renders the form with the message beside the row it concerns and every
value kept; nothing is written until :func:`lotline.outbound.orders.create_order` accepts it all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.expiry import local_today
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Product
from lotline.outbound import orders
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int, readable_sites
from lotline.web.outbound.labels import by_id, customers
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LINE_FIELDS = ("product_id", "quantity", "unit", "delivery_date", "min_days", "min_percent")
HEADER_FIELDS = ("customer_id", "site_id", "ship_date", "customer_ref")
BLANK_ROWS = 3
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.?(.*)$")

Row = dict[str, str]


def _required(field: str) -> InvalidInput:
    return InvalidInput(N_("{field} is required."), field=field, code="web.required")


def _date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a date (YYYY-MM-DD)."), field=field, code="web.bad_date"
        ) from None


def _decimal(text: str, field: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal") from None
    if not value.is_finite():
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal")
    return value


def _rows(columns: Sequence[Sequence[str]]) -> list[Row]:
    """The line rows as typed, one dict per row (the columns are parallel form fields)."""
    count = min(max((len(column) for column in columns), default=0), orders.MAX_LINES)
    return [
        {
            name: (column[i] if i < len(column) else "").strip()
            for name, column in zip(LINE_FIELDS, columns, strict=True)
        }
        for i in range(count)
    ]


def _product_ids(rows: list[Row]) -> set[int]:
    """The products the rows name, where a row names one well (the others fail on their own later)."""
    found = set()
    for row in rows:
        try:
            product_id = optional_int(row["product_id"], "product_id")
        except LotlineError:
            continue
        if product_id is not None:
            found.add(product_id)
    return found


def _line_input(row: Row, products: dict[int, Product]) -> orders.LineInput:
    product_id = optional_int(row["product_id"], "product_id")
    if product_id is None:
        raise _required("product_id")
    quantity = _decimal(row["quantity"], "quantity")
    if quantity is None:
        raise _required("quantity")
    product = products.get(product_id)
    unit = row["unit"].upper() or (product.base_unit if product is not None else "")
    return orders.LineInput(
        product_id=product_id,
        quantity=quantity,
        unit=unit,
        delivery_date=_date(row["delivery_date"], "delivery_date"),
        min_days=optional_int(row["min_days"], "min_days"),
        min_percent=_decimal(row["min_percent"], "min_percent"),
    )


def _order_input(
    principal: Principal, header: Row, rows: list[Row], filled: list[int], products: dict[int, Product]
) -> orders.OrderInput:
    customer_id = optional_int(header["customer_id"], "customer_id")
    if customer_id is None:
        raise _required("customer_id")
    site_id = optional_int(header["site_id"], "site_id")
    if site_id is None:
        raise _required("site_id")
    if not principal.can(Permission.ORDER_WRITE, site_id):
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    ship_date = _date(header["ship_date"], "ship_date")
    if ship_date is None:
        raise _required("ship_date")
    if not filled:
        raise InvalidInput(N_("Enter at least one line."), field="lines", code="order.no_lines")
    lines = []
    for position, index in enumerate(filled):
        try:
            lines.append(_line_input(rows[index], products))
        except LotlineError as error:
            error.field = f"lines[{position}].{error.field}"
            raise
    return orders.OrderInput(
        customer_id=customer_id,
        site_id=site_id,
        ship_date=ship_date,
        lines=lines,
        customer_ref=header["customer_ref"] or None,
    )


def _products(uow: UnitOfWork) -> list[Product]:
    return list(uow.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code)))


def _form_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    header: Row,
    rows: list[Row],
    error: str | None = None,
    error_row: int | None = None,
    status_code: int = 200,
) -> Response:
    blank = {name: "" for name in LINE_FIELDS}
    shown = rows + [dict(blank) for _ in range(max(BLANK_ROWS - len(rows), 0))]
    return render(
        request,
        "outbound/new.html",
        status_code=status_code,
        active="orders",
        header=header,
        rows=shown,
        error=error,
        error_row=error_row,
        customers=customers(uow),
        sites=readable_sites(uow, principal, Permission.ORDER_WRITE),
        products=_products(uow),
    )


@router.get("/orders/new")
def order_form(
    request: Request,
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    header = {name: "" for name in HEADER_FIELDS}
    sites = readable_sites(uow, principal, Permission.ORDER_WRITE)
    if len(sites) == 1:  # one site to ship from: it, and today there, are the likely answers
        header["site_id"] = str(sites[0].id)
        header["ship_date"] = local_today(uow.now(), sites[0].time_zone).isoformat()
    return _form_page(request, uow, principal, header=header, rows=[])


@router.post("/orders/new")
def order_submit(
    request: Request,
    action: str = Form(default="post"),
    customer_id: str = Form(default=""),
    site_id: str = Form(default=""),
    ship_date: str = Form(default=""),
    customer_ref: str = Form(default=""),
    product_id: list[str] = Form(default=[]),
    quantity: list[str] = Form(default=[]),
    unit: list[str] = Form(default=[]),
    delivery_date: list[str] = Form(default=[]),
    min_days: list[str] = Form(default=[]),
    min_percent: list[str] = Form(default=[]),
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    header = {
        "customer_id": customer_id.strip(),
        "site_id": site_id.strip(),
        "ship_date": ship_date.strip(),
        "customer_ref": customer_ref.strip(),
    }
    rows = _rows((product_id, quantity, unit, delivery_date, min_days, min_percent))
    if action == "add":
        grown = [*rows, {name: "" for name in LINE_FIELDS}] if len(rows) < orders.MAX_LINES else rows
        return _form_page(request, uow, principal, header=header, rows=grown)
    filled = [index for index, row in enumerate(rows) if any(row.values())]
    try:
        products = by_id(uow, Product, _product_ids(rows))
        created = orders.create_order(uow, order=_order_input(principal, header, rows, filled, products))
    except LotlineError as error:
        uow.rollback()
        message, error_row = error.render(_), None
        match = _LINE_FIELD.match(error.field or "")
        if match and int(match.group(1)) < len(filled):
            error_row = filled[int(match.group(1))]
            error.field = match.group(2) or None
            message = _("Line %(number)s: %(message)s") % {
                "number": error_row + 1,
                "message": error.render(_),
            }
        return _form_page(
            request,
            uow,
            principal,
            header=header,
            rows=rows,
            error=message,
            error_row=error_row,
            status_code=STATUS_BY_KIND[error.kind],
        )
    return redirect(
        f"/orders/{created.id}", flash=_("Order %(number)s entered.") % {"number": created.number}
    )
