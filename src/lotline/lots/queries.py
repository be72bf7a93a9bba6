"""Finding lots: the list filters, set-based."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select

from lotline.models.lot import Hold, Lot
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class LotFilter:
    site_ids: frozenset[int] | None = None
    product_id: int | None = None
    site_id: int | None = None
    quality_status: str | None = None
    on_hold: bool | None = None
    hold_type: str | None = None
    expiring_by: date | None = None
    code: str | None = None


def list_lots(uow: UnitOfWork, *, criteria: LotFilter, cursor: str | None, limit: int) -> Page[Lot]:
    """Lots matching every given filter, oldest first."""
    query = select(Lot)
    if criteria.site_ids is not None:
        query = query.where(Lot.site_id.in_(criteria.site_ids))
    if criteria.product_id is not None:
        query = query.where(Lot.product_id == criteria.product_id)
    if criteria.site_id is not None:
        query = query.where(Lot.site_id == criteria.site_id)
    if criteria.quality_status:
        query = query.where(Lot.quality_status == criteria.quality_status)
    if criteria.code:
        query = query.where(Lot.code == criteria.code)
    if criteria.expiring_by is not None:
        query = query.where(Lot.expiry_date <= criteria.expiring_by)
    active = Hold.lot_id == Lot.id
    if criteria.hold_type:
        query = query.where(
            exists().where(active, Hold.lifted_at.is_(None), Hold.hold_type == criteria.hold_type)
        )
    if criteria.on_hold is not None:
        held = exists().where(active, Hold.lifted_at.is_(None))
        query = query.where(held if criteria.on_hold else ~held)
    return keyset_page(uow.session, query, Lot.id, cursor=cursor, limit=limit)
