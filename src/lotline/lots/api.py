"""Lot endpoints: register, find, read with history, the one view of a lot, hold, lift a hold, re-date."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Query, Request

from lotline.api.deps import get_uow, requires
from lotline.api.problems import request_language
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.audit import queries as audit_queries
from lotline.audit.schemas import AuditRecordRead
from lotline.domain.errors import PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import HoldType, QualityStatus
from lotline.i18n import gettext_for
from lotline.lots import decisions, queries, service, view
from lotline.lots.schemas import (
    Decision,
    DecisionView,
    ExpiryView,
    HoldCreate,
    HoldLift,
    HoldRead,
    HoldView,
    InspectionView,
    LotCreate,
    LotRead,
    LotViewRead,
    NamedRead,
    ProductBrief,
    Redate,
    SignatureRead,
    SiteBrief,
    StockPlaceView,
    TemperatureView,
    TimelineEventView,
    TraceView,
    TransportLegView,
)
from lotline.uow import UnitOfWork

router = APIRouter(tags=["lots"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


@router.get("/lots", response_model=PageOut[LotRead])
def list_lots(
    product_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    site_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    quality_status: QualityStatus | None = None,
    on_hold: bool | None = None,
    hold_type: HoldType | None = None,
    expiring_within_days: int | None = Query(default=None, ge=0, le=3650),
    code: str | None = Query(default=None, max_length=20),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.LOT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[LotRead]:
    """Lots at the caller's sites, filtered by product, site, status, hold and expiry."""
    sites = principal.site_ids_with(Permission.LOT_READ)
    expiry = None
    if expiring_within_days is not None:
        # "Within N days" of each site's own local date: expiry is compared where the stock is.
        todays = queries.site_todays(uow, sites, uow.now())
        expiry = queries.ExpiryWindow(low=None, high=expiring_within_days, today_by_site=todays)
    criteria = queries.LotFilter(
        site_ids=frozenset(sites) if sites is not None else None,
        product_id=product_id,
        site_id=site_id,
        quality_status=quality_status.value if quality_status else None,
        on_hold=on_hold,
        hold_type=hold_type.value if hold_type else None,
        expiry=expiry,
        code=code,
    )
    page = queries.list_lots(uow, criteria=criteria, cursor=cursor, limit=limit)
    return PageOut[LotRead](
        items=[LotRead.model_validate(lot) for lot in page.items], next_cursor=page.next_cursor
    )


@router.post("/lots", response_model=LotRead, status_code=201)
def register_lot(
    body: LotCreate, principal: Principal = requires(Permission.LOT_WRITE), uow: UnitOfWork = Depends(get_uow)
) -> LotRead:
    """Register a lot (in quarantine); its code is generated unless given."""
    if not principal.can(Permission.LOT_WRITE, body.site_id):
        raise PermissionDenied(permission=Permission.LOT_WRITE.value, field="site_id")
    lot = service.register_lot(uow, **body.model_dump())
    return LotRead.model_validate(lot)


@router.get("/lots/{lot_id}", response_model=LotRead)
def get_lot(
    lot_id: IdPath, principal: Principal = requires(Permission.LOT_READ), uow: UnitOfWork = Depends(get_uow)
) -> LotRead:
    """One lot with its expiry provenance and custom fields."""
    return LotRead.model_validate(service.visible_lot(uow, principal, lot_id, Permission.LOT_READ))


