"""What the picking, shipping and return tests share: the allocated scenario order, signing grants,
pallets with SSCCs, the rows a refusal must not change, and the ledger's invariants."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.domain.gs1 import gtin_check_digit
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.catalog import Location
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, CustomerReturn, Pick, SalesOrderLine, Shipment, ShipmentLine
from lotline.models.outbox import OutboxEvent
from lotline.models.stock import StockMovement, StockOnHand
from lotline.outbound import allocation, orders
from lotline.outbound.allocation import HOLDING
from lotline.places import service as places
from lotline.signatures import service as signatures
from lotline.stock import check as ledger_check
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD
from tests.conftest import FakeClock
from tests.outbound_fixtures import SHIP_DATE, Shelf


def sscc(serial: int) -> str:
    body = f"0306980400{serial:07d}"
    return body + str(gtin_check_digit(body))


def order_for(db: Database, clock: FakeClock, shelf: Shelf, qty: str = "60", *, allocate: bool = True) -> int:
    """An order of MILK shipped on the scenario's ship date (FEFO gives E 30 then F 30); its line id."""
    with db.transaction(clock=clock) as uow:
        order = orders.create_order(
            uow,
            order=orders.OrderInput(
                customer_id=shelf.customer,
                site_id=shelf.site,
                ship_date=SHIP_DATE,
                lines=[orders.LineInput(product_id=shelf.product, quantity=Decimal(qty), unit="EA")],
            ),
        )
        if allocate:
            allocation.allocate_order(uow, order_id=order.id)
        return uow.session.scalars(select(SalesOrderLine.id).where(SalesOrderLine.order_id == order.id)).one()


def order_of_line(db: Database, line_id: int) -> int:
    with db.transaction(read_only=True) as uow:
        return uow.session.get_one(SalesOrderLine, line_id).order_id


def palletise(db: Database, clock: FakeClock, shelf: Shelf, letter: str, serial: int) -> str:
    """Put all of a lot's available stock in the bin on a pallet with an SSCC; the SSCC."""
    code = sscc(serial)
    with db.transaction(clock=clock) as uow:
        lot = uow.session.get_one(Lot, shelf.lots[letter])
        held = uow.session.scalars(
            select(StockOnHand.qty_base).where(
                StockOnHand.lot_id == lot.id,
                StockOnHand.location_id == shelf.bin,
                StockOnHand.stock_status == StockStatus.AVAILABLE.value,
                StockOnHand.sscc == "",
            )
        ).one()
        stock.post(
            uow,
            kind=MovementKind.MOVE,
            lot=lot,
            quantity=Quantity(held),
            entered_qty=held,
            entered_unit="EA",
            source=Bucket(shelf.bin, StockStatus.AVAILABLE, ""),
            target=Bucket(shelf.bin, StockStatus.AVAILABLE, code),
        )
    return code


def carrier(db: Database, clock: FakeClock) -> int:
    with db.transaction(clock=clock) as uow:
        return places.create_partner(
            uow, code="TRUCKS", name_zh="顺路物流", name_en="Trucks Ltd", is_carrier=True
        ).id


def qa_bin(db: Database, clock: FakeClock, shelf: Shelf) -> int:
    """A QA bin for returns, in the same warehouse as the shelf's bin."""
    with db.transaction(clock=clock) as uow:
        parent = uow.session.get_one(Location, shelf.bin).parent_id
        return places.create_location(
            uow,
            site_id=shelf.site,
            code="QA-R",
            name_zh="退货待检",
            name_en="Returns QA",
            kind="BIN",
            parent_id=parent,
            is_qa_area=True,
        ).id


def principal(db: Database, who: str = "admin") -> Principal:
    with db.transaction(read_only=True) as uow:
        return auth.principal_for(auth.get_user_by_name(uow, username=who, field="user"))


