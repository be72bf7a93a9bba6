"""Shipping (发运): an order's picked stock leaves on a shipment with its transport legs.

One SHIP movement per picked bucket (reference ``("shipment", id)``); the ledger takes it from
the bucket's reserved stock and lowers the reservation by as much in the same guarded update,
so ``qty_allocated`` never exceeds what is on hand. The matrix is asked (SHIP) of every bucket
first: stock blocked since it was picked refuses the whole shipment, nothing written (a hold
flags its allocations, see ``fulfilment``). Each transport leg carries its carrier, vehicle,
departure and arrival — the in-transit time of every lot aboard; a leg is closed by
:func:`record_arrival`, and the last arrival delivers the shipment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from lotline.audit.service import record
from lotline.db import next_in_sequence
from lotline.domain.errors import N_, Conflict, InvalidInput, NotFound
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import Transaction
from lotline.domain.units import plain
from lotline.models.catalog import Partner, Product
from lotline.models.lot import Lot
from lotline.models.outbound import (
    Allocation,
    Pick,
    SalesOrder,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
    TransportLeg,
)
from lotline.models.site import Site
from lotline.outbound.allocation import AllocationStatus
from lotline.outbound.fulfilment import (
    bucket_of,
    buckets_by_id,
    lots_by_id,
    refuse_blocked,
    scope_order,
    scope_site,
    settle_statuses,
)
from lotline.outbound.orders import order_lines
from lotline.outbound.packing_list import Document, DocumentLine, render
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.stock.service import new_txn, post
from lotline.uow import UnitOfWork

MAX_LEGS = 20


@dataclass(frozen=True)
class LegInput:
    """One leg of the journey; carrier and vehicle default to the shipment's."""

    carrier_id: int | None = None
    vehicle: str | None = None
    origin: str | None = None
    destination: str | None = None
    departed_at: datetime | None = None
    arrived_at: datetime | None = None


class NothingPicked(Conflict):
    code = "shipment.nothing_picked"
    message = N_("Order {order} has no picked stock waiting to be shipped.")


class LegArrived(Conflict):
    code = "shipment.leg_arrived"
    message = N_("Leg {seq} of shipment {shipment} has arrived already.")


class ArrivalBeforeDeparture(InvalidInput):
    code = "shipment.arrival_before_departure"
    message = N_("{field} cannot be before the departure at {departed}.")


def _carrier(uow: UnitOfWork, carrier_id: int | None, field: str) -> int | None:
    if carrier_id is None:
        return None
    carrier = uow.session.get(Partner, carrier_id)
    if carrier is None or not carrier.active:
        raise NotFound(entity=N_("carrier"), key=carrier_id, field=field)
    if not carrier.is_carrier:
        raise InvalidInput(
            N_("Partner {partner} is not a carrier."),
            field=field,
            code="shipment.not_carrier",
            partner=carrier.code,
        )
    return carrier.id


def _checked_legs(
    uow: UnitOfWork, legs: list[LegInput], carrier_id: int | None, vehicle: str | None
) -> list[LegInput]:
    if len(legs) > MAX_LEGS:
        raise InvalidInput(
            N_("{field} holds at most {maximum} lines."),
            field="legs",
            code="shipment.too_many_legs",
            maximum=MAX_LEGS,
        )
    now = uow.now()
    checked = []
    for position, leg in enumerate(legs or [LegInput()]):
        departed = leg.departed_at or (now if position == 0 else None)
        if leg.arrived_at is not None and departed is not None and leg.arrived_at < departed:
            raise ArrivalBeforeDeparture(field=f"legs[{position}].arrived_at", departed=departed.isoformat())
        checked.append(
            LegInput(
                carrier_id=_carrier(uow, leg.carrier_id, f"legs[{position}].carrier_id") or carrier_id,
                vehicle=(leg.vehicle or "").strip() or vehicle,
                origin=(leg.origin or "").strip() or None,
                destination=(leg.destination or "").strip() or None,
                departed_at=departed,
                arrived_at=leg.arrived_at,
            )
        )
    return checked


