"""Locations: a tree per site (warehouse → zone → bin, cold rooms, vehicles), nested by a rule
table, read as a subtree in one query."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final, NamedTuple

from sqlalchemy import CTE, Integer, cast, literal, select

from lotline.audit.service import record_changed, record_created, snapshot
from lotline.catalog import external_ids
from lotline.catalog.revisions import AUDIT_EXCLUDE
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.models.base import BigIntId
from lotline.models.catalog import Location, StorageCondition
from lotline.paging import Page, keyset_page
from lotline.sites.service import get_site
from lotline.uow import UnitOfWork


class LocationKind(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    ZONE = "ZONE"
    BIN = "BIN"
    COLD_ROOM = "COLD_ROOM"
    VEHICLE = "VEHICLE"


# Where each kind may sit; None is the top of the site's tree.
ALLOWED_PARENTS: Final[dict[LocationKind, frozenset[LocationKind | None]]] = {
    LocationKind.WAREHOUSE: frozenset({None}),
    LocationKind.VEHICLE: frozenset({None}),
    LocationKind.COLD_ROOM: frozenset({None, LocationKind.WAREHOUSE}),
    LocationKind.ZONE: frozenset({LocationKind.WAREHOUSE}),
    LocationKind.BIN: frozenset({LocationKind.WAREHOUSE, LocationKind.ZONE, LocationKind.COLD_ROOM}),
}
# Deeper than the rule table allows means a corrupt tree: the recursive queries stop here.
MAX_DEPTH: Final = 16
LOCATION_FIELDS: Final = frozenset(
    {"code", "name_zh", "name_en", "kind", "parent_id", "storage_condition_id", "is_qa_area", "active"}
)

_UNDER = N_("A {kind} location cannot be placed under a {parent_kind} location.")
_AT_TOP = N_("A {kind} location cannot be at the top of a site; place it under one of: {allowed}.")
_ONE_OF = N_("{field} must be one of: {choices}.")
_UNKNOWN_FIELD = N_("{field} is not a known field.")
_FIXED = N_("{field} cannot be changed.")


class Descendant(NamedTuple):
    location: Location
    depth: int


def _kind(value: str, *, field: str = "kind") -> LocationKind:
    try:
        return LocationKind(value)
    except ValueError as exc:
        raise InvalidInput(
            _ONE_OF, field=field, code="location.bad_kind", choices=", ".join(LocationKind)
        ) from exc


def _descendants(location_id: int) -> CTE:
    """Every descendant's id and depth below ``location_id`` (children at depth 1)."""
    # Typed casts: psycopg may send a bare int as smallint, which the recursive term refuses.
    anchor = select(Location.id.label("id"), cast(literal(1), Integer).label("depth")).where(
        Location.parent_id == cast(literal(location_id), BigIntId)
    )
    tree = anchor.cte("subtree", recursive=True)
    return tree.union_all(
        select(Location.id, tree.c.depth + 1).where(Location.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH)
    )


def location_subtree(uow: UnitOfWork, *, location_id: int) -> list[Descendant]:
    """Every descendant of a location with its depth, in one query, shallowest first."""
    tree = _descendants(location_id)
    rows = uow.session.execute(
        select(Location, tree.c.depth)
        .join(tree, Location.id == tree.c.id)
        .order_by(tree.c.depth, Location.code)
    )
    return [Descendant(location, depth) for location, depth in rows.tuples()]


def _is_descendant(uow: UnitOfWork, *, ancestor_id: int, candidate_id: int) -> bool:
    tree = _descendants(ancestor_id)
    found = select(tree.c.id).where(tree.c.id == cast(literal(candidate_id), BigIntId)).limit(1)
    return uow.session.execute(found).first() is not None


def get_location(uow: UnitOfWork, *, location_id: int) -> Location:
    location = uow.session.get(Location, location_id)
    if location is None:
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    return location


def list_locations(
    uow: UnitOfWork,
    *,
    site_id: int,
    kind: str | None = None,
    parent_id: int | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Location]:
    """The locations of one site, filtered by kind, parent and active flag."""
    query = select(Location).where(Location.site_id == site_id)
    if kind is not None:
        query = query.where(Location.kind == _kind(kind))
    if parent_id is not None:
        query = query.where(Location.parent_id == parent_id)
    if active is not None:
        query = query.where(Location.active.is_(active))
    return keyset_page(uow.session, query, Location.id, cursor=cursor, limit=limit)


def _check_code_free(uow: UnitOfWork, *, site_id: int, code: str) -> None:
    taken = select(Location.id).where(Location.site_id == site_id, Location.code == code)
    if uow.session.execute(taken).first() is not None:
        raise AlreadyExists(entity=N_("location"), key=code, field="code")


def _check_storage_condition(uow: UnitOfWork, storage_condition_id: int | None) -> None:
    if storage_condition_id is not None and uow.session.get(StorageCondition, storage_condition_id) is None:
        raise NotFound(entity=N_("storage condition"), key=storage_condition_id, field="storage_condition_id")


def _check_nesting(kind: LocationKind, parent_kind: LocationKind | None, *, field: str) -> None:
    allowed = ALLOWED_PARENTS[kind]
    if parent_kind in allowed:
        return
    if parent_kind is None:
        choices = ", ".join(sorted(k for k in allowed if k is not None))
        raise InvalidInput(_AT_TOP, field=field, code="location.bad_nesting", kind=kind, allowed=choices)
    raise InvalidInput(_UNDER, field=field, code="location.bad_nesting", kind=kind, parent_kind=parent_kind)


