"""Picking by scan: a line's proposed lots, locations and SSCCs, a scan field and a quantity.

A scan of a proposed lot or pallet confirms it. A scan of another eligible lot is a FEFO
deviation: the service refuses it without a reason and a signature, and the page answers with
the signing dialog (reason and password, meaning override on the order line), then picks with
the grant. Blocked stock is refused with each reason in the reader's language, nothing written
(a hold since allocation keeps the flags it set on the allocations, as the API does).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.api.schemas import IdPath
from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, Pick, SalesOrder, SalesOrderLine
from lotline.models.site import Site
from lotline.outbound import orders, picking
from lotline.outbound.allocation import AllocationStatus
from lotline.outbound.fulfilment import HeldSinceAllocation
from lotline.outbound.status_text import LINE_STATUS
from lotline.uow import UnitOfWork
from lotline.web.fulfilment.common import (
    lot_codes,
    quantity_field,
    refusal,
    scan_field,
    text_field,
    unit_field,
)
from lotline.web.outbound.labels import by_id
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MAX_REASON = 2000
REASON_REQUIRED = "pick.reason_required"  # the service's answer to an unsigned deviation


def _to_pick(uow: UnitOfWork, line_id: int) -> list[Allocation]:
    return list(
        uow.session.scalars(
            select(Allocation)
            .where(Allocation.line_id == line_id, Allocation.status == AllocationStatus.OPEN.value)
            .order_by(Allocation.rank, Allocation.id)
        )
    )


def _picked(uow: UnitOfWork, line_id: int) -> list[Pick]:
    return list(uow.session.scalars(select(Pick).where(Pick.line_id == line_id).order_by(Pick.id)))


def _line_context(uow: UnitOfWork, principal: Principal, line: SalesOrderLine) -> dict[str, Any]:
    order = uow.session.get_one(SalesOrder, line.order_id)
    open_allocations = _to_pick(uow, line.id)
    picks = _picked(uow, line.id)
    lot_ids = {a.lot_id for a in open_allocations} | {p.lot_id for p in picks}
    lot_ids |= {p.proposed_lot_id for p in picks if p.proposed_lot_id}
    lots = by_id(uow, Lot, lot_ids)
    places = by_id(uow, Location, {a.location_id for a in open_allocations} | {p.location_id for p in picks})
    return {
        "line": line,
        "order": order,
        "product": uow.session.get_one(Product, line.product_id),
        "customer": uow.session.get(Partner, order.customer_id),
        "site": uow.session.get_one(Site, order.site_id),
        "to_pick": [
            {"allocation": a, "lot": lots[a.lot_id], "location": places.get(a.location_id)}
            for a in open_allocations
        ],
        "picks": [
            {
                "pick": p,
                "lot": lots[p.lot_id],
                "proposed": lots.get(p.proposed_lot_id) if p.proposed_lot_id else None,
                "location": places.get(p.location_id),
            }
            for p in picks
        ],
        "can_pick": principal.can(Permission.STOCK_MOVE, order.site_id) and bool(open_allocations),
        "line_status_labels": LINE_STATUS,
    }


def _pick_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    line: SalesOrderLine,
    *,
    fields: dict[str, str] | None = None,
    error: LotlineError | None = None,
) -> Response:
    _ = gettext_for(request.state.language)
    context = _line_context(uow, principal, line)
    if fields is None:
        first = context["to_pick"][0]["allocation"] if context["to_pick"] else None
        fields = {
            "scanned": "",
            "quantity": f"{first.qty_base.normalize():f}" if first else "",
            "unit": context["product"].base_unit,
        }
    return render(
        request,
        "fulfilment/pick.html",
        status_code=STATUS_BY_KIND[error.kind] if error else 200,
        active="orders",
        fields=fields,
        refused=refusal(_, error) if error else None,
        **context,
    )


def _sign_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    line: SalesOrderLine,
    fields: dict[str, str],
    *,
    error: LotlineError | None = None,
) -> Response:
    """The signing dialog for a FEFO deviation: what is taken instead of what, the reason, the password."""
    _ = gettext_for(request.state.language)
    context = _line_context(uow, principal, line)
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "fulfilment/sign.html",
        status_code=STATUS_BY_KIND[error.kind] if error else 200,
        active="orders",
        meaning=Meaning.OVERRIDE.value,
        fields=fields,
        proposed=context["to_pick"][0] if context["to_pick"] else None,
        needs_username=session is None or session.first_signed_at is None,
        error=error.render(_) if error else None,
        **context,
    )


@router.get("/order-lines/{line_id}/pick")
def pick_page(
    request: Request,
    line_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    line = orders.visible_line(uow, principal, line_id, Permission.ORDER_READ)
    return _pick_page(request, uow, principal, line)


def _reason(text: str) -> str:
    reason = text_field(text, "deviation_reason", max_length=MAX_REASON, lines=True)
    if reason is None:
        raise InvalidInput(
            N_("Give the reason for taking a lot other than the one proposed."),
            field="deviation_reason",
            code=REASON_REQUIRED,
        )
    return reason


def _done(_: Any, picked: picking.Picked, codes: dict[int, str], quantity: Decimal, unit: str) -> str:
    lots = ", ".join(dict.fromkeys(codes[p.lot_id] for p in picked.picks))
    values = {"quantity": f"{quantity.normalize():f}", "unit": unit, "lot": lots}
    if picked.deviation:
        return str(_("Picked %(quantity)s %(unit)s of lot %(lot)s: recorded as a FEFO deviation.") % values)
    return str(_("Picked %(quantity)s %(unit)s of lot %(lot)s.") % values)


@router.post("/order-lines/{line_id}/pick")
def pick_submit(
    request: Request,
    line_id: IdPath,
    scanned: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    signing: str = Form(default=""),
    deviation_reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    line = orders.visible_line(uow, principal, line_id, Permission.STOCK_MOVE)
    product = uow.session.get_one(Product, line.product_id)
    fields = {"scanned": scanned.strip(), "quantity": quantity.strip(), "unit": unit.strip().upper()}
    fields["deviation_reason"] = deviation_reason.strip()
    try:
        scan_field(scanned, "scanned", max_length=picking.MAX_SCAN_LENGTH)
        amount = quantity_field(quantity)
        unit_code = unit_field(unit, product.base_unit)
    except LotlineError as error:
        return _pick_page(request, uow, principal, line, fields=fields, error=error)
    grant, reason = None, None
    if signing:
        try:
            reason = _reason(deviation_reason)
            grant = authorize(
                request,
                uow,
                principal,
                username=username,
                password=password,
                meaning=Meaning.OVERRIDE,
                record_type=picking.SIGNED_RECORD,
                record_id=line.id,
            )
        except LotlineError as error:
            uow.rollback()  # a refused password was committed (audited) before it got here
            return _sign_page(request, uow, principal, line, fields, error=error)
    try:
        picked = picking.pick(
            uow,
            line_id=line.id,
            scanned=scanned,
            quantity=amount,
            unit=unit_code,
            principal=principal,
            deviation_reason=reason,
            signing_grant=grant,
        )
    except HeldSinceAllocation as error:
        uow.commit()  # the pick is refused, but the allocations it flagged stay flagged
        return _pick_page(request, uow, principal, line, fields=fields, error=error)
    except LotlineError as error:
        uow.rollback()
        if error.code == REASON_REQUIRED and not signing:
            return _sign_page(request, uow, principal, line, fields)
        return _pick_page(request, uow, principal, line, fields=fields, error=error)
    codes = lot_codes(uow, {p.lot_id for p in picked.picks})
    return redirect(f"/order-lines/{line.id}/pick", flash=_done(_, picked, codes, amount, unit_code))
