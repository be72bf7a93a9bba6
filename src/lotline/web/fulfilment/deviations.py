"""The FEFO-deviation log: every pick of a lot other than the one proposed, at the sites the reader
may see (or one of them), newest first, paged — with the reason given and who signed it."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.domain.errors import N_, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.models.catalog import Product
from lotline.models.outbound import SalesOrder, SalesOrderLine
from lotline.models.signature import Signature
from lotline.outbound import picking
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int, readable_sites
from lotline.web.fulfilment.common import lot_codes
from lotline.web.outbound.labels import by_id
from lotline.web.routing import WebRoute
from lotline.web.shell import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/fefo-deviations")
def deviation_log(
    request: Request,
    site_id: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    visible = principal.site_ids_with(Permission.ORDER_READ)
    chosen = optional_int(site_id, "site_id")
    if chosen is not None:
        if visible is not None and chosen not in visible:
            raise NotFound(entity=N_("site"), key=chosen, field="site_id")
        visible = {chosen}
    page = picking.deviations(uow, site_ids=visible, cursor=cursor, limit=PAGE_SIZE)
    picks = list(page.items)
    found = (
        uow.session.execute(
            select(SalesOrderLine, SalesOrder)
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
            .where(SalesOrderLine.id.in_(sorted({p.line_id for p in picks})))
        )
        .tuples()
        .all()
    )
    lines = {line.id: (line, order) for line, order in found}
    lot_ids = {p.lot_id for p in picks} | {p.proposed_lot_id for p in picks if p.proposed_lot_id}
    codes = lot_codes(uow, lot_ids)
    signers = dict(
        uow.session.execute(
            select(Signature.id, Signature.printed_name).where(
                Signature.id.in_(sorted({p.signature_id for p in picks if p.signature_id}))
            )
        )
        .tuples()
        .all()
    )
    products = by_id(uow, Product, {line.product_id for line, _o in lines.values()})
    sites = readable_sites(uow, principal, Permission.ORDER_READ)
    site_by_id = {s.id: s for s in sites}
    rows = []
    for p in picks:
        line, order = lines[p.line_id]
        site = site_by_id.get(order.site_id)
        rows.append(
            {
                "pick": p,
                "line": line,
                "order": order,
                "product": products[line.product_id],
                "lot_code": codes[p.lot_id],
                "proposed_code": codes.get(p.proposed_lot_id) if p.proposed_lot_id else None,
                "signer": signers.get(p.signature_id) if p.signature_id else None,
                "zone": site.time_zone if site else None,
            }
        )
    kept = {"site_id": chosen} if chosen is not None else {}
    next_url = None
    if page.next_cursor:
        next_url = f"/fefo-deviations?{urlencode({**kept, 'cursor': page.next_cursor})}"
    return render(
        request,
        "fulfilment/deviations.html",
        active="orders",
        rows=rows,
        sites=sites,
        chosen=chosen,
        next_url=next_url,
    )
