"""What a recall case reaches, read for its page, notices and report: the lots in scope, every
shipment line of them with what came back, each customer with contacts, quantities per product,
recovery and effectiveness, stock in scope now, and the holds the recall placed. A fixed number of
set-based queries over the case's scope (``recall_lot``), whatever its size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select

from lotline.domain.recall import (
    CheckLevel,
    DeadlineState,
    check_level,
    deadline_state,
    effectiveness,
    overall,
)
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import CustomerReturn, Shipment, ShipmentLine
from lotline.models.recall import RecallCase, RecallDestruction, RecallHold, RecallLot, RecallNotice
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class ScopeLot:
    lot_id: int
    code: str
    product_code: str
    product_name_zh: str
    product_name_en: str
    base_unit: str
    quality_status: str
    expiry_date: date
    is_trigger: bool
    on_hand_base: Decimal


@dataclass(frozen=True)
class AffectedLine:
    """One shipment line of a lot in scope: who got how much, and what came back of it."""

    shipment_line_id: int
    shipment_number: str
    shipped_at: datetime
    customer_id: int
    lot_id: int
    lot_code: str
    product_code: str
    base_unit: str
    qty_base: Decimal
    returned_base: Decimal


@dataclass
class ProductTotal:
    product_code: str
    product_name_zh: str
    product_name_en: str
    base_unit: str
    shipped: Decimal = Decimal(0)
    returned: Decimal = Decimal(0)
    destroyed: Decimal = Decimal(0)
    lots: set[str] = field(default_factory=set)

    @property
    def recovered(self) -> Decimal:
        return self.returned + self.destroyed

    @property
    def effectiveness(self) -> Decimal | None:
        return effectiveness(self.recovered, self.shipped)


@dataclass
class Customer:
    customer_id: int
    code: str
    name_zh: str
    name_en: str
    address: dict[str, Any]
    contacts: list[dict[str, Any]]
    products: dict[str, ProductTotal] = field(default_factory=dict)
    shipments: set[str] = field(default_factory=set)
    notified_at: datetime | None = None
    notified_by: str | None = None
    channel: str | None = None

    @property
    def unit(self) -> str | None:
        """The one base unit of everything this customer got; None when products differ in it."""
        return _one_unit(p.base_unit for p in self.products.values())

    @property
    def shipped(self) -> Decimal | None:
        """Total shipped, where one unit measures it all (kilograms and cases are not added)."""
        if self.unit is None:
            return None
        return sum((p.shipped for p in self.products.values()), Decimal(0))

    @property
    def recovered(self) -> Decimal | None:
        if self.unit is None:
            return None
        return sum((min(p.recovered, p.shipped) for p in self.products.values()), Decimal(0))

    @property
    def effectiveness(self) -> Decimal | None:
        """Recovered / shipped in the one unit; across units, the mean of the products' shares."""
        shipped, recovered = self.shipped, self.recovered
        if shipped is not None and recovered is not None:
            return effectiveness(recovered, shipped)
        return _mean(p.effectiveness for p in self.products.values())


def _one_unit(units: Iterable[str]) -> str | None:
    found = set(units)
    return found.pop() if len(found) == 1 else None


