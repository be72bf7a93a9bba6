"""One view of a lot (一体化视图): everything bound to it, in a fixed number of queries.

The lot page's overview (product, site, holds, signatures, stock, audit history) plus the
usage decisions and inspections with the signatures behind them, the transport legs of the
shipments that carried the lot, a cold-chain section (empty until readings are bound to lots),
the trace graph up and down, and one timeline merging what happened to the lot. Each section is
one set-based query on the lot; the count does not grow with holds, movements or shipments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from lotline.db import is_one_of
from lotline.domain.errors import N_, LotlineError
from lotline.domain.expiry import local_today
from lotline.domain.ledger import MovementKind
from lotline.domain.permissions import Permission, Principal
from lotline.domain.units import plain
from lotline.lots.overview import LotOverview, lot_overview
from lotline.lots.service import visible_lot
from lotline.models.catalog import Partner
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import CustomerReturn, Shipment, ShipmentLine, TransportLeg
from lotline.models.production import Transformation
from lotline.models.quality import InspectionRecord, InspectionResult, QualityDecision
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement
from lotline.trace.graph_data import LotGraph, lot_graph
from lotline.uow import UnitOfWork

TIMELINE_LIMIT = 200  # rows read per source; a lot's whole ledger is on the stock pages
# Movements another source tells better (with the supplier or customer): receipts, shipments,
# returns. Transformations are told from their own movements, one event per transformation.
TOLD_ELSEWHERE = frozenset({MovementKind.RECEIPT, MovementKind.SHIP, MovementKind.CUSTOMER_RETURN})
COLD_CHAIN_NOTE = N_("Cold-chain readings are not bound to lots yet: this section fills once sensors are.")


@dataclass(frozen=True)
class HoldEntry:
    hold: Hold
    lift_signature: Signature | None


@dataclass(frozen=True)
class DecisionEntry:
    decision: QualityDecision
    signature: Signature | None


@dataclass(frozen=True)
class InspectionEntry:
    record: InspectionRecord
    results: list[InspectionResult]
    cited_by: list[DecisionEntry]  # the signed decisions that rest on this inspection


@dataclass(frozen=True)
class StockPlace:
    location_id: int
    location_code: str
    stock_status: str
    qty_base: Decimal
    ssccs: int


@dataclass(frozen=True)
class LegEntry:
    shipment_id: int
    shipment_number: str
    customer_code: str
    lot_qty_base: Decimal  # how much of this lot the shipment carried
    seq: int
    carrier_id: int | None
    carrier_code: str | None
    vehicle: str | None
    origin: str | None
    destination: str | None
    departed_at: datetime | None
    arrived_at: datetime | None


@dataclass(frozen=True)
class ColdChain:
    """Temperature history of the lot: present and empty until readings are bound to lots."""

    readings: tuple[Any, ...] = ()
    recorded: bool = False
    note: str = COLD_CHAIN_NOTE


@dataclass(frozen=True)
class TraceSection:
    graph: LotGraph

    @property
    def upstream_lots(self) -> int:
        return len(self.graph.upstream)

    @property
    def downstream_lots(self) -> int:
        return len(self.graph.downstream)

    @property
    def edges(self) -> int:
        return len(self.graph.edges)

    def count(self, flag: str) -> int:
        return sum(bool(getattr(lot, flag)) for lot in self.graph.lots)


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened to the lot. ``detail`` is a code the kind is qualified by (the
    hold type, the movement kind, the decision, the transformation kind, passed or failed);
    ``summary`` holds only numbers, codes and what people typed, so it reads in any language."""

    occurred_at: datetime
    kind: str
    actor: str
    summary: str
    detail: str | None = None
    reference_type: str | None = None
    reference_id: str | None = None


@dataclass(frozen=True)
class LotView:
    overview: LotOverview
    holds: list[HoldEntry]
    decisions: list[DecisionEntry] | None  # None: the reader may not see quality records
    inspections: list[InspectionEntry] | None
    stock: list[StockPlace]
    transport: list[LegEntry]
    trace: TraceSection | None  # None: the reader may not trace the lot
    timeline: list[TimelineEvent]
    cold_chain: ColdChain = field(default_factory=ColdChain)


