"""One shipment: its lines (lot, expiry, SSCC, quantity, what came back), its transport legs with
"record arrival", the packing list PDF in the reader's language, and the customer-return form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.api.schemas import IdPath
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Lot
from lotline.models.outbound import CustomerReturn, SalesOrder, SalesOrderLine, Shipment
from lotline.models.site import Site
from lotline.outbound import shipping
from lotline.uow import UnitOfWork
from lotline.web.fulfilment.common import local_moment, refusal
from lotline.web.outbound.labels import by_id
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

RETURN_FIELDS = ("shipment_line_id", "quantity", "unit", "location_id", "reason")


def return_places(uow: UnitOfWork, site_id: int) -> list[Location]:
    """Where a return may be put: the site's active locations, QA areas first."""
    return list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id == site_id, Location.active.is_(True), Location.kind != "VEHICLE")
            .order_by(case((Location.is_qa_area.is_(True), 0), else_=1), Location.code)
        )
    )


def _lines(uow: UnitOfWork, shipment: Shipment) -> list[dict[str, Any]]:
    lines = shipping.shipment_lines(uow, shipment_id=shipment.id)
    returned = dict(
        uow.session.execute(
            select(CustomerReturn.shipment_line_id, func.sum(CustomerReturn.qty_base))
            .where(CustomerReturn.shipment_line_id.in_([line.id for line in lines]))
            .group_by(CustomerReturn.shipment_line_id)
        )
        .tuples()
        .all()
    )
    lots = by_id(uow, Lot, {line.lot_id for line in lines})
    order_lines = by_id(uow, SalesOrderLine, {line.order_line_id for line in lines})
    products = by_id(uow, Product, {lot.product_id for lot in lots.values()})
    places = by_id(uow, Location, {line.location_id for line in lines})
    rows = []
    for line in lines:
        lot = lots[line.lot_id]
        back = Decimal(returned.get(line.id) or 0)
        rows.append(
            {
                "line": line,
                "order_line": order_lines[line.order_line_id],
                "lot": lot,
                "product": products[lot.product_id],
                "location": places.get(line.location_id),
                "returned": back,
                "left": line.qty_base - back,
            }
        )
    return rows


def _returns(uow: UnitOfWork, line_ids: list[int]) -> list[dict[str, Any]]:
    found = list(
        uow.session.scalars(
            select(CustomerReturn)
            .where(CustomerReturn.shipment_line_id.in_(line_ids))
            .order_by(CustomerReturn.id)
        )
    )
    lots = by_id(uow, Lot, {r.lot_id for r in found})
    places = by_id(uow, Location, {r.location_id for r in found})
    return [{"row": r, "lot": lots[r.lot_id], "location": places.get(r.location_id)} for r in found]


def shipment_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    shipment: Shipment,
    *,
    return_fields: dict[str, str] | None = None,
    error: LotlineError | None = None,
) -> Response:
    """The shipment page; after a refused return, its message and the values as typed."""
    _ = gettext_for(request.state.language)
    lines = _lines(uow, shipment)
    legs = shipping.legs_of(uow, shipment_id=shipment.id)
    partner_ids = {shipment.customer_id} | {p for p in [shipment.carrier_id] if p}
    partner_ids |= {leg.carrier_id for leg in legs if leg.carrier_id}
    may_move = principal.can(Permission.STOCK_MOVE, shipment.site_id)
    return render(
        request,
        "fulfilment/shipment.html",
        status_code=STATUS_BY_KIND[error.kind] if error else 200,
        active="orders",
        shipment=shipment,
        order=uow.session.get_one(SalesOrder, shipment.order_id),
        site=uow.session.get_one(Site, shipment.site_id),
        partners=by_id(uow, Partner, partner_ids),
        lines=lines,
        legs=legs,
        returns=_returns(uow, [row["line"].id for row in lines]),
        places=return_places(uow, shipment.site_id) if may_move else [],
        fields=return_fields or dict.fromkeys(RETURN_FIELDS, ""),
        refused=refusal(_, error) if error else None,
        can_move=may_move,
        can_return=may_move and any(row["left"] > 0 for row in lines),
    )


@router.get("/shipments/{shipment_id}")
def shipment_view(
    request: Request,
    shipment_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    shipment = shipping.get_shipment(uow, shipment_id=shipment_id, principal=principal)
    return shipment_page(request, uow, principal, shipment)


@router.get("/shipments/{shipment_id}/packing-list.pdf")
def packing_list(
    request: Request,
    shipment_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    shipment = shipping.get_shipment(uow, shipment_id=shipment_id, principal=principal)
    content = shipping.packing_list_pdf(uow, shipment.id, getattr(request.state, "language", "en"))
    name = quote(f"packing-list-{shipment.number}.pdf")
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"},
    )


@router.post("/shipments/{shipment_id}/legs/{seq}/arrival")
def leg_arrived(
    request: Request,
    shipment_id: IdPath,
    seq: IdPath,
    arrived_at: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    shipment = shipping.get_shipment(uow, shipment_id=shipment_id, principal=principal)
    target = f"/shipments/{shipment.id}"
    zone = uow.session.get_one(Site, shipment.site_id).time_zone
    try:
        shipping.record_arrival(
            uow,
            shipment_id=shipment.id,
            seq=seq,
            arrived_at=local_moment(arrived_at, "arrived_at", zone),
            principal=principal,
        )
    except LotlineError as error:
        uow.rollback()
        return redirect(target, flash=error.render(_), kind="error")
    return redirect(target, flash=_("Arrival of leg %(seq)s recorded.") % {"seq": seq})
