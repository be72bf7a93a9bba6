"""The trace engine: every lot reached from some lots, forward (used in, down to what was
shipped) or backward (made from, up to what was received), at any depth, in one recursive query.

The walk is the floor query of the trace benchmark and nothing more — a recursive CTE over
``genealogy_edge`` with UNION, so a lot reached by two paths (a diamond) is walked once — on
SQLite and PostgreSQL alike; the forward index (parent, child, transformation) and the backward
one (child, parent) make each step an index range scan. What is said of the reached lots
(shipments per customer, stock per place, receipts per supplier) is then a handful of joins
against the reached lots, bound as one id list after the walk: never one query per lot.

``as_of`` traces the state at a past instant: only edges made by then are walked, only what
was shipped or received by then counts, and stock is the ledger's sum up to then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CTE, Select, bindparam, func, literal_column, select

from lotline.db import is_one_of
from lotline.domain.status import StockStatus
from lotline.models.catalog import Location, Partner, Product
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import CustomerReturn, Shipment, ShipmentLine
from lotline.models.production import GenealogyEdge
from lotline.models.stock import StockMovement, StockOnHand
from lotline.models.types import UTCDateTime
from lotline.uow import UnitOfWork


class Direction(StrEnum):
    FORWARD = "forward"  # what the lots went into, and where that went
    BACKWARD = "backward"  # what the lots were made from, and where that came from


def reach(direction: Direction, *, as_of: bool = False) -> CTE:
    """The recursive CTE of every lot reached from the lots bound to ``seeds`` (an id list),
    the seeds included; with ``as_of``, only edges made by the instant bound to ``as_of``."""
    edge = GenealogyEdge.__table__
    here, there = (
        (edge.c.parent_lot_id, edge.c.child_lot_id)
        if direction is Direction.FORWARD
        else (edge.c.child_lot_id, edge.c.parent_lot_id)
    )
    seeds = select(Lot.id.label("lot_id")).where(is_one_of(Lot.id, "seeds"))
    reached = seeds.cte("reached", recursive=True)
    step = select(there.label("lot_id")).join(reached, here == reached.c.lot_id)
    if as_of:
        step = step.where(edge.c.occurred_at <= bindparam("as_of", type_=UTCDateTime()))
    return reached.union(step)


REACHED = "reached"  # the bound id list of the reached lots


def _params(lot_ids: Iterable[int], as_of: datetime | None) -> dict[str, object]:
    params: dict[str, object] = {"seeds": sorted(set(lot_ids))}
    if as_of is not None:
        params["as_of"] = as_of
    return params


def closure(
    uow: UnitOfWork, *, lot_ids: Iterable[int], direction: Direction, as_of: datetime | None = None
) -> set[int]:
    """Every lot reached from ``lot_ids`` (themselves included)."""
    reached = reach(direction, as_of=as_of is not None)
    rows = uow.session.execute(select(reached.c.lot_id), _params(lot_ids, as_of))
    return {int(lot_id) for (lot_id,) in rows}


@dataclass(frozen=True)
class ReachedLot:
    lot_id: int
    code: str
    product_id: int
    product_code: str
    quality_status: str
    expiry_date: date
    source: str
    supplier_id: int | None
    supplier_lot_code: str | None
    active_holds: int


@dataclass(frozen=True)
class Shipped:
    """What one customer received of one product from the reached lots."""

    customer_id: int
    customer_code: str
    customer_name_zh: str
    customer_name_en: str
    product_id: int
    product_code: str
    qty_base: Decimal
    lines: int
    lots: int
    first_shipped_at: datetime
    last_shipped_at: datetime
    returned_qty_base: Decimal = Decimal(0)  # what came back citing these shipment lines


@dataclass(frozen=True)
class Held:
    """Stock of one reached lot at one place now (or at ``as_of``)."""

    lot_id: int
    location_id: int
    location_code: str
    site_id: int
    stock_status: str
    qty_base: Decimal


@dataclass(frozen=True)
class Received:
    """What one receipt line brought in of a reached lot (the backward trace's far end)."""

    lot_id: int
    supplier_id: int
    supplier_lot_code: str
    receipt_number: str
    received_at: datetime
    qty_base: Decimal


@dataclass(frozen=True)
class Summary:
    """A trace's answer for screens and APIs; the line-level detail is streamed by the exports."""

    direction: Direction
    seeds: tuple[int, ...]
    as_of: datetime | None
    lots: list[ReachedLot] = field(default_factory=list)
    shipped: list[Shipped] = field(default_factory=list)
    on_hand: list[Held] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    @property
    def in_transit(self) -> list[Held]:
        return [h for h in self.on_hand if h.stock_status == StockStatus.IN_TRANSIT.value]


def _lots() -> Select[Any]:
    active = (
        select(func.count())
        .where(Hold.lot_id == Lot.id, Hold.lifted_at.is_(None))
        .correlate(Lot)
        .scalar_subquery()
    )
    return (
        select(
            Lot.id,
            Lot.code,
            Lot.product_id,
            Product.code,
            Lot.quality_status,
            Lot.expiry_date,
            Lot.source,
            Lot.supplier_id,
            Lot.supplier_lot_code,
            active,
        )
        .where(is_one_of(Lot.id, REACHED))
        .join(Product, Product.id == Lot.product_id)
        .order_by(Lot.id)
    )


def _shipped(as_of: bool) -> Select[Any]:
    query = (
        select(
            Shipment.customer_id,
            Partner.code,
            Partner.name_zh,
            Partner.name_en,
            Lot.product_id,
            Product.code,
            func.sum(ShipmentLine.qty_base),
            func.count(ShipmentLine.id),
            func.count(func.distinct(ShipmentLine.lot_id)),
            func.min(Shipment.shipped_at),
            func.max(Shipment.shipped_at),
        )
        .where(is_one_of(ShipmentLine.lot_id, REACHED))
        # Said of the lot too: PostgreSQL then finds each line's lot by its key instead of
        # hash-joining the whole lot table (a cost growing with the database, not the trace).
        .where(is_one_of(Lot.id, REACHED))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Lot, Lot.id == ShipmentLine.lot_id)
        .join(Partner, Partner.id == Shipment.customer_id)
        .join(Product, Product.id == Lot.product_id)
        .group_by(
            Shipment.customer_id, Partner.code, Partner.name_zh, Partner.name_en, Lot.product_id, Product.code
        )
        .order_by(Partner.code, Product.code)
    )
    if as_of:
        query = query.where(Shipment.shipped_at <= bindparam("as_of", type_=UTCDateTime()))
    return query


