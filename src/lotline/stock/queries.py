"""Reading stock: on hand by lot, product, site, location (with its subtree) and status, and a
lot's movements — each page one query, keyset-paged."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from lotline.domain.status import StockStatus
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.stock import StockMovement, StockOnHand
from lotline.paging import MAX_LIMIT, Page, decode_cursor, encode_cursor, keyset_page
from lotline.places.locations import location_subtree
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class StockFilter:
    """Which on-hand rows to show; ``site_ids`` None means every site."""

    site_ids: frozenset[int] | None = None
    lot_id: int | None = None
    product_id: int | None = None
    site_id: int | None = None
    location_id: int | None = None  # this location and everything under it
    stock_status: StockStatus | None = None
    nonzero: bool = True


@dataclass(frozen=True)
class StockLine:
    """One bucket of one lot, with the codes a reader needs."""

    id: int
    lot_id: int
    lot_code: str
    product_id: int
    product_code: str
    base_unit: str
    site_id: int
    location_id: int
    location_code: str
    stock_status: str
    sscc: str
    qty_base: Decimal
    count: Decimal | None
    weight_kg: Decimal | None


def _places(uow: UnitOfWork, location_id: int) -> list[int]:
    """The location and its whole subtree (one recursive query)."""
    return [location_id, *(d.location.id for d in location_subtree(uow, location_id=location_id))]


def _stock_query(uow: UnitOfWork, criteria: StockFilter) -> Select[Any]:
    row = StockOnHand
    query = (
        select(
            row.id,
            row.lot_id,
            Lot.code,
            row.product_id,
            Product.code,
            Product.base_unit,
            row.site_id,
            row.location_id,
            Location.code,
            row.stock_status,
            row.sscc,
            row.qty_base,
            row.count,
            row.weight_kg,
        )
        .join(Lot, Lot.id == row.lot_id)
        .join(Product, Product.id == row.product_id)
        .join(Location, Location.id == row.location_id)
    )
    if criteria.site_ids is not None:
        query = query.where(row.site_id.in_(sorted(criteria.site_ids)))
    if criteria.lot_id is not None:
        query = query.where(row.lot_id == criteria.lot_id)
    if criteria.product_id is not None:
        query = query.where(row.product_id == criteria.product_id)
    if criteria.site_id is not None:
        query = query.where(row.site_id == criteria.site_id)
    if criteria.location_id is not None:
        query = query.where(row.location_id.in_(_places(uow, criteria.location_id)))
    if criteria.stock_status is not None:
        query = query.where(row.stock_status == criteria.stock_status.value)
    if criteria.nonzero:
        query = query.where(row.qty_base > 0)
    return query


def on_hand(uow: UnitOfWork, *, criteria: StockFilter, cursor: str | None, limit: int) -> Page[StockLine]:
    """On-hand buckets matching ``criteria``, in bucket order (oldest bucket first)."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = _stock_query(uow, criteria)
    if cursor:
        query = query.where(StockOnHand.id > decode_cursor(cursor))
    rows = [StockLine(*r) for r in uow.session.execute(query.order_by(StockOnHand.id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


def movements(
    uow: UnitOfWork, *, lot_id: int, site_ids: frozenset[int] | None, cursor: str | None, limit: int
) -> Page[StockMovement]:
    """A lot's movements, newest first (at the sites given; None: every site)."""
    query = select(StockMovement).where(StockMovement.lot_id == lot_id)
    if site_ids is not None:
        query = query.where(StockMovement.site_id.in_(sorted(site_ids)))
    return keyset_page(uow.session, query, StockMovement.id, cursor=cursor, limit=limit, newest_first=True)
