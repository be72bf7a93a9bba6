"""Everything about one lot, gathered for the lot page in a fixed number of queries.

The trace issue grows this into the one view of a lot (stock, inspections, transport,
temperature, trace graph); each section is one set-based query, never one per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from lotline.domain.expiry import RemainingShelfLife, is_expired, remaining_shelf_life
from lotline.models.audit import AuditRecord
from lotline.models.catalog import Location, LotType, Partner, Product
from lotline.models.lot import Hold, Lot
from lotline.models.signature import Signature
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand
from lotline.uow import UnitOfWork

HISTORY_LIMIT = 200
MOVEMENT_LIMIT = 200


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    occurred_at: datetime
    actor_name: str
    action: str
    entity_type: str
    entity_id: str
    reason: str | None
    changes: list[Change]


@dataclass(frozen=True)
class Remaining:
    days: int
    fraction: Any
    expired: bool


@dataclass(frozen=True)
class StockLine:
    location_code: str
    location: Location
    stock_status: str
    sscc: str
    qty_base: Decimal
    count: Decimal | None
    weight_kg: Decimal | None


@dataclass(frozen=True)
class MovementLine:
    movement: StockMovement
    from_code: str | None
    to_code: str | None


@dataclass(frozen=True)
class LotOverview:
    lot: Lot
    product: Product
    site: Site
    lot_type: LotType
    supplier: Partner | None
    holds: list[Hold]
    signatures: list[Signature]
    history: list[HistoryEntry]
    remaining: Remaining
    stock: list[StockLine]
    movements: list[MovementLine]

    @property
    def on_hand(self) -> Decimal:
        return sum((line.qty_base for line in self.stock), Decimal(0))

    @property
    def active_holds(self) -> list[Hold]:
        return [hold for hold in self.holds if hold.lifted_at is None]

    @property
    def past_holds(self) -> list[Hold]:
        return [hold for hold in self.holds if hold.lifted_at is not None]


def remaining_of(lot: Lot, zone: str, now: datetime) -> Remaining:
    """Remaining shelf life (days and fraction) and whether the lot is expired, at ``now``."""
    rest: RemainingShelfLife = remaining_shelf_life(
        expiry_date=lot.expiry_date,
        expiry_at=lot.expiry_at,
        produced_on=lot.production_date,
        produced_at=lot.produced_at,
        site_zone=zone,
        now=now,
    )
    expired = is_expired(expiry_date=lot.expiry_date, expiry_at=lot.expiry_at, site_zone=zone, now=now)
    return Remaining(days=rest.days, fraction=rest.fraction, expired=expired)


def _changes(text: str) -> list[Change]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    found = []
    for name, value in data.items():
        if isinstance(value, list) and len(value) == 2:
            found.append(Change(name, value[0], value[1]))
        else:
            found.append(Change(name, None, value))
    return found


def lot_overview(uow: UnitOfWork, *, lot: Lot, now: datetime) -> LotOverview:
    """The lot with its product, site, type, supplier, holds, signatures and audit history."""
    session = uow.session
    product = session.get_one(Product, lot.product_id)
    site = session.get_one(Site, lot.site_id)
    lot_type = session.get_one(LotType, lot.lot_type_id)
    supplier = session.get(Partner, lot.supplier_id) if lot.supplier_id is not None else None
    holds = list(session.scalars(select(Hold).where(Hold.lot_id == lot.id).order_by(Hold.placed_at, Hold.id)))
    hold_ids = [str(hold.id) for hold in holds]
    about_lot = or_(
        and_(Signature.record_type == "lot", Signature.record_id == str(lot.id)),
        and_(Signature.record_type == "hold", Signature.record_id.in_(hold_ids)),
    )
    signatures = list(session.scalars(select(Signature).where(about_lot).order_by(Signature.signed_at)))
    records = session.scalars(
        select(AuditRecord)
        .where(
            or_(
                and_(AuditRecord.entity_type == "lot", AuditRecord.entity_id == str(lot.id)),
                and_(AuditRecord.entity_type == "hold", AuditRecord.entity_id.in_(hold_ids)),
            )
        )
        .order_by(AuditRecord.id.desc())
        .limit(HISTORY_LIMIT)
    )
    history = [
        HistoryEntry(
            occurred_at=r.occurred_at,
            actor_name=r.actor_name,
            action=r.action,
            entity_type=r.entity_type,
            entity_id=r.entity_id,
            reason=r.reason,
            changes=_changes(r.changes),
        )
        for r in records
    ]
    stock_rows = session.execute(
        select(StockOnHand, Location)
        .join(Location, Location.id == StockOnHand.location_id)
        .where(StockOnHand.lot_id == lot.id, StockOnHand.qty_base > 0)
        .order_by(Location.code, StockOnHand.stock_status, StockOnHand.sscc)
    ).all()
    stock = [
        StockLine(place.code, place, row.stock_status, row.sscc, row.qty_base, row.count, row.weight_kg)
        for row, place in stock_rows
    ]
    moved = list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.lot_id == lot.id)
            .order_by(StockMovement.id.desc())
            .limit(MOVEMENT_LIMIT)
        )
    )
    place_ids = {m.from_location_id for m in moved} | {m.to_location_id for m in moved}
    codes = dict(
        session.execute(select(Location.id, Location.code).where(Location.id.in_(place_ids - {None})))
        .tuples()
        .all()
    )
    movements = [
        MovementLine(
            m,
            codes.get(m.from_location_id) if m.from_location_id else None,
            codes.get(m.to_location_id) if m.to_location_id else None,
        )
        for m in moved
    ]
    return LotOverview(
        stock=stock,
        movements=movements,
        lot=lot,
        product=product,
        site=site,
        lot_type=lot_type,
        supplier=supplier,
        holds=holds,
        signatures=signatures,
        history=history,
        remaining=remaining_of(lot, site.time_zone, now),
    )
