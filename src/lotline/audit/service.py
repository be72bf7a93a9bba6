"""Writing the audit trail: one record per change, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, insert, inspect, select
from sqlalchemy.orm import Mapper

from lotline.audit import sealer
from lotline.db import columns_of, insert_rows, insert_unnested, table_of, takes_arrays
from lotline.domain.audit_chain import RecordContent, canonical_json, diff, fields_needing_reason, record_mac
from lotline.domain.errors import ReasonRequired
from lotline.models.audit import AuditPending, AuditRecord
from lotline.uow import UnitOfWork


def plain(value: object) -> object:
    """A JSON-safe form of a column value, stable across backends."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def snapshot(
    entity: object, fields: Iterable[str] | None = None, *, exclude: Iterable[str] = ()
) -> dict[str, object]:
    """The current values of an ORM object's columns (or of ``fields``), JSON-safe."""
    mapper: Mapper[Any] = inspect(type(entity), raiseerr=True)
    names = list(fields) if fields is not None else [c.key for c in mapper.column_attrs]
    skipped = set(exclude)
    return {name: plain(getattr(entity, name)) for name in names if name not in skipped}


@dataclass(frozen=True)
class Entry:
    """One audit record to write with ``record_many``."""

    action: str
    entity_type: str
    entity_id: object
    changes: Mapping[str, object]
    site_id: int | None = None
    reason: str | None = None


def shallow(content: RecordContent) -> dict[str, object]:
    """The content's fields as they are (``dataclasses.asdict`` would deep-copy each one)."""
    return {f.name: getattr(content, f.name) for f in fields(content)}


def _row(uow: UnitOfWork, entry: Entry) -> dict[str, object]:
    """The record's columns, its MAC over the content included."""
    actor = uow.actor
    content = RecordContent(
        record_uuid=str(uuid.uuid4()),
        occurred_at=uow.now(),
        actor_kind=actor.kind,
        actor_id=actor.user_id,
        actor_name=actor.name,
        token_id=actor.token_id,
        site_id=entry.site_id,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=str(entry.entity_id),
        changes=canonical_json(entry.changes),
        reason=entry.reason or None,
        request_id=uow.request_id,
    )
    return {**shallow(content), "mac": record_mac(uow.audit_key, content)}


def record(
    uow: UnitOfWork,
    *,
    action: str,
    entity_type: str,
    entity_id: object,
    changes: Mapping[str, object],
    site_id: int | None = None,
    reason: str | None = None,
) -> AuditRecord:
    """Append one audit record (MAC'd now, sealed into the chain after commit)."""
    row = AuditRecord(**_row(uow, Entry(action, entity_type, entity_id, changes, site_id, reason)))
    uow.session.add(row)
    uow.session.flush()
    uow.session.add(AuditPending(record_id=row.id))
    uow.after_commit(sealer.poke)
    return row


_RECORDS = table_of(AuditRecord)
_INSERT_RECORDS = insert(_RECORDS).returning(_RECORDS.c.id, sort_by_parameter_order=True)
_PENDING = table_of(AuditPending)


@lru_cache(maxsize=16)
def _records_with_markers(names: tuple[str, ...], same: frozenset[str]) -> Insert:
    """The records and their pending markers in one statement (a data-modifying CTE)."""
    records = insert_unnested(_RECORDS, names, same).returning(_RECORDS.c.id).cte("records")
    return insert(_PENDING).from_select(["record_id"], select(records.c.id))


def record_many(uow: UnitOfWork, entries: Sequence[Entry]) -> None:
    """Append many audit records and their pending markers at once (the same records ``record``
    writes one by one): one statement where the backend takes arrays, else two."""
    if not entries:
        return
    connection = uow.session.connection()
    rows = [_row(uow, entry) for entry in entries]
    if takes_arrays(connection):
        params, same = columns_of(rows)
        connection.execute(_records_with_markers(tuple(rows[0]), same), params)
    else:
        ids = list(connection.execute(_INSERT_RECORDS, rows).scalars())
        insert_rows(connection, _PENDING, [{"record_id": record_id} for record_id in ids])
    uow.after_commit(sealer.poke)


def record_created(
    uow: UnitOfWork,
    *,
    entity_type: str,
    entity: object,
    entity_id: object,
    site_id: int | None = None,
    exclude: Iterable[str] = (),
    reason: str | None = None,
) -> AuditRecord:
    """Audit a new entity: every field from None to its value."""
    after = snapshot(entity, exclude=exclude)
    return record(
        uow,
        action="create",
        entity_type=entity_type,
        entity_id=entity_id,
        changes=diff({}, after),
        site_id=site_id,
        reason=reason,
    )


def record_changed(
    uow: UnitOfWork,
    *,
    entity_type: str,
    entity_id: object,
    before: Mapping[str, object],
    after: Mapping[str, object],
    site_id: int | None = None,
    reason: str | None = None,
    action: str = "update",
) -> AuditRecord | None:
    """Audit an update (old and new value per changed field); refuse if a reason is missing.

    Returns None when nothing changed, so a no-op update leaves no record.
    """
    changes = diff(before, after)
    if not changes:
        return None
    require_reason(uow, entity_type=entity_type, changed=set(changes), reason=reason)
    return record(
        uow,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=changes,
        site_id=site_id,
        reason=reason,
    )


def require_reason(uow: UnitOfWork, *, entity_type: str, changed: set[str], reason: str | None) -> None:
    """Raise ``ReasonRequired`` when a GMP-relevant field changes without a stated reason."""
    if reason and reason.strip():
        return
    relevant = fields_needing_reason(entity_type, changed, set(uow.settings.audit_reason_required))
    if relevant:
        raise ReasonRequired(field="reason", fields=", ".join(relevant))
