"""Customer returns from the shipment page: which shipment line, how much, where it is put and
why. It lands in quarantine (QA decides what becomes of it) and never more comes back than left."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.api.schemas import IdPath
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.outbound import returns, shipping
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int
from lotline.web.fulfilment.common import quantity_field, text_field, unit_field
from lotline.web.fulfilment.shipments import shipment_page
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MAX_REASON = 2000


def _required(field: str) -> InvalidInput:
    return InvalidInput(N_("{field} is required."), field=field, code="web.required")


@router.post("/shipments/{shipment_id}/return")
def return_submit(
    request: Request,
    shipment_id: IdPath,
    shipment_line_id: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    location_id: str = Form(default=""),
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    shipment = shipping.get_shipment(
        uow, shipment_id=shipment_id, principal=principal, permission=Permission.STOCK_MOVE
    )
    fields = {
        "shipment_line_id": shipment_line_id.strip(),
        "quantity": quantity.strip(),
        "unit": unit.strip().upper(),
        "location_id": location_id.strip(),
        "reason": reason.strip(),
    }
    try:
        line_id = optional_int(shipment_line_id, "shipment_line_id")
        if line_id is None:
            raise _required("shipment_line_id")
        lines = shipping.shipment_lines(uow, shipment_id=shipment.id)
        line = next((sl for sl in lines if sl.id == line_id), None)
        if line is None:  # a line of another shipment is not this page's to take back
            raise NotFound(entity=N_("shipment line"), key=line_id, field="shipment_line_id")
        place_id = optional_int(location_id, "location_id")
        if place_id is None:
            raise _required("location_id")
        lot = uow.session.get_one(Lot, line.lot_id)
        base_unit = uow.session.get_one(Product, lot.product_id).base_unit
        amount = quantity_field(quantity)
        unit_code = unit_field(unit, base_unit)
        why = text_field(reason, "reason", max_length=MAX_REASON, required=True, lines=True) or ""
        returns.receive_return(
            uow,
            shipment_line_id=line.id,
            quantity=amount,
            unit=unit_code,
            location_id=place_id,
            reason=why,
            principal=principal,
        )
    except LotlineError as error:
        uow.rollback()
        return shipment_page(request, uow, principal, shipment, return_fields=fields, error=error)
    place = uow.session.get_one(Location, place_id)
    return redirect(
        f"/shipments/{shipment.id}",
        flash=_("Returned %(quantity)s %(unit)s of lot %(lot)s into quarantine at %(location)s.")
        % {"quantity": f"{amount.normalize():f}", "unit": unit_code, "lot": lot.code, "location": place.code},
    )
