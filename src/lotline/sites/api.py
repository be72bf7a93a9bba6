"""Site endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.errors import N_, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.sites import service
from lotline.sites.schemas import SiteCreate, SiteRead, SiteUpdate
from lotline.uow import UnitOfWork

router = APIRouter(prefix="/sites", tags=["sites"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


@router.get("", response_model=PageOut[SiteRead])
def list_sites(
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    active: bool | None = None,
    principal: Principal = requires(Permission.SITE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[SiteRead]:
    """Sites the caller may read."""
    visible = principal.site_ids_with(Permission.SITE_READ)
    page = service.list_sites(uow, site_ids=visible, cursor=cursor, limit=limit, active=active)
    return PageOut[SiteRead](
        items=[SiteRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.post("", response_model=SiteRead, status_code=201)
def create_site(
    body: SiteCreate,
    principal: Principal = requires(Permission.SITE_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> SiteRead:
    """Register a site."""
    site = service.create_site(
        uow,
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        time_zone=body.time_zone,
        gln=body.gln,
        address=body.address.model_dump(exclude_none=True),
    )
    return SiteRead.model_validate(site)


@router.get("/{site_id}", response_model=SiteRead)
def get_site(
    site_id: IdPath,
    principal: Principal = requires(Permission.SITE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> SiteRead:
    """One site."""
    if not principal.can(Permission.SITE_READ, site_id):
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    return SiteRead.model_validate(service.get_site(uow, site_id=site_id))


@router.patch("/{site_id}", response_model=SiteRead)
def update_site(
    site_id: IdPath,
    body: SiteUpdate,
    principal: Principal = requires(Permission.SITE_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> SiteRead:
    """Change a site; time zone and active flag need a reason."""
    if not principal.can(Permission.SITE_WRITE, site_id):
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"reason"})
    site = service.update_site(uow, site_id=site_id, changes=changes, reason=body.reason)
    return SiteRead.model_validate(site)
