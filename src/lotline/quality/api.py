"""Quality endpoints: inspection plans, inspection records (people, QMS/LIMS), attachments,
usage decisions (放行, signed, whole or part of a lot) and auto-release policies."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdPath
from lotline.domain.errors import PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import QualityStatus
from lotline.lots.service import visible_lot
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord, QualityDecision
from lotline.models.signature import Signature
from lotline.quality import decisions, inspections, plans, policies
from lotline.quality.schemas import (
    AttachmentRead,
    CharacteristicRead,
    InspectionCreate,
    InspectionRead,
    PlanRead,
    PlanWrite,
    ReleasePolicyRead,
    ReleasePolicyWrite,
    ResultRead,
    UsageDecisionCreate,
    UsageDecisionRead,
)
from lotline.uow import UnitOfWork

router = APIRouter(tags=["quality"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def _plan_read(uow: UnitOfWork, product_id: int) -> PlanRead:
    plan, rows = plans.get_plan(uow, product_id=product_id)
    return PlanRead(
        id=plan.id,
        product_id=plan.product_id,
        version=plan.version,
        sample_size=plan.sample_size,
        sample_unit=plan.sample_unit,
        active=plan.active,
        characteristics=[CharacteristicRead.model_validate(row) for row in rows],
    )


def _inspections_read(uow: UnitOfWork, records: Sequence[InspectionRecord]) -> list[InspectionRead]:
    """Records with their results and attachment metadata: two queries for any number of them."""
    ids = [r.id for r in records]
    results = inspections.results_of(uow, ids)
    attachments = inspections.attachments_of(uow, ids)
    return [
        InspectionRead(
            id=r.id,
            lot_id=r.lot_id,
            plan_id=r.plan_id,
            source=r.source,
            external_ref=r.external_ref,
            sampled_by=r.sampled_by,
            sampled_at=r.sampled_at,
            recorded_at=r.recorded_at,
            recorded_by=r.recorded_by,
            passed=r.passed,
            comment=r.comment,
            results=[ResultRead.model_validate(x) for x in results.get(r.id, [])],
            attachments=[AttachmentRead.model_validate(a) for a in attachments.get(r.id, [])],
        )
        for r in records
    ]


def _decisions_read(uow: UnitOfWork, lot: Lot, rows: Sequence[QualityDecision]) -> list[UsageDecisionRead]:
    signature_ids = {r.signature_id for r in rows if r.signature_id is not None}
    signers = (
        dict(
            uow.session.execute(
                select(Signature.id, Signature.printed_name).where(Signature.id.in_(signature_ids))
            )
            .tuples()
            .all()
        )
        if signature_ids
        else {}
    )
    return [
        UsageDecisionRead(
            id=r.id,
            lot_id=r.lot_id,
            decision=r.decision,
            base_qty=r.base_qty,
            sscc=r.sscc,
            location_id=r.location_id,
            reason=r.reason,
            inspection_ids=list(r.inspection_ids),
            signature_id=r.signature_id,
            signed_by=signers.get(r.signature_id) if r.signature_id is not None else None,
            policy_id=r.policy_id,
            decided_at=r.decided_at,
            decided_by=r.decided_by,
            lot_quality_status=lot.quality_status,
        )
        for r in rows
    ]


@router.post("/products/{product_id}/inspection-plan", response_model=PlanRead, status_code=201)
def set_inspection_plan(
    product_id: IdPath,
    body: PlanWrite,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> PlanRead:
    """Give the product a new inspection plan version (the previous one is kept, retired)."""
    plans.set_plan(
        uow,
        product_id=product_id,
        characteristics=[
            plans.CharacteristicInput(**{**c.model_dump(), "accepted_values": tuple(c.accepted_values)})
            for c in body.characteristics
        ],
        sample_size=body.sample_size,
        sample_unit=body.sample_unit,
        reason=body.reason,
    )
    return _plan_read(uow, product_id)


@router.get("/products/{product_id}/inspection-plan", response_model=PlanRead)
def get_inspection_plan(
    product_id: IdPath,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PlanRead:
    """The product's inspection plan in force, with its characteristics."""
    return _plan_read(uow, product_id)


@router.post("/inspections", response_model=InspectionRead, status_code=201)
def record_inspection(
    body: InspectionCreate,
    principal: Principal = requires(Permission.QUALITY_INSPECT),
    uow: UnitOfWork = Depends(get_uow),
) -> InspectionRead:
    """Record an inspection of a lot; a QMS/LIMS names itself in ``source`` with its ``external_ref``
    (posting the same one again returns the record kept the first time)."""
    lot = visible_lot(uow, principal, body.lot_id, Permission.QUALITY_INSPECT)
    recorded = inspections.record_inspection(
        uow,
        lot_id=lot.id,
        results=dict(body.results),
        source=body.source,
        external_ref=body.external_ref,
        sampled_by=body.sampled_by,
        sampled_at=body.sampled_at,
        comment=body.comment,
        passed=body.passed,
    )
    if recorded.created:
        policies.apply_auto_release(uow, lot)
    return _inspections_read(uow, [recorded.record])[0]


