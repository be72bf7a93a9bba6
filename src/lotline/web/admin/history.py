"""The change history of GMP configuration: kept versions of shelf-life rules, storage-condition
limits and lot-type coding rules, and role grants — who, when, why, and what changed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import and_, or_, select

from lotline.api.deps import get_uow
from lotline.audit.queries import AuditFilter, list_records
from lotline.domain.errors import N_, InvalidInput
from lotline.domain.permissions import Permission, Principal
from lotline.models.audit import AuditRecord
from lotline.models.auth import User
from lotline.models.catalog import ConfigVersion, LotType, Product, StorageCondition
from lotline.models.site import Site
from lotline.paging import keyset_page
from lotline.uow import UnitOfWork
from lotline.web.admin.labels import HISTORY_KIND
from lotline.web.admin.layout import page, requires_any, zone_of
from lotline.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50
CATALOG_KINDS = ("product", "storage_condition", "lot_type")
_DECIMAL_FIELDS = frozenset(
    {"min_temp_c", "max_temp_c", "max_humidity_pct", "min_receipt_percent", "min_ship_percent"}
)
_DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")
_EDIT_PAGES = {
    "product": "/admin/products/{id}",
    "storage_condition": "/admin/storage-conditions/{id}",
    "lot_type": "/admin/lot-types/{id}",
}


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: object
    after: object


@dataclass(frozen=True)
class Revision:
    """One change-controlled change as the history shows it."""

    kind: str
    action: str  # "create", "update", "grant" or "revoke"
    changed_at: datetime
    changed_by: str
    reason: str | None
    changes: list[FieldChange]
    order: tuple[datetime, int] = field(compare=False)  # newest first: by time, then by id
    version: int | None = None
    subject: str = ""
    href: str | None = None
    site: str | None = None


def readable(name: str, value: object) -> object:
    """A stored value as people read it: decimals without their trailing zeros, JSON as text."""
    if isinstance(value, str) and name in _DECIMAL_FIELDS and _DECIMAL_TEXT.fullmatch(value):
        return value.rstrip("0").rstrip(".")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def version_changes(
    previous: Mapping[str, object] | None, current: Mapping[str, object]
) -> list[FieldChange]:
    """What a kept version changed against the one before it (the first: every value it set)."""
    if previous is None:
        return [FieldChange(k, None, readable(k, v)) for k, v in current.items() if v is not None]
    return [
        FieldChange(k, readable(k, previous.get(k)), readable(k, v))
        for k, v in current.items()
        if previous.get(k) != v
    ]


def revisions_of_entity(versions: Sequence[ConfigVersion]) -> list[Revision]:
    """An entity's kept versions (as ``catalog.service.history`` lists them), newest first."""
    previous: dict[str, Mapping[str, object]] = {}
    revisions = []
    for version in versions:
        before = previous.get(version.aspect)
        revisions.append(_revision(version, before))
        previous[version.aspect] = version.content
    return sorted(revisions, key=lambda r: r.order, reverse=True)


def _revision(version: ConfigVersion, before: Mapping[str, object] | None, subject: str = "") -> Revision:
    return Revision(
        kind=version.entity_type,
        action="create" if before is None else "update",
        changed_at=version.changed_at,
        changed_by=version.changed_by,
        reason=version.reason,
        changes=version_changes(before, version.content),
        version=version.version,
        subject=subject,
        href=_EDIT_PAGES.get(version.entity_type, "").format(id=version.entity_id) or None,
        order=(version.changed_at, version.id),
    )


def _catalog_revisions(uow: UnitOfWork, versions: Sequence[ConfigVersion]) -> list[Revision]:
    """Revisions for a page of kept versions, each against its predecessor (one query for those)."""
    wanted = [v for v in versions if v.version > 1]
    earlier: dict[tuple[str, int, str, int], Mapping[str, object]] = {}
    if wanted:
        conditions = [
            and_(
                ConfigVersion.entity_type == v.entity_type,
                ConfigVersion.entity_id == v.entity_id,
                ConfigVersion.aspect == v.aspect,
                ConfigVersion.version == v.version - 1,
            )
            for v in wanted
        ]
        for row in uow.session.scalars(select(ConfigVersion).where(or_(*conditions))):
            earlier[(row.entity_type, row.entity_id, row.aspect, row.version)] = row.content
    subjects = _codes(uow, versions)
    return [
        _revision(
            v,
            earlier.get((v.entity_type, v.entity_id, v.aspect, v.version - 1)) if v.version > 1 else None,
            subjects.get((v.entity_type, v.entity_id), str(v.entity_id)),
        )
        for v in versions
    ]


