"""Production orders (生产工单): what a line is to make, and what has been posted against it.

An order is OPEN while completions are posted to it, then CLOSED (done) or CANCELLED (nothing
was posted). Its progress — what was produced of each product, what each input lot gave, what
was lost — is read from the ledger movements of its transformations, never kept twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from lotline.audit.service import record
from lotline.catalog.packaging import convert_for_product
from lotline.db import next_in_sequence
from lotline.domain.errors import N_, InvalidInput, NotFound, PermissionDenied
from lotline.domain.ledger import MovementKind
from lotline.domain.permissions import Permission, Principal
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.production import ProductionOrder, Transformation
from lotline.models.stock import StockMovement
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.paging import Page, keyset_page
from lotline.production.service import writable_site
from lotline.uow import UnitOfWork


class OrderStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class NotOpen(InvalidInput):
    code = "production.order_not_open"
    message = N_("Production order {number} is {status}; only an open order can be closed or cancelled.")


@dataclass(frozen=True)
class OrderInput:
    site_id: int
    product_id: int
    quantity: Decimal
    unit: str
    line: str | None = None
    note: str | None = None


def create_order(uow: UnitOfWork, *, principal: Principal | None, order: OrderInput) -> ProductionOrder:
    """Open a production order for a product at a site; the planned quantity in any of its units."""
    site = writable_site(uow, principal, order.site_id)
    product = uow.session.get(Product, order.product_id)
    if product is None or not product.active:
        raise NotFound(entity=N_("product"), key=order.product_id, field="product_id")
    if not order.quantity.is_finite() or order.quantity <= 0:
        raise InvalidInput(
            N_("{field} must be greater than zero."), field="quantity", code="production.bad_quantity"
        )
    base = convert_for_product(
        uow, product_id=product.id, quantity=order.quantity, from_unit=order.unit, to_unit=product.base_unit
    )
    now = uow.now()
    year = now.astimezone(ZoneInfo(site.time_zone)).year
    seq = next_in_sequence(uow.session, f"production_order:{site.id}:{year}")
    row = ProductionOrder(
        number=f"P-{site.code}-{year}-{seq:06}",
        site_id=site.id,
        product_id=product.id,
        line=(order.line or "").strip() or None,
        planned_qty=order.quantity,
        planned_unit=order.unit,
        planned_base_qty=base,
        status=OrderStatus.OPEN.value,
        note=(order.note or "").strip() or None,
        created_at=now,
        created_by=uow.actor.name,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    record(
        uow,
        action="create",
        entity_type="production_order",
        entity_id=row.id,
        site_id=site.id,
        changes={
            "number": [None, row.number],
            "product_id": [None, product.id],
            "planned": [None, [str(order.quantity), order.unit]],
            "line": [None, row.line],
        },
    )
    emit(
        uow,
        events.PRODUCTION_ORDER_CREATED,
        subject_type="production_order",
        subject_id=row.id,
        site_id=site.id,
        payload={"number": row.number, "product_id": product.id, "planned_base_qty": str(base)},
    )
    return row


def visible_order(
    uow: UnitOfWork,
    principal: Principal | None,
    order_id: int,
    permission: Permission = Permission.PRODUCTION_READ,
) -> ProductionOrder:
    """The order, if the caller holds ``permission`` at its site (404 if they cannot read it)."""
    order = uow.session.get(ProductionOrder, order_id)
    if order is not None and (principal is None or principal.can(permission, order.site_id)):
        return order
    if (
        order is not None
        and principal is not None
        and principal.can(Permission.PRODUCTION_READ, order.site_id)
    ):
        raise PermissionDenied(permission=permission.value)
    raise NotFound(entity=N_("production order"), key=order_id, field="order_id")


def finish_order(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    order_id: int,
    status: OrderStatus,
    reason: str | None = None,
) -> ProductionOrder:
    """Close an open order (its completions are done), or cancel one nothing was posted to."""
    order = visible_order(uow, principal, order_id, Permission.PRODUCTION_WRITE)
    if order.status != OrderStatus.OPEN.value or status is OrderStatus.OPEN:
        raise NotOpen(field="status", number=order.number, status=order.status)
    if status is OrderStatus.CANCELLED and transformations_of(uow, order_id=order.id):
        raise InvalidInput(
            N_("Production order {number} has completions: close it instead of cancelling it."),
            field="status",
            code="production.order_has_completions",
            number=order.number,
        )
    before = order.status
    order.status, order.closed_at, order.closed_by = status.value, uow.now(), uow.actor.name
    order.updated_at = uow.now()
    record(
        uow,
        action=status.value.lower(),
        entity_type="production_order",
        entity_id=order.id,
        site_id=order.site_id,
        changes={"status": [before, order.status]},
        reason=(reason or "").strip() or None,
    )
    emit(
        uow,
        events.PRODUCTION_ORDER_CLOSED,
        subject_type="production_order",
        subject_id=order.id,
        site_id=order.site_id,
        payload={"number": order.number, "status": order.status},
    )
    return order


def transformations_of(uow: UnitOfWork, *, order_id: int) -> list[Transformation]:
    """The completions posted to an order, oldest first."""
    return list(
        uow.session.scalars(
            select(Transformation)
            .where(Transformation.production_order_id == order_id)
            .order_by(Transformation.id)
        )
    )


@dataclass(frozen=True)
class Flow:
    """One lot's part in an order: consumed, produced or lost, in its product's base unit."""

    kind: str  # consume, produce, loss
    lot_id: int
    lot_code: str
    product_id: int
    qty_base: Decimal
    expiry_date: object


def flows(uow: UnitOfWork, *, order_id: int) -> list[Flow]:
    """What every completion of the order consumed, produced and lost, per lot: one query."""
    kinds = (MovementKind.CONSUME.value, MovementKind.PRODUCE.value, MovementKind.LOSS.value)
    query = (
        select(
            StockMovement.kind,
            StockMovement.lot_id,
            Lot.code,
            StockMovement.product_id,
            func.sum(StockMovement.base_qty),
            Lot.expiry_date,
        )
        .join(Lot, Lot.id == StockMovement.lot_id)
        .join(Transformation, Transformation.txn_id == StockMovement.txn_id)
        .where(Transformation.production_order_id == order_id, StockMovement.kind.in_(kinds))
        .group_by(
            StockMovement.kind, StockMovement.lot_id, Lot.code, StockMovement.product_id, Lot.expiry_date
        )
        .order_by(StockMovement.kind, Lot.code)
    )
    return [Flow(*row) for row in uow.session.execute(query).tuples()]


def produced_of(uow: UnitOfWork, order: ProductionOrder) -> Decimal:
    """How much of the order's own product its completions produced (base unit)."""
    return sum(
        (
            f.qty_base
            for f in flows(uow, order_id=order.id)
            if f.kind == "produce" and f.product_id == order.product_id
        ),
        Decimal(0),
    )


@dataclass(frozen=True)
class OrderFilter:
    site_ids: frozenset[int] | None = None  # the caller's sites (None: every site)
    site_id: int | None = None
    status: str | None = None
    product_id: int | None = None
    since: datetime | None = None


def list_orders(
    uow: UnitOfWork, *, criteria: OrderFilter, cursor: str | None, limit: int
) -> Page[ProductionOrder]:
    """Production orders matching every given filter, newest first."""
    query = select(ProductionOrder)
    if criteria.site_ids is not None:
        query = query.where(ProductionOrder.site_id.in_(criteria.site_ids))
    if criteria.site_id is not None:
        query = query.where(ProductionOrder.site_id == criteria.site_id)
    if criteria.status is not None:
        query = query.where(ProductionOrder.status == criteria.status)
    if criteria.product_id is not None:
        query = query.where(ProductionOrder.product_id == criteria.product_id)
    if criteria.since is not None:
        query = query.where(ProductionOrder.created_at >= criteria.since)
    return keyset_page(uow.session, query, ProductionOrder.id, cursor=cursor, limit=limit, newest_first=True)
