"""Reading receipts: the list of recent receipts and one receipt with its lines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.domain.permissions import Permission, Principal
from lotline.inbound import service
from lotline.models.catalog import Location, Partner, Product
from lotline.models.site import Site
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int, readable_sites
from lotline.web.routing import WebRoute
from lotline.web.shell import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/receipts")
def receipt_list(
    request: Request,
    site_id: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = principal.site_ids_with(Permission.STOCK_READ)
    chosen = optional_int(site_id, "site_id")
    page = service.list_receipts(
        uow,
        criteria=service.ReceiptFilter(
            site_ids=frozenset(sites) if sites is not None else None, site_id=chosen
        ),
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    receipts = list(page.items)
    lines = service.receipt_lines(uow, receipt_ids=[r.id for r in receipts])
    site_rows = readable_sites(uow, principal, Permission.STOCK_READ)
    suppliers = _by_id(uow, Partner, {r.supplier_id for r in receipts})
    locations = _by_id(uow, Location, {r.location_id for r in receipts})
    next_url = None
    if page.next_cursor:
        next_url = f"/receipts?cursor={page.next_cursor}" + (f"&site_id={chosen}" if chosen else "")
    return render(
        request,
        "receiving/list.html",
        active="receiving",
        rows=[
            {
                "receipt": r,
                "supplier": suppliers.get(r.supplier_id),
                "location": locations.get(r.location_id),
                "lines": len(lines[r.id]),
            }
            for r in receipts
        ],
        sites=site_rows,
        site_by_id={s.id: s for s in site_rows},
        chosen_site=chosen,
        can_receive=principal.site_ids_with(Permission.STOCK_MOVE) != set(),
        next_url=next_url,
    )


@router.get("/receipts/{receipt_id}")
def receipt_page(
    request: Request,
    receipt_id: int,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    receipt = service.visible_receipt(uow, principal, receipt_id)
    lines = service.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id]
    codes = service.lot_codes(uow, [line.lot_id for line in lines])
    products = _by_id(uow, Product, {line.product_id for line in lines})
    return render(
        request,
        "receiving/receipt.html",
        active="receiving",
        receipt=receipt,
        lines=[
            {"line": line, "lot_code": codes[line.lot_id], "product": products[line.product_id]}
            for line in lines
        ],
        site=uow.session.get_one(Site, receipt.site_id),
        supplier=uow.session.get(Partner, receipt.supplier_id),
        location=uow.session.get(Location, receipt.location_id),
    )


def _by_id(uow: UnitOfWork, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(select(model).where(model.id.in_(ids)))}
