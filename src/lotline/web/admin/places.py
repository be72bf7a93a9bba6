"""Sites with their time zones, and each site's location tree (warehouse → zone → bin, cold
rooms, vehicles) with the storage conditions the locations provide.

Locations are scoped by site: someone whose grants stop at site A gets "not found" for the
locations of site B, as through the API.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from lotline.api.deps import get_uow, requires
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, StorageCondition
from lotline.models.site import Site
from lotline.places import service as places
from lotline.places.locations import LocationKind
from lotline.sites import service as sites_service
from lotline.uow import UnitOfWork
from lotline.web.admin import forms
from lotline.web.admin.forms import FormValues
from lotline.web.admin.layout import page, refused, requires_any
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

_SITE_CODE = re.compile(r"[A-Za-z0-9_-]+")
_LOCATION_TEXT = ("code", "name_zh", "name_en", "kind", "parent_id", "storage_condition_id")


class Node(NamedTuple):
    location: Location
    depth: int


def location_tree(locations: Sequence[Location]) -> list[Node]:
    """The site's locations depth first, each under its parent, siblings by code."""
    children: dict[int | None, list[Location]] = defaultdict(list)
    known = {location.id for location in locations}
    for location in sorted(locations, key=lambda loc: loc.code):
        # A parent outside the list (it cannot be, but a tree must never lose a row) counts as the top.
        children[location.parent_id if location.parent_id in known else None].append(location)
    ordered: list[Node] = []
    stack = [(location, 0) for location in reversed(children[None])]
    while stack:
        location, depth = stack.pop()
        ordered.append(Node(location, depth))
        stack.extend((child, depth + 1) for child in reversed(children[location.id]))
    return ordered


def _site_for(uow: UnitOfWork, principal: Principal, site_id: int, permission: Permission) -> Site:
    """The site, if the principal holds ``permission`` there; "not found" when they cannot even read it."""
    site = uow.session.get(Site, site_id)
    if site is None or not principal.can(permission, site_id):
        if site is not None and principal.can(Permission.MASTER_READ, site_id):
            raise PermissionDenied(permission=permission.value)
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    return site


def _location_for(uow: UnitOfWork, principal: Principal, location_id: int) -> Location:
    location = uow.session.get(Location, location_id)
    if location is None or not principal.can(Permission.MASTER_WRITE, location.site_id):
        if location is not None and principal.can(Permission.MASTER_READ, location.site_id):
            raise PermissionDenied(permission=Permission.MASTER_WRITE.value)
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    return location


# --- sites --------------------------------------------------------------------------------------


def site_code(values: FormValues) -> str:
    """A site code as the sites API takes it: letters, digits, _ and - (it goes into lot codes)."""
    code = forms.code(values, "code", max_length=16)
    if not _SITE_CODE.fullmatch(code):
        raise InvalidInput(field="code", code="web.bad_field")
    return code


def _sites_context(uow: UnitOfWork, principal: Principal, values: FormValues) -> dict[str, Any]:
    """The sites page: the sites this principal administers, what they may do with each."""
    shown = [
        site
        for site in uow.session.scalars(select(Site).order_by(Site.code))
        if principal.can(Permission.MASTER_WRITE, site.id) or principal.can(Permission.SITE_WRITE, site.id)
    ]
    counted = (
        select(Location.site_id, func.count())
        .where(Location.site_id.in_([s.id for s in shown]))
        .group_by(Location.site_id)
    )
    counts = {site_id: number for site_id, number in uow.session.execute(counted)}
    return {
        "section": "sites",
        "sites": shown,
        "counts": counts,
        "can_locations": {s.id for s in shown if principal.can(Permission.MASTER_WRITE, s.id)},
        "can_edit": {s.id for s in shown if principal.can(Permission.SITE_WRITE, s.id)},
        "can_create": principal.can(Permission.SITE_WRITE),
        "values": values,
        "zones": forms.time_zones(),
    }