def _check_parent(
    uow: UnitOfWork,
    *,
    site_id: int,
    kind: LocationKind,
    parent_id: int | None,
    moving_id: int | None = None,
    field: str = "parent_id",
) -> None:
    """The parent exists at the same site, takes this kind, and is not the location's own subtree."""
    parent_kind: LocationKind | None = None
    if parent_id is not None:
        parent = uow.session.get(Location, parent_id)
        if parent is None:
            raise NotFound(entity=N_("location"), key=parent_id, field="parent_id")
        if parent.site_id != site_id:
            raise InvalidInput(
                N_("The parent location must be at the same site."),
                field="parent_id",
                code="location.parent_other_site",
            )
        if moving_id is not None and (
            parent_id == moving_id or _is_descendant(uow, ancestor_id=moving_id, candidate_id=parent_id)
        ):
            raise InvalidInput(
                N_("A location cannot be placed under itself or one of its own descendants."),
                field="parent_id",
                code="location.cycle",
            )
        parent_kind = LocationKind(parent.kind)
    _check_nesting(kind, parent_kind, field=field)


def _check_children(uow: UnitOfWork, *, location_id: int, kind: LocationKind) -> None:
    """The location's children still fit under it once it is of ``kind``."""
    child_kinds = uow.session.execute(
        select(Location.kind).where(Location.parent_id == location_id).distinct()
    ).scalars()
    for child_kind in sorted(child_kinds):
        if kind not in ALLOWED_PARENTS[LocationKind(child_kind)]:
            raise InvalidInput(
                _UNDER, field="kind", code="location.bad_nesting", kind=child_kind, parent_kind=kind
            )


def create_location(
    uow: UnitOfWork,
    *,
    site_id: int,
    code: str,
    name_zh: str,
    name_en: str,
    kind: str,
    parent_id: int | None = None,
    storage_condition_id: int | None = None,
    is_qa_area: bool = False,
    active: bool = True,
) -> Location:
    """A place at a site: its code unique there, its kind nested by the rule table."""
    get_site(uow, site_id=site_id)
    code = code.strip()
    location_kind = _kind(kind)
    _check_code_free(uow, site_id=site_id, code=code)
    _check_parent(uow, site_id=site_id, kind=location_kind, parent_id=parent_id)
    _check_storage_condition(uow, storage_condition_id)
    now = uow.now()
    location = Location(
        site_id=site_id,
        parent_id=parent_id,
        code=code,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        kind=location_kind.value,
        storage_condition_id=storage_condition_id,
        is_qa_area=is_qa_area,
        active=active,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(location)
    uow.session.flush()
    record_created(
        uow,
        entity_type="location",
        entity=location,
        entity_id=location.id,
        site_id=site_id,
        exclude=AUDIT_EXCLUDE,
    )
    return location


def update_location(
    uow: UnitOfWork, *, location_id: int, changes: Mapping[str, Any], reason: str | None = None
) -> Location:
    """Rename, re-kind, move or re-condition a location; a new storage condition needs a reason."""
    location = get_location(uow, location_id=location_id)
    if "site_id" in changes and changes["site_id"] != location.site_id:
        raise InvalidInput(_FIXED, field="site_id", code="location.site_fixed")
    values = {name: value for name, value in changes.items() if name != "site_id"}
    unknown = sorted(set(values) - LOCATION_FIELDS)
    if unknown:
        raise InvalidInput(_UNKNOWN_FIELD, field=unknown[0], code="location.unknown_field")
    for name in ("code", "name_zh", "name_en"):
        if name in values:
            values[name] = str(values[name]).strip()
    if "code" in values and values["code"] != location.code:
        _check_code_free(uow, site_id=location.site_id, code=values["code"])
    kind = _kind(values.get("kind", location.kind))
    values["kind"] = kind.value
    parent_id = values.get("parent_id", location.parent_id)
    if parent_id != location.parent_id or kind != location.kind:
        _check_parent(
            uow,
            site_id=location.site_id,
            kind=kind,
            parent_id=parent_id,
            moving_id=location.id,
            field="parent_id" if parent_id != location.parent_id else "kind",
        )
    if kind != location.kind:
        _check_children(uow, location_id=location.id, kind=kind)
    if "storage_condition_id" in values:
        _check_storage_condition(uow, values["storage_condition_id"])
    before = snapshot(location, exclude=AUDIT_EXCLUDE)
    for name, value in values.items():
        setattr(location, name, value)
    after = snapshot(location, exclude=AUDIT_EXCLUDE)
    if after != before:
        location.updated_at = uow.now()  # set before the audit flush: one UPDATE per change
    # Refuses a change to a field LOTLINE_AUDIT_REASON_REQUIRED names without a reason: by default
    # the storage condition, since what a location provides decides what may be put away there.
    record_changed(
        uow,
        entity_type="location",
        entity_id=location.id,
        site_id=location.site_id,
        before=before,
        after=after,
        reason=reason,
    )
    return location


def upsert_location(
    uow: UnitOfWork,
    *,
    system: str,
    key: str,
    site_id: int,
    fields: Mapping[str, Any],
    reason: str | None = None,
) -> tuple[Location, bool]:
    """Update the location (system, key) names, or create it at ``site_id``; True when created."""

    def create() -> Location:
        return create_location(uow, site_id=site_id, **fields)

    def update(location_id: int) -> Location:
        return update_location(
            uow, location_id=location_id, changes={**fields, "site_id": site_id}, reason=reason
        )

    return external_ids.upsert(
        uow, system=system, entity_type="location", key=key, create=create, update=update
    )
