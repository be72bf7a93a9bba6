"""The demo company loads on a fresh database, twice without duplicating, with a clean trail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from lotline import demo
from lotline.audit.sealer import seal_pending
from lotline.audit.verify import verify_chain
from lotline.lots import service as lots
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import SalesOrder
from lotline.models.signature import Signature
from lotline.outbound import allocation, orders
from lotline.uow import Database
from tests.conftest import FakeClock


def counts(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(
                uow.session.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in (Product, Partner, Location, Lot, Hold)
        }


def test_the_demo_loads_once_and_its_trail_verifies(db: Database, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    first = counts(db)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    assert counts(db) == first
    assert first["product"] == 5
    assert first["lot"] >= 10
    seal_pending(db)
    with db.transaction(read_only=True) as uow:
        assert verify_chain(uow).ok
        situations = [
            lots.situation(uow, lot=lot, now=clock.now) for lot in uow.session.execute(select(Lot)).scalars()
        ]
    assert any(s.expired for s in situations), "the demo shows an expired lot"
    assert any(len(s.holds) >= 2 for s in situations), "the demo shows a lot under two holds"


def test_the_demo_shows_lots_at_every_quality_status_with_genuine_signatures(
    db: Database, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    with db.transaction(read_only=True) as uow:
        statuses = set(uow.session.scalars(select(Lot.quality_status)))
        signed = uow.session.scalars(select(Signature).where(Signature.record_type == "lot")).all()
    assert statuses == {"QUARANTINE", "RELEASED", "REJECTED"}
    assert {s.meaning for s in signed} == {"release", "reject"}
    assert {s.printed_name for s in signed} == {"李秀英 (Li Xiuying)"}


def test_the_demo_has_an_order_allocated_by_fefo_that_explains_what_it_passed_over(
    db: Database, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    with db.transaction(read_only=True, clock=clock) as uow:
        allocated = uow.session.scalars(select(SalesOrder).where(SalesOrder.status == "allocated")).one()
        line = orders.order_lines(uow, order_id=allocated.id)[0]
        explained = allocation.explain_line(uow, line_id=line.id)
        assert sum(a.qty_base for a in explained.allocations) == line.qty_base
        reasons = {code for passed in explained.passed for code in passed.reasons}
        assert "short_of_customer_minimum" in reasons
        assert "hold.qa" in reasons
        assert uow.session.scalar(select(func.count()).select_from(SalesOrder)) == 2
