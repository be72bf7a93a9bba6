"""The demo company loads on a fresh database, twice without duplicating, with a clean trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from lotline import demo
from lotline.audit.sealer import seal_pending
from lotline.audit.verify import verify_chain
from lotline.lots import service as lots
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import SalesOrder
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement
from lotline.outbound import allocation, orders
from lotline.production.genealogy import made_from, used_in
from lotline.production.orders import transformations_of
from lotline.stock import check as ledger_check
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
    assert first["product"] == 6  # five in the catalog, and the frozen filling production makes
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
    assert {s.meaning for s in signed} == {"release", "reject", "rework"}
    assert {s.printed_name for s in signed if s.meaning != "rework"} == {"李秀英 (Li Xiuying)"}
    # The rework of the rejected dumplings is a quality decision posted as production: the plant
    # manager holds both rights.
    assert {s.printed_name for s in signed if s.meaning == "rework"} == {"王建国 (Wang Jianguo)"}


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
        # Lianhua's and Hema's orders, and the two that shipped the recalled dumplings.
        assert uow.session.scalar(select(func.count()).select_from(SalesOrder)) == 4
        assert uow.session.scalar(select(func.count()).where(SalesOrder.status == "shipped")) == 2


def test_the_demo_runs_a_production_morning_with_capped_expiry_genealogy_and_a_signed_rework(
    db: Database, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    with db.transaction(read_only=True) as uow:
        before = {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
            for model in (ProductionOrder, Transformation, GenealogyEdge, Lot)
        }
    with db.transaction(clock=clock) as uow:
        demo.load(uow)  # twice: nothing added
    with db.transaction(read_only=True) as uow:
        again = {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
            for model in (ProductionOrder, Transformation, GenealogyEdge, Lot)
        }
        assert again == before
        placed = list(uow.session.scalars(select(ProductionOrder).order_by(ProductionOrder.id)))
        done = {order.id: transformations_of(uow, order_id=order.id) for order in placed}
        kinds = sorted(t.kind for t in uow.session.scalars(select(Transformation)))
        assert kinds == ["production", "production", "production", "repack", "rework", "split"]
        # The filling order is closed; the dumplings' half done; tomorrow's waits with no completion.
        assert [(o.status, len(done[o.id])) for o in placed] == [("CLOSED", 1), ("OPEN", 2), ("OPEN", 0)]
        products = dict(uow.session.execute(select(Product.code, Product.id)).tuples().all())
        lots_of = {
            code: list(
                uow.session.scalars(
                    select(Lot)
                    .where(Lot.product_id == products[code], Lot.source == "PRODUCTION")
                    .order_by(Lot.id)
                )
            )
            for code in ("FILLING", "DUMP-PORK-1KG")
        }
        filling, *tubs = lots_of["FILLING"]
        assert filling.quality_status == "RELEASED"
        assert [tub.code for tub in tubs] == [f"{filling.code}-1", f"{filling.code}-2"]
        made = [lot for lot in lots_of["DUMP-PORK-1KG"] if lot.expiry_provenance.get("transformation")]
        first, rejected, reworked, repacked = made
        # Dumplings keep 12 months by their rule, but never outlive the filling they were made of.
        assert first.expiry_date == filling.expiry_date < first.production_date + timedelta(days=180)
        assert first.expiry_provenance["decided_by"] == "input_lot"
        assert first.expiry_provenance["earliest_input"]["lot"] == filling.code
        assert (rejected.quality_status, reworked.quality_status) == ("REJECTED", "QUARANTINE")
        assert filling.code in {n.lot_code for n in made_from(uow, lot_id=first.id)}
        assert [n.lot_id for n in made_from(uow, lot_id=reworked.id)] == [rejected.id]
        assert {n.lot_id for n in used_in(uow, lot_id=filling.id)} == {
            first.id,
            rejected.id,
            *(t.id for t in tubs),
        }
        assert repacked.expiry_provenance["transformation"]["kind"] == "repack"
        assert ledger_check.differences(uow) == []
        assert all(balance.closes for balance in ledger_check.mass_balances(uow).values())
        drip = uow.session.scalars(
            select(StockMovement).where(StockMovement.kind == "loss", StockMovement.lot_id == filling.id)
        ).one()
        assert (drip.base_qty, drip.reason) == (Decimal("3.6"), "drip: 解冻滴水 / thaw drip")
