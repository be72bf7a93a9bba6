"""Picking, shipping and customer-return endpoints: pick by scan (a FEFO deviation signed), ship
with transport legs, the packing list PDF, arrivals, returns into quarantine, the deviation log.

Site-scoped: a user who cannot see an order's site gets 404 for its lines and shipments.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import request_language
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.errors import N_, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.models.lot import Lot
from lotline.models.outbound import CustomerReturn, Pick, SalesOrder, SalesOrderLine, Shipment
from lotline.models.signature import Signature
from lotline.outbound import picking, returns, shipping
from lotline.outbound.fulfilment import HeldSinceAllocation
from lotline.outbound.shipping_schemas import (
    ArrivalCreate,
    CustomerReturnCreate,
    CustomerReturnRead,
    DeviationRead,
    LegRead,
    PickCreate,
    PickRead,
    PickResult,
    ShipmentCreate,
    ShipmentLineRead,
    ShipmentRead,
)
from lotline.uow import UnitOfWork

router = APIRouter(tags=["shipping"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def _lot_codes(uow: UnitOfWork, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(uow.session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(sorted(ids)))).tuples().all())


def _pick_reads(uow: UnitOfWork, picks: Sequence[Pick]) -> list[PickRead]:
    codes = _lot_codes(
        uow, {p.lot_id for p in picks} | {p.proposed_lot_id for p in picks if p.proposed_lot_id}
    )
    return [
        PickRead(
            id=p.id,
            line_id=p.line_id,
            allocation_id=p.allocation_id,
            lot_id=p.lot_id,
            lot_code=codes[p.lot_id],
            location_id=p.location_id,
            sscc=p.sscc,
            qty_base=p.qty_base,
            scanned=p.scanned,
            deviation=p.deviation,
            proposed_lot_id=p.proposed_lot_id,
            proposed_lot_code=codes.get(p.proposed_lot_id) if p.proposed_lot_id else None,
            deviation_reason=p.deviation_reason,
            signature_id=p.signature_id,
            shipped=p.shipped,
            picked_at=p.picked_at,
            picked_by=p.picked_by,
        )
        for p in picks
    ]


def _shipment_read(uow: UnitOfWork, shipment: Shipment) -> ShipmentRead:
    lines = shipping.shipment_lines(uow, shipment_id=shipment.id)
    lots = {
        lot.id: lot
        for lot in uow.session.scalars(select(Lot).where(Lot.id.in_(sorted({line.lot_id for line in lines}))))
    }
    returned = dict(
        uow.session.execute(
            select(CustomerReturn.shipment_line_id, func.sum(CustomerReturn.qty_base))
            .where(CustomerReturn.shipment_line_id.in_([line.id for line in lines]))
            .group_by(CustomerReturn.shipment_line_id)
        )
        .tuples()
        .all()
    )
    return ShipmentRead(
        id=shipment.id,
        number=shipment.number,
        order_id=shipment.order_id,
        site_id=shipment.site_id,
        customer_id=shipment.customer_id,
        carrier_id=shipment.carrier_id,
        vehicle=shipment.vehicle,
        shipped_at=shipment.shipped_at,
        shipped_by=shipment.shipped_by,
        delivered_at=shipment.delivered_at,
        lines=[
            ShipmentLineRead(
                id=line.id,
                order_line_id=line.order_line_id,
                pick_id=line.pick_id,
                lot_id=line.lot_id,
                lot_code=lots[line.lot_id].code,
                expiry_date=lots[line.lot_id].expiry_date,
                location_id=line.location_id,
                sscc=line.sscc,
                qty_base=line.qty_base,
                count=line.count,
                weight_kg=line.weight_kg,
                movement_id=line.movement_id,
                returned=returned.get(line.id) or 0,
            )
            for line in lines
        ],
        legs=[LegRead.model_validate(leg) for leg in shipping.legs_of(uow, shipment_id=shipment.id)],
    )


@router.post("/order-lines/{line_id}/picks", response_model=PickResult, status_code=201)
def pick_line(
    line_id: IdPath,
    body: PickCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> PickResult:
    """Confirm stock for an order line by scanning its lot or SSCC; taking a lot other than the
    one proposed is a FEFO deviation and needs ``deviation_reason`` and a ``signing_grant``."""
    try:
        picked = picking.pick(
            uow,
            line_id=line_id,
            scanned=body.scanned,
            quantity=body.quantity,
            unit=body.unit,
            principal=principal,
            deviation_reason=body.deviation_reason,
            signing_grant=body.signing_grant,
        )
    except HeldSinceAllocation:
        uow.commit()  # the pick is refused, but the flagged allocations stay flagged
        raise
    return PickResult(
        line_id=picked.line.id,
        line_status=picked.line.status,
        deviation=picked.deviation,
        picks=_pick_reads(uow, picked.picks),
    )


@router.post("/orders/{order_id}/shipments", response_model=ShipmentRead, status_code=201)
def ship_order(
    order_id: IdPath,
    body: ShipmentCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> ShipmentRead:
    """Ship everything picked for the order, with its carrier, vehicle and transport legs."""
    try:
        shipment = shipping.ship(
            uow,
            order_id=order_id,
            carrier_id=body.carrier_id,
            vehicle=body.vehicle,
            legs=[shipping.LegInput(**leg.model_dump()) for leg in body.legs],
            principal=principal,
        )
    except HeldSinceAllocation:
        uow.commit()  # nothing shipped, but the flagged allocations stay flagged
        raise
    return _shipment_read(uow, shipment)


@router.get("/shipments/{shipment_id}", response_model=ShipmentRead)
def get_shipment(
    shipment_id: IdPath,
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> ShipmentRead:
    """A shipment with its lines (lots, expiry dates, SSCCs, what came back) and transport legs."""
    return _shipment_read(uow, shipping.get_shipment(uow, shipment_id=shipment_id, principal=principal))


@router.get(
    "/shipments/{shipment_id}/packing-list.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def packing_list(
    shipment_id: IdPath,
    request: Request,
    language: str | None = Query(
        default=None, pattern=r"^(zh|zh-CN|zh_CN|en)$", description="Default: yours"
    ),
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The shipment's packing list as a PDF: lots, expiry dates, quantities and SSCCs."""
    shipment = shipping.get_shipment(uow, shipment_id=shipment_id, principal=principal)
    content = shipping.packing_list_pdf(uow, shipment.id, language or request_language(request))
    name = quote(f"packing-list-{shipment.number}.pdf")
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"},
    )


