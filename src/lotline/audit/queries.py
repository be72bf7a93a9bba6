"""Reading the audit trail: filters, pages and CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from lotline.models.audit import AuditRecord, AuditSeal
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

CSV_COLUMNS = [
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "token_id",
    "site_id",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "reason",
    "request_id",
    "seq",
    "link",
]


@dataclass(frozen=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: int | None = None
    action: str | None = None
    site_ids: frozenset[int] | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[Any], criteria: AuditFilter) -> Select[Any]:
    if criteria.entity_type:
        query = query.where(AuditRecord.entity_type == criteria.entity_type)
    if criteria.entity_id:
        query = query.where(AuditRecord.entity_id == criteria.entity_id)
    if criteria.actor_id is not None:
        query = query.where(AuditRecord.actor_id == criteria.actor_id)
    if criteria.action:
        query = query.where(AuditRecord.action == criteria.action)
    if criteria.site_ids is not None:
        query = query.where(AuditRecord.site_id.in_(criteria.site_ids) | AuditRecord.site_id.is_(None))
    if criteria.since:
        query = query.where(AuditRecord.occurred_at >= criteria.since)
    if criteria.until:
        query = query.where(AuditRecord.occurred_at < criteria.until)
    return query


def list_records(
    uow: UnitOfWork, *, criteria: AuditFilter, cursor: str | None, limit: int
) -> Page[AuditRecord]:
    """Audit records matching ``criteria``, newest first."""
    return keyset_page(
        uow.session,
        _filtered(select(AuditRecord), criteria),
        AuditRecord.id,
        cursor=cursor,
        limit=limit,
        newest_first=True,
    )


def export_csv(uow: UnitOfWork, *, criteria: AuditFilter) -> Iterator[str]:
    """The matching records as CSV lines (oldest first), with their chain position."""
    query = _filtered(
        select(AuditRecord, AuditSeal.seq, AuditSeal.link).outerjoin(
            AuditSeal, AuditSeal.record_id == AuditRecord.id
        ),
        criteria,
    ).order_by(AuditRecord.id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    for row, seq, link in uow.session.execute(query.execution_options(yield_per=1000)):
        writer.writerow(
            [
                row.id,
                row.occurred_at.isoformat(),
                row.actor_kind,
                row.actor_id,
                row.actor_name,
                row.token_id,
                row.site_id,
                row.action,
                row.entity_type,
                row.entity_id,
                row.changes,
                row.reason or "",
                row.request_id or "",
                seq if seq is not None else "",
                link or "",
            ]
        )
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
