"""Shipping: the order's picked stock with carrier, vehicle and transport legs (rows of parallel
fields; "Add leg" re-renders with one more row, no script needed), and the order's shipments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.api.schemas import IdPath
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, Pick, SalesOrder, SalesOrderLine, Shipment
from lotline.models.site import Site
from lotline.outbound import orders, shipping
from lotline.outbound.allocation import AllocationStatus
from lotline.outbound.fulfilment import HeldSinceAllocation
from lotline.outbound.status_text import ORDER_STATUS
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int
from lotline.web.fulfilment.common import local_moment, refusal, text_field
from lotline.web.outbound.labels import by_id
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LEG_FIELDS = ("origin", "destination", "departed_at", "arrived_at")
MAX_VEHICLE, MAX_PLACE = 40, 200
_LEG_FIELD = re.compile(r"^legs\[(\d+)\]\.?(.*)$")

Row = dict[str, str]


def carriers(uow: UnitOfWork) -> list[Partner]:
    return list(
        uow.session.scalars(
            select(Partner)
            .where(Partner.is_carrier.is_(True), Partner.active.is_(True))
            .order_by(Partner.code)
        )
    )


def _waiting(uow: UnitOfWork, order: SalesOrder) -> list[dict[str, Any]]:
    """What a shipment of the order would take now: its picks not yet shipped (one query and lookups)."""
    found = list(
        uow.session.execute(
            select(Pick, SalesOrderLine)
            .join(Allocation, Allocation.id == Pick.allocation_id)
            .join(SalesOrderLine, SalesOrderLine.id == Pick.line_id)
            .where(
                SalesOrderLine.order_id == order.id,
                Pick.shipped.is_(False),
                Allocation.status == AllocationStatus.PICKED.value,
            )
            .order_by(SalesOrderLine.line_no, Pick.id)
        )
        .tuples()
        .all()
    )
    lots = by_id(uow, Lot, {p.lot_id for p, _l in found})
    places = by_id(uow, Location, {p.location_id for p, _l in found})
    products = by_id(uow, Product, {line.product_id for _p, line in found})
    return [
        {
            "pick": pick,
            "line": line,
            "product": products[line.product_id],
            "lot": lots[pick.lot_id],
            "location": places.get(pick.location_id),
        }
        for pick, line in found
    ]


def _ship_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    order: SalesOrder,
    *,
    header: Row,
    legs: list[Row],
    error: LotlineError | None = None,
    error_leg: int | None = None,
) -> Response:
    _ = gettext_for(request.state.language)
    waiting = _waiting(uow, order)
    shipments = list(
        uow.session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id))
    )
    refused = refusal(_, error) if error else None
    if refused is not None and error_leg is not None:
        refused["message"] = _("Leg %(number)s: %(message)s") % {
            "number": error_leg + 1,
            "message": refused["message"],
        }
    return render(
        request,
        "fulfilment/ship.html",
        status_code=STATUS_BY_KIND[error.kind] if error else 200,
        active="orders",
        order=order,
        site=uow.session.get_one(Site, order.site_id),
        customer=uow.session.get(Partner, order.customer_id),
        status_labels=ORDER_STATUS,
        waiting=waiting,
        shipments=shipments,
        partners=by_id(uow, Partner, {s.carrier_id for s in shipments if s.carrier_id}),
        carriers=carriers(uow),
        header=header,
        legs=legs or [dict.fromkeys(LEG_FIELDS, "")],
        max_legs=shipping.MAX_LEGS,
        refused=refused,
        error_leg=error_leg,
        can_ship=principal.can(Permission.STOCK_MOVE, order.site_id) and bool(waiting),
    )


@router.get("/orders/{order_id}/ship")
def ship_page(
    request: Request,
    order_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    order = orders.visible_order(uow, principal, order_id, Permission.ORDER_READ)
    return _ship_page(request, uow, principal, order, header={"carrier_id": "", "vehicle": ""}, legs=[])


def _leg_rows(columns: Sequence[Sequence[str]]) -> list[Row]:
    count = min(max((len(column) for column in columns), default=0), shipping.MAX_LEGS)
    return [
        {
            name: (column[i] if i < len(column) else "").strip()
            for name, column in zip(LEG_FIELDS, columns, strict=True)
        }
        for i in range(count)
    ]


def _leg_inputs(rows: list[Row], zone: str) -> list[shipping.LegInput]:
    """The legs as typed (blank rows left out); a mistake names the leg in ``legs[i].field``."""
    legs = []
    for position, row in enumerate(r for r in rows if any(r.values())):
        try:
            legs.append(
                shipping.LegInput(
                    origin=text_field(row["origin"], "origin", max_length=MAX_PLACE),
                    destination=text_field(row["destination"], "destination", max_length=MAX_PLACE),
                    departed_at=local_moment(row["departed_at"], "departed_at", zone),
                    arrived_at=local_moment(row["arrived_at"], "arrived_at", zone),
                )
            )
        except LotlineError as error:
            error.field = f"legs[{position}].{error.field}"
            raise
    return legs


@router.post("/orders/{order_id}/ship")
def ship_submit(
    request: Request,
    order_id: IdPath,
    action: str = Form(default="post"),
    carrier_id: str = Form(default=""),
    vehicle: str = Form(default=""),
    origin: list[str] = Form(default=[]),
    destination: list[str] = Form(default=[]),
    departed_at: list[str] = Form(default=[]),
    arrived_at: list[str] = Form(default=[]),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    order = orders.visible_order(uow, principal, order_id, Permission.STOCK_MOVE)
    header = {"carrier_id": carrier_id.strip(), "vehicle": vehicle.strip()}
    rows = _leg_rows((origin, destination, departed_at, arrived_at))
    if action == "add":
        grown = [*rows, dict.fromkeys(LEG_FIELDS, "")] if len(rows) < shipping.MAX_LEGS else rows
        return _ship_page(request, uow, principal, order, header=header, legs=grown)
    zone = uow.session.get_one(Site, order.site_id).time_zone
    try:
        shipment = shipping.ship(
            uow,
            order_id=order.id,
            carrier_id=optional_int(carrier_id, "carrier_id"),
            vehicle=text_field(vehicle, "vehicle", max_length=MAX_VEHICLE),
            legs=_leg_inputs(rows, zone),
            principal=principal,
        )
    except LotlineError as error:
        if isinstance(error, HeldSinceAllocation):
            uow.commit()  # nothing shipped, but the allocations it flagged stay flagged
        else:
            uow.rollback()
        error_leg = None
        match = _LEG_FIELD.match(error.field or "")
        if match:
            filled = [i for i, row in enumerate(rows) if any(row.values())]
            position = int(match.group(1))
            error_leg = filled[position] if position < len(filled) else position
            error.field = match.group(2) or None
        return _ship_page(
            request, uow, principal, order, header=header, legs=rows, error=error, error_leg=error_leg
        )
    return redirect(
        f"/shipments/{shipment.id}", flash=_("Shipment %(number)s shipped.") % {"number": shipment.number}
    )