def _codes(uow: UnitOfWork, versions: Iterable[ConfigVersion]) -> dict[tuple[str, int], str]:
    models: dict[str, Any] = {"product": Product, "storage_condition": StorageCondition, "lot_type": LotType}
    codes: dict[tuple[str, int], str] = {}
    for kind, model in models.items():
        ids = {v.entity_id for v in versions if v.entity_type == kind}
        if ids:
            for entity_id, code in uow.session.execute(select(model.id, model.code).where(model.id.in_(ids))):
                codes[(kind, entity_id)] = code
    return codes


def _either(diff: Mapping[str, Any], name: str) -> Any:
    """The value a grant or revoke record names: the new one of a grant, the old one of a revoke."""
    before, after = diff.get(name) or [None, None]
    return after if after is not None else before


def _grant_revisions(uow: UnitOfWork, records: Sequence[AuditRecord]) -> list[Revision]:
    diffs = [json.loads(r.changes) for r in records]
    user_ids = {_either(diff, "user_id") for diff in diffs}
    users = {
        uid: name
        for uid, name in uow.session.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
    }
    site_ids = {_either(diff, "site_id") for diff in diffs}
    sites = {
        sid: code
        for sid, code in uow.session.execute(select(Site.id, Site.code).where(Site.id.in_(site_ids)))
    }
    revisions = []
    for row, diff in zip(records, diffs, strict=True):
        user_id, site_id = _either(diff, "user_id"), _either(diff, "site_id")
        role = diff.get("role") or [None, None]
        revisions.append(
            Revision(
                kind="role_grant",
                action=row.action,
                changed_at=row.occurred_at,
                changed_by=row.actor_name,
                reason=row.reason,
                changes=[FieldChange("role", role[0], role[1])],
                subject=users.get(user_id, str(user_id)),
                href=f"/admin/users/{user_id}" if user_id in users else None,
                site=sites.get(site_id, str(site_id)) if site_id is not None else None,
                order=(row.occurred_at, row.id),
            )
        )
    return revisions


def visible_kinds(principal: Principal) -> list[str]:
    """Catalog configuration for master-data editors, role grants for user administrators."""
    kinds = list(CATALOG_KINDS) if principal.can(Permission.MASTER_WRITE) else []
    if principal.can(Permission.USER_WRITE):
        kinds.append("role_grant")
    return kinds


@router.get("/admin/history")
def change_history(
    request: Request,
    kind: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires_any(Permission.MASTER_WRITE, Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    kinds = visible_kinds(principal)
    chosen = kind or None
    if chosen is not None and chosen not in kinds:
        raise InvalidInput(N_("{field} must be one of: {choices}."), field="kind", choices=", ".join(kinds))
    # One kind pages on by its own ids; several kinds are merged by time, the newest page only.
    paged_cursor = cursor if chosen else None
    revisions: list[Revision] = []
    cursors: list[str] = []
    catalog_kinds = [k for k in kinds if k in CATALOG_KINDS and chosen in (None, k)]
    if catalog_kinds:
        query = select(ConfigVersion).where(ConfigVersion.entity_type.in_(catalog_kinds))
        versions = keyset_page(
            uow.session, query, ConfigVersion.id, cursor=paged_cursor, limit=PAGE_SIZE, newest_first=True
        )
        revisions += _catalog_revisions(uow, versions.items)
        cursors += [versions.next_cursor] if versions.next_cursor else []
    if "role_grant" in kinds and chosen in (None, "role_grant"):
        sites = principal.site_ids_with(Permission.USER_WRITE)
        grants = AuditFilter(
            entity_type="role_grant", site_ids=frozenset(sites) if sites is not None else None
        )
        records = list_records(uow, criteria=grants, cursor=paged_cursor, limit=PAGE_SIZE)
        revisions += _grant_revisions(uow, records.items)
        cursors += [records.next_cursor] if records.next_cursor else []
    revisions.sort(key=lambda r: r.order, reverse=True)
    more_by_kind = chosen is None and (bool(cursors) or len(revisions) > PAGE_SIZE)
    next_cursor = cursors[0] if chosen is not None and cursors else None
    revisions = revisions[:PAGE_SIZE]
    next_url = f"/admin/history?{urlencode({'kind': chosen, 'cursor': next_cursor})}" if next_cursor else None
    return page(
        request,
        "admin/history.html",
        revisions=revisions,
        kinds=[(k, HISTORY_KIND[k]) for k in kinds],
        chosen=chosen,
        next_url=next_url,
        more_by_kind=more_by_kind,
        zone=zone_of(request),
    )
