"""Audit trail endpoints: search, CSV export, the chain head and verification."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request, Response

from lotline.api.deps import get_uow, requires
from lotline.api.problems import request_language
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, PageOut
from lotline.audit import queries
from lotline.audit.schemas import AuditRecordRead, ChainBreakRead, HeadRead, VerifyRead
from lotline.audit.sealer import chain_head
from lotline.audit.verify import verify_chain
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.uow import UnitOfWork

router = APIRouter(prefix="/audit", tags=["audit"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def _criteria(
    principal: Principal,
    entity_type: str | None,
    entity_id: str | None,
    actor_id: int | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> queries.AuditFilter:
    sites = principal.site_ids_with(Permission.AUDIT_READ)
    return queries.AuditFilter(
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        action=action,
        site_ids=frozenset(sites) if sites is not None else None,
        since=since,
        until=until,
    )


@router.get("/records", response_model=PageOut[AuditRecordRead])
def list_records(
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    action: str | None = None,
    since: datetime | None = Query(default=None, description="Inclusive, ISO 8601 with offset"),
    until: datetime | None = Query(default=None, description="Exclusive, ISO 8601 with offset"),
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.AUDIT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[AuditRecordRead]:
    """Audit records, newest first, filtered by entity, actor, action and time."""
    criteria = _criteria(principal, entity_type, entity_id, actor_id, action, since, until)
    page = queries.list_records(uow, criteria=criteria, cursor=cursor, limit=limit)
    return PageOut[AuditRecordRead](
        items=[AuditRecordRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/records.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_records(
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    principal: Principal = requires(Permission.AUDIT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The same records as CSV, oldest first, with each record's chain position and link."""
    criteria = _criteria(principal, entity_type, entity_id, actor_id, action, since, until)
    body = "".join(queries.export_csv(uow, criteria=criteria))
    return Response(
        content="\ufeff" + body,  # a BOM, so Excel opens Chinese text as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lotline-audit.csv"'},
    )


@router.get("/head", response_model=HeadRead)
def get_chain_head(
    principal: Principal = requires(Permission.AUDIT_READ), uow: UnitOfWork = Depends(get_uow)
) -> HeadRead:
    """The newest link: record it outside lotline to detect a truncated tail later."""
    seq, link = chain_head(uow.session)
    return HeadRead(seq=seq, link=link)


@router.get("/verify", response_model=VerifyRead)
def verify(
    request: Request,
    expect_seq: int | None = Query(default=None, description="An anchored head's seq"),
    expect_link: str | None = Query(default=None, description="An anchored head's link"),
    principal: Principal = requires(Permission.AUDIT_VERIFY),
    uow: UnitOfWork = Depends(get_uow),
) -> VerifyRead:
    """Walk the whole chain; ``ok`` is false when any link, record or anchor fails."""
    _ = gettext_for(request_language(request))
    expect = (expect_seq, expect_link) if expect_seq is not None and expect_link else None
    report = verify_chain(uow, expect_head=expect)
    return VerifyRead(
        ok=report.ok,
        links=report.links,
        pending=report.pending,
        head_seq=report.head_seq,
        head_link=report.head_link,
        breaks=[
            ChainBreakRead(problem=b.message(_), record_id=b.record_id, seq=b.seq) for b in report.breaks
        ],
    )