@router.post("/shipments/{shipment_id}/legs/{seq}/arrival", response_model=ShipmentRead)
def leg_arrived(
    shipment_id: IdPath,
    seq: IdPath,
    body: ArrivalCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> ShipmentRead:
    """Close a transport leg with its arrival; the last leg's arrival delivers the shipment."""
    shipping.record_arrival(
        uow, shipment_id=shipment_id, seq=seq, arrived_at=body.arrived_at, principal=principal
    )
    return _shipment_read(uow, shipping.get_shipment(uow, shipment_id=shipment_id, principal=principal))


@router.post("/customer-returns", response_model=CustomerReturnRead, status_code=201)
def customer_return(
    body: CustomerReturnCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> CustomerReturnRead:
    """Take back stock a customer returns, citing the shipment line; it lands in quarantine."""
    returned = returns.receive_return(
        uow,
        shipment_line_id=body.shipment_line_id,
        quantity=body.quantity,
        unit=body.unit,
        location_id=body.location_id,
        reason=body.reason,
        principal=principal,
    )
    return CustomerReturnRead.model_validate(returned)


@router.get("/fefo-deviations", response_model=PageOut[DeviationRead])
def fefo_deviations(
    site_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.ORDER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[DeviationRead]:
    """The FEFO-deviation log at the sites you can see (or one of them), newest first."""
    visible = principal.site_ids_with(Permission.ORDER_READ)
    if site_id is not None:
        if visible is not None and site_id not in visible:
            raise NotFound(entity=N_("site"), key=site_id, field="site_id")
        visible = {site_id}
    page = picking.deviations(uow, site_ids=visible, cursor=cursor, limit=limit)
    picks = list(page.items)
    orders = dict(
        uow.session.execute(
            select(SalesOrderLine.id, SalesOrder)
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
            .where(SalesOrderLine.id.in_(sorted({p.line_id for p in picks})))
        )
        .tuples()
        .all()
    )
    codes = _lot_codes(
        uow, {p.lot_id for p in picks} | {p.proposed_lot_id for p in picks if p.proposed_lot_id}
    )
    signature_ids = sorted({p.signature_id for p in picks if p.signature_id})
    signers = dict(
        uow.session.execute(
            select(Signature.id, Signature.printed_name).where(Signature.id.in_(signature_ids))
        )
        .tuples()
        .all()
    )
    return PageOut[DeviationRead](
        items=[
            DeviationRead(
                pick_id=p.id,
                order_id=orders[p.line_id].id,
                order_number=orders[p.line_id].number,
                site_id=orders[p.line_id].site_id,
                line_id=p.line_id,
                lot_id=p.lot_id,
                lot_code=codes[p.lot_id],
                proposed_lot_id=p.proposed_lot_id,
                proposed_lot_code=codes.get(p.proposed_lot_id) if p.proposed_lot_id else None,
                qty_base=p.qty_base,
                reason=p.deviation_reason,
                signature_id=p.signature_id,
                signed_by=signers.get(p.signature_id) if p.signature_id else None,
                picked_at=p.picked_at,
                picked_by=p.picked_by,
            )
            for p in picks
        ],
        next_cursor=page.next_cursor,
    )
