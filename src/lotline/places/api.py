"""Location and partner endpoints: each site's location tree, partners, upserts by external key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.catalog import external_ids
from lotline.domain.errors import N_, NotFound, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.models.catalog import Location
from lotline.places import locations, partners
from lotline.places.locations import LocationKind
from lotline.places.partners import PartnerRole
from lotline.places.schemas import (
    LocationCreate,
    LocationNode,
    LocationRead,
    LocationUpdate,
    LocationUpsert,
    PartnerCreate,
    PartnerRead,
    PartnerUpdate,
    PartnerUpsert,
)
from lotline.sites.service import get_site
from lotline.uow import UnitOfWork

router = APIRouter(tags=["places"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)

SystemPath = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", examples=["WMS"])
]
KeyPath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["B-0107"])
]


def _created(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model, "description": "Created: the external key was new"}}


def visible_location(
    uow: UnitOfWork, principal: Principal, location_id: int, permission: Permission
) -> Location:
    """The location, if the caller holds ``permission`` at its site; 404 otherwise (no existence leak)."""
    location = uow.session.get(Location, location_id)
    if location is None or not principal.can(permission, location.site_id):
        if location is not None and principal.can(Permission.MASTER_READ, location.site_id):
            raise PermissionDenied(permission=permission.value)
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    return location


def _writable_site(principal: Principal, site_id: int) -> None:
    if not principal.can(Permission.MASTER_WRITE, site_id):
        if principal.can(Permission.MASTER_READ, site_id):
            raise PermissionDenied(permission=Permission.MASTER_WRITE.value, field="site_id")
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")


def _hide_unseen_parent(uow: UnitOfWork, principal: Principal, parent_id: int | None) -> None:
    """A parent at a site the caller cannot read is 'not found', never 'at another site'."""
    if parent_id is None:
        return
    parent = uow.session.get(Location, parent_id)
    if parent is not None and not principal.can(Permission.MASTER_READ, parent.site_id):
        raise NotFound(entity=N_("location"), key=parent_id, field="parent_id")


# --- locations --------------------------------------------------------------------------------


@router.get("/sites/{site_id}/locations", response_model=PageOut[LocationRead])
def list_locations(
    site_id: IdPath,
    kind: LocationKind | None = None,
    parent_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[LocationRead]:
    """The site's locations, filtered by kind, parent and active flag."""
    if not principal.can(Permission.MASTER_READ, site_id):
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    get_site(uow, site_id=site_id)
    page = locations.list_locations(
        uow, site_id=site_id, kind=kind, parent_id=parent_id, active=active, cursor=cursor, limit=limit
    )
    return PageOut[LocationRead](
        items=[LocationRead.model_validate(loc) for loc in page.items], next_cursor=page.next_cursor
    )


@router.post("/sites/{site_id}/locations", response_model=LocationRead, status_code=201)
def create_location(
    site_id: IdPath,
    body: LocationCreate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LocationRead:
    """Add a location to the site's tree."""
    _writable_site(principal, site_id)
    _hide_unseen_parent(uow, principal, body.parent_id)
    location = locations.create_location(uow, site_id=site_id, **body.model_dump())
    return LocationRead.model_validate(location)


@router.get("/locations/{location_id}", response_model=LocationRead)
def get_location(
    location_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> LocationRead:
    """One location."""
    return LocationRead.model_validate(visible_location(uow, principal, location_id, Permission.MASTER_READ))


@router.patch("/locations/{location_id}", response_model=LocationRead)
def update_location(
    location_id: IdPath,
    body: LocationUpdate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LocationRead:
    """Rename, move or re-condition a location; a new storage condition needs a reason."""
    location = visible_location(uow, principal, location_id, Permission.MASTER_WRITE)
    changes = body.changes()
    _hide_unseen_parent(uow, principal, changes.get("parent_id"))
    updated = locations.update_location(uow, location_id=location.id, changes=changes, reason=body.reason)
    return LocationRead.model_validate(updated)


@router.get("/locations/{location_id}/subtree", response_model=list[LocationNode])
def location_subtree(
    location_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[LocationNode]:
    """Every location below this one, shallowest first, with its depth."""
    location = visible_location(uow, principal, location_id, Permission.MASTER_READ)
    return [
        LocationNode(**LocationRead.model_validate(node.location).model_dump(), depth=node.depth)
        for node in locations.location_subtree(uow, location_id=location.id)
    ]


@router.put("/locations/by-key/{system}/{key}", response_model=LocationRead, responses=_created(LocationRead))
def upsert_location(
    system: SystemPath,
    key: KeyPath,
    body: LocationUpsert,
    response: Response,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LocationRead:
    """Create or update the location an outside system knows by (system, key): 201 when new."""
    _writable_site(principal, body.site_id)
    existing = external_ids.resolve(uow, system=system, entity_type="location", key=key)
    if existing is not None:
        visible_location(uow, principal, existing, Permission.MASTER_WRITE)
    _hide_unseen_parent(uow, principal, body.parent_id)
    location, created = locations.upsert_location(
        uow, system=system, key=key, site_id=body.site_id, fields=body.changes(), reason=body.reason
    )
    response.status_code = 201 if created else 200
    return LocationRead.model_validate(location)


# --- partners ---------------------------------------------------------------------------------


@router.get("/partners", response_model=PageOut[PartnerRead])
def list_partners(
    role: PartnerRole | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[PartnerRead]:
    """Partners, optionally only suppliers, customers or carriers."""
    page = partners.list_partners(uow, role=role, active=active, cursor=cursor, limit=limit)
    return PageOut[PartnerRead](
        items=[PartnerRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/partners", response_model=PartnerRead, status_code=201)
def create_partner(
    body: PartnerCreate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> PartnerRead:
    """Register a supplier, customer or carrier."""
    return PartnerRead.model_validate(partners.create_partner(uow, **body.model_dump()))


@router.get("/partners/{partner_id}", response_model=PartnerRead)
def get_partner(
    partner_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PartnerRead:
    """One partner."""
    return PartnerRead.model_validate(partners.get_partner(uow, partner_id=partner_id))


@router.patch("/partners/{partner_id}", response_model=PartnerRead)
def update_partner(
    partner_id: IdPath,
    body: PartnerUpdate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> PartnerRead:
    """Change a partner; the creation rules still hold afterwards."""
    partner = partners.update_partner(uow, partner_id=partner_id, changes=body.changes(), reason=body.reason)
    return PartnerRead.model_validate(partner)


@router.put("/partners/by-key/{system}/{key}", response_model=PartnerRead, responses=_created(PartnerRead))
def upsert_partner(
    system: SystemPath,
    key: KeyPath,
    body: PartnerUpsert,
    response: Response,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> PartnerRead:
    """Create or update the partner an outside system knows by (system, key): 201 when new."""
    partner, created = partners.upsert_partner(
        uow, system=system, key=key, fields=body.changes(), reason=body.reason
    )
    response.status_code = 201 if created else 200
    return PartnerRead.model_validate(partner)
