"""External ids: (system, key) → one lotline entity, so a WMS, MES or ERP upserts by its own keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import select

from lotline.audit.service import record
from lotline.db import lock_for_transaction
from lotline.domain.errors import N_, InvalidInput
from lotline.models.catalog import ExternalId
from lotline.uow import UnitOfWork


class HasId(Protocol):
    id: int


E = TypeVar("E", bound=HasId)


def resolve(uow: UnitOfWork, *, system: str, entity_type: str, key: str) -> int | None:
    """The lotline id the external (system, key) points to, if any."""
    return uow.session.execute(
        select(ExternalId.entity_id).where(
            ExternalId.system == system, ExternalId.entity_type == entity_type, ExternalId.external_key == key
        )
    ).scalar_one_or_none()


def link(uow: UnitOfWork, *, system: str, entity_type: str, key: str, entity_id: int) -> ExternalId:
    """Record that (system, key) names ``entity_id``; audited."""
    if not system.strip() or not key.strip():
        raise InvalidInput(
            N_("{field} is required."),
            field="system" if not system.strip() else "key",
            code="external_id.required",
        )
    row = ExternalId(
        system=system, entity_type=entity_type, external_key=key, entity_id=entity_id, created_at=uow.now()
    )
    uow.session.add(row)
    uow.session.flush()
    record(
        uow,
        action="link",
        entity_type=entity_type,
        entity_id=entity_id,
        changes={"external_id": [None, f"{system}:{key}"]},
    )
    return row


def upsert(
    uow: UnitOfWork,
    *,
    system: str,
    entity_type: str,
    key: str,
    create: Callable[[], E],
    update: Callable[[int], E],
) -> tuple[E, bool]:
    """Update the entity (system, key) names, or create it and link the key. True when created.

    Sending the same key twice updates; it never makes a second entity. Callers sending one new
    key at the same moment queue on a named lock, so the later ones find the first one's link
    and update instead of failing on a unique code.
    """
    lock_for_transaction(uow.session, f"external_id:{system}:{entity_type}:{key}")
    existing = resolve(uow, system=system, entity_type=entity_type, key=key)
    if existing is not None:
        return update(existing), False
    entity = create()
    link(uow, system=system, entity_type=entity_type, key=key, entity_id=entity.id)
    return entity, True
