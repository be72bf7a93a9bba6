"""Production and transformations through the service: two levels of genealogy, expiry capped
by the earliest input where the product says so, blocked inputs refused with nothing written,
mass balance closing for every lot, and the other kinds of transformation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline.domain.ledger import MovementKind, Quantity, Term
from lotline.domain.status import QualityStatus, StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge
from lotline.production import genealogy, orders
from lotline.production.service import Loss, Make, Request, Take, transform
from lotline.stock import check
from lotline.stock.operations import Amount, Source
from lotline.stock.service import Bucket, post
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.production_fixtures import Kitchen, build_kitchen

KG = "KGM"


@pytest.fixture
def kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    return build_kitchen(db, clock, people)


def _take(kitchen: Kitchen, name: str, qty: int) -> Take:
    return Take(kitchen.lots[name], Source(kitchen.raw_bin), Amount(Decimal(qty), KG))


def _order(db: Database, clock: FakeClock, kitchen: Kitchen, product: str, qty: int) -> int:
    with db.transaction(clock=clock) as uow:
        return orders.create_order(
            uow,
            principal=None,
            order=orders.OrderInput(kitchen.site, kitchen.products[product], Decimal(qty), KG, line="L1"),
        ).id


def _complete(db: Database, clock: FakeClock, kitchen: Kitchen, request: Request) -> tuple[int, list[int]]:
    with db.transaction(clock=clock) as uow:
        outcome = transform(uow, principal=None, request=request)
        return outcome.transformation.id, [lot.id for lot in outcome.output_lots]


def _two_levels(db: Database, clock: FakeClock, kitchen: Kitchen) -> dict[str, int]:
    """Pork + cabbage → filling (with drip loss); filling + flour → dumplings."""
    filling_order = _order(db, clock, kitchen, "FILLING", 150)
    _t1, (filling,) = _complete(
        db,
        clock,
        kitchen,
        Request(
            kind=TransformationKind.PRODUCTION,
            site_id=kitchen.site,
            production_order_id=filling_order,
            inputs=[_take(kitchen, "PORK", 100), _take(kitchen, "CABBAGE", 60)],
            losses=[
                Loss(kitchen.lots["CABBAGE"], Source(kitchen.raw_bin), Amount(Decimal(10), KG), LossKind.DRIP)
            ],
            outputs=[Make(kitchen.products["FILLING"], Amount(Decimal(150), KG), kitchen.qa_area)],
        ),
    )
    with db.transaction(clock=clock) as uow:
        # QA releases the filling before it is used: quarantined outputs cannot be consumed.
        lot = uow.session.get_one(Lot, filling)
        lot.quality_status = QualityStatus.RELEASED.value
        post(
            uow,
            kind=MovementKind.STATUS,
            lot=lot,
            quantity=Quantity(Decimal(150)),
            entered_qty=Decimal(150),
            entered_unit=KG,
            source=Bucket(kitchen.qa_area, StockStatus.QUARANTINE),
            target=Bucket(kitchen.qa_area, StockStatus.AVAILABLE),
        )
    dumpling_order = _order(db, clock, kitchen, "DUMPLING", 400)
    _t2, (dumpling, dumpling_f) = _complete(
        db,
        clock,
        kitchen,
        Request(
            kind=TransformationKind.PRODUCTION,
            site_id=kitchen.site,
            production_order_id=dumpling_order,
            inputs=[
                Take(filling, Source(kitchen.qa_area), Amount(Decimal(140), KG)),
                _take(kitchen, "FLOUR", 250),
            ],
            losses=[Loss(filling, Source(kitchen.qa_area), Amount(Decimal(10), KG), LossKind.COOKING)],
            outputs=[
                Make(kitchen.products["DUMPLING"], Amount(Decimal(300), KG), kitchen.qa_area),
                Make(kitchen.products["DUMPLING-F"], Amount(Decimal(80), KG), kitchen.qa_area),
            ],
        ),
    )
    return {"filling": filling, "dumpling": dumpling, "dumpling_f": dumpling_f}


def test_two_levels_record_edges_and_cap_expiry_where_configured(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    made = _two_levels(db, clock, kitchen)
    with db.transaction(clock=clock) as uow:
        parents = {n.lot_code for n in genealogy.made_from(uow, lot_id=made["filling"])}
        assert parents == {kitchen.codes["PORK"], kitchen.codes["CABBAGE"]}
        dumpling_parents = genealogy.made_from(uow, lot_id=made["dumpling"])
        assert {n.lot_id for n in dumpling_parents} == {made["filling"], kitchen.lots["FLOUR"]}
        # What each parent gave is the consumption, losses apart.
        assert {n.lot_id: n.qty for n in dumpling_parents} == {
            made["filling"]: Decimal(140),
            kitchen.lots["FLOUR"]: Decimal(250),
        }
        used = {n.lot_id for n in genealogy.used_in(uow, lot_id=kitchen.lots["PORK"])}
        assert used == {made["filling"]}
        filling = uow.session.get_one(Lot, made["filling"])
        dumpling = uow.session.get_one(Lot, made["dumpling"])
        dumpling_f = uow.session.get_one(Lot, made["dumpling_f"])
        # The filling's own rule (3 days from today) ends before the pork (today + 4): rule wins.
        assert filling.expiry_date == kitchen.today + timedelta(days=2)
        assert filling.expiry_provenance["decided_by"] == "shelf_life"
        # The dumpling (180 days) is capped by its earliest input, the filling, with provenance.
        assert dumpling.expiry_date == filling.expiry_date
        assert dumpling.expiry_provenance["decided_by"] == "input_lot"
        assert dumpling.expiry_provenance["input_limited"] is True
        assert dumpling.expiry_provenance["earliest_input"]["lot"] == filling.code
        assert dumpling.expiry_provenance["transformation"]["inputs_cap_expiry"] is True
        # The same food under a product that does not cap keeps its rule's 180 days.
        assert dumpling_f.expiry_date == kitchen.today + timedelta(days=179)
        assert dumpling_f.expiry_provenance["transformation"]["inputs_cap_expiry"] is False
        assert dumpling.quality_status == "QUARANTINE"
        edges = uow.session.scalar(select(func.count()).select_from(GenealogyEdge))
        assert edges == 2 + 2 * 2  # level 1: pork, cabbage → filling; level 2: 2 inputs × 2 outputs


def test_mass_balance_closes_for_every_lot(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    made = _two_levels(db, clock, kitchen)
    with db.transaction(clock=clock) as uow:
        balances = check.mass_balances(uow)
        assert check.differences(uow) == []
        cabbage = balances[kitchen.lots["CABBAGE"]]
        assert cabbage.terms[Term.OPENING].base == 300
        assert cabbage.terms[Term.CONSUMED].base == 60
        assert cabbage.terms[Term.LOST].base == 10
        assert cabbage.on_hand.base == 230
        filling = balances[made["filling"]]
        assert filling.terms[Term.PRODUCED].base == 150
        assert filling.terms[Term.CONSUMED].base == 140
        assert filling.terms[Term.LOST].base == 10
        assert filling.on_hand.base == 0
        assert balances[made["dumpling"]].terms[Term.PRODUCED].base == 300
        assert balances[made["dumpling"]].on_hand.base == 300
        for lot_id, balance in balances.items():
            assert balance.closes, (lot_id, balance)
