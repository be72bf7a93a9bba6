"""Finding lots: the list filters, the expiry buckets and the holds board, set-based."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select

from lotline.domain.expiry import local_today
from lotline.domain.status import QualityStatus, StockStatus
from lotline.models.lot import Hold, Lot
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

EXPIRED = "expired"


@dataclass(frozen=True)
class ExpiryWindow:
    """Lots whose remaining days (expiry date − the site's local today) lie in [low, high]."""

    low: int | None
    high: int | None
    today_by_site: Mapping[int, date] = field(default_factory=dict)


@dataclass(frozen=True)
class LotFilter:
    site_ids: frozenset[int] | None = None
    product_id: int | None = None
    site_id: int | None = None
    quality_status: str | None = None
    on_hold: bool | None = None
    hold_type: str | None = None
    expiry: ExpiryWindow | None = None
    code: str | None = None


def site_todays(uow: UnitOfWork, site_ids: Iterable[int] | None, now: datetime) -> dict[int, date]:
    """Each site's local date at ``now`` — expiry is compared with it (DESIGN.md)."""
    query = select(Site.id, Site.time_zone)
    if site_ids is not None:
        query = query.where(Site.id.in_(list(site_ids)))
    return {site_id: local_today(now, zone) for site_id, zone in uow.session.execute(query)}


def _window(expiry: ExpiryWindow) -> ColumnElement[bool]:
    per_site: list[ColumnElement[bool]] = []
    for site_id, today in expiry.today_by_site.items():
        parts: list[ColumnElement[bool]] = [Lot.site_id == site_id]
        if expiry.low is not None:
            parts.append(Lot.expiry_date >= today + timedelta(days=expiry.low))
        if expiry.high is not None:
            parts.append(Lot.expiry_date <= today + timedelta(days=expiry.high))
        per_site.append(and_(*parts))
    return or_(*per_site) if per_site else false()


def lot_query(criteria: LotFilter) -> Select[tuple[Lot]]:
    """The SELECT of lots matching every given filter (no ordering)."""
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
    if criteria.expiry is not None:
        query = query.where(_window(criteria.expiry))
    active = Hold.lot_id == Lot.id
    if criteria.hold_type:
        query = query.where(
            exists().where(active, Hold.lifted_at.is_(None), Hold.hold_type == criteria.hold_type)
        )
    if criteria.on_hold is not None:
        held = exists().where(active, Hold.lifted_at.is_(None))
        query = query.where(held if criteria.on_hold else ~held)
    return query


def list_lots(uow: UnitOfWork, *, criteria: LotFilter, cursor: str | None, limit: int) -> Page[Lot]:
    """Lots matching every given filter, oldest first."""
    return keyset_page(uow.session, lot_query(criteria), Lot.id, cursor=cursor, limit=limit)


def active_holds_of(uow: UnitOfWork, lot_ids: Sequence[int]) -> dict[int, list[Hold]]:
    """The active holds of each lot, in one query."""
    found: dict[int, list[Hold]] = {lot_id: [] for lot_id in lot_ids}
    if not lot_ids:
        return found
    rows = uow.session.scalars(
        select(Hold)
        .where(Hold.lot_id.in_(list(lot_ids)), Hold.lifted_at.is_(None))
        .order_by(Hold.placed_at, Hold.id)
    )
    for hold in rows:
        found[hold.lot_id].append(hold)
    return found


@dataclass(frozen=True)
class BucketCount:
    site_id: int
    product_id: int
    bucket: str  # "expired" or the upper bound in days, as text
    lots: int
    on_hand: Decimal = Decimal(0)  # in the product's base unit, rejected stock left out


def expiry_buckets(
    uow: UnitOfWork,
    *,
    site_ids: frozenset[int] | None,
    bounds: Sequence[int],
    now: datetime,
) -> list[BucketCount]:
    """Lots per site, product and expiry bucket (expired, ≤ bounds[0] days, …) in one query.

    Rejected lots are left out: they are already blocked from use. A lot whose expiry is an
    instant (shelf lives in hours) is expired from that instant. ``on_hand`` sums the stock the
    lots hold (rejected stock left out), in the product's base unit.
    """
    todays = site_todays(uow, site_ids, now)
    if not todays:
        return []
    ordered = sorted(set(bounds))
    whens: list[tuple[ColumnElement[bool], str]] = []
    for site_id, today in todays.items():
        at_site = Lot.site_id == site_id
        whens.append((and_(at_site, or_(Lot.expiry_date < today, Lot.expiry_at <= now)), EXPIRED))
        for bound in ordered:
            whens.append((and_(at_site, Lot.expiry_date <= today + timedelta(days=bound)), str(bound)))
    bucket = case(*whens, else_=None).label("bucket")
    # What each lot has on hand, rejected stock left out (one grouped pass over the projection).
    held = (
        select(StockOnHand.lot_id, func.sum(StockOnHand.qty_base).label("qty"))
        .where(StockOnHand.stock_status != StockStatus.REJECTED.value)
        .group_by(StockOnHand.lot_id)
        .subquery()
    )
    inner = (
        select(Lot.site_id, Lot.product_id, bucket, held.c.qty)
        .outerjoin(held, held.c.lot_id == Lot.id)
        .where(Lot.site_id.in_(list(todays)), Lot.quality_status != QualityStatus.REJECTED.value)
        .subquery()
    )
    rows = uow.session.execute(
        select(inner.c.site_id, inner.c.product_id, inner.c.bucket, func.count(), func.sum(inner.c.qty))
        .where(inner.c.bucket.is_not(None))
        .group_by(inner.c.site_id, inner.c.product_id, inner.c.bucket)
    )
    return [
        BucketCount(site_id, product_id, str(name), int(n), qty or Decimal(0))
        for site_id, product_id, name, n, qty in rows
    ]


def window_for_bucket(bucket: str, bounds: Sequence[int]) -> tuple[int | None, int | None] | None:
    """The remaining-days range [low, high] a board bucket stands for; None if unknown."""
    if bucket == EXPIRED:
        return (None, -1)
    ordered = sorted(set(bounds))
    for position, bound in enumerate(ordered):
        if bucket == str(bound):
            low = ordered[position - 1] + 1 if position else 0
            return (low, bound)
    return None


def active_hold_board(
    uow: UnitOfWork, *, site_ids: frozenset[int] | None, limit: int
) -> list[tuple[Hold, Lot]]:
    """Active holds with their lots, by type then age, for the holds board."""
    query = (
        select(Hold, Lot)
        .join(Lot, Lot.id == Hold.lot_id)
        .where(Hold.lifted_at.is_(None))
        .order_by(Hold.hold_type, Hold.placed_at, Hold.id)
        .limit(limit)
    )
    if site_ids is not None:
        query = query.where(Hold.site_id.in_(site_ids))
    return [(hold, lot) for hold, lot in uow.session.execute(query)]
