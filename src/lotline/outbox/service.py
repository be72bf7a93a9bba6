"""Writing domain events to the outbox, in the same transaction as the change."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from lotline.db import insert_rows, table_of
from lotline.models.outbox import OutboxEvent
from lotline.outbox import events
from lotline.uow import UnitOfWork


def _row(
    uow: UnitOfWork,
    event_type: str,
    *,
    subject_type: str,
    subject_id: object,
    payload: Mapping[str, Any],
    site_id: int | None,
) -> dict[str, Any]:
    if event_type not in events.ALL:
        raise ValueError(f"unknown event type {event_type!r}: add it to lotline.outbox.events")
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "site_id": site_id,
        "payload": dict(payload),
        "occurred_at": uow.now(),
        "request_id": uow.request_id,
        "attempts": 0,
    }


def emit(
    uow: UnitOfWork,
    event_type: str,
    *,
    subject_type: str,
    subject_id: object,
    payload: Mapping[str, Any],
    site_id: int | None = None,
) -> OutboxEvent:
    """Queue one event; it becomes visible to the publisher only if the transaction commits."""
    row = OutboxEvent(
        **_row(
            uow,
            event_type,
            subject_type=subject_type,
            subject_id=subject_id,
            payload=payload,
            site_id=site_id,
        )
    )
    uow.session.add(row)
    return row


@dataclass(frozen=True)
class Event:
    """One event to queue with ``emit_many``."""

    subject_type: str
    subject_id: object
    payload: Mapping[str, Any]
    site_id: int | None = None


_EVENTS = table_of(OutboxEvent)


def emit_many(uow: UnitOfWork, event_type: str, queued: Sequence[Event]) -> None:
    """Queue many events of one type in one statement (set-based work)."""
    insert_rows(
        uow.session.connection(),
        _EVENTS,
        [
            _row(
                uow,
                event_type,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                payload=e.payload,
                site_id=e.site_id,
            )
            for e in queued
        ],
    )


def pending(uow: UnitOfWork, *, after_id: int = 0, limit: int = 100) -> list[OutboxEvent]:
    """Undelivered events in write order, oldest first."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None), OutboxEvent.id > after_id)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return list(uow.session.execute(query).scalars())


def as_cloudevent(event: OutboxEvent) -> dict[str, Any]:
    """The event as a CloudEvents 1.0 JSON object."""
    return {
        "specversion": "1.0",
        "id": event.event_id,
        "source": events.SOURCE,
        "type": event.event_type,
        "subject": f"{event.subject_type}/{event.subject_id}",
        "time": event.occurred_at.isoformat(),
        "datacontenttype": "application/json",
        "data": event.payload,
    }
