"""The boards a QA manager opens each morning: overview, expiring soon, holds."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import authenticated, get_uow, requires
from lotline.domain.permissions import Permission, Principal
from lotline.lots import queries
from lotline.models.catalog import Product
from lotline.models.site import Site
from lotline.uow import UnitOfWork
from lotline.web.routing import WebRoute
from lotline.web.shell import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

HOLD_BOARD_LIMIT = 500


def _visible(principal: Principal) -> frozenset[int] | None:
    sites = principal.site_ids_with(Permission.LOT_READ)
    return frozenset(sites) if sites is not None else None


def _bucket_table(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
    bounds = tuple(uow.settings.expiry_buckets)
    counts = queries.expiry_buckets(uow, site_ids=_visible(principal), bounds=bounds, now=uow.now())
    columns = [queries.EXPIRED, *[str(b) for b in sorted(bounds)]]
    cells: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    quantities: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(dict)
    totals: dict[str, int] = dict.fromkeys(columns, 0)
    for count in counts:
        cells[(count.site_id, count.product_id)][count.bucket] = count.lots
        quantities[(count.site_id, count.product_id)][count.bucket] = count.on_hand
        totals[count.bucket] += count.lots
    sites = {s.id: s for s in uow.session.scalars(select(Site).where(Site.id.in_({k[0] for k in cells})))}
    products = {
        p.id: p for p in uow.session.scalars(select(Product).where(Product.id.in_({k[1] for k in cells})))
    }
    rows: list[dict[str, Any]] = [
        {"site": sites[s], "product": products[p], "counts": c, "on_hand": quantities[(s, p)]}
        for (s, p), c in cells.items()
    ]
    rows.sort(key=lambda row: (row["site"].code, row["product"].code))
    return {"columns": columns, "rows": rows, "totals": totals}


@router.get("/")
def overview_page(
    request: Request, principal: Principal = authenticated(), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    granted = {grant.site_id for grant in principal.grants if grant.site_id is not None}
    site_names = {s.id: s for s in uow.session.scalars(select(Site).where(Site.id.in_(granted)))}
    context: dict[str, Any] = {"board": None, "hold_count": 0, "site_names": site_names}
    if principal.can(Permission.LOT_READ):
        context["board"] = _bucket_table(uow, principal)
        context["hold_count"] = len(
            queries.active_hold_board(uow, site_ids=_visible(principal), limit=HOLD_BOARD_LIMIT)
        )
    return render(request, "home.html", active="home", **context)


@router.get("/expiring")
def expiring_board(
    request: Request, principal: Principal = requires(Permission.LOT_READ), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    return render(request, "expiring.html", active="expiring", board=_bucket_table(uow, principal))


@router.get("/holds")
def holds_board(
    request: Request, principal: Principal = requires(Permission.LOT_READ), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    pairs = queries.active_hold_board(uow, site_ids=_visible(principal), limit=HOLD_BOARD_LIMIT)
    products = {
        p.id: p
        for p in uow.session.scalars(
            select(Product).where(Product.id.in_({lot.product_id for _h, lot in pairs}))
        )
    }
    sites = {
        s.id: s
        for s in uow.session.scalars(select(Site).where(Site.id.in_({lot.site_id for _h, lot in pairs})))
    }
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hold, lot in pairs:
        groups[hold.hold_type].append(
            {
                "hold": hold,
                "lot": lot,
                "product": products[lot.product_id],
                "site": sites[lot.site_id],
                "can_lift": principal.can(Permission.HOLD_LIFT, lot.site_id),
            }
        )
    return render(
        request,
        "holds.html",
        active="holds",
        groups=dict(groups),
        truncated=len(pairs) >= HOLD_BOARD_LIMIT,
    )
