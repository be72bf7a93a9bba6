"""Inspection records (检验记录) against a lot, from a person or a QMS/LIMS, and their attachments.

Pass or fail is computed from the product's plan in force when the record is made; a record
from a LIMS carries the system's name as ``source`` and its own id as ``external_ref``, and
posting the same one again returns the record already kept (the pair is unique in the table).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lotline.audit.service import record
from lotline.domain.errors import N_, InvalidInput, NotFound, PermissionDenied
from lotline.domain.inspection import free_results, judge_record
from lotline.domain.permissions import Permission, Principal
from lotline.lots.service import get_lot
from lotline.models.lot import Lot
from lotline.models.quality import Attachment, InspectionRecord, InspectionResult
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.quality.plans import active_plan, characteristics_of, rule_of
from lotline.uow import UnitOfWork

# Sources a person or lotline's own API uses; anything else names a QMS/LIMS.
OWN_SOURCES = ("web", "api", "cli")
_SYSTEM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,39}")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
RECORD_OWNER = "inspection_record"


class AttachmentTooLarge(InvalidInput):
    code = "attachment.too_large"
    message = N_("The file is {size} bytes; attachments may be at most {limit} bytes.")


@dataclass(frozen=True)
class AttachmentInfo:
    """What is shown of an attachment without its content."""

    id: int
    owner_id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


@dataclass(frozen=True)
class Recorded:
    """An inspection record, and whether this call created it (False: a LIMS re-sent it)."""

    record: InspectionRecord
    created: bool


def _check_source(source: str, external_ref: str | None) -> None:
    if source not in OWN_SOURCES and not _SYSTEM_NAME.fullmatch(source):
        raise InvalidInput(
            N_("{field} must be web, api, cli or the name of a QMS/LIMS (letters, digits, . _ -)."),
            field="source",
            code="inspection.bad_source",
        )
    if source not in OWN_SOURCES and not (external_ref and external_ref.strip()):
        raise InvalidInput(
            N_("A record from another system needs that system's reference ({field})."),
            field="external_ref",
            code="inspection.external_ref_required",
        )


def _existing(uow: UnitOfWork, source: str, external_ref: str | None) -> InspectionRecord | None:
    if not external_ref:
        return None
    return uow.session.scalars(
        select(InspectionRecord).where(
            InspectionRecord.source == source, InspectionRecord.external_ref == external_ref
        )
    ).one_or_none()


def record_inspection(
    uow: UnitOfWork,
    *,
    lot_id: int,
    results: Mapping[str, object],
    source: str,
    external_ref: str | None = None,
    sampled_by: str | None = None,
    sampled_at: datetime | None = None,
    comment: str | None = None,
    passed: bool | None = None,
) -> Recorded:
    """Record an inspection of a lot; pass/fail from the plan (or, with no plan, as stated)."""
    external_ref = external_ref.strip() if external_ref else None
    _check_source(source, external_ref)
    already = _existing(uow, source, external_ref)
    if already is not None:
        if already.lot_id != lot_id:
            raise InvalidInput(
                N_("{field} {ref} from {source} was already recorded for another lot."),
                field="external_ref",
                code="inspection.external_ref_other_lot",
                ref=external_ref,
                source=source,
            )
        return Recorded(already, created=False)
    lot = get_lot(uow, lot_id=lot_id)
    if not results:
        raise InvalidInput(N_("{field} is required."), field="results", code="inspection.no_results")
    plan = active_plan(uow, product_id=lot.product_id)
    characteristic_ids: dict[str, int] = {}
    if plan is not None:
        rows = characteristics_of(uow, plan_id=plan.id)
        characteristic_ids = {row.code: row.id for row in rows}
        outcomes, verdict = judge_record([rule_of(row) for row in rows], results)
    else:
        if passed is None:
            raise InvalidInput(
                N_("The product has no inspection plan: state whether the lot passed ({field})."),
                field="passed",
                code="inspection.verdict_required",
            )
        outcomes, verdict = free_results(results), passed
    now = uow.now()
    inspection = InspectionRecord(
        lot_id=lot.id,
        plan_id=plan.id if plan is not None else None,
        source=source,
        external_ref=external_ref,
        sampled_by=sampled_by,
        sampled_at=sampled_at,
        recorded_at=now,
        recorded_by=uow.actor.name,
        passed=verdict,
        comment=comment,
    )
    try:
        # A savepoint: if the same LIMS record was committed meanwhile, return that one.
        with uow.session.begin_nested():
            uow.session.add(inspection)
            uow.session.flush()
    except IntegrityError:
        raced = _existing(uow, source, external_ref)
        if raced is None:
            raise
        return Recorded(raced, created=False)
    uow.session.add_all(
        InspectionResult(
            record_id=inspection.id,
            characteristic_id=characteristic_ids.get(outcome.code),
            code=outcome.code,
            value_numeric=outcome.numeric,
            value_text=outcome.text,
            passed=outcome.passed,
        )
        for outcome in outcomes
    )
    uow.session.flush()
    record(
        uow,
        action="create",
        entity_type=RECORD_OWNER,
        entity_id=inspection.id,
        site_id=lot.site_id,
        changes={
            "lot_id": [None, lot.id],
            "plan_id": [None, inspection.plan_id],
            "source": [None, source],
            "external_ref": [None, external_ref],
            "passed": [None, verdict],
            "results": [
                None,
                {o.code: str(o.numeric) if o.numeric is not None else o.text for o in outcomes},
            ],
        },
        reason=comment,
    )
    emit(
        uow,
        events.INSPECTION_RECORDED,
        subject_type="lot",
        subject_id=lot.id,
        site_id=lot.site_id,
        payload={"inspection_id": inspection.id, "passed": verdict, "source": source},
    )
    return Recorded(inspection, created=True)


def get_record(uow: UnitOfWork, *, record_id: int) -> InspectionRecord:
    found = uow.session.get(InspectionRecord, record_id)
    if found is None:
        raise NotFound(entity=N_("inspection record"), key=record_id, field="inspection_id")
    return found


def visible_record(
    uow: UnitOfWork, principal: Principal, record_id: int, permission: Permission
) -> InspectionRecord:
    """The record, if the caller holds ``permission`` at its lot's site (else as ``visible_lot``)."""
    found = uow.session.get(InspectionRecord, record_id)
    site_id = uow.session.get_one(Lot, found.lot_id).site_id if found is not None else None
    if found is None or not principal.can(permission, site_id):
        if found is not None and principal.can(Permission.LOT_READ, site_id):
            raise PermissionDenied(permission=permission.value)
        raise NotFound(entity=N_("inspection record"), key=record_id, field="inspection_id")
    return found


