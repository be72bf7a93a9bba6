"""Quality pages: the QA queue, a lot's inspections and CoAs, and the signed usage decision."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import case, func, select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LoginThrottled, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import QualityStatus, StockStatus
from lotline.i18n import gettext_for
from lotline.lots import overview
from lotline.lots.service import visible_lot
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand
from lotline.quality import decisions, inspections, plans, policies
from lotline.signatures import service as signatures
from lotline.uow import UnitOfWork
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

QUEUE_SIZE = 200
QUARANTINE = StockStatus.QUARANTINE.value
SCOPES = ("lot", "quantity", "sscc")
SCOPE_LABELS = {
    "lot": N_("The whole lot (all of its quarantined stock)"),
    "quantity": N_("A quantity at one location"),
    "sscc": N_("Selected SSCCs"),
}
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
        record_id = _whole_number(inspection_id, "inspection_id")
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


# --- the usage decision, through the signing dialog ---------------------------------------------


def _whole_number(value: str | None, field: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a whole number."), field=field, code="web.not_a_number"
        ) from None


@dataclass(frozen=True)
class Choice:
    """What the person chose on the quality page, before signing."""

    decision: QualityStatus
    scope: str
    parts: tuple[decisions.Part, ...]
    ssccs: tuple[str, ...]
    cited: tuple[int, ...]
    location_code: str | None = None

    def hidden(self) -> list[tuple[str, str]]:
        pairs = [("decision", self.decision.value), ("scope", self.scope)]
        if self.scope == "quantity":
            part = self.parts[0]
            pairs += [
                ("location_id", str(part.location_id)),
                ("quantity", str(part.quantity)),
                ("unit", part.unit or ""),
            ]
        pairs += [("sscc", code) for code in self.ssccs]
        pairs += [("inspection_ids", str(i)) for i in self.cited]
        return pairs


def _choice(
    uow: UnitOfWork,
    lot: Lot,
    *,
    decision: str,
    scope: str,
    location_id: str,
    quantity: str,
    unit: str,
    sscc: Sequence[str],
    inspection_ids: Sequence[str],
) -> Choice:
    if decision not in (QualityStatus.RELEASED.value, QualityStatus.REJECTED.value):
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="decision", code="web.bad_choice"
        )
    if scope not in SCOPES:
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="scope", code="web.bad_choice"
        )
    cited = tuple(sorted({_whole_number(i, "inspection_ids") for i in inspection_ids}))
    chosen = QualityStatus(decision)
    if scope == "lot":
        return Choice(chosen, scope, (decisions.Part(),), (), cited)
    if scope == "sscc":
        codes = tuple(dict.fromkeys(code.strip() for code in sscc if code.strip()))
        if not codes:
            raise InvalidInput(N_("Tick at least one SSCC."), field="sscc", code="web.no_sscc")
        return Choice(chosen, scope, tuple(decisions.Part(sscc=code) for code in codes), codes, cited)
    place = _whole_number(location_id, "location_id")
    try:
        amount = Decimal(quantity.strip())
    except InvalidOperation:
        raise InvalidInput(
            N_("{field} must be a number."), field="quantity", code="decision.quantity"
        ) from None
    location = uow.session.get(Location, place)
    if location is None or location.site_id != lot.site_id:
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="location_id", code="web.bad_choice"
        )
    part = decisions.Part(quantity=amount, unit=unit.strip() or None, location_id=place)
    return Choice(chosen, scope, (part,), (), cited, location.code)


def _signing(uow: UnitOfWork, lot: Lot, choice: Choice) -> dict[str, Any]:
    product = uow.session.get_one(Product, lot.product_id)
    cited = (
        list(
            uow.session.scalars(
                select(InspectionRecord)
                .where(InspectionRecord.id.in_(choice.cited))
                .order_by(InspectionRecord.id)
            )
        )
        if choice.cited
        else []
    )
    part = choice.parts[0]
    return {
        "lot": lot.code,
        "product": product,
        "expiry_date": lot.expiry_date,
        "quality_from": lot.quality_status,
        "quality_to": choice.decision.value,
        "zone": uow.session.get_one(Site, lot.site_id).time_zone,
        "part": {
            "scope": choice.scope,
            "label": SCOPE_LABELS[choice.scope],
            "quantity": part.quantity,
            "unit": part.unit,
            "location": choice.location_code,
            "ssccs": list(choice.ssccs),
        },
        "cited": cited,
    }


def _dialog(
    request: Request,
    lot: Lot,
    choice: Choice,
    signing: dict[str, Any],
    *,
    reason: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "sign.html",
        status_code=status_code,
        active="quality",
        meaning=decisions.MEANINGS[choice.decision].value,
        action=f"/quality/lots/{lot.id}/decide",
        signing=signing,
        fields={"reason": reason, "hidden": choice.hidden()},
        back=f"/quality/lots/{lot.id}",
        error=error,
        needs_username=session is None or session.first_signed_at is None,
    )


@router.get("/quality/lots/{lot_id}/decide")
def decision_dialog(
    request: Request,
    lot_id: int,
    decision: str = "",
    scope: str = "lot",
    location_id: str = "",
    quantity: str = "",
    unit: str = "",
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    try:
        choice = _choice(
            uow,
            lot,
            decision=decision,
            scope=scope,
            location_id=location_id,
            quantity=quantity,
            unit=unit,
            sscc=request.query_params.getlist("sscc"),
            inspection_ids=request.query_params.getlist("inspection_ids"),
        )
    except LotlineError as error:
        return redirect(f"/quality/lots/{lot.id}", flash=error.render(_), kind="error")
    return _dialog(request, lot, choice, _signing(uow, lot, choice))


@router.post("/quality/lots/{lot_id}/decide")
def decide(
    request: Request,
    lot_id: int,
    decision: str = Form(default=""),
    scope: str = Form(default=""),
    location_id: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    sscc: list[str] = Form(default=[]),
    inspection_ids: list[str] = Form(default=[]),
    reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    lot_id = lot.id
    choice = _choice(
        uow,
        lot,
        decision=decision,
        scope=scope,
        location_id=location_id,
        quantity=quantity,
        unit=unit,
        sscc=sscc,
        inspection_ids=inspection_ids,
    )
    signing = _signing(uow, lot, choice)
    try:
        if not reason.strip():
            raise InvalidInput(N_("{field} is required."), field="reason", code="lot.reason_required")
        # One signed decision per part (an SSCC each), as over the API; the password is checked
        # for each grant. A refused first attempt is committed so that it stays on record.
        meaning = decisions.MEANINGS[choice.decision]
        grants = [
            _authorize(request, uow, principal, lot_id, (username, password), meaning, first=i == 0)
            for i in range(len(choice.parts))
        ]
        for part, grant in zip(choice.parts, grants, strict=True):
            decisions.decide_usage(
                uow,
                lot_id=lot_id,
                decision=choice.decision,
                reason=reason,
                principal=principal,
                signing_grant=grant,
                inspection_ids=choice.cited,
                part=part,
            )
    except LotlineError as error:
        uow.rollback()
        return _dialog(
            request,
            lot,
            choice,
            signing,
            reason=reason,
            error=error.render(_),
            status_code=STATUS_BY_KIND[error.kind],
        )
    done = (
        _("Released and signed: %(n)s decision(s).")
        if choice.decision is QualityStatus.RELEASED
        else _("Rejected and signed: %(n)s decision(s).")
    )
    return redirect(f"/quality/lots/{lot_id}", flash=done % {"n": len(choice.parts)})


def _authorize(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    lot_id: int,
    signer: tuple[str, str],
    meaning: Any,
    *,
    first: bool,
) -> str:
    """A one-use grant for the lot; a refused first attempt is committed (audited)."""
    username, password = signer
    try:
        secret, _grant = signatures.authorize_signing(
            uow,
            principal=principal,
            web_session=getattr(request.state, "web_session", None),
            username=username.strip() or None,
            password=password,
            meaning=meaning,
            record_type="lot",
            record_id=str(lot_id),
            client_ip=request.client.host if request.client else None,
        )
    except (signatures.SignatureRejected, LoginThrottled):
        if first:
            uow.commit()  # nothing else is written yet: the refused attempt stays on record
        raise
    return secret
