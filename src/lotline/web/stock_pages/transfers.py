"""Transfers in transit between sites: the list, and receiving one at the other site."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from lotline.api.deps import get_uow, requires
from lotline.domain.errors import N_, LotlineError, NotFound
from lotline.domain.ledger import MovementKind
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.stock import transfers
from lotline.stock.operations import Amount
from lotline.uow import UnitOfWork
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.stock_pages.common import PAGE_SIZE, decimal_field, readable_site_ids

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/stock/transfers")
def transfer_list(
    request: Request,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = readable_site_ids(principal)
    other = aliased(StockMovement)
    received = exists().where(
        and_(other.txn_id == StockMovement.txn_id, other.kind != MovementKind.TRANSFER_OUT.value)
    )
    query = select(StockMovement).where(StockMovement.kind == MovementKind.TRANSFER_OUT.value, ~received)
    if sites is not None:
        query = query.where(StockMovement.site_id.in_(sorted(sites)))
    sent = list(uow.session.scalars(query.order_by(StockMovement.id.desc()).limit(PAGE_SIZE)))
    lots = {
        lot.id: lot for lot in uow.session.scalars(select(Lot).where(Lot.id.in_({m.lot_id for m in sent})))
    }
    products = {
        p.id: p
        for p in uow.session.scalars(select(Product).where(Product.id.in_({m.product_id for m in sent})))
    }
    place_ids = {m.from_location_id for m in sent} | {m.to_location_id for m in sent}
    places = {p.id: p for p in uow.session.scalars(select(Location).where(Location.id.in_(place_ids)))}
    site_rows = list(uow.session.scalars(select(Site)))
    return render(
        request,
        "stock/transfers.html",
        active="stock",
        rows=[
            {
                "sent": m,
                "lot": lots[m.lot_id],
                "product": products[m.product_id],
                "source": places.get(m.from_location_id or 0),
                "target": places.get(m.to_location_id or 0),
                "can_receive": principal.can(Permission.STOCK_MOVE, m.site_id),
            }
            for m in sent
        ],
        site_by_id={s.id: s for s in site_rows},
    )


@router.post("/stock/transfers/{txn_id}/receive")
def receive(
    request: Request,
    txn_id: str,
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        sent = transfers.transfer_sent(uow, txn_id=txn_id[:36])
        if not principal.can(Permission.STOCK_READ, sent.site_id):
            raise NotFound(entity=N_("transfer"), key=txn_id, field="txn_id")
        got = decimal_field(quantity, "quantity")
        received = None if got is None else Amount(got, unit.strip().upper() or sent.entered_unit)
        transfers.receive_transfer(
            uow, principal=principal, txn_id=sent.txn_id, received=received, reason=reason
        )
    except LotlineError as error:
        uow.rollback()
        if isinstance(error, NotFound):
            raise
        return redirect("/stock/transfers", flash=error.render(_), kind="error")
    return redirect("/stock/transfers", flash=_("Transfer received."))
