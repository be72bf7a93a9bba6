"""A bucket's actions: the form, and moves, putaway, transfers out and samples (the signed
operations — count, scrap, return — are handed to :mod:`lotline.web.stock_pages.signed`)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.i18n import gettext_for
from lotline.stock import operations, transfers
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect
from lotline.web.stock_pages.bucket import DONE, OPERATIONS, act_page, bucket
from lotline.web.stock_pages.common import decimal_field
from lotline.web.stock_pages.signed import signed

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/stock/act")
def act_form(
    request: Request,
    lot_id: int,
    location_id: int,
    status: str = "",
    sscc: str = "",
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return act_page(request, bucket(uow, principal, lot_id, location_id, status, sscc))


@router.post("/stock/act/{operation}")
def act(
    request: Request,
    operation: str,
    lot_id: int = Form(...),
    location_id: int = Form(...),
    status: str = Form(default=""),
    sscc: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    count: str = Form(default=""),
    weight_kg: str = Form(default=""),
    to_location_id: str = Form(default=""),
    putaway: str = Form(default=""),
    reason: str = Form(default=""),
    reference: str = Form(default=""),
    signing: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    if operation not in OPERATIONS:
        raise NotFound(entity=N_("operation"), key=operation, field="operation")
    acted_on = bucket(uow, principal, lot_id, location_id, status, sscc)
    lot, place, product = acted_on["lot"], acted_on["place"], acted_on["product"]
    source = Source(place.id, StockStatus(acted_on["status"]), sscc)
    fields = {
        "quantity": quantity,
        "unit": unit,
        "count": count,
        "weight_kg": weight_kg,
        "reason": reason,
        "reference": reference,
    }
    try:
        amount = Amount(
            decimal_field(quantity, "quantity", required=True) or Decimal(0),
            (unit or product.base_unit).strip().upper(),
            decimal_field(count, "count"),
            decimal_field(weight_kg, "weight_kg"),
        )
        target = optional_int(to_location_id, "to_location_id")
        if operation in ("move", "transfer", "retain") and target is None:
            raise InvalidInput(N_("{field} is required."), field="to_location_id", code="web.required")
        if operation == "move":
            operations.move(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                to_location_id=target or 0,
                amount=amount,
                putaway=bool(putaway),
                reason=reason,
            )
        elif operation == "transfer":
            transfers.transfer_out(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                to_location_id=target or 0,
                amount=amount,
                reason=reason,
            )
        elif operation == "sample":
            operations.take_sample(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                amount=amount,
                reason=reason,
                reference=reference.strip() or None,
            )
        elif operation == "retain":
            operations.retain_sample(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                to_location_id=target or 0,
                amount=amount,
                reason=reason,
            )
        else:
            return signed(
                request, uow, principal, acted_on, operation, amount, fields, signing, username, password
            )
    except LotlineError as error:
        uow.rollback()
        return act_page(
            request, acted_on, status_code=STATUS_BY_KIND[error.kind], error=error, operation=operation
        )
    return redirect(f"/stock/locations/{place.id}", flash=_(DONE[operation]))