def _returned(as_of: bool) -> Select[Any]:
    """What customers sent back of the reached lots, per customer and product."""
    query = (
        select(Shipment.customer_id, Lot.product_id, func.sum(CustomerReturn.qty_base))
        .where(is_one_of(CustomerReturn.lot_id, REACHED), is_one_of(Lot.id, REACHED))
        .join(ShipmentLine, ShipmentLine.id == CustomerReturn.shipment_line_id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Lot, Lot.id == CustomerReturn.lot_id)
        .group_by(Shipment.customer_id, Lot.product_id)
    )
    if as_of:
        query = query.where(CustomerReturn.received_at <= bindparam("as_of", type_=UTCDateTime()))
    return query


def _on_hand_now() -> Select[Any]:
    return (
        select(
            StockOnHand.lot_id,
            StockOnHand.location_id,
            Location.code,
            Location.site_id,
            StockOnHand.stock_status,
            func.sum(StockOnHand.qty_base),
        )
        .where(is_one_of(StockOnHand.lot_id, REACHED))
        .join(Location, Location.id == StockOnHand.location_id)
        .where(StockOnHand.qty_base > 0)
        .group_by(
            StockOnHand.lot_id,
            StockOnHand.location_id,
            Location.code,
            Location.site_id,
            StockOnHand.stock_status,
        )
        .order_by(StockOnHand.lot_id, StockOnHand.location_id, StockOnHand.stock_status)
    )