@router.get("/lots/{lot_id}/view", response_model=LotViewRead)
def lot_view(
    request: Request,
    lot_id: IdPath,
    principal: Principal = requires(Permission.LOT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> LotViewRead:
    """Everything bound to the lot in one answer: attributes, expiry with provenance, holds,
    inspections and decisions with their signatures, stock by place, transport legs, the
    temperature section (empty until readings are bound to lots), trace counts and one timeline.
    Inspections and decisions need quality.read, the trace counts trace.read (else null)."""
    lot = service.visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    whole = view.lot_view(
        uow,
        lot=lot,
        now=uow.now(),
        quality=view.may_read(uow, principal, lot, Permission.QUALITY_READ),
        trace=view.may_read(uow, principal, lot, Permission.TRACE_READ),
    )
    return _lot_view_read(whole, gettext_for(request_language(request)))


def _decision_view(entry: view.DecisionEntry) -> DecisionView:
    signature = SignatureRead.model_validate(entry.signature) if entry.signature else None
    return DecisionView.model_validate(
        {
            **{k: getattr(entry.decision, k) for k in DecisionView.model_fields if k != "signature"},
            "signature": signature,
        }
    )


def _lot_view_read(whole: view.LotView, translate: Callable[[str], str]) -> LotViewRead:
    seen = whole.overview
    rest = seen.remaining
    trace = None
    if whole.trace is not None:
        trace = TraceView(
            upstream_lots=whole.trace.upstream_lots,
            downstream_lots=whole.trace.downstream_lots,
            edges=whole.trace.edges,
            held_lots=whole.trace.count("held"),
            recalled_lots=whole.trace.count("recalled"),
            expired_lots=whole.trace.count("expired"),
            trace_url=f"/api/v1/lots/{seen.lot.id}/trace",
        )
    inspections = None
    if whole.inspections is not None:
        inspections = [
            InspectionView.model_validate(
                {
                    **{
                        k: getattr(entry.record, k)
                        for k in InspectionView.model_fields
                        if hasattr(entry.record, k)
                    },
                    "results": entry.results,
                    "cited_by": [_decision_view(d) for d in entry.cited_by],
                }
            )
            for entry in whole.inspections
        ]
    return LotViewRead(
        lot=LotRead.model_validate(seen.lot),
        product=ProductBrief.model_validate(seen.product),
        site=SiteBrief.model_validate(seen.site),
        supplier=NamedRead.model_validate(seen.supplier) if seen.supplier else None,
        quality_status=QualityStatus(seen.lot.quality_status),
        expiry=ExpiryView(
            expiry_date=seen.lot.expiry_date,
            expiry_at=seen.lot.expiry_at,
            retest_date=seen.lot.retest_date,
            provenance=seen.lot.expiry_provenance,
            expired=rest.expired,
            remaining_days=rest.days,
            remaining_fraction=float(rest.fraction) if rest.fraction is not None else None,
        ),
        holds=[
            HoldView.model_validate(
                {
                    **HoldRead.model_validate(entry.hold).model_dump(),
                    "active": entry.hold.lifted_at is None,
                    "lift_signature": SignatureRead.model_validate(entry.lift_signature)
                    if entry.lift_signature
                    else None,
                }
            )
            for entry in whole.holds
        ],
        decisions=[_decision_view(d) for d in whole.decisions] if whole.decisions is not None else None,
        inspections=inspections,
        on_hand_base=seen.on_hand,
        stock=[StockPlaceView.model_validate(place) for place in whole.stock],
        transport=[TransportLegView.model_validate(leg) for leg in whole.transport],
        temperature=TemperatureView(
            recorded=whole.cold_chain.recorded, readings=[], note=translate(whole.cold_chain.note)
        ),
        trace=trace,
        timeline=[TimelineEventView.model_validate(event) for event in whole.timeline],
    )


@router.get("/lots/{lot_id}/history", response_model=PageOut[AuditRecordRead])
def lot_history(
    lot_id: IdPath,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.LOT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[AuditRecordRead]:
    """The lot's audit trail, newest first: creation, holds, signatures, re-dating."""
    lot = service.visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    criteria = audit_queries.AuditFilter(entity_type="lot", entity_id=str(lot.id))
    page = audit_queries.list_records(uow, criteria=criteria, cursor=cursor, limit=limit)
    return PageOut[AuditRecordRead](
        items=[AuditRecordRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/lots/{lot_id}/holds", response_model=list[HoldRead])
def lot_holds(
    lot_id: IdPath, principal: Principal = requires(Permission.LOT_READ), uow: UnitOfWork = Depends(get_uow)
) -> list[HoldRead]:
    """Every hold of the lot, active and lifted."""
    lot = service.visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    return [HoldRead.model_validate(h) for h in service.all_holds(uow, lot_id=lot.id)]


@router.post("/lots/{lot_id}/holds", response_model=HoldRead, status_code=201)
def place_hold(
    lot_id: IdPath,
    body: HoldCreate,
    principal: Principal = requires(Permission.HOLD_PLACE),
    uow: UnitOfWork = Depends(get_uow),
) -> HoldRead:
    """Put a typed hold on a lot; other holds are untouched."""
    lot = service.visible_lot(uow, principal, lot_id, Permission.HOLD_PLACE)
    return HoldRead.model_validate(
        service.place_hold(uow, lot_id=lot.id, hold_type=body.hold_type, reason=body.reason)
    )


@router.post("/holds/{hold_id}/lift", response_model=HoldRead)
def lift_hold(
    hold_id: IdPath,
    body: HoldLift,
    principal: Principal = requires(Permission.HOLD_LIFT),
    uow: UnitOfWork = Depends(get_uow),
) -> HoldRead:
    """Lift one hold by a signed decision (carry the signing grant)."""
    hold = service.visible_hold(uow, principal, hold_id, Permission.HOLD_LIFT)
    lifted = service.lift_hold(
        uow, hold_id=hold.id, reason=body.reason, principal=principal, signing_grant=body.signing_grant
    )
    return HoldRead.model_validate(lifted)


@router.post("/lots/{lot_id}/redate", response_model=LotRead)
def redate_lot(
    lot_id: IdPath,
    body: Redate,
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> LotRead:
    """Move the lot's expiry (retest passed, extension, thaw, shortening): signed, with a reason."""
    lot = service.visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    redated = service.redate_lot(
        uow,
        lot_id=lot.id,
        new_expiry=body.new_expiry,
        kind=body.kind,
        reason=body.reason,
        principal=principal,
        signing_grant=body.signing_grant,
    )
    return LotRead.model_validate(redated)


@router.post("/lots/{lot_id}/decision", response_model=LotRead)
def decide(
    lot_id: IdPath,
    body: Decision,
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> LotRead:
    """Release or reject the lot as a whole (放行 / 不合格): signed, with a reason."""
    lot = service.visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    decided = decisions.decide(
        uow,
        lot_id=lot.id,
        decision=QualityStatus(body.decision),
        reason=body.reason,
        principal=principal,
        signing_grant=body.signing_grant,
        inspection_ids=tuple(body.inspection_ids),
    )
    return LotRead.model_validate(decided)
