"""Sales orders (出库订单): a customer's demand, shipped from one site by a date.

Each line names a product, a quantity in any unit the product converts (cases, pallets …), a
delivery date (by default the ship date plus the customer's transit days) and the customer's
minimum remaining shelf life at delivery (the customer's default unless the line overrides it;
the same days-or-% model as the product's). Everything is checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from lotline.audit.service import record
from lotline.catalog.packaging import convert_for_product
from lotline.db import next_in_sequence
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.expiry import MinimumShelfLife
from lotline.domain.permissions import Permission, Principal
from lotline.domain.units import plain
from lotline.models.catalog import Partner, Product
from lotline.models.outbound import SalesOrder, SalesOrderLine
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.paging import Page, keyset_page
from lotline.sites.service import get_site
from lotline.uow import UnitOfWork

MAX_LINES = 1000


class OrderStatus(StrEnum):
    OPEN = "open"
    ALLOCATED = "allocated"  # every line fully allocated
    PICKED = "picked"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    OPEN = "open"  # nothing allocated yet (or all released)
    SHORT = "short"  # part allocated: not enough eligible stock
    ALLOCATED = "allocated"
    PICKED = "picked"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class LineInput:
    product_id: int
    quantity: Decimal
    unit: str
    delivery_date: date | None = None
    min_days: int | None = None
    min_percent: Decimal | None = None
    ship_to: str | None = None


@dataclass(frozen=True)
class OrderInput:
    customer_id: int
    site_id: int
    ship_date: date
    lines: Sequence[LineInput]
    customer_ref: str | None = None


def _line_error(error: LotlineError, position: int) -> LotlineError:
    """The same error, its field named as the line it came from (``lines[2].quantity``)."""
    error.field = f"lines[{position}].{error.field}" if error.field else f"lines[{position}]"
    return error


def customer_minimum(customer: Partner) -> MinimumShelfLife | None:
    if customer.min_delivery_days is not None:
        return MinimumShelfLife(days=customer.min_delivery_days)
    if customer.min_delivery_percent is not None:
        return MinimumShelfLife(percent=customer.min_delivery_percent)
    return None


def line_minimum(line: SalesOrderLine) -> MinimumShelfLife | None:
    """The customer's minimum at delivery that this line keeps (stored on the line when entered)."""
    if line.min_days is not None:
        return MinimumShelfLife(days=line.min_days)
    if line.min_percent is not None:
        return MinimumShelfLife(percent=line.min_percent)
    return None


def _customer(uow: UnitOfWork, customer_id: int) -> Partner:
    customer = uow.session.get(Partner, customer_id)
    if customer is None or not customer.active:
        raise NotFound(entity=N_("customer"), key=customer_id, field="customer_id")
    if not customer.is_customer:
        raise InvalidInput(
            N_("Partner {partner} is not a customer."),
            field="customer_id",
            code="order.not_customer",
            partner=customer.code,
        )
    return customer


def _checked_line(
    uow: UnitOfWork, order: OrderInput, customer: Partner, given: LineInput
) -> tuple[Product, Decimal, date, MinimumShelfLife | None]:
    product = uow.session.get(Product, given.product_id)
    if product is None or not product.active:
        raise NotFound(entity=N_("product"), key=given.product_id, field="product_id")
    if given.quantity <= 0:
        raise InvalidInput(N_("{field} must be greater than zero."), field="quantity", code="order.quantity")
    try:
        base = convert_for_product(
            uow,
            product_id=product.id,
            quantity=given.quantity,
            from_unit=given.unit,
            to_unit=product.base_unit,
        )
    except LotlineError as error:
        error.field = "unit"
        raise
    transit = timedelta(days=customer.default_transit_days or 0)
    delivery = given.delivery_date or order.ship_date + transit
    if delivery < order.ship_date:
        raise InvalidInput(
            N_("The delivery date {delivery} is before the ship date {ship}."),
            field="delivery_date",
            code="order.delivery_before_ship",
            delivery=delivery.isoformat(),
            ship=order.ship_date.isoformat(),
        )
    if given.min_days is not None or given.min_percent is not None:
        minimum: MinimumShelfLife | None = MinimumShelfLife(days=given.min_days, percent=given.min_percent)
    else:
        minimum = customer_minimum(customer)
    return product, base, delivery, minimum