def override_grant(db: Database, clock: FakeClock, line_id: int, who: str = "admin") -> str:
    """A one-use grant to sign a FEFO deviation on the order line (meaning override)."""
    with db.transaction(clock=clock) as uow:
        secret, _ = signatures.authorize_signing(
            uow,
            principal=principal(db, who),
            web_session=None,
            username=who,
            password=PASSWORD,
            meaning=Meaning.OVERRIDE,
            record_type="sales_order_line",
            record_id=str(line_id),
            client_ip=None,
        )
        return secret


MODELS = (
    StockMovement,
    StockOnHand,
    Allocation,
    Pick,
    Shipment,
    ShipmentLine,
    CustomerReturn,
    AuditRecord,
    OutboxEvent,
)


def rows(db: Database) -> dict[str, int]:
    """How many rows each table a pick, shipment or return writes holds: a refusal changes none."""
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(
                uow.session.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in MODELS
        }


def allocation_states(db: Database) -> list[tuple[int, int, str, Decimal]]:
    with db.transaction(read_only=True) as uow:
        return [
            (a.line_id, a.lot_id, a.status, a.qty_base)
            for a in uow.session.scalars(select(Allocation).order_by(Allocation.id))
        ]


def reserved(db: Database) -> dict[int, Decimal]:
    """Each lot's reserved quantity (qty_allocated summed over its buckets), where any."""
    with db.transaction(read_only=True) as uow:
        found = uow.session.execute(
            select(StockOnHand.lot_id, func.sum(StockOnHand.qty_allocated)).group_by(StockOnHand.lot_id)
        )
        return {lot_id: total for lot_id, total in found if total}


def on_hand(db: Database, lot_id: int) -> dict[tuple[int, str, str], Decimal]:
    with db.transaction(read_only=True) as uow:
        found = uow.session.execute(
            select(
                StockOnHand.location_id, StockOnHand.stock_status, StockOnHand.sscc, StockOnHand.qty_base
            ).where(StockOnHand.lot_id == lot_id, StockOnHand.qty_base > 0)
        )
        return {(location, status, code): qty for location, status, code, qty in found}


def invariants_hold(db: Database) -> None:
    """Σ reserved ≤ on hand everywhere, each bucket's reservation is its holding allocations' sum,
    the projection matches the ledger and every lot's mass balance closes."""
    with db.transaction(read_only=True) as uow:
        buckets = uow.session.execute(
            select(StockOnHand.id, StockOnHand.qty_base, StockOnHand.qty_allocated)
        ).all()
        assert all(Decimal(0) <= allocated <= qty for _id, qty, allocated in buckets)
        held = dict(
            uow.session.execute(
                select(Allocation.on_hand_id, func.sum(Allocation.qty_base))
                .where(Allocation.status.in_(HOLDING))
                .group_by(Allocation.on_hand_id)
            )
            .tuples()
            .all()
        )
        assert {i: a for i, _q, a in buckets if a} == {i: q for i, q in held.items() if q}
        assert ledger_check.differences(uow) == []
        assert all(balance.closes for balance in ledger_check.mass_balances(uow).values())


def expired_day() -> date:
    return date(2026, 3, 21)  # E expires 03-20 (its last day of use)


def block(db: Database, clock: FakeClock, shelf: Shelf, how: str) -> None:
    """Make the allocated lot E blocked in one of the five ways the matrix knows."""
    e = shelf.lots["E"]
    with db.transaction(clock=clock) as uow:
        if how in ("quarantined", "rejected"):
            status = QualityStatus.QUARANTINE if how == "quarantined" else QualityStatus.REJECTED
            uow.session.get_one(Lot, e).quality_status = status.value
        elif how in ("held", "recall_held"):
            kind = HoldType.QA if how == "held" else HoldType.RECALL
            lots.place_hold(uow, lot_id=e, hold_type=kind, reason="investigation")
    if how == "expired":
        clock.now = datetime(2026, 3, 20, 16, 30, tzinfo=UTC)  # 00:30 on 03-21 in Shanghai


BLOCKS = {
    "quarantined": "quality.quarantine",
    "rejected": "quality.rejected",
    "held": "hold.qa",
    "recall_held": "hold.recall",
    "expired": "expired",
}