def may_read(uow: UnitOfWork, principal: Principal, lot: Lot, permission: Permission) -> bool:
    """Whether the reader may see the part of the lot ``permission`` guards (as ``visible_lot``)."""
    try:
        visible_lot(uow, principal, lot.id, permission)
    except LotlineError:
        return False
    return True


def _qty(value: Decimal | None, unit: str) -> str:
    return f"{plain(value)} {unit}" if value is not None else ""


def _stock(overview: LotOverview) -> list[StockPlace]:
    totals: dict[tuple[int, str, str], list[Any]] = {}
    for line in overview.stock:
        key = (line.location.id, line.location_code, line.stock_status)
        entry = totals.setdefault(key, [Decimal(0), set()])
        entry[0] += line.qty_base
        if line.sscc:
            entry[1].add(line.sscc)
    return [StockPlace(k[0], k[1], k[2], qty, len(codes)) for k, (qty, codes) in sorted(totals.items())]


def _quality(
    uow: UnitOfWork, lot: Lot, signed: dict[int, Signature]
) -> tuple[list[DecisionEntry], list[InspectionEntry]]:
    session = uow.session
    decisions = [
        DecisionEntry(d, signed.get(d.signature_id) if d.signature_id else None)
        for d in session.scalars(
            select(QualityDecision).where(QualityDecision.lot_id == lot.id).order_by(QualityDecision.id)
        )
    ]
    records = list(
        session.scalars(
            select(InspectionRecord).where(InspectionRecord.lot_id == lot.id).order_by(InspectionRecord.id)
        )
    )
    results: dict[int, list[InspectionResult]] = defaultdict(list)
    if records:
        for result in session.scalars(
            select(InspectionResult)
            .where(InspectionResult.record_id.in_([r.id for r in records]))
            .order_by(InspectionResult.id)
        ):
            results[result.record_id].append(result)
    citing: dict[int, list[DecisionEntry]] = defaultdict(list)
    for entry in decisions:
        for cited in entry.decision.inspection_ids or []:
            citing[int(cited)].append(entry)
    inspections = [InspectionEntry(r, results[r.id], citing[r.id]) for r in records]
    return decisions, inspections


def _transport(uow: UnitOfWork, lot: Lot, base_unit: str) -> tuple[list[LegEntry], list[TimelineEvent]]:
    """The legs of every shipment that carried the lot, and the shipments as timeline events."""
    session = uow.session
    customer = aliased(Partner)
    shipped = session.execute(
        select(
            Shipment.id,
            Shipment.number,
            Shipment.shipped_at,
            Shipment.shipped_by,
            customer.code,
            func.sum(ShipmentLine.qty_base),
        )
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(customer, customer.id == Shipment.customer_id)
        .where(ShipmentLine.lot_id == lot.id)
        .group_by(Shipment.id, Shipment.number, Shipment.shipped_at, Shipment.shipped_by, customer.code)
        .order_by(Shipment.shipped_at, Shipment.id)
        .limit(TIMELINE_LIMIT)
    ).tuples()
    shipments = {row[0]: row for row in shipped}
    events = [
        TimelineEvent(
            at, "shipment", who, f"{number} · {code} · {_qty(qty, base_unit)}", None, "shipment", str(i)
        )
        for i, number, at, who, code, qty in shipments.values()
    ]
    if not shipments:
        return [], events
    carrier = aliased(Partner)
    legs = session.execute(
        select(TransportLeg, carrier.code)
        .outerjoin(carrier, carrier.id == TransportLeg.carrier_id)
        .where(is_one_of(TransportLeg.shipment_id, "shipments"))
        .order_by(TransportLeg.shipment_id, TransportLeg.seq),
        {"shipments": sorted(shipments)},
    ).tuples()
    entries = [
        LegEntry(
            shipment_id=leg.shipment_id,
            shipment_number=shipments[leg.shipment_id][1],
            customer_code=shipments[leg.shipment_id][4],
            lot_qty_base=shipments[leg.shipment_id][5],
            seq=leg.seq,
            carrier_id=leg.carrier_id,
            carrier_code=carrier_code,
            vehicle=leg.vehicle,
            origin=leg.origin,
            destination=leg.destination,
            departed_at=leg.departed_at,
            arrived_at=leg.arrived_at,
        )
        for leg, carrier_code in legs
    ]
    return entries, events