@router.get("/admin/sites")
def site_list(
    request: Request,
    principal: Principal = requires_any(Permission.MASTER_WRITE, Permission.SITE_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    values = {"time_zone": str(request.app.state.settings.default_time_zone)}
    return page(request, "admin/sites.html", **_sites_context(uow, principal, values))


@router.post("/admin/sites")
def create_site(
    request: Request,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.SITE_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        site = sites_service.create_site(
            uow,
            code=site_code(values),
            name_zh=forms.required_text(values, "name_zh"),
            name_en=forms.required_text(values, "name_en"),
            time_zone=forms.required_text(values, "time_zone", max_length=64),
        )
    except LotlineError as error:
        return refused(
            request, uow, error, "admin/sites.html", lambda: _sites_context(uow, principal, values)
        )
    return redirect("/admin/sites", flash=_("Site {code} saved.").format(code=site.code))


def _site_values(site: Site) -> FormValues:
    values = {name: str(getattr(site, name)) for name in ("code", "name_zh", "name_en", "time_zone")}
    return values | {"active": "on" if site.active else ""}


@router.get("/admin/sites/{site_id}/edit")
def site_page(
    request: Request,
    site_id: int,
    principal: Principal = requires(Permission.SITE_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    site = _site_for(uow, principal, site_id, Permission.SITE_WRITE)
    return page(
        request,
        "admin/site.html",
        section="sites",
        site=site,
        values=_site_values(site),
        zones=forms.time_zones(),
    )


@router.post("/admin/sites/{site_id}/edit")
def save_site(
    request: Request,
    site_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.SITE_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    site = _site_for(uow, principal, site_id, Permission.SITE_WRITE)
    site_id, code = site.id, site.code
    try:
        changes: dict[str, object] = {
            "name_zh": forms.required_text(values, "name_zh"),
            "name_en": forms.required_text(values, "name_en"),
            "time_zone": forms.required_text(values, "time_zone", max_length=64),
            "active": forms.flag(values, "active"),
        }
        reason = forms.text(values, "reason", max_length=2000, multiline=True)
        sites_service.update_site(uow, site_id=site_id, changes=changes, reason=reason)
    except LotlineError as error:

        def again() -> dict[str, Any]:
            stored = sites_service.get_site(uow, site_id=site_id)
            return {
                "section": "sites",
                "site": stored,
                "values": values | {"code": code},
                "zones": forms.time_zones(),
            }

        return refused(request, uow, error, "admin/site.html", again)
    return redirect("/admin/sites", flash=_("Site {code} saved.").format(code=code))


# --- locations ----------------------------------------------------------------------------------


def _conditions(uow: UnitOfWork) -> list[StorageCondition]:
    return list(uow.session.scalars(select(StorageCondition).order_by(StorageCondition.code)))


def _site_locations(uow: UnitOfWork, site_id: int) -> list[Location]:
    return list(uow.session.scalars(select(Location).where(Location.site_id == site_id)))


@router.get("/admin/sites/{site_id}")
def location_tree_page(
    request: Request,
    site_id: int,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    site = _site_for(uow, principal, site_id, Permission.MASTER_WRITE)
    return page(
        request,
        "admin/locations.html",
        section="sites",
        site=site,
        nodes=location_tree(_site_locations(uow, site.id)),
        condition_by_id={c.id: c for c in _conditions(uow)},
    )


def _location_editor(
    uow: UnitOfWork, site: Site, location: Location | None, values: FormValues
) -> dict[str, Any]:
    candidates = location_tree(_site_locations(uow, site.id))
    return {
        "section": "sites",
        "site": site,
        "location": location,
        "values": values,
        "parents": [n for n in candidates if location is None or n.location.id != location.id],
        "conditions": _conditions(uow),
        "kinds": [k.value for k in LocationKind],
    }


def location_fields(values: FormValues) -> dict[str, Any]:
    return {
        "code": forms.code(values, "code", max_length=40),
        "name_zh": forms.required_text(values, "name_zh"),
        "name_en": forms.required_text(values, "name_en"),
        "kind": forms.choice(values, "kind", [k.value for k in LocationKind]),
        "parent_id": forms.reference(values, "parent_id"),
        "storage_condition_id": forms.reference(values, "storage_condition_id"),
        "is_qa_area": forms.flag(values, "is_qa_area"),
        "active": forms.flag(values, "active"),
    }


def _check_parent_visible(uow: UnitOfWork, site: Site, parent_id: int | None) -> None:
    """A parent from another site is "not found" here (the service would name the other site)."""
    if parent_id is not None:
        parent = uow.session.get(Location, parent_id)
        if parent is None or parent.site_id != site.id:
            raise NotFound(entity=N_("location"), key=parent_id, field="parent_id")


@router.get("/admin/sites/{site_id}/locations/new")
def new_location(
    request: Request,
    site_id: int,
    parent_id: int | None = None,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    site = _site_for(uow, principal, site_id, Permission.MASTER_WRITE)
    values = {"kind": "WAREHOUSE", "active": "on", "parent_id": str(parent_id or "")}
    return page(request, "admin/location.html", **_location_editor(uow, site, None, values))


@router.post("/admin/sites/{site_id}/locations")
def create_location(
    request: Request,
    site_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    site = _site_for(uow, principal, site_id, Permission.MASTER_WRITE)
    site_id = site.id
    try:
        fields = location_fields(values)
        _check_parent_visible(uow, site, fields["parent_id"])
        location = places.create_location(uow, site_id=site_id, **fields)
    except LotlineError as error:

        def again() -> dict[str, Any]:
            return _location_editor(uow, sites_service.get_site(uow, site_id=site_id), None, values)

        return refused(request, uow, error, "admin/location.html", again)
    return redirect(f"/admin/sites/{site_id}", flash=_("Location {code} saved.").format(code=location.code))


def _location_values(location: Location) -> FormValues:
    values = {name: forms.shown(getattr(location, name)) for name in _LOCATION_TEXT}
    return values | {
        "is_qa_area": "on" if location.is_qa_area else "",
        "active": "on" if location.active else "",
    }


@router.get("/admin/locations/{location_id}")
def location_page(
    request: Request,
    location_id: int,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    location = _location_for(uow, principal, location_id)
    site = sites_service.get_site(uow, site_id=location.site_id)
    return page(
        request, "admin/location.html", **_location_editor(uow, site, location, _location_values(location))
    )


@router.post("/admin/locations/{location_id}")
def save_location(
    request: Request,
    location_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    location = _location_for(uow, principal, location_id)
    site = sites_service.get_site(uow, site_id=location.site_id)
    location_id, site_id = location.id, site.id
    try:
        fields = location_fields(values)
        _check_parent_visible(uow, site, fields["parent_id"])
        reason = forms.text(values, "reason", max_length=2000, multiline=True)
        saved = places.update_location(uow, location_id=location_id, changes=fields, reason=reason)
    except LotlineError as error:

        def again() -> dict[str, Any]:
            stored = places.get_location(uow, location_id=location_id)
            return _location_editor(uow, sites_service.get_site(uow, site_id=site_id), stored, values)

        return refused(request, uow, error, "admin/location.html", again)
    return redirect(f"/admin/sites/{site_id}", flash=_("Location {code} saved.").format(code=saved.code))
