"""A line's allocation view: the lots it was given and, for every lot ranked before them, why it
was passed over — and the Release button that gives its reservations back."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.schemas import IdPath
from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.outbound import allocation, orders
from lotline.outbound.allocation import AllocationStatus
from lotline.outbound.status_text import ALLOCATION_STATUS, LINE_STATUS
from lotline.uow import UnitOfWork
from lotline.web.outbound.labels import STRATEGY, by_id, minimum_text, reason_text, reasons_of
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MAX_REASON = 2000
RELEASABLE = (AllocationStatus.OPEN.value, AllocationStatus.FLAGGED.value)


def _days_between(start: date, end: date | None) -> int | None:
    return (end - start).days if end is not None else None


@router.get("/order-lines/{line_id}/allocation")
def line_allocation(
    request: Request,
    line_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    line = orders.visible_line(uow, principal, line_id, Permission.ORDER_READ)
    explained = allocation.explain_line(uow, line_id=line.id)
    order = explained.order
    expiries = dict(
        uow.session.execute(
            select(Lot.id, Lot.expiry_date).where(
                Lot.id.in_(sorted({a.lot_id for a in explained.allocations}))
            )
        )
        .tuples()
        .all()
    )
    places = by_id(
        uow,
        Location,
        {a.location_id for a in explained.allocations} | {p.candidate.location_id for p in explained.passed},
    )
    delivery = line.delivery_date
    chosen = [
        {
            "allocation": a,
            "lot_code": explained.lot_codes.get(a.lot_id, str(a.lot_id)),
            "location": places.get(a.location_id),
            "expiry": expiries.get(a.lot_id),
            "days_left": _days_between(delivery, expiries.get(a.lot_id)),
            "flagged_by": reason_text(_, a.flag_reason) if a.flag_reason else None,
        }
        for a in explained.allocations
    ]
    passed = [
        {
            "candidate": p.candidate,
            "location": places.get(p.candidate.location_id),
            "days_left": _days_between(delivery, p.candidate.expiry_date),
            "reasons": reasons_of(_, p),
        }
        for p in explained.passed
    ]
    return render(
        request,
        "outbound/allocation.html",
        active="orders",
        line=line,
        order=order,
        product=uow.session.get_one(Product, line.product_id),
        customer=uow.session.get(Partner, order.customer_id),
        site=uow.session.get_one(Site, order.site_id),
        strategy=_(STRATEGY[explained.strategy.value]),
        minimum=minimum_text(_, line),
        chosen=chosen,
        passed=passed,
        short=explained.short,
        line_status_labels=LINE_STATUS,
        allocation_status_labels=ALLOCATION_STATUS,
        can_release=principal.can(Permission.ORDER_WRITE, order.site_id)
        and any(a.status in RELEASABLE for a in explained.allocations),
    )


@router.post("/order-lines/{line_id}/release")
def release_line(
    request: Request,
    line_id: IdPath,
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.ORDER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    line = orders.visible_line(uow, principal, line_id, Permission.ORDER_WRITE)
    target = f"/order-lines/{line.id}/allocation"
    given = reason.strip()
    try:
        if not given:
            raise InvalidInput(
                N_("Give the reason for releasing the allocation."),
                field="reason",
                code="release.reason_required",
            )
        if len(given) > MAX_REASON:
            raise InvalidInput(N_("{field} is too long."), field="reason", code="web.too_long")
        if "\x00" in given:
            raise InvalidInput(N_("The value of {field} is not valid."), field="reason", code="invalid")
        released = allocation.release_line(uow, line_id=line.id, reason=given)
    except LotlineError as error:
        uow.rollback()
        return redirect(target, flash=error.render(_), kind="error")
    return redirect(
        target, flash=_("%(count)s allocations released; the stock is free again.") % {"count": released}
    )