def create_order(uow: UnitOfWork, *, order: OrderInput) -> SalesOrder:
    """Enter an order and its lines: every line checked first, then one transaction."""
    customer = _customer(uow, order.customer_id)
    site = get_site(uow, site_id=order.site_id)
    if not order.lines:
        raise InvalidInput(N_("{field} is required."), field="lines", code="order.no_lines")
    if len(order.lines) > MAX_LINES:
        raise InvalidInput(
            N_("{field} holds at most {maximum} lines."),
            field="lines",
            code="order.too_many_lines",
            maximum=MAX_LINES,
        )
    checked = []
    for position, given in enumerate(order.lines):
        try:
            checked.append((given, *_checked_line(uow, order, customer, given)))
        except LotlineError as error:
            raise _line_error(error, position) from None
    now = uow.now()
    row = SalesOrder(
        number=f"SO-{next_in_sequence(uow.session, 'sales_order'):06d}",
        customer_id=customer.id,
        site_id=site.id,
        customer_ref=(order.customer_ref or "").strip() or None,
        ship_date=order.ship_date,
        status=OrderStatus.OPEN.value,
        created_at=now,
        created_by=uow.actor.name,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    lines = [
        SalesOrderLine(
            order_id=row.id,
            line_no=position + 1,
            product_id=product.id,
            entered_qty=given.quantity,
            entered_unit=given.unit,
            qty_base=base,
            ship_to=(given.ship_to or "").strip() or None,
            delivery_date=delivery,
            min_days=minimum.days if minimum else None,
            min_percent=minimum.percent if minimum else None,
            status=LineStatus.OPEN.value,
        )
        for position, (given, product, base, delivery, minimum) in enumerate(checked)
    ]
    uow.session.add_all(lines)
    uow.session.flush()
    record(
        uow,
        action="create",
        entity_type="sales_order",
        entity_id=row.id,
        site_id=site.id,
        changes={
            "number": [None, row.number],
            "customer_id": [None, customer.id],
            "ship_date": [None, row.ship_date.isoformat()],
            "lines": [
                None,
                [
                    {
                        "line_no": line.line_no,
                        "product_id": line.product_id,
                        "quantity": plain(line.entered_qty),
                        "unit": line.entered_unit,
                        "qty_base": plain(line.qty_base),
                        "delivery_date": line.delivery_date.isoformat(),
                        "min_days": line.min_days,
                        "min_percent": str(line.min_percent) if line.min_percent is not None else None,
                    }
                    for line in lines
                ],
            ],
        },
    )
    emit(
        uow,
        events.ORDER_CREATED,
        subject_type="sales_order",
        subject_id=row.id,
        site_id=site.id,
        payload={"number": row.number, "customer_id": customer.id, "lines": len(lines)},
    )
    return row


def get_order(uow: UnitOfWork, *, order_id: int) -> SalesOrder:
    found = uow.session.get(SalesOrder, order_id)
    if found is None:
        raise NotFound(entity=N_("order"), key=order_id, field="order_id")
    return found


def visible_order(uow: UnitOfWork, principal: Principal, order_id: int, permission: Permission) -> SalesOrder:
    """The order, if the caller holds ``permission`` at its site; else 404 (or 403 if they may read it)."""
    order = uow.session.get(SalesOrder, order_id)
    if order is not None and principal.can(permission, order.site_id):
        return order
    if order is not None and principal.can(Permission.ORDER_READ, order.site_id):
        raise PermissionDenied(permission=permission.value)
    raise NotFound(entity=N_("order"), key=order_id, field="order_id")


def visible_line(
    uow: UnitOfWork, principal: Principal, line_id: int, permission: Permission
) -> SalesOrderLine:
    """The order line, if the caller holds ``permission`` at its order's site (else as ``visible_order``)."""
    line = uow.session.get(SalesOrderLine, line_id)
    if line is None:
        raise NotFound(entity=N_("order line"), key=line_id, field="line_id")
    try:
        visible_order(uow, principal, line.order_id, permission)
    except NotFound:
        raise NotFound(entity=N_("order line"), key=line_id, field="line_id") from None
    return line


def order_lines(uow: UnitOfWork, *, order_id: int) -> list[SalesOrderLine]:
    return list(
        uow.session.scalars(
            select(SalesOrderLine).where(SalesOrderLine.order_id == order_id).order_by(SalesOrderLine.line_no)
        )
    )


def get_line(uow: UnitOfWork, *, line_id: int) -> SalesOrderLine:
    found = uow.session.get(SalesOrderLine, line_id)
    if found is None:
        raise NotFound(entity=N_("order line"), key=line_id, field="line_id")
    return found


def lines_outside(uow: UnitOfWork, *, line_ids: Sequence[int], site_ids: frozenset[int]) -> list[int]:
    """The lines among ``line_ids`` whose order ships from none of ``site_ids`` (one query)."""
    return sorted(
        uow.session.scalars(
            select(SalesOrderLine.id)
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
            .where(SalesOrderLine.id.in_(list(line_ids)), SalesOrder.site_id.not_in(sorted(site_ids)))
        )
    )


def list_orders(
    uow: UnitOfWork,
    *,
    site_ids: frozenset[int] | None,
    status: str | None = None,
    customer_id: int | None = None,
    cursor: str | None,
    limit: int,
) -> Page[SalesOrder]:
    """Orders at the given sites (None: every site), newest first."""
    query = select(SalesOrder)
    if site_ids is not None:
        query = query.where(SalesOrder.site_id.in_(sorted(site_ids)))
    if status:
        query = query.where(SalesOrder.status == status)
    if customer_id is not None:
        query = query.where(SalesOrder.customer_id == customer_id)
    return keyset_page(uow.session, query, SalesOrder.id, cursor=cursor, limit=limit, newest_first=True)
