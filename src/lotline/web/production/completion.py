"""Posting a completion (完工报告) to an open production order: inputs issued by scan, outputs
(the order's product by default) and losses, in one :func:`lotline.production.service.transform`.

A mistake re-renders the form with every value kept and the message beside the field of the row
it concerns; nothing is written (a blocked input — quarantined, held, expired — is refused by
the status × transaction matrix with each reason).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.api.schemas import IdPath
from lotline.domain.errors import LotlineError
from lotline.domain.expiry import local_today
from lotline.domain.permissions import Permission, Principal
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Product
from lotline.models.production import ProductionOrder
from lotline.models.site import Site
from lotline.production import orders
from lotline.production.orders import OrderStatus
from lotline.production.service import Request as Transform
from lotline.production.service import transform
from lotline.uow import UnitOfWork
from lotline.web.fulfilment.common import text_field
from lotline.web.production.labels import ALL as LABELS
from lotline.web.production.orders import MAX_LINE, active_products
from lotline.web.production.sheet import (
    GROUPS,
    Context,
    Problem,
    Sheet,
    posted_values,
    problem,
    read_lines,
    read_sheet,
    site_places,
)
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

HEADER_FIELDS = ("line",)


def default_output_place(places: dict[int, Location]) -> str:
    """Where outputs land unless told otherwise: the site's first QA area, if it has one."""
    qa_areas = [place for place in places.values() if place.is_qa_area]
    return str(qa_areas[0].id) if qa_areas else ""


def output_defaults(product_id: int | None, places: dict[int, Location]) -> dict[str, dict[str, str]]:
    return {
        "outputs": {
            "product": str(product_id) if product_id else "",
            "location": default_output_place(places),
        },
        "losses": {"kind": LossKind.OTHER.value},
    }


def _open_order(
    uow: UnitOfWork, principal: Principal, order_id: int, permission: Permission
) -> ProductionOrder:
    order = orders.visible_order(uow, principal, order_id, permission)
    if order.status != OrderStatus.OPEN.value:
        raise orders.NotOpen(field="status", number=order.number, status=order.status)
    return order


def _page(
    request: Request,
    uow: UnitOfWork,
    order: ProductionOrder,
    sheet: Sheet,
    *,
    shown: Problem | None = None,
    status_code: int = 200,
) -> Response:
    places = site_places(uow, order.site_id)
    return render(
        request,
        "production/complete.html",
        status_code=status_code,
        active="production",
        order=order,
        product=uow.session.get_one(Product, order.product_id),
        site=uow.session.get_one(Site, order.site_id),
        header=sheet.header,
        rows=sheet.shown(output_defaults(order.product_id, places)),
        problem=shown,
        places=list(places.values()),
        products=active_products(uow),
        loss_kinds=list(LossKind),
        **LABELS,
    )


@router.get("/production/orders/{order_id}/complete")
def completion_form(
    request: Request,
    order_id: IdPath,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    order = _open_order(uow, principal, order_id, Permission.PRODUCTION_WRITE)
    sheet = Sheet({"line": order.line or ""}, {group: [] for group in GROUPS})
    return _page(request, uow, order, sheet)


@router.post("/production/orders/{order_id}/complete")
def completion_submit(
    request: Request,
    order_id: IdPath,
    values: dict[str, list[str]] = Depends(posted_values),
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    order = _open_order(uow, principal, order_id, Permission.PRODUCTION_WRITE)
    sheet = read_sheet(values, HEADER_FIELDS)
    if sheet.action.startswith("add:"):
        return _page(request, uow, order, sheet.grown())
    site = uow.session.get_one(Site, order.site_id)
    context = Context(
        site_id=site.id,
        places=site_places(uow, site.id),
        products={p.id: p for p in active_products(uow)},
        today=local_today(uow.now(), site.time_zone),
    )
    try:
        lines = read_lines(uow, sheet, context, default_product=order.product_id)
        outcome = transform(
            uow,
            principal=principal,
            request=Transform(
                kind=TransformationKind.PRODUCTION,
                site_id=site.id,
                inputs=lines.inputs,
                outputs=lines.outputs,
                losses=lines.losses,
                production_order_id=order.id,
                line=text_field(sheet.header["line"], "line", max_length=MAX_LINE),
            ),
        )
    except LotlineError as error:
        uow.rollback()
        return _page(
            request,
            uow,
            order,
            sheet,
            shown=problem(_, error, sheet),
            status_code=STATUS_BY_KIND[error.kind],
        )
    done: dict[str, Any] = {
        "number": outcome.transformation.number,
        "lots": ", ".join(lot.code for lot in outcome.output_lots),
    }
    return redirect(
        f"/production/orders/{order.id}",
        flash=_("Completion %(number)s posted: lot %(lots)s made.") % done,
    )
