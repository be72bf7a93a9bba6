"""Storage conditions: the temperature bands (and humidity limits) products need and locations
provide. Their limits are under change control."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lotline.audit.service import record_created, snapshot
from lotline.catalog import external_ids
from lotline.catalog.revisions import AUDIT_EXCLUDE, checked_changes, keep_version, revise
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.models.catalog import StorageCondition
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

LIMIT_FIELDS = ("min_temp_c", "max_temp_c", "max_humidity_pct")
# The code names the condition elsewhere: an update may repeat it, never change it.
STORAGE_CONDITION_FIXED = ("code",)


def _check_limits(min_temp: Decimal | None, max_temp: Decimal | None) -> None:
    if min_temp is not None and max_temp is not None and min_temp > max_temp:
        raise InvalidInput(
            N_("The lowest temperature {minimum} °C is above the highest {maximum} °C."),
            field="min_temp_c",
            code="storage.bad_limits",
            minimum=min_temp,
            maximum=max_temp,
        )


def create_storage_condition(
    uow: UnitOfWork,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    min_temp_c: Decimal | None,
    max_temp_c: Decimal | None,
    max_humidity_pct: Decimal | None = None,
) -> StorageCondition:
    """A temperature band products need and locations provide."""
    if uow.session.execute(select(StorageCondition.id).where(StorageCondition.code == code)).first():
        raise AlreadyExists(entity=N_("storage condition"), key=code, field="code")
    _check_limits(min_temp_c, max_temp_c)
    now = uow.now()
    condition = StorageCondition(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        min_temp_c=min_temp_c,
        max_temp_c=max_temp_c,
        max_humidity_pct=max_humidity_pct,
        version=1,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(condition)
    uow.session.flush()
    record_created(
        uow, entity_type="storage_condition", entity=condition, entity_id=condition.id, exclude=AUDIT_EXCLUDE
    )
    keep_version(
        uow,
        entity_type="storage_condition",
        entity_id=condition.id,
        aspect="limits",
        version=1,
        content=snapshot(condition, LIMIT_FIELDS),
        reason=None,
    )
    return condition


def get_storage_condition(uow: UnitOfWork, *, storage_condition_id: int) -> StorageCondition:
    condition = uow.session.get(StorageCondition, storage_condition_id)
    if condition is None:
        raise NotFound(entity=N_("storage condition"), key=storage_condition_id, field="storage_condition_id")
    return condition


def list_storage_conditions(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[StorageCondition]:
    """Storage conditions in the order they were created."""
    return keyset_page(uow.session, select(StorageCondition), StorageCondition.id, cursor=cursor, limit=limit)


def update_storage_condition(
    uow: UnitOfWork, *, storage_condition_id: int, changes: Mapping[str, Any], reason: str | None
) -> StorageCondition:
    """Change a storage condition; new limits need a reason and get a new version."""
    condition = get_storage_condition(uow, storage_condition_id=storage_condition_id)
    values = checked_changes(condition, changes, fixed=STORAGE_CONDITION_FIXED, decimals=LIMIT_FIELDS)
    revise(
        uow,
        condition,
        entity_type="storage_condition",
        aspect="limits",
        governed=LIMIT_FIELDS,
        version_attr="version",
        values=values,
        reason=reason,
        check=lambda: _check_limits(condition.min_temp_c, condition.max_temp_c),
    )
    return condition


def upsert_storage_condition(
    uow: UnitOfWork, *, system: str, key: str, fields: Mapping[str, Any], reason: str | None = None
) -> tuple[StorageCondition, bool]:
    """Update the storage condition (system, key) names, or create it; True when created."""

    def create() -> StorageCondition:
        return create_storage_condition(uow, **({"min_temp_c": None, "max_temp_c": None} | dict(fields)))

    def update(storage_condition_id: int) -> StorageCondition:
        return update_storage_condition(
            uow, storage_condition_id=storage_condition_id, changes=fields, reason=reason
        )

    return external_ids.upsert(
        uow, system=system, entity_type="storage_condition", key=key, create=create, update=update
    )
