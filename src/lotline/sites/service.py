"""Sites: plants and warehouses, each with its time zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from lotline.audit.service import record_changed, record_created, snapshot
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.domain.gs1 import validate_gln
from lotline.models.site import Site
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

AUDIT_EXCLUDE = ("created_at", "updated_at")


def check_time_zone(name: str, *, field: str = "time_zone") -> str:
    """``name`` if it is an IANA time zone, else a 4xx naming ``field``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Asia" with tzdata
        raise InvalidInput(
            N_("{zone} is not a known time zone (use an IANA name such as Asia/Shanghai)."),
            field=field,
            code="site.unknown_time_zone",
            zone=name,
        ) from exc
    return name


def get_site(uow: UnitOfWork, *, site_id: int) -> Site:
    site = uow.session.get(Site, site_id)
    if site is None:
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    return site


def list_sites(
    uow: UnitOfWork, *, site_ids: set[int] | None, cursor: str | None, limit: int, active: bool | None = None
) -> Page[Site]:
    """Sites visible to the caller (``site_ids`` None: all)."""
    query = select(Site)
    if site_ids is not None:
        query = query.where(Site.id.in_(site_ids))
    if active is not None:
        query = query.where(Site.active.is_(active))
    return keyset_page(uow.session, query, Site.id, cursor=cursor, limit=limit)


def create_site(
    uow: UnitOfWork,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    time_zone: str,
    gln: str | None = None,
    address: dict[str, Any] | None = None,
) -> Site:
    """Register a site; its code is unique and never changes."""
    code = code.strip().upper()
    if uow.session.execute(select(Site.id).where(Site.code == code)).first() is not None:
        raise AlreadyExists(entity=N_("site"), key=code, field="code")
    now = uow.now()
    site = Site(
        code=code,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        time_zone=check_time_zone(time_zone),
        gln=validate_gln(gln) if gln else None,
        address=dict(address or {}),
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(site)
    uow.session.flush()
    record_created(
        uow, entity_type="site", entity=site, entity_id=site.id, site_id=site.id, exclude=AUDIT_EXCLUDE
    )
    emit(
        uow,
        events.SITE_CREATED,
        subject_type="site",
        subject_id=site.id,
        site_id=site.id,
        payload={"code": site.code, "time_zone": site.time_zone},
    )
    return site


def update_site(uow: UnitOfWork, *, site_id: int, changes: dict[str, object], reason: str | None) -> Site:
    """Change names, time zone or active flag; zone and active need a reason (GMP-relevant)."""
    site = get_site(uow, site_id=site_id)
    if "time_zone" in changes:
        check_time_zone(str(changes["time_zone"]))
    if changes.get("gln"):
        changes = {**changes, "gln": validate_gln(str(changes["gln"]))}
    before = snapshot(site, exclude=AUDIT_EXCLUDE)
    for name, value in changes.items():
        setattr(site, name, value)
    after = snapshot(site, exclude=AUDIT_EXCLUDE)
    if after != before:
        site.updated_at = uow.now()  # set before the audit flush: one UPDATE per change
    audited = record_changed(
        uow, entity_type="site", entity_id=site.id, site_id=site.id, before=before, after=after, reason=reason
    )
    if audited is not None:
        emit(
            uow,
            events.SITE_UPDATED,
            subject_type="site",
            subject_id=site.id,
            site_id=site.id,
            payload={"fields": sorted(k for k in after if before.get(k) != after[k])},
        )
    return site
