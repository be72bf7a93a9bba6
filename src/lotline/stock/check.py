"""Rebuilding on-hand from the ledger, and every lot's mass balance — set-based, both backends.

``differences`` recomputes what each bucket should hold (all that moved in minus all that moved
out) in one grouped query over the ledger and compares it with the projection;
``mass_balances`` sums each lot's movements per kind and its on-hand in two grouped queries and
checks DESIGN.md's identity. ``lotline stock check`` reports both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, select, union_all

from lotline.db import is_one_of
from lotline.domain.ledger import Balance, MovementKind, Quantity, balance
from lotline.models.stock import StockMovement, StockOnHand
from lotline.uow import UnitOfWork

BucketKey = tuple[int, int, str, str]  # lot, location, stock status, SSCC


@dataclass(frozen=True)
class Difference:
    lot_id: int
    location_id: int
    stock_status: str
    sscc: str
    ledger: Quantity
    projection: Quantity


def _quantity(base: Decimal | None, count: Decimal | None, weight: Decimal | None) -> Quantity:
    return Quantity(base or Decimal(0), count, weight)


def _same(first: Quantity, second: Quantity) -> bool:
    return (
        first.base == second.base
        and (first.count or 0) == (second.count or 0)
        and (first.weight_kg or 0) == (second.weight_kg or 0)
    )


def ledger_buckets(uow: UnitOfWork, lot_ids: Iterable[int] | None = None) -> dict[BucketKey, Quantity]:
    """What every bucket holds according to the ledger alone."""
    m = StockMovement
    incoming = select(
        m.lot_id.label("lot_id"),
        m.to_location_id.label("location_id"),
        m.to_status.label("stock_status"),
        m.to_sscc.label("sscc"),
        m.base_qty.label("qty"),
        m.count.label("count"),
        m.weight_kg.label("weight"),
    ).where(m.to_location_id.is_not(None))
    outgoing = select(
        m.lot_id, m.from_location_id, m.from_status, m.from_sscc, -m.base_qty, -m.count, -m.weight_kg
    ).where(m.from_location_id.is_not(None))
    if lot_ids is not None:
        chosen = list(lot_ids)
        incoming = incoming.where(m.lot_id.in_(chosen))
        outgoing = outgoing.where(m.lot_id.in_(chosen))
    moved = union_all(incoming, outgoing).subquery()
    rows = uow.session.execute(
        select(
            moved.c.lot_id,
            moved.c.location_id,
            moved.c.stock_status,
            moved.c.sscc,
            func.sum(moved.c.qty),
            func.sum(moved.c.count),
            func.sum(moved.c.weight),
        ).group_by(moved.c.lot_id, moved.c.location_id, moved.c.stock_status, moved.c.sscc)
    )
    return {
        (lot, location, status, sscc): _quantity(qty, count, weight)
        for lot, location, status, sscc, qty, count, weight in rows
    }


def differences(uow: UnitOfWork) -> list[Difference]:
    """Every bucket where the projection and the ledger disagree (none, when all is well)."""
    expected = ledger_buckets(uow)
    rows = uow.session.execute(
        select(
            StockOnHand.lot_id,
            StockOnHand.location_id,
            StockOnHand.stock_status,
            StockOnHand.sscc,
            StockOnHand.qty_base,
            StockOnHand.count,
            StockOnHand.weight_kg,
        )
    )
    projected = {
        (lot, location, status, sscc): _quantity(qty, count, weight)
        for lot, location, status, sscc, qty, count, weight in rows
    }
    found = []
    empty = Quantity()
    for key in sorted(set(expected) | set(projected)):
        ledger, projection = expected.get(key, empty), projected.get(key, empty)
        if not _same(ledger, projection):
            lot, location, status, sscc = key
            found.append(Difference(lot, location, status, sscc, ledger=ledger, projection=projection))
    return found


def mass_balances(
    uow: UnitOfWork, lot_ids: Iterable[int] | Select[tuple[int]] | None = None
) -> dict[int, Balance]:
    """Each lot's mass balance from its movements (per kind) and its on-hand; of the lots given
    as ids or as a query of ids (a recall's scope, however large), or of every lot."""
    m = StockMovement
    moved = select(m.lot_id, m.kind, func.sum(m.base_qty), func.sum(m.count), func.sum(m.weight_kg)).group_by(
        m.lot_id, m.kind
    )
    held = select(
        StockOnHand.lot_id,
        func.sum(StockOnHand.qty_base),
        func.sum(StockOnHand.count),
        func.sum(StockOnHand.weight_kg),
    ).group_by(StockOnHand.lot_id)
    if isinstance(lot_ids, Select):
        moved = moved.where(m.lot_id.in_(lot_ids))
        held = held.where(StockOnHand.lot_id.in_(lot_ids))
    elif lot_ids is not None:
        chosen = sorted(set(lot_ids))
        moved = moved.where(is_one_of(m.lot_id, "lots")).params(lots=chosen)
        held = held.where(is_one_of(StockOnHand.lot_id, "lots")).params(lots=chosen)
    per_lot: dict[int, list[tuple[MovementKind, Quantity]]] = defaultdict(list)
    for lot, kind, qty, count, weight in uow.session.execute(moved):
        per_lot[lot].append((MovementKind(kind), _quantity(qty, count, weight)))
    on_hand = {lot: _quantity(qty, count, weight) for lot, qty, count, weight in uow.session.execute(held)}
    return {
        lot: balance(per_lot.get(lot, []), on_hand.get(lot, Quantity()))
        for lot in set(per_lot) | set(on_hand)
    }


__all__ = ["Difference", "differences", "ledger_buckets", "mass_balances"]