def _on_hand_then() -> Select[Any]:
    """Stock per place and status at ``as_of``: what moved in minus what moved out, by then."""
    m = StockMovement
    by_then = m.occurred_at <= bindparam("as_of", type_=UTCDateTime())
    ins = (
        select(
            m.lot_id.label("lot_id"),
            m.to_location_id.label("location_id"),
            m.to_status.label("stock_status"),
            m.base_qty.label("qty"),
        )
        .where(is_one_of(m.lot_id, REACHED))
        .where(m.to_location_id.is_not(None), by_then)
    )
    outs: Select[Any] = (
        select(
            m.lot_id.label("lot_id"),
            m.from_location_id.label("location_id"),
            m.from_status.label("stock_status"),
            (literal_column("0") - m.base_qty).label("qty"),
        )
        .where(is_one_of(m.lot_id, REACHED))
        .where(m.from_location_id.is_not(None), by_then)
    )
    flows = ins.union_all(outs).subquery("flows")
    total = func.sum(flows.c.qty)
    return (
        select(
            flows.c.lot_id, flows.c.location_id, Location.code, Location.site_id, flows.c.stock_status, total
        )
        .join(Location, Location.id == flows.c.location_id)
        .group_by(flows.c.lot_id, flows.c.location_id, Location.code, Location.site_id, flows.c.stock_status)
        .having(total > 0)
        .order_by(flows.c.lot_id, flows.c.location_id, flows.c.stock_status)
    )


def _received(as_of: bool) -> Select[Any]:
    query = (
        select(
            ReceiptLine.lot_id,
            Receipt.supplier_id,
            ReceiptLine.supplier_lot_code,
            Receipt.number,
            Receipt.received_at,
            ReceiptLine.base_qty,
        )
        .where(is_one_of(ReceiptLine.lot_id, REACHED))
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .order_by(ReceiptLine.lot_id, Receipt.received_at, ReceiptLine.id)
    )
    if as_of:
        query = query.where(Receipt.received_at <= bindparam("as_of", type_=UTCDateTime()))
    return query


def summarize(
    uow: UnitOfWork, *, lot_ids: Iterable[int], direction: Direction, as_of: datetime | None = None
) -> Summary:
    """The trace's summary: the reached lots; forward, what each customer got per product and
    where the rest is (in transit included); backward, the receipts the material came in by.
    The walk runs once; then a fixed number of queries take its lots as one bound id list,
    whatever the trace's size."""
    seeds = tuple(sorted(set(lot_ids)))
    then = as_of is not None
    run = uow.session.execute
    # The walk once; every other query takes the reached lots as one bound id list.
    reached = sorted(closure(uow, lot_ids=seeds, direction=direction, as_of=as_of))
    params: dict[str, object] = {REACHED: reached}
    if as_of is not None:
        params["as_of"] = as_of
    lots = [ReachedLot(*row) for row in run(_lots(), params).tuples()]
    summary = Summary(direction, seeds, as_of, lots)
    held_query = _on_hand_then() if then else _on_hand_now()
    summary.on_hand.extend(Held(*row) for row in run(held_query, params).tuples())
    if direction is Direction.FORWARD:
        back = {(c, p): qty for c, p, qty in run(_returned(then), params).tuples()}
        summary.shipped.extend(
            replace(Shipped(*row), returned_qty_base=back.get((row[0], row[4]), Decimal(0)))
            for row in run(_shipped(then), params).tuples()
        )
    else:
        summary.received.extend(Received(*row) for row in run(_received(then), params).tuples())
    return summary


__all__ = [
    "Direction",
    "Held",
    "ReachedLot",
    "Received",
    "Shipped",
    "Summary",
    "closure",
    "reach",
    "summarize",
]
