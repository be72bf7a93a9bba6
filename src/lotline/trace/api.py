"""The trace endpoint: from a lot, forward to customers and stock, or backward to suppliers.

One call answers the regulator's question — which customers got product made from this lot,
and where is the rest now — from the engine's summary (a fixed number of set-based queries);
``/trace/epcis`` answers it as the events a trading partner's system reads (GS1 EPCIS 2.0).
The seed lot must be readable by the caller (TRACE_READ at its home site);
the trace then follows the material across sites, as a recall must.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdPath
from lotline.domain.permissions import Permission, Principal
from lotline.lots.service import visible_lot
from lotline.trace.engine import Direction, closure, summarize
from lotline.trace.epcis import MEDIA_TYPE, build_document, dumps
from lotline.uow import UnitOfWork

router = APIRouter(tags=["trace"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ReachedLotRead(_Read):
    lot_id: int
    code: str
    product_id: int
    product_code: str
    quality_status: str
    expiry_date: date
    source: str
    supplier_id: int | None
    supplier_lot_code: str | None
    active_holds: int


class ShippedRead(_Read):
    customer_id: int
    customer_code: str
    customer_name_zh: str
    customer_name_en: str
    product_id: int
    product_code: str
    qty_base: Decimal
    lines: int
    lots: int
    first_shipped_at: datetime
    last_shipped_at: datetime
    returned_qty_base: Decimal


class HeldRead(_Read):
    lot_id: int
    location_id: int
    location_code: str
    site_id: int
    stock_status: str
    qty_base: Decimal


class ReceivedRead(_Read):
    lot_id: int
    supplier_id: int
    supplier_lot_code: str
    receipt_number: str
    received_at: datetime
    qty_base: Decimal


class TraceRead(BaseModel):
    lot_id: int
    lot_code: str
    direction: Direction
    as_of: datetime | None
    lots_reached: int
    lots: list[ReachedLotRead]
    shipped: list[ShippedRead]
    on_hand: list[HeldRead]
    in_transit: list[HeldRead]
    received: list[ReceivedRead]


@router.get("/lots/{lot_id}/trace", response_model=TraceRead)
def trace_lot(
    lot_id: IdPath,
    direction: Direction = Query(default=Direction.FORWARD),
    as_of: AwareDatetime | None = Query(default=None, description="Trace the state at this instant"),
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> TraceRead:
    """Every lot reached from this one at any depth, with what customers got (forward) or what
    came in from suppliers (backward), and where the stock of every reached lot is."""
    lot = visible_lot(uow, principal, lot_id, Permission.TRACE_READ)
    summary = summarize(uow, lot_ids=[lot.id], direction=direction, as_of=as_of)
    return TraceRead(
        lot_id=lot.id,
        lot_code=lot.code,
        direction=direction,
        as_of=as_of,
        lots_reached=len(summary.lots),
        lots=[ReachedLotRead.model_validate(row) for row in summary.lots],
        shipped=[ShippedRead.model_validate(row) for row in summary.shipped],
        on_hand=[HeldRead.model_validate(row) for row in summary.on_hand],
        in_transit=[HeldRead.model_validate(row) for row in summary.in_transit],
        received=[ReceivedRead.model_validate(row) for row in summary.received],
    )


@router.get(
    "/lots/{lot_id}/trace/epcis",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "One EPCIS 2.0 document (JSON-LD)"}},
)
def trace_lot_epcis(
    lot_id: IdPath,
    direction: Direction = Query(default=Direction.FORWARD),
    as_of: AwareDatetime | None = Query(default=None, description="Trace the state at this instant"),
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The trace's lots as one GS1 EPCIS 2.0 document: receipts, transformations, shipments,
    customer returns and holds as events, checked against GS1's schema and the CBV."""
    lot = visible_lot(uow, principal, lot_id, Permission.TRACE_READ)
    scope = closure(uow, lot_ids=[lot.id], direction=direction, as_of=as_of)
    document = build_document(uow, lot_ids=scope, created_at=uow.now(), as_of=as_of)
    return Response(content=dumps(document), media_type=MEDIA_TYPE)
