"""Stock on hand: the filtered list by lot and location, and one location's stock."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.stock import queries
from lotline.uow import UnitOfWork
from lotline.web.fields import choice, optional_int, readable_sites
from lotline.web.routing import WebRoute
from lotline.web.shell import render
from lotline.web.stock_pages.common import PAGE_SIZE, active_locations, readable_site_ids, visible_location

router = APIRouter(route_class=WebRoute, include_in_schema=False)

SORTS = ("location", "lot", "product")


@dataclass(frozen=True)
class StockFilters:
    """The stock list's filters as a person sets them in the form."""

    site_id: int | None = None
    location_id: int | None = None
    product_id: int | None = None
    code: str | None = None
    stock_status: str | None = None
    sort: str = "location"


def _stock_rows(uow: UnitOfWork, lines: list[queries.StockLine], sort: str) -> list[dict[str, Any]]:
    products = {
        p.id: p
        for p in uow.session.scalars(
            select(Product).where(Product.id.in_({line.product_id for line in lines}))
        )
    }
    key = {
        "lot": lambda line: (line.lot_code, line.location_code),
        "product": lambda line: (line.product_code, line.lot_code, line.location_code),
    }.get(sort, lambda line: (line.site_id, line.location_code, line.lot_code))
    return [{"line": line, "product": products.get(line.product_id)} for line in sorted(lines, key=key)]


def _movable(principal: Principal) -> set[int] | None:
    return principal.site_ids_with(Permission.STOCK_MOVE)


@router.get("/stock")
def stock_list(
    request: Request,
    site_id: str | None = None,
    location_id: str | None = None,
    product_id: str | None = None,
    code: str | None = None,
    stock_status: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = readable_site_ids(principal)
    wanted = StockFilters(
        site_id=optional_int(site_id, "site_id"),
        location_id=optional_int(location_id, "location_id"),
        product_id=optional_int(product_id, "product_id"),
        code=(code or "").strip().upper() or None,
        stock_status=choice(stock_status, StockStatus, "stock_status"),
        sort=sort if sort in SORTS else "location",
    )
    lot_id = None
    lines: list[queries.StockLine] = []
    next_cursor = None
    if wanted.code:
        lot_id = uow.session.scalar(select(Lot.id).where(Lot.code == wanted.code).limit(1))
    if not wanted.code or lot_id is not None:
        page = queries.on_hand(
            uow,
            criteria=queries.StockFilter(
                site_ids=sites,
                lot_id=lot_id,
                product_id=wanted.product_id,
                site_id=wanted.site_id,
                location_id=wanted.location_id,
                stock_status=StockStatus(wanted.stock_status) if wanted.stock_status else None,
            ),
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        lines, next_cursor = list(page.items), page.next_cursor
    site_rows = readable_sites(uow, principal, Permission.STOCK_READ)
    kept = {k: v for k, v in asdict(wanted).items() if v is not None}
    return render(
        request,
        "stock/list.html",
        active="stock",
        rows=_stock_rows(uow, lines, wanted.sort),
        filters=wanted,
        sites=site_rows,
        site_by_id={s.id: s for s in site_rows},
        locations=active_locations(uow, [s.id for s in site_rows]),
        products=list(uow.session.scalars(select(Product).order_by(Product.code))),
        can_move=_movable(principal),
        next_url=f"/stock?{urlencode({**kept, 'cursor': next_cursor})}" if next_cursor else None,
    )


@router.get("/stock/locations/{location_id}")
def location_page(
    request: Request,
    location_id: int,
    cursor: str | None = None,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    place = visible_location(uow, principal, location_id)
    page = queries.on_hand(
        uow, criteria=queries.StockFilter(location_id=place.id), cursor=cursor, limit=PAGE_SIZE
    )
    site = uow.session.get_one(Site, place.site_id)
    return render(
        request,
        "stock/location.html",
        active="stock",
        place=place,
        site=site,
        site_by_id={site.id: site},
        rows=_stock_rows(uow, list(page.items), "location"),
        can_move=_movable(principal),
        next_url=f"/stock/locations/{place.id}?cursor={page.next_cursor}" if page.next_cursor else None,
    )