def _order_locked(uow: UnitOfWork, order_id: int) -> SalesOrder:
    order = uow.session.execute(
        select(SalesOrder).where(SalesOrder.id == order_id).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(entity=N_("order"), key=order_id, field="order_id")
    return order


def _picked(uow: UnitOfWork, lines: list[SalesOrderLine]) -> list[tuple[Pick, Allocation]]:
    """The order's picks not yet shipped whose allocation still stands picked (locked)."""
    return list(
        uow.session.execute(
            select(Pick, Allocation)
            .join(Allocation, Allocation.id == Pick.allocation_id)
            .where(
                Pick.line_id.in_([line.id for line in lines]),
                Pick.shipped.is_(False),
                Allocation.status == AllocationStatus.PICKED.value,
            )
            .order_by(Pick.id)
            .with_for_update()
        )
        .tuples()
        .all()
    )


def ship(
    uow: UnitOfWork,
    *,
    order_id: int,
    carrier_id: int | None,
    vehicle: str | None,
    legs: list[LegInput],
    principal: Principal | None,
) -> Shipment:
    """Ship everything picked for the order: SHIP movements, shipment lines and transport legs."""
    order = _order_locked(uow, order_id)
    scope_order(principal, order, Permission.STOCK_MOVE)
    lines = order_lines(uow, order_id=order.id)
    picked = _picked(uow, lines)
    if not picked:
        raise NothingPicked(field="order_id", order=order.number)
    carrier = _carrier(uow, carrier_id, "carrier_id")
    vehicle = (vehicle or "").strip() or None
    journey = _checked_legs(uow, legs, carrier, vehicle)
    lots = lots_by_id(uow, [p.lot_id for p, _a in picked])
    buckets = buckets_by_id(uow, [a.on_hand_id for _p, a in picked])
    per_bucket: dict[int, list[tuple[Pick, Allocation]]] = defaultdict(list)
    for pick, allocation in picked:
        per_bucket[allocation.on_hand_id].append((pick, allocation))
    refuse_blocked(
        uow,
        Transaction.SHIP,
        [
            (lots[buckets[b].lot_id], buckets[b], [a for _p, a in group])
            for b, group in sorted(per_bucket.items())
        ],
        flag_picked=True,
    )
    now = uow.now()
    shipment = Shipment(
        number=f"SH-{next_in_sequence(uow.session, 'shipment'):06d}",
        order_id=order.id,
        site_id=order.site_id,
        customer_id=order.customer_id,
        carrier_id=carrier,
        vehicle=vehicle,
        shipped_at=now,
        shipped_by=uow.actor.name,
        delivered_at=None,
    )
    uow.session.add(shipment)
    uow.session.flush()
    txn = new_txn()
    written: list[ShipmentLine] = []
    for on_hand_id, group in sorted(per_bucket.items()):
        row = buckets[on_hand_id]
        lot, source = lots[row.lot_id], bucket_of(row)
        base_unit = uow.session.get_one(Product, lot.product_id).base_unit
        held = (row.qty_base, row.count, row.weight_kg)
        qty = sum((p.qty_base for p, _a in group), Decimal(0))
        # All of a catch-weight bucket takes its cases and kilograms along; part of one cannot say.
        quantity = Quantity(qty, held[1], held[2]) if qty == held[0] else Quantity(qty)
        movement = post(
            uow,
            kind=MovementKind.SHIP,
            lot=lot,
            quantity=quantity,
            entered_qty=qty,
            entered_unit=base_unit,
            source=source,
            txn_id=txn,
            reference=("shipment", shipment.id),
        )
        alone = len(group) == 1
        for pick, allocation in group:
            written.append(
                ShipmentLine(
                    shipment_id=shipment.id,
                    order_line_id=pick.line_id,
                    pick_id=pick.id,
                    lot_id=pick.lot_id,
                    location_id=pick.location_id,
                    sscc=pick.sscc,
                    qty_base=pick.qty_base,
                    count=quantity.count if alone else None,
                    weight_kg=quantity.weight_kg if alone else None,
                    movement_id=movement.id,
                )
            )
            pick.shipped = True
            allocation.status, allocation.updated_at = AllocationStatus.SHIPPED.value, now
    uow.session.add_all(written)
    uow.session.add_all(
        TransportLeg(
            shipment_id=shipment.id,
            seq=seq,
            carrier_id=leg.carrier_id,
            vehicle=leg.vehicle,
            origin=leg.origin,
            destination=leg.destination,
            departed_at=leg.departed_at,
            arrived_at=leg.arrived_at,
        )
        for seq, leg in enumerate(journey, start=1)
    )
    if all(leg.arrived_at is not None for leg in journey):
        shipment.delivered_at = max(leg.arrived_at for leg in journey if leg.arrived_at is not None)
    uow.session.flush()
    settle_statuses(uow, lines)
    _announce(uow, order, shipment, written, lots, txn, len(journey))
    return shipment


def _announce(
    uow: UnitOfWork,
    order: SalesOrder,
    shipment: Shipment,
    written: list[ShipmentLine],
    lots: dict[int, Lot],
    txn: str,
    legs: int,
) -> None:
    described = [
        {
            "order_line_id": line.order_line_id,
            "lot_code": lots[line.lot_id].code,
            "location_id": line.location_id,
            "sscc": line.sscc,
            "qty_base": plain(line.qty_base),
            "movement_id": line.movement_id,
        }
        for line in written
    ]
    record(
        uow,
        action="ship",
        entity_type="shipment",
        entity_id=shipment.id,
        site_id=shipment.site_id,
        changes={
            "txn_id": txn,
            "number": [None, shipment.number],
            "order": [None, order.number],
            "carrier_id": [None, shipment.carrier_id],
            "vehicle": [None, shipment.vehicle],
            "lines": [None, described],
            "legs": [None, legs],
        },
    )
    emit(
        uow,
        events.SHIPMENT_SHIPPED,
        subject_type="shipment",
        subject_id=shipment.id,
        site_id=shipment.site_id,
        payload={
            "number": shipment.number,
            "order": order.number,
            "customer_id": shipment.customer_id,
            "lines": described,
        },
    )


# --- reading shipments, closing legs ------------------------------------------------------------


def get_shipment(
    uow: UnitOfWork,
    *,
    shipment_id: int,
    principal: Principal | None,
    permission: Permission = Permission.ORDER_READ,
) -> Shipment:
    found = uow.session.get(Shipment, shipment_id)
    if found is None:
        raise NotFound(entity=N_("shipment"), key=shipment_id, field="shipment_id")
    scope_site(
        principal, found.site_id, permission, entity=N_("shipment"), key=shipment_id, field="shipment_id"
    )
    return found


def shipment_lines(uow: UnitOfWork, *, shipment_id: int) -> list[ShipmentLine]:
    return list(
        uow.session.scalars(
            select(ShipmentLine).where(ShipmentLine.shipment_id == shipment_id).order_by(ShipmentLine.id)
        )
    )


def legs_of(uow: UnitOfWork, *, shipment_id: int) -> list[TransportLeg]:
    return list(
        uow.session.scalars(
            select(TransportLeg).where(TransportLeg.shipment_id == shipment_id).order_by(TransportLeg.seq)
        )
    )


def record_arrival(
    uow: UnitOfWork,
    *,
    shipment_id: int,
    seq: int,
    arrived_at: datetime | None,
    principal: Principal | None,
) -> TransportLeg:
    """Close a leg with its arrival; the last leg's arrival delivers the shipment. Audited."""
    shipment = get_shipment(
        uow, shipment_id=shipment_id, principal=principal, permission=Permission.STOCK_MOVE
    )
    leg = uow.session.execute(
        select(TransportLeg)
        .where(TransportLeg.shipment_id == shipment.id, TransportLeg.seq == seq)
        .with_for_update()
    ).scalar_one_or_none()
    if leg is None:
        raise NotFound(entity=N_("transport leg"), key=seq, field="seq")
    if leg.arrived_at is not None:
        raise LegArrived(field="seq", seq=seq, shipment=shipment.number)
    at = arrived_at or uow.now()
    if leg.departed_at is not None and at < leg.departed_at:
        raise ArrivalBeforeDeparture(field="arrived_at", departed=leg.departed_at.isoformat())
    leg.arrived_at = at
    uow.session.flush()
    legs = legs_of(uow, shipment_id=shipment.id)
    if all(other.arrived_at is not None for other in legs):
        shipment.delivered_at = max(other.arrived_at for other in legs if other.arrived_at is not None)
    uow.session.flush()
    record(
        uow,
        action="leg_arrived",
        entity_type="shipment",
        entity_id=shipment.id,
        site_id=shipment.site_id,
        changes={
            "seq": seq,
            "arrived_at": [None, at.isoformat()],
            "delivered_at": [None, shipment.delivered_at.isoformat() if shipment.delivered_at else None],
        },
    )
    emit(
        uow,
        events.SHIPMENT_LEG_ARRIVED,
        subject_type="shipment",
        subject_id=shipment.id,
        site_id=shipment.site_id,
        payload={
            "number": shipment.number,
            "seq": seq,
            "arrived_at": at.isoformat(),
            "delivered": shipment.delivered_at is not None,
        },
    )
    return leg


# --- the packing list ---------------------------------------------------------------------------


def packing_list_pdf(uow: UnitOfWork, shipment_id: int, language: str, *, compress: bool = True) -> bytes:
    """The shipment's packing list (装箱单) as a PDF: lots, expiry dates, quantities and SSCCs."""
    shipment = uow.session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(entity=N_("shipment"), key=shipment_id, field="shipment_id")
    order = uow.session.get_one(SalesOrder, shipment.order_id)
    customer = uow.session.get_one(Partner, shipment.customer_id)
    carrier = uow.session.get(Partner, shipment.carrier_id) if shipment.carrier_id else None
    rows = uow.session.execute(
        select(ShipmentLine, Lot, Product, SalesOrderLine.line_no)
        .join(Lot, Lot.id == ShipmentLine.lot_id)
        .join(Product, Product.id == Lot.product_id)
        .join(SalesOrderLine, SalesOrderLine.id == ShipmentLine.order_line_id)
        .where(ShipmentLine.shipment_id == shipment.id)
        .order_by(SalesOrderLine.line_no, ShipmentLine.id)
    ).all()
    chinese = language.lower().startswith("zh")
    document = Document(
        number=shipment.number,
        order=order.number,
        customer_ref=order.customer_ref,
        customer=customer.name_zh if chinese else customer.name_en,
        carrier=(carrier.name_zh if chinese else carrier.name_en) if carrier else None,
        vehicle=shipment.vehicle,
        shipped_at=shipment.shipped_at,
        zone=uow.session.get_one(Site, shipment.site_id).time_zone,
        lines=[
            DocumentLine(
                line_no=line_no,
                product_code=product.code,
                product_name=product.name_zh if chinese else product.name_en,
                lot_code=lot.code,
                expiry_date=lot.expiry_date,
                sscc=line.sscc,
                quantity=line.qty_base,
                unit=product.base_unit,
            )
            for line, lot, product, line_no in rows
        ],
        legs=[
            (leg.seq, leg.origin, leg.destination, leg.vehicle, leg.departed_at, leg.arrived_at)
            for leg in legs_of(uow, shipment_id=shipment.id)
        ],
    )
    return render(document, language, compress=compress)


__all__ = [
    "ArrivalBeforeDeparture",
    "LegArrived",
    "LegInput",
    "NothingPicked",
    "get_shipment",
    "legs_of",
    "packing_list_pdf",
    "record_arrival",
    "ship",
    "shipment_lines",
]