def _inbound(uow: UnitOfWork, lot: Lot) -> list[TimelineEvent]:
    """Receipts of the lot and customer returns of it."""
    session = uow.session
    received = session.execute(
        select(
            Receipt.id,
            Receipt.number,
            Receipt.received_at,
            Receipt.received_by,
            Partner.code,
            ReceiptLine.entered_qty,
            ReceiptLine.entered_unit,
        )
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .join(Partner, Partner.id == Receipt.supplier_id)
        .where(ReceiptLine.lot_id == lot.id)
        .order_by(Receipt.received_at, ReceiptLine.id)
        .limit(TIMELINE_LIMIT)
    ).tuples()
    events = [
        TimelineEvent(at, "receipt", who, f"{number} · {code} · {_qty(qty, unit)}", None, "receipt", str(i))
        for i, number, at, who, code, qty, unit in received
    ]
    returned = session.execute(
        select(
            CustomerReturn.id,
            CustomerReturn.received_at,
            CustomerReturn.received_by,
            Shipment.number,
            Partner.code,
            CustomerReturn.entered_qty,
            CustomerReturn.entered_unit,
            CustomerReturn.reason,
        )
        .join(ShipmentLine, ShipmentLine.id == CustomerReturn.shipment_line_id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Partner, Partner.id == Shipment.customer_id)
        .where(CustomerReturn.lot_id == lot.id)
        .order_by(CustomerReturn.received_at, CustomerReturn.id)
        .limit(TIMELINE_LIMIT)
    ).tuples()
    events.extend(
        TimelineEvent(
            at,
            "customer_return",
            who,
            f"{number} · {code} · {_qty(qty, unit)} · {why}",
            None,
            "customer_return",
            str(i),
        )
        for i, at, who, number, code, qty, unit, why in returned
    )
    return events


def _movements(uow: UnitOfWork, lot: Lot, base_unit: str) -> list[TimelineEvent]:
    """Movements summarised per transaction and kind; transformations from their movements."""
    m = StockMovement
    groups = uow.session.execute(
        select(
            m.kind,
            m.txn_id,
            m.reference_type,
            m.reference_id,
            func.min(m.occurred_at),
            func.min(m.actor_name),
            func.count(),
            func.sum(m.base_qty),
        )
        .where(m.lot_id == lot.id)
        .where(
            or_(
                m.kind != MovementKind.STATUS.value, func.coalesce(m.reference_type, "") != "quality_decision"
            )
        )
        .where(m.kind.not_in(sorted(k.value for k in TOLD_ELSEWHERE)))
        .group_by(m.kind, m.txn_id, m.reference_type, m.reference_id)
        .order_by(func.min(m.occurred_at).desc(), m.txn_id)
        .limit(TIMELINE_LIMIT)
    ).tuples()
    events: list[TimelineEvent] = []
    made: dict[tuple[int, str], Decimal] = defaultdict(Decimal)  # (transformation, role) → quantity
    for kind, _txn, ref_type, ref_id, at, who, rows, qty in groups:
        if ref_type == "transformation" and ref_id and ref_id.isdigit():
            made[int(ref_id), "produced_by" if kind == MovementKind.PRODUCE else "consumed_in"] += qty
            continue
        summary = _qty(qty, base_unit) + (f" ({rows})" if rows > 1 else "")
        events.append(TimelineEvent(at, "movement", who, summary, kind, ref_type, ref_id))
    if made:
        transformations = uow.session.scalars(
            select(Transformation).where(is_one_of(Transformation.id, "transformations")),
            {"transformations": sorted({t for t, _role in made})},
        )
        for t in transformations:
            for role in ("produced_by", "consumed_in"):
                if (t.id, role) in made:
                    summary = f"{t.number} · {_qty(made[t.id, role], base_unit)}"
                    ref = ("transformation", str(t.id))
                    events.append(TimelineEvent(t.occurred_at, role, t.actor_name, summary, t.kind, *ref))
    return events


