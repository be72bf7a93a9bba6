"""Change control shared by the catalog: revising an entity under a reason, kept versions, history.

A GMP-relevant aspect of master data (a product's shelf-life rule, a storage condition's limits,
a lot type's coding rule) needs a reason to change, bumps its version, and keeps every version
in ``config_version`` with who, when and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from lotline.audit.service import record_changed, snapshot
from lotline.domain.errors import N_, InvalidInput
from lotline.domain.units import quantize
from lotline.models.catalog import ConfigVersion
from lotline.uow import UnitOfWork

# Timestamps change on every write; the audit trail records what changed, not when it was saved.
AUDIT_EXCLUDE = ("created_at", "updated_at")

_FIXED = N_("{field} cannot be changed.")


def keep_version(
    uow: UnitOfWork,
    *,
    entity_type: str,
    entity_id: int,
    aspect: str,
    version: int,
    content: Mapping[str, object],
    reason: str | None,
) -> None:
    """Keep one version of an entity's GMP aspect, with who changed it, when and why."""
    uow.session.add(
        ConfigVersion(
            entity_type=entity_type,
            entity_id=entity_id,
            aspect=aspect,
            version=version,
            content=dict(content),
            changed_at=uow.now(),
            changed_by=uow.actor.name,
            reason=reason,
        )
    )


def revise(
    uow: UnitOfWork,
    entity: Any,
    *,
    entity_type: str,
    aspect: str,
    governed: tuple[str, ...],
    version_attr: str,
    values: Mapping[str, Any],
    reason: str | None,
    check: Callable[[], None] | None = None,
) -> None:
    """Apply ``values`` under change control: a change to a ``governed`` field needs a reason,
    bumps ``version_attr`` and keeps the new version of that aspect; everything is audited."""
    before = snapshot(entity, exclude=AUDIT_EXCLUDE)
    for name, value in values.items():
        setattr(entity, name, value)
    if check is not None:
        check()
    after = snapshot(entity, exclude=AUDIT_EXCLUDE)
    governed_changed = any(before[f] != after[f] for f in governed)
    if governed_changed:
        setattr(entity, version_attr, getattr(entity, version_attr) + 1)
        after[version_attr] = getattr(entity, version_attr)
    if after != before:
        entity.updated_at = uow.now()
    record_changed(
        uow, entity_type=entity_type, entity_id=entity.id, before=before, after=after, reason=reason
    )
    if governed_changed:
        keep_version(
            uow,
            entity_type=entity_type,
            entity_id=entity.id,
            aspect=aspect,
            version=getattr(entity, version_attr),
            content=snapshot(entity, governed),
            reason=reason,
        )


def checked_changes(
    entity: object,
    changes: Mapping[str, Any],
    *,
    fixed: tuple[str, ...],
    decimals: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``changes`` without the ``fixed`` fields (refused if they differ), ``decimals`` as stored."""
    values = dict(changes)
    for name in fixed:
        if name in values and values.pop(name) != getattr(entity, name):
            raise InvalidInput(_FIXED, field=name, code="catalog.fixed_field")
    for name in decimals:
        # Six places, as the column keeps them: re-sending 2 where 2.000000 is stored is no change.
        if values.get(name) is not None:
            values[name] = quantize(values[name], 6, field=name)
    return values


def history(uow: UnitOfWork, *, entity_type: str, entity_id: int) -> list[ConfigVersion]:
    """Every kept version of an entity's GMP configuration, oldest first."""
    return list(
        uow.session.execute(
            select(ConfigVersion)
            .where(ConfigVersion.entity_type == entity_type, ConfigVersion.entity_id == entity_id)
            .order_by(ConfigVersion.aspect, ConfigVersion.version)
        ).scalars()
    )