def records_of_lot(uow: UnitOfWork, *, lot_id: int) -> list[InspectionRecord]:
    """The lot's inspection records, oldest first."""
    return list(
        uow.session.scalars(
            select(InspectionRecord).where(InspectionRecord.lot_id == lot_id).order_by(InspectionRecord.id)
        )
    )


def results_of(uow: UnitOfWork, record_ids: Iterable[int]) -> dict[int, list[InspectionResult]]:
    """Results per record, for many records in one query."""
    grouped: dict[int, list[InspectionResult]] = {}
    ids = list(record_ids)
    if not ids:
        return grouped
    for result in uow.session.scalars(
        select(InspectionResult).where(InspectionResult.record_id.in_(ids)).order_by(InspectionResult.id)
    ):
        grouped.setdefault(result.record_id, []).append(result)
    return grouped


def attachments_of(uow: UnitOfWork, record_ids: Iterable[int]) -> dict[int, list[AttachmentInfo]]:
    """Attachment metadata per record, in one query (the content is not loaded)."""
    grouped: dict[int, list[AttachmentInfo]] = {}
    ids = list(record_ids)
    if not ids:
        return grouped
    rows = uow.session.execute(
        select(
            Attachment.id,
            Attachment.owner_id,
            Attachment.filename,
            Attachment.media_type,
            Attachment.size,
            Attachment.sha256,
            Attachment.uploaded_at,
            Attachment.uploaded_by,
        )
        .where(Attachment.owner_type == RECORD_OWNER, Attachment.owner_id.in_(ids))
        .order_by(Attachment.id)
    )
    for row in rows:
        grouped.setdefault(row.owner_id, []).append(AttachmentInfo(*row))
    return grouped


def attach(
    uow: UnitOfWork, *, record_id: int, filename: str, media_type: str | None, content: bytes
) -> Attachment:
    """Keep a file (a supplier's CoA …) with an inspection record, with its SHA-256; audited."""
    inspection = get_record(uow, record_id=record_id)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(field="file", size=len(content), limit=MAX_ATTACHMENT_BYTES)
    if not content:
        raise InvalidInput(N_("{field} is empty."), field="file", code="attachment.empty")
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
    if not name:
        raise InvalidInput(N_("{field} is required."), field="filename", code="attachment.no_name")
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        owner_type=RECORD_OWNER,
        owner_id=inspection.id,
        filename=name,
        media_type=(media_type or "application/octet-stream")[:100],
        size=len(content),
        sha256=digest,
        content=content,
        uploaded_at=uow.now(),
        uploaded_by=uow.actor.name,
    )
    uow.session.add(attachment)
    uow.session.flush()
    lot = uow.session.get_one(Lot, inspection.lot_id)
    record(
        uow,
        action="attach",
        entity_type=RECORD_OWNER,
        entity_id=inspection.id,
        site_id=lot.site_id,
        changes={
            "attachment_id": [None, attachment.id],
            "filename": [None, name],
            "size": [None, len(content)],
            "sha256": [None, digest],
        },
    )
    return attachment


def visible_attachment(uow: UnitOfWork, principal: Principal, attachment_id: int) -> Attachment:
    """The attachment (with its content), if the caller may read quality records at its site."""
    found = uow.session.get(Attachment, attachment_id)
    if found is None or found.owner_type != RECORD_OWNER:
        raise NotFound(entity=N_("attachment"), key=attachment_id, field="attachment_id")
    try:
        visible_record(uow, principal, found.owner_id, Permission.QUALITY_READ)
    except NotFound:
        raise NotFound(entity=N_("attachment"), key=attachment_id, field="attachment_id") from None
    return found
