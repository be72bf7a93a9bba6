"""The stock an allocation may draw on: each product's strategy (FEFO or FIFO, by product or
category), the minimum shelf life at shipment, and the site's buckets ranked by that strategy —
read in one query, with the holds covering each bucket when every passed-over lot is explained."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import exists, or_, select

from lotline.audit.service import record
from lotline.domain.allocation import Candidate, Strategy, rank
from lotline.domain.errors import N_, InvalidInput
from lotline.domain.expiry import MinimumShelfLife, is_expired, local_today
from lotline.domain.matrix import StockSituation
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.models.catalog import Product
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import CategoryAllocation
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.uow import UnitOfWork


def strategies(uow: UnitOfWork, product_ids: Iterable[int]) -> dict[int, Strategy]:
    """Each product's strategy: its own, else its category's, else FEFO (one query)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = uow.session.execute(
        select(Product.id, Product.allocation_strategy, CategoryAllocation.strategy)
        .outerjoin(CategoryAllocation, CategoryAllocation.category == Product.category)
        .where(Product.id.in_(ids))
    )
    return {pid: Strategy(own or by_category or Strategy.FEFO.value) for pid, own, by_category in rows}


def set_category_strategy(uow: UnitOfWork, *, category: str, strategy: Strategy | None) -> None:
    """Set (None: clear, back to FEFO) the strategy of a product category; audited."""
    category = category.strip()
    if not category:
        raise InvalidInput(N_("{field} is required."), field="category", code="allocation.category_required")
    row = uow.session.get(CategoryAllocation, category)
    before = row.strategy if row is not None else None
    after = strategy.value if strategy is not None else None
    if before == after:
        return
    if row is None:
        uow.session.add(CategoryAllocation(category=category, strategy=after))
    elif after is None:
        uow.session.delete(row)
    else:
        row.strategy = after
    uow.session.flush()
    record(
        uow,
        action="set_allocation_strategy",
        entity_type="product_category",
        entity_id=category,
        changes={"strategy": [before, after]},
    )


def category_strategies(uow: UnitOfWork) -> dict[str, Strategy]:
    return {
        row.category: Strategy(row.strategy)
        for row in uow.session.scalars(select(CategoryAllocation).order_by(CategoryAllocation.category))
    }


def product_minimums(uow: UnitOfWork, product_ids: Iterable[int]) -> dict[int, MinimumShelfLife | None]:
    rows = uow.session.execute(
        select(Product.id, Product.min_ship_days, Product.min_ship_percent).where(
            Product.id.in_(sorted(set(product_ids)))
        )
    )
    found: dict[int, MinimumShelfLife | None] = {}
    for pid, days, percent in rows:
        if days is not None:
            found[pid] = MinimumShelfLife(days=days)
        elif percent is not None:
            found[pid] = MinimumShelfLife(percent=percent)
        else:
            found[pid] = None
    return found


COVERING_HOLD = exists().where(
    Hold.lot_id == StockOnHand.lot_id,
    Hold.lifted_at.is_(None),
    or_(Hold.location_id.is_(None), Hold.location_id == StockOnHand.location_id),
    or_(Hold.sscc.is_(None), Hold.sscc == StockOnHand.sscc),
)


def load_candidates(
    uow: UnitOfWork,
    *,
    site_id: int,
    product_ids: Iterable[int],
    now: datetime,
    eligible_from: date | None,
    extra_free: dict[int, Decimal] | None = None,
) -> dict[int, list[Candidate]]:
    """The site's buckets of these products, ranked per product by its strategy (one query).

    ``eligible_from`` given: only buckets ALLOCATE may use and that are still good on that date
    (the wave's path). None: every bucket with stock, with its holds, so that each one passed
    over can be explained. ``extra_free`` adds back what a line itself holds in a bucket.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    site = uow.session.get_one(Site, site_id)
    row = StockOnHand
    query = (
        select(
            row.id,
            row.product_id,
            row.lot_id,
            Lot.code,
            row.location_id,
            row.sscc,
            row.stock_status,
            row.qty_base - row.qty_allocated,
            Lot.quality_status,
            Lot.expiry_date,
            Lot.expiry_at,
            Lot.production_date,
            Lot.created_at,
        )
        .join(Lot, Lot.id == row.lot_id)
        .where(row.site_id == site_id, row.product_id.in_(ids), row.qty_base > 0)
    )
    if eligible_from is not None:
        query = query.where(
            row.stock_status == StockStatus.AVAILABLE.value,
            Lot.quality_status == QualityStatus.RELEASED.value,
            row.qty_base > row.qty_allocated,
            Lot.expiry_date >= max(eligible_from, local_today(now, site.time_zone)),
            or_(Lot.expiry_at.is_(None), Lot.expiry_at > now),
            ~COVERING_HOLD,
        )
    rows = uow.session.execute(query).all()
    holds = {} if eligible_from is not None else _holds_by_lot(uow, {r[2] for r in rows})
    extra = extra_free or {}
    found: dict[int, list[Candidate]] = defaultdict(list)
    for (
        on_hand_id,
        pid,
        lot_id,
        code,
        location_id,
        sscc,
        status,
        free,
        quality,
        expiry,
        expiry_at,
        made,
        created,
    ) in rows:
        covering = frozenset(
            kind
            for kind, hold_location, hold_sscc in holds.get(lot_id, ())
            if (hold_location is None or hold_location == location_id)
            and (hold_sscc is None or hold_sscc == sscc)
        )
        situation = StockSituation(
            quality=QualityStatus(quality),
            stock=StockStatus(status),
            holds=covering,
            expired=is_expired(expiry_date=expiry, expiry_at=expiry_at, site_zone=site.time_zone, now=now),
        )
        found[pid].append(
            Candidate(
                on_hand_id=on_hand_id,
                lot_id=lot_id,
                lot_code=code,
                location_id=location_id,
                sscc=sscc,
                free=free + extra.get(on_hand_id, Decimal(0)),
                expiry_date=expiry,
                production_date=made,
                received_at=created,
                situation=situation,
            )
        )
    order = strategies(uow, found)
    for pid, candidates in found.items():
        candidates.sort(key=rank(order[pid]))
    return found


def _holds_by_lot(
    uow: UnitOfWork, lot_ids: set[int]
) -> dict[int, list[tuple[HoldType, int | None, str | None]]]:
    found: dict[int, list[tuple[HoldType, int | None, str | None]]] = defaultdict(list)
    if not lot_ids:
        return found
    rows = uow.session.execute(
        select(Hold.lot_id, Hold.hold_type, Hold.location_id, Hold.sscc).where(
            Hold.lot_id.in_(sorted(lot_ids)), Hold.lifted_at.is_(None)
        )
    )
    for lot_id, kind, location_id, sscc in rows:
        found[lot_id].append((HoldType(kind), location_id, sscc))
    return found
