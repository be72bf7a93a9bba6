"""Quality pages: the QA queue, a lot's inspections and CoAs, and the signed usage decision."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import case, func, select

from lotline.api.deps import get_uow, requires
from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.i18n import gettext_for
from lotline.lots import overview
from lotline.lots.service import visible_lot
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand
from lotline.quality import decisions, inspections, plans, policies
from lotline.uow import UnitOfWork
from lotline.web import quality_decide
from lotline.web.quality_decide import SCOPE_LABELS, whole_number
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
router.include_router(quality_decide.router)

QUEUE_SIZE = 200
QUARANTINE = StockStatus.QUARANTINE.value
CONDITION_LABELS = {
    "suppliers": N_("Only from suppliers"),
    "requires_coa": N_("A CoA is attached"),
    "requires_passing_inspection": N_("A passing inspection is recorded"),
}
KIND_LABELS = {"NUMERIC": N_("Measured value"), "CHOICE": N_("One of the accepted values")}


# --- the queue ----------------------------------------------------------------------------------


@router.get("/quality")
def queue(
    request: Request,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = principal.site_ids_with(Permission.QUALITY_READ)
    quantity = func.sum(StockOnHand.qty_base).label("quantity")
    ssccs = func.count(func.distinct(case((StockOnHand.sscc != "", StockOnHand.sscc)))).label("ssccs")
    received = (
        select(func.min(StockMovement.occurred_at))
        .where(StockMovement.lot_id == Lot.id)
        .correlate(Lot)
        .scalar_subquery()
        .label("received_at")
    )

    def inspected(passed: bool) -> Any:
        return (
            select(func.count(InspectionRecord.id))
            .where(InspectionRecord.lot_id == Lot.id, InspectionRecord.passed.is_(passed))
            .correlate(Lot)
            .scalar_subquery()
        )

    query = (
        select(Lot, Product, Site, quantity, ssccs, received, inspected(True), inspected(False))
        .join(StockOnHand, StockOnHand.lot_id == Lot.id)
        .join(Product, Product.id == Lot.product_id)
        .join(Site, Site.id == Lot.site_id)
        .where(StockOnHand.stock_status == QUARANTINE, StockOnHand.qty_base > 0)
        .group_by(Lot.id, Product.id, Site.id)
        .order_by(received.asc(), Lot.id)
        .limit(QUEUE_SIZE)
    )
    if sites is not None:
        query = query.where(Lot.site_id.in_(sites))
    now = uow.now()
    rows = [
        {
            "lot": lot,
            "product": product,
            "site": site,
            "quantity": qty,
            "ssccs": sscc_count,
            "received_at": received_at or lot.created_at,
            "passed": passed,
            "failed": failed,
            "remaining": overview.remaining_of(lot, site.time_zone, now),
        }
        for lot, product, site, qty, sscc_count, received_at, passed, failed in uow.session.execute(query)
    ]
    return render(request, "quality/queue.html", active="quality", rows=rows, limit=QUEUE_SIZE)


# --- the lot's quality page ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuarantineLine:
    location_id: int
    location_code: str
    sscc: str
    quantity: Decimal


def _quarantined(uow: UnitOfWork, lot: Lot) -> list[QuarantineLine]:
    """The lot's quarantined buckets with their location codes, one query."""
    rows = uow.session.execute(
        select(StockOnHand.location_id, Location.code, StockOnHand.sscc, StockOnHand.qty_base)
        .join(Location, Location.id == StockOnHand.location_id)
        .where(StockOnHand.lot_id == lot.id, StockOnHand.stock_status == QUARANTINE, StockOnHand.qty_base > 0)
        .order_by(Location.code, StockOnHand.sscc)
    )
    return [QuarantineLine(*row) for row in rows]