def _quality_events(
    decisions: list[DecisionEntry], inspections: list[InspectionEntry], base_unit: str
) -> list[TimelineEvent]:
    events = [
        TimelineEvent(
            r.record.recorded_at,
            "inspection",
            r.record.recorded_by,
            " · ".join(p for p in (f"#{r.record.id}", r.record.source, r.record.external_ref or "") if p),
            "passed" if r.record.passed else "failed",
            "inspection",
            str(r.record.id),
        )
        for r in inspections
    ]
    for entry in decisions:
        d = entry.decision
        scope = _qty(d.base_qty, base_unit)
        summary = " · ".join(p for p in (scope, d.sscc or "", d.reason) if p)
        who = entry.signature.printed_name if entry.signature else d.decided_by
        events.append(
            TimelineEvent(d.decided_at, "decision", who, summary, d.decision, "quality_decision", str(d.id))
        )
    return events


def _hold_events(overview: LotOverview) -> list[TimelineEvent]:
    events = []
    for h in overview.holds:
        ref = ("hold", str(h.id))
        events.append(TimelineEvent(h.placed_at, "hold_placed", h.placed_by, h.reason, h.hold_type, *ref))
        if h.lifted_at is not None:
            lifted = TimelineEvent(
                h.lifted_at, "hold_lifted", h.lifted_by or "", h.lift_reason or "", h.hold_type, *ref
            )
            events.append(lifted)
    return events


def _audit_events(overview: LotOverview) -> list[TimelineEvent]:
    """The lot's registration and re-datings, from its audit trail."""
    lot = overview.lot
    created = [e for e in overview.history if e.entity_type == "lot" and e.action == "create"]
    who = created[-1].actor_name if created else ""
    events = [
        TimelineEvent(
            lot.created_at, "created", who, f"{lot.code} · {overview.product.code}", None, "lot", str(lot.id)
        )
    ]
    events.extend(
        TimelineEvent(e.occurred_at, "redated", e.actor_name, e.reason or "", None, "lot", str(lot.id))
        for e in overview.history
        if e.entity_type == "lot" and e.action == "redate"
    )
    return events


# The kinds of timeline events; events at the same instant come in this order.
KINDS = (
    "created",
    "receipt",
    "produced_by",
    "movement",
    "inspection",
    "decision",
    "hold_placed",
    "hold_lifted",
    "redated",
    "consumed_in",
    "shipment",
    "customer_return",
)
ORDER = {kind: i for i, kind in enumerate(KINDS)}


def lot_view(
    uow: UnitOfWork, *, lot: Lot, now: datetime, quality: bool = True, trace: bool = True
) -> LotView:
    """Everything bound to ``lot``; ``quality`` and ``trace`` say whether the reader may see
    the inspections and decisions, and the trace graph (left out, they are None)."""
    overview = lot_overview(uow, lot=lot, now=now)
    signed = {s.id: s for s in overview.signatures}
    holds = [
        HoldEntry(h, signed.get(h.lift_signature_id) if h.lift_signature_id else None) for h in overview.holds
    ]
    decisions, inspections = _quality(uow, lot, signed) if quality else (None, None)
    base_unit = overview.product.base_unit
    transport, shipped = _transport(uow, lot, base_unit)
    timeline = [
        *_audit_events(overview),
        *_inbound(uow, lot),
        *_movements(uow, lot, base_unit),
        *_hold_events(overview),
        *shipped,
        *_quality_events(decisions or [], inspections or [], base_unit),
    ]
    timeline.sort(key=lambda e: (e.occurred_at, ORDER.get(e.kind, 99), e.reference_id or ""))
    graph = None
    if trace:
        today = local_today(now, overview.site.time_zone)
        graph = TraceSection(lot_graph(uow, lot_id=lot.id, today=today))
    return LotView(
        overview=overview,
        holds=holds,
        decisions=decisions,
        inspections=inspections,
        stock=_stock(overview),
        transport=transport,
        trace=graph,
        timeline=timeline,
    )


__all__ = [
    "KINDS",
    "ColdChain",
    "DecisionEntry",
    "HoldEntry",
    "InspectionEntry",
    "LegEntry",
    "LotView",
    "StockPlace",
    "TimelineEvent",
    "TraceSection",
    "lot_view",
    "may_read",
]