@router.post("/inspections/{inspection_id}/attachments", response_model=AttachmentRead, status_code=201)
def attach_file(
    inspection_id: IdPath,
    file: UploadFile = File(description="At most 10 MB; kept with its SHA-256"),
    principal: Principal = requires(Permission.QUALITY_INSPECT),
    uow: UnitOfWork = Depends(get_uow),
) -> AttachmentRead:
    """Keep a file (a supplier's CoA …) with an inspection record; its SHA-256 is returned."""
    found = inspections.visible_record(uow, principal, inspection_id, Permission.QUALITY_INSPECT)
    # Read one byte past the limit: enough to refuse, never the whole of a huge upload.
    content = file.file.read(inspections.MAX_ATTACHMENT_BYTES + 1)
    attachment = inspections.attach(
        uow,
        record_id=found.id,
        filename=file.filename or "",
        media_type=file.content_type,
        content=content,
    )
    policies.apply_auto_release(uow, uow.session.get_one(Lot, found.lot_id))
    return AttachmentRead.model_validate(attachment)


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_attachment(
    attachment_id: IdPath,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The file as uploaded; its SHA-256 in the ``Repr-Digest`` header (RFC 9530) and ``X-SHA256``."""
    attachment = inspections.visible_attachment(uow, principal, attachment_id)
    content = bytes(attachment.content)
    return Response(
        content=content,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(attachment.filename)}",
            "X-SHA256": attachment.sha256,
            "Repr-Digest": f"sha-256=:{_b64(attachment.sha256)}:",
        },
    )


def _quoted(name: str) -> str:
    return quote(name, safe="")


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


@router.get("/lots/{lot_id}/inspections", response_model=list[InspectionRead])
def lot_inspections(
    lot_id: IdPath,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[InspectionRead]:
    """The lot's inspection records, oldest first, with results and attachments."""
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_READ)
    return _inspections_read(uow, inspections.records_of_lot(uow, lot_id=lot.id))


@router.post("/lots/{lot_id}/usage-decisions", response_model=UsageDecisionRead, status_code=201)
def decide_usage(
    lot_id: IdPath,
    body: UsageDecisionCreate,
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> UsageDecisionRead:
    """Release or reject the lot, a quantity from one bucket, or one SSCC: signed (carry the
    signing grant for meaning release/reject on this lot), citing its inspection records."""
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    made = decisions.decide_usage(
        uow,
        lot_id=lot.id,
        decision=QualityStatus(body.decision),
        reason=body.reason,
        principal=principal,
        signing_grant=body.signing_grant,
        inspection_ids=body.inspection_ids,
        part=decisions.Part(
            quantity=body.quantity, unit=body.unit, location_id=body.location_id, sscc=body.sscc
        ),
    )
    return _decisions_read(uow, lot, [made])[0]


@router.get("/lots/{lot_id}/usage-decisions", response_model=list[UsageDecisionRead])
def lot_usage_decisions(
    lot_id: IdPath,
    principal: Principal = requires(Permission.QUALITY_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[UsageDecisionRead]:
    """The lot's usage decisions, oldest first, each with its signer or the policy it came from."""
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_READ)
    return _decisions_read(uow, lot, decisions.decisions_of_lot(uow, lot_id=lot.id))


def _everywhere(principal: Principal, permission: Permission) -> None:
    """A product's policy applies at every site: so must the permission to set it."""
    if principal.site_ids_with(permission) is not None:
        raise PermissionDenied(permission=permission.value)


@router.post("/products/{product_id}/release-policy", response_model=ReleasePolicyRead, status_code=201)
def set_release_policy(
    product_id: IdPath,
    body: ReleasePolicyWrite,
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> ReleasePolicyRead:
    """Set the product's auto-release policy: signed (meaning approve, record product/{id})."""
    _everywhere(principal, Permission.QUALITY_DECIDE)
    policy = policies.set_policy(
        uow,
        product_id=product_id,
        conditions=body.conditions,
        reason=body.reason,
        principal=principal,
        signing_grant=body.signing_grant,
    )
    return ReleasePolicyRead.model_validate(policy)


@router.delete("/products/{product_id}/release-policy", response_model=ReleasePolicyRead)
def withdraw_release_policy(
    product_id: IdPath,
    reason: str = Query(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$"),
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> ReleasePolicyRead:
    """Withdraw the product's auto-release policy: its lots then need a signed release again."""
    _everywhere(principal, Permission.QUALITY_DECIDE)
    return ReleasePolicyRead.model_validate(
        policies.withdraw_policy(uow, product_id=product_id, reason=reason)
    )