def _mean(shares: Iterable[Decimal | None]) -> Decimal | None:
    known = [share for share in shares if share is not None]
    if not known:
        return None
    return (sum(known, Decimal(0)) / len(known)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class StockRow:
    lot_id: int
    lot_code: str
    location_code: str
    site_code: str
    stock_status: str
    qty_base: Decimal
    held: bool  # under an active hold of this case
    base_unit: str = ""


@dataclass(frozen=True)
class PlacedHold:
    hold_id: int
    lot_code: str
    placed_at: datetime
    placed_by: str
    lifted_at: datetime | None


@dataclass
class CaseView:
    case: RecallCase
    site_code: str
    site_zone: str
    lots: list[ScopeLot]
    lines: list[AffectedLine]
    customers: list[Customer]
    stock: list[StockRow]
    holds: list[PlacedHold]
    destroyed_rows: int
    start_state: DeadlineState
    complete_state: DeadlineState

    @property
    def unit(self) -> str | None:
        """The one base unit of everything shipped; None when products differ in it."""
        return _one_unit(line.base_unit for line in self.lines)

    @property
    def shipped(self) -> Decimal | None:
        if self.unit is None:
            return None
        return sum((c.shipped or Decimal(0) for c in self.customers), Decimal(0))

    @property
    def recovered(self) -> Decimal | None:
        if self.unit is None:
            return None
        return overall((c.recovered or Decimal(0), c.shipped or Decimal(0)) for c in self.customers)[0]

    @property
    def effectiveness(self) -> Decimal | None:
        """Recovered / shipped in the one unit; across units, the mean over customers and products."""
        shipped, recovered = self.shipped, self.recovered
        if shipped is not None and recovered is not None:
            return effectiveness(recovered, shipped)
        return _mean(p.effectiveness for c in self.customers for p in c.products.values())

    @property
    def notified(self) -> int:
        return sum(1 for c in self.customers if c.notified_at is not None)

    @property
    def check_level(self) -> CheckLevel | None:
        return check_level(self.notified, len(self.customers))

    @property
    def on_hand_base(self) -> Decimal:
        return sum((row.qty_base for row in self.stock), Decimal(0))

    @property
    def unheld_stock(self) -> list[StockRow]:
        return [row for row in self.stock if not row.held]


def _in_scope(case_id: int) -> Any:
    return select(RecallLot.lot_id).where(RecallLot.case_id == case_id)


def case_view(uow: UnitOfWork, case: RecallCase, *, now: datetime) -> CaseView:
    run = uow.session.execute
    scope = _in_scope(case.id)
    on_hand = (
        select(StockOnHand.lot_id, func.sum(StockOnHand.qty_base).label("qty"))
        .where(StockOnHand.lot_id.in_(scope))
        .group_by(StockOnHand.lot_id)
        .subquery()
    )
    lots = [
        ScopeLot(lot_id, code, product, zh, en, unit, status, expiry, trigger, Decimal(qty or 0))
        for lot_id, code, product, zh, en, unit, status, expiry, trigger, qty in run(
            select(
                Lot.id,
                Lot.code,
                Product.code,
                Product.name_zh,
                Product.name_en,
                Product.base_unit,
                Lot.quality_status,
                Lot.expiry_date,
                RecallLot.is_trigger,
                on_hand.c.qty,
            )
            .join(RecallLot, and_(RecallLot.lot_id == Lot.id, RecallLot.case_id == case.id))
            .join(Product, Product.id == Lot.product_id)
            .outerjoin(on_hand, on_hand.c.lot_id == Lot.id)
            .order_by(RecallLot.is_trigger.desc(), Product.code, Lot.code)
        ).tuples()
    ]
    returned = (
        select(CustomerReturn.shipment_line_id, func.sum(CustomerReturn.qty_base).label("qty"))
        .where(CustomerReturn.lot_id.in_(scope))
        .group_by(CustomerReturn.shipment_line_id)
        .subquery()
    )
    rows = run(
        select(
            ShipmentLine.id,
            Shipment.number,
            Shipment.shipped_at,
            Shipment.customer_id,
            Lot.id,
            Lot.code,
            Product.code,
            Product.base_unit,
            ShipmentLine.qty_base,
            returned.c.qty,
            Product.name_zh,
            Product.name_en,
        )
        .where(ShipmentLine.lot_id.in_(scope))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Lot, Lot.id == ShipmentLine.lot_id)
        .join(Product, Product.id == Lot.product_id)
        .outerjoin(returned, returned.c.shipment_line_id == ShipmentLine.id)
        .order_by(Shipment.shipped_at, Shipment.number, ShipmentLine.id)
    ).tuples()
    lines: list[AffectedLine] = []
    names: dict[str, tuple[str, str]] = {}
    for line_id, number, at, customer, lot_id, lot_code, product, unit, qty, back, name_zh, name_en in rows:
        lines.append(
            AffectedLine(
                line_id, number, at, customer, lot_id, lot_code, product, unit, qty, Decimal(back or 0)
            )
        )
        names[product] = (name_zh, name_en)
    customer_ids = sorted({line.customer_id for line in lines})
    customers: dict[int, Customer] = {
        pid: Customer(pid, code, zh, en, dict(address or {}), list(contacts or []))
        for pid, code, zh, en, address, contacts in run(
            select(
                Partner.id, Partner.code, Partner.name_zh, Partner.name_en, Partner.address, Partner.contacts
            )
            .where(Partner.id.in_(customer_ids))
            .order_by(Partner.code)
        ).tuples()
    }
    for line in lines:
        customer = customers[line.customer_id]
        names_of = names[line.product_code]
        total = customer.products.setdefault(
            line.product_code, ProductTotal(line.product_code, names_of[0], names_of[1], line.base_unit)
        )
        total.shipped += line.qty_base
        total.returned += line.returned_base
        total.lots.add(line.lot_code)
        customer.shipments.add(line.shipment_number)
    destroyed = run(
        select(
            RecallDestruction.customer_id, Product.code, func.sum(RecallDestruction.qty_base), func.count()
        )
        .where(RecallDestruction.case_id == case.id)
        .join(Lot, Lot.id == RecallDestruction.lot_id)
        .join(Product, Product.id == Lot.product_id)
        .group_by(RecallDestruction.customer_id, Product.code)
    ).tuples()
    destroyed_rows = 0
    for customer_id, product_code, qty, count in destroyed:
        destroyed_rows += int(count)
        customer_total = customers.get(customer_id)
        if customer_total is not None and product_code in customer_total.products:
            customer_total.products[product_code].destroyed += Decimal(qty)
    for customer_id, at, by, channel in run(
        select(
            RecallNotice.customer_id, RecallNotice.notified_at, RecallNotice.notified_by, RecallNotice.channel
        ).where(RecallNotice.case_id == case.id)
    ).tuples():
        if customer_id in customers:
            customers[customer_id].notified_at = at
            customers[customer_id].notified_by = by
            customers[customer_id].channel = channel
    case_holds = select(RecallHold.hold_id).where(RecallHold.case_id == case.id)
    held_lots = select(Hold.lot_id).where(Hold.id.in_(case_holds), Hold.lifted_at.is_(None))
    stock = [
        StockRow(lot_id, code, place, site, status, qty, held=bool(held), base_unit=unit)
        for lot_id, code, place, site, status, qty, held, unit in run(
            select(
                Lot.id,
                Lot.code,
                Location.code,
                Site.code,
                StockOnHand.stock_status,
                StockOnHand.qty_base,
                StockOnHand.lot_id.in_(held_lots),
                Product.base_unit,
            )
            .where(StockOnHand.lot_id.in_(scope), StockOnHand.qty_base > 0)
            .join(Lot, Lot.id == StockOnHand.lot_id)
            .join(Product, Product.id == Lot.product_id)
            .join(Location, Location.id == StockOnHand.location_id)
            .join(Site, Site.id == Location.site_id)
            .order_by(Lot.code, Location.code, StockOnHand.stock_status)
        ).tuples()
    ]
    holds = [
        PlacedHold(*row)
        for row in run(
            select(Hold.id, Lot.code, Hold.placed_at, Hold.placed_by, Hold.lifted_at)
            .where(Hold.id.in_(case_holds))
            .join(Lot, Lot.id == Hold.lot_id)
            .order_by(Lot.code)
        ).tuples()
    ]
    site = uow.session.get_one(Site, case.site_id)
    begun = case.discovered_at
    return CaseView(
        case=case,
        site_code=site.code,
        site_zone=site.time_zone,
        lots=lots,
        lines=lines,
        customers=list(customers.values()),
        stock=stock,
        holds=holds,
        destroyed_rows=destroyed_rows,
        start_state=deadline_state(case.start_due_at, done_at=case.started_at, now=now, since=begun),
        complete_state=deadline_state(case.complete_due_at, done_at=case.closed_at, now=now, since=begun),
    )


