"""One bucket of stock (lot × location × stock status × SSCC) and the page of what can be done with it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.domain.errors import N_, LotlineError, NotFound, PermissionDenied
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.permissions import Permission, Principal
from lotline.domain.reason_text import REASON_TEXT
from lotline.domain.status import StockStatus
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.uow import UnitOfWork
from lotline.web.fields import choice
from lotline.web.shell import render
from lotline.web.stock_pages.common import active_locations, visible_location

# Why the matrix refused: each blocked_by code as the reader should see it (one shared table).
BLOCKED_BY = REASON_TEXT
OPERATIONS = {
    "move": N_("Move / put away"),
    "transfer": N_("Transfer to another site"),
    "sample": N_("QC sample"),
    "retain": N_("Retained sample"),
    "count": N_("Count"),
    "scrap": N_("Scrap"),
    "return": N_("Return to supplier"),
}
DONE = {
    "move": N_("Stock moved."),
    "transfer": N_("Transfer sent: the stock is in transit until the other site receives it."),
    "sample": N_("QC sample taken."),
    "retain": N_("Retained sample kept."),
    "count": N_("Count booked."),
    "scrap": N_("Scrapped and signed."),
    "return": N_("Returned to the supplier and signed."),
}


def bucket(
    uow: UnitOfWork, principal: Principal, lot_id: int, location_id: int, status: str, sscc: str
) -> dict[str, Any]:
    """The bucket acted on, checked against the caller's rights (404 unseen, 403 read-only)."""
    place = visible_location(uow, principal, location_id)
    if not principal.can(Permission.STOCK_MOVE, place.site_id):
        raise PermissionDenied(permission=Permission.STOCK_MOVE.value)
    lot = uow.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(entity=N_("lot"), key=lot_id, field="lot_id")
    chosen = StockStatus(choice(status, StockStatus, "status") or StockStatus.AVAILABLE.value)
    row = uow.session.execute(
        select(StockOnHand).where(
            StockOnHand.lot_id == lot.id,
            StockOnHand.location_id == place.id,
            StockOnHand.stock_status == chosen.value,
            StockOnHand.sscc == sscc,
        )
    ).scalar_one_or_none()
    product = uow.session.get_one(Product, lot.product_id)
    here = active_locations(uow, [place.site_id])
    elsewhere = list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id != place.site_id, Location.active.is_(True))
            .order_by(Location.site_id, Location.code)
        )
    )
    site_ids = {loc.site_id for loc in elsewhere} | {place.site_id}
    return {
        "lot": lot,
        "product": product,
        "place": place,
        "status": chosen.value,
        "sscc": sscc,
        "row": row,
        "here": [loc for loc in here if loc.id != place.id],
        "elsewhere": elsewhere,
        "site_by_id": {s.id: s for s in uow.session.scalars(select(Site).where(Site.id.in_(site_ids)))},
    }


def act_page(
    request: Request,
    bucket: dict[str, Any],
    *,
    status_code: int = 200,
    error: LotlineError | None = None,
    operation: str | None = None,
) -> Response:
    """The bucket's actions; after a refusal, its message and why the matrix said no."""
    _ = gettext_for(request.state.language)
    blocked: list[str] = []
    if isinstance(error, TransactionNotAllowed):
        codes = error.params.get("blocked_by", ())
        blocked = (
            [_(BLOCKED_BY.get(str(code), str(code))) for code in codes]
            if isinstance(codes, tuple | list)
            else []
        )
    return render(
        request,
        "stock/act.html",
        status_code=status_code,
        active="stock",
        error=error.render(_) if error else None,
        blocked=blocked,
        operation=operation,
        operations=OPERATIONS,
        **bucket,
    )