def _lot_context(uow: UnitOfWork, principal: Principal, lot: Lot) -> dict[str, Any]:
    product = uow.session.get_one(Product, lot.product_id)
    site = uow.session.get_one(Site, lot.site_id)
    plan = plans.active_plan(uow, product_id=product.id)
    records = inspections.records_of_lot(uow, lot_id=lot.id)
    ids = [r.id for r in records]
    quarantined = _quarantined(uow, lot)
    return {
        "lot": lot,
        "product": product,
        "site": site,
        "zone": site.time_zone,
        "plan": plan,
        "characteristics": plans.characteristics_of(uow, plan_id=plan.id) if plan else [],
        "records": list(reversed(records)),
        "results": inspections.results_of(uow, ids),
        "attachments": inspections.attachments_of(uow, ids),
        "policy": policies.active_policy(uow, product_id=product.id),
        "quarantined": quarantined,
        "quarantined_qty": sum((line.quantity for line in quarantined), Decimal(0)),
        "sscc_lines": [line for line in quarantined if line.sscc],
        "loose_locations": sorted(
            {(line.location_id, line.location_code) for line in quarantined if not line.sscc}
        ),
        "decisions": decisions.decisions_of_lot(uow, lot_id=lot.id),
        "rest": overview.remaining_of(lot, site.time_zone, uow.now()),
        "can_inspect": principal.can(Permission.QUALITY_INSPECT, lot.site_id),
        "can_decide": principal.can(Permission.QUALITY_DECIDE, lot.site_id),
        "scope_labels": SCOPE_LABELS,
        "condition_labels": CONDITION_LABELS,
        "kind_labels": KIND_LABELS,
    }


@router.get("/quality/lots/{lot_id}")
def lot_quality(
    request: Request,
    lot_id: int,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_READ)
    return render(request, "quality/lot.html", active="quality", **_lot_context(uow, principal, lot))


@router.post("/quality/lots/{lot_id}/inspections")
def record_inspection(
    request: Request,
    lot_id: int,
    codes: list[str] = Form(default=[]),
    values: list[str] = Form(default=[]),
    passed: str = Form(default=""),
    sampled_by: str = Form(default=""),
    comment: str = Form(default=""),
    principal: Principal = requires(Permission.QUALITY_INSPECT),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_INSPECT)
    target = f"/quality/lots/{lot.id}"
    # A blank value is "not measured": a required characteristic left blank fails the record.
    results = {
        code.strip(): value.strip() for code, value in zip(codes, values, strict=False) if value.strip()
    }
    try:
        recorded = inspections.record_inspection(
            uow,
            lot_id=lot.id,
            results=results,
            source="web",
            sampled_by=sampled_by.strip() or None,
            comment=comment.strip() or None,
            passed={"yes": True, "no": False}.get(passed),
        ).record
        policies.apply_auto_release(uow, lot)
    except LotlineError as error:
        uow.rollback()
        return redirect(target, flash=error.render(_), kind="error")
    verdict = _("passed") if recorded.passed else _("failed")
    return redirect(
        target, flash=_("Inspection #%(id)s recorded: %(verdict)s.") % {"id": recorded.id, "verdict": verdict}
    )


@router.post("/quality/lots/{lot_id}/attachments")
def upload_attachment(
    request: Request,
    lot_id: int,
    inspection_id: str = Form(default=""),
    file: UploadFile | None = File(default=None),
    principal: Principal = requires(Permission.QUALITY_INSPECT),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_INSPECT)
    target = f"/quality/lots/{lot.id}"
    try:
        record_id = whole_number(inspection_id, "inspection_id")
        found = inspections.visible_record(uow, principal, record_id, Permission.QUALITY_INSPECT)
        if found.lot_id != lot.id:
            raise InvalidInput(
                N_("Inspection records {ids} are not records of lot {lot}."),
                field="inspection_id",
                code="decision.inspection_not_of_lot",
                ids=str(record_id),
                lot=lot.code,
            )
        if file is None:
            raise InvalidInput(N_("{field} is required."), field="file", code="attachment.no_file")
        # One byte past the limit: enough to refuse, never the whole of a huge upload.
        content = file.file.read(inspections.MAX_ATTACHMENT_BYTES + 1)
        attachment = inspections.attach(
            uow,
            record_id=found.id,
            filename=file.filename or "",
            media_type=file.content_type,
            content=content,
        )
        policies.apply_auto_release(uow, lot)
    except LotlineError as error:
        uow.rollback()
        return redirect(target, flash=error.render(_), kind="error")
    return redirect(
        target,
        flash=_("%(name)s attached, SHA-256 %(sha)s.")
        % {"name": attachment.filename, "sha": attachment.sha256},
    )


@router.get("/quality/attachments/{attachment_id}")
def download_attachment(
    attachment_id: int,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    attachment = inspections.visible_attachment(uow, principal, attachment_id)
    digest = base64.b64encode(bytes.fromhex(attachment.sha256)).decode("ascii")
    return Response(
        content=bytes(attachment.content),
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename, safe='')}",
            "X-SHA256": attachment.sha256,
            "Repr-Digest": f"sha-256=:{digest}:",
        },
    )