@dataclass(frozen=True)
class BoardRow:
    case: RecallCase
    start_state: DeadlineState
    complete_state: DeadlineState


def board(
    uow: UnitOfWork, *, now: datetime, include_closed: bool = False, site_ids: set[int] | None = None
) -> list[BoardRow]:
    """Drafts by their start deadline and active recalls by their completion deadline, first; then
    drills and (on request) closed cases, newest first. ``site_ids``: only cases of those sites."""
    query = select(RecallCase).order_by(RecallCase.opened_at.desc(), RecallCase.id.desc())
    if not include_closed:
        query = query.where(RecallCase.status.in_(("draft", "active", "completed")))
    if site_ids is not None:
        query = query.where(RecallCase.site_id.in_(sorted(site_ids)))
    running = list(uow.session.scalars(query.where(RecallCase.status.in_(("draft", "active")))))
    done = list(uow.session.scalars(query.where(RecallCase.status.not_in(("draft", "active"))).limit(200)))
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def due(case: RecallCase) -> datetime:
        deadline = case.start_due_at if case.status == "draft" else case.complete_due_at
        return deadline or far

    return [
        BoardRow(
            case,
            deadline_state(case.start_due_at, done_at=case.started_at, now=now, since=case.discovered_at),
            deadline_state(case.complete_due_at, done_at=case.closed_at, now=now, since=case.discovered_at),
        )
        for case in sorted(running, key=due) + done
    ]
