"""One step of the genealogy each way: what a lot was made from, and what it went into.

Each is one indexed query over ``genealogy_edge`` (parent → child, and the reverse index), with
the other lot, its product and the transformation that joined them. The full trace, any depth,
is the trace module's recursive walk over the same edges.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, true

from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, Transformation
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class Neighbour:
    """The lot at the other end of one edge, and the transformation that made the edge."""

    lot_id: int
    lot_code: str
    product_id: int
    product_code: str
    product_name_zh: str
    product_name_en: str
    quality_status: str
    expiry_date: date
    qty: Decimal  # what the parent gave, in the parent's base unit
    unit: str
    transformation_id: int
    transformation_number: str
    transformation_kind: str
    occurred_at: datetime


def _neighbours(
    uow: UnitOfWork, lot_id: int, *, upstream: bool, sites: Collection[int] | None
) -> list[Neighbour]:
    here, there = (
        (GenealogyEdge.child_lot_id, GenealogyEdge.parent_lot_id)
        if upstream
        else (GenealogyEdge.parent_lot_id, GenealogyEdge.child_lot_id)
    )
    query = (
        select(
            Lot.id,
            Lot.code,
            Product.id,
            Product.code,
            Product.name_zh,
            Product.name_en,
            Lot.quality_status,
            Lot.expiry_date,
            GenealogyEdge.qty,
            GenealogyEdge.unit,
            Transformation.id,
            Transformation.number,
            Transformation.kind,
            GenealogyEdge.occurred_at,
        )
        .join(Lot, Lot.id == there)
        .join(Product, Product.id == Lot.product_id)
        .join(Transformation, Transformation.id == GenealogyEdge.transformation_id)
        .where(here == lot_id)
        .where(true() if sites is None else Transformation.site_id.in_(sorted(sites)))
        .order_by(GenealogyEdge.occurred_at, Lot.code, GenealogyEdge.id)
    )
    return [Neighbour(*row) for row in uow.session.execute(query).tuples()]


def made_from(uow: UnitOfWork, *, lot_id: int, sites: Collection[int] | None = None) -> list[Neighbour]:
    """The lots this lot was made from (one level up), oldest transformation first; with
    ``sites``, only what transformations at those sites (the reader's) did."""
    return _neighbours(uow, lot_id, upstream=True, sites=sites)


def used_in(uow: UnitOfWork, *, lot_id: int, sites: Collection[int] | None = None) -> list[Neighbour]:
    """The lots made from this lot (one level down), oldest transformation first; ``sites`` as
    in :func:`made_from`."""
    return _neighbours(uow, lot_id, upstream=False, sites=sites)
