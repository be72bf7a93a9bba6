"""The trace engine against closures computed independently, here, from what the test built:
diamonds (one raw lot reaching a lot by two paths), splits, merges, production, rework, and a
trace as of a past instant — on both backends."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from lotline.auth import service as auth
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.domain.transformation import TransformationKind
from lotline.models.production import GenealogyEdge
from lotline.models.stock import StockOnHand
from lotline.production.service import Make, Request, Take, transform
from lotline.signatures import service as signatures
from lotline.stock.operations import Amount, Source
from lotline.trace.engine import Direction, closure, summarize
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.production_fixtures import KG, Kitchen, build_kitchen, complete, open_order, set_quality, take

K = TransformationKind


def _release(db: Database, clock: FakeClock, lot_id: int, location: int) -> None:
    """QA's release of all the lot holds in quarantine at ``location``."""
    with db.transaction(read_only=True) as uow:
        qty = uow.session.scalars(
            select(StockOnHand.qty_base).where(
                StockOnHand.lot_id == lot_id,
                StockOnHand.location_id == location,
                StockOnHand.stock_status == StockStatus.QUARANTINE.value,
            )
        ).one()
    set_quality(db, clock, lot_id, location, qty, QualityStatus.RELEASED)


def _bfs(edges: list[tuple[int, int]], seeds: set[int], forward: bool) -> set[int]:
    """The closure, walked in Python over the edges the test knows of."""
    nexts: dict[int, set[int]] = defaultdict(set)
    for parent, child in edges:
        (nexts[parent] if forward else nexts[child]).add(child if forward else parent)
    seen, todo = set(seeds), list(seeds)
    while todo:
        for other in nexts[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


class Web:
    """The genealogy the scenario built: lot names → ids, and the edges it expects."""

    def __init__(self, kitchen: Kitchen) -> None:
        self.ids = dict(kitchen.lots)
        self.edges: list[tuple[str, str]] = []

    def made(self, name: str, lot_id: int, *parents: str) -> None:
        self.ids[name] = lot_id
        self.edges.extend((parent, name) for parent in parents)

    def id_edges(self) -> list[tuple[int, int]]:
        return [(self.ids[p], self.ids[c]) for p, c in self.edges]


Scenario = tuple[Kitchen, Web, datetime]


@pytest.fixture
def web(db: Database, clock: FakeClock, people: People) -> tuple[Kitchen, Web, datetime]:
    kitchen = build_kitchen(db, clock, people)
    web = Web(kitchen)
    site, qa = kitchen.site, kitchen.qa_area
    flour = kitchen.products["FLOUR"]

    def run(request: Request) -> list[int]:
        return complete(db, clock, request)[1]

    # Split the flour into two sub-lots, release them, and merge parts of both again: a diamond.
    f1, f2 = run(
        Request(
            K.SPLIT,
            site,
            [take(kitchen, "FLOUR", 600)],
            [Make(flour, Amount(Decimal(q), KG), qa) for q in (400, 200)],
        )
    )
    web.made("F1", f1, "FLOUR")
    web.made("F2", f2, "FLOUR")
    for lot in (f1, f2):
        _release(db, clock, lot, qa)
    clock.advance(hours=1)
    halfway = clock.now
    clock.advance(hours=1)
    (merged,) = run(
        Request(
            K.MERGE,
            site,
            [Take(f1, Source(qa), Amount(Decimal(100), KG)), Take(f2, Source(qa), Amount(Decimal(100), KG))],
            [Make(flour, Amount(Decimal(200), KG), qa)],
        )
    )
    web.made("M", merged, "F1", "F2")
    _release(db, clock, merged, qa)
    # Production from the merged flour, raw pork and the first sub-lot directly: FLOUR reaches the
    # dumplings by three paths (F1 → M, F2 → M, F1 itself).
    order = open_order(db, clock, kitchen, "DUMPLING", 100)
    (dumpling,) = run(
        Request(
            K.PRODUCTION,
            site,
            [
                Take(merged, Source(qa), Amount(Decimal(50), KG)),
                Take(f1, Source(qa), Amount(Decimal(20), KG)),
                take(kitchen, "PORK", 40),
            ],
            [Make(kitchen.products["DUMPLING"], Amount(Decimal(100), KG), qa)],
            production_order_id=order,
        )
    )
    web.made("D", dumpling, "M", "F1", "PORK")
    _release(db, clock, dumpling, qa)
    # A signed rework of part of the dumplings into a new lot.
    with db.transaction(clock=clock) as uow:
        admin = auth.principal_for(auth.get_user_by_name(uow, username="admin", field="user"))
        grant, _ = signatures.authorize_signing(
            uow,
            principal=admin,
            web_session=None,
            username="admin",
            password=PASSWORD,
            meaning=Meaning.REWORK,
            record_type="lot",
            record_id=str(dumpling),
            client_ip=None,
        )
    with db.transaction(clock=clock) as uow:
        outcome = transform(
            uow,
            principal=admin,
            request=Request(
                K.REWORK,
                site,
                [Take(dumpling, Source(qa), Amount(Decimal(10), KG))],
                [Make(kitchen.products["DUMPLING"], Amount(Decimal(10), KG), qa)],
                reason="re-frozen after a door alarm",
                signing_grant=grant,
            ),
        )
        web.made("R", outcome.output_lots[0].id, "D")
    # Cabbage and the held lots stay untouched: no trace reaches them.
    return kitchen, web, halfway


def test_the_stored_edges_are_the_ones_the_scenario_made(db: Database, web: Scenario) -> None:
    _kitchen, built, _halfway = web
    with db.transaction(read_only=True) as uow:
        stored = set(
            uow.session.execute(select(GenealogyEdge.parent_lot_id, GenealogyEdge.child_lot_id)).tuples()
        )
    assert stored == set(built.id_edges())


@pytest.mark.parametrize(
    ("seeds", "direction"),
    [
        (("FLOUR",), Direction.FORWARD),
        (("F1",), Direction.FORWARD),
        (("F2", "PORK"), Direction.FORWARD),
        (("CABBAGE",), Direction.FORWARD),
        (("R",), Direction.BACKWARD),
        (("M",), Direction.BACKWARD),
        (("D", "F2"), Direction.BACKWARD),
    ],
)
def test_traces_match_an_independent_closure(
    db: Database, web: tuple[Kitchen, Web, datetime], seeds: tuple[str, ...], direction: Direction
) -> None:
    _kitchen, built, _halfway = web
    start = {built.ids[name] for name in seeds}
    expected = _bfs(built.id_edges(), start, forward=direction is Direction.FORWARD)
    with db.transaction(read_only=True) as uow:
        assert closure(uow, lot_ids=start, direction=direction) == expected
        summary = summarize(uow, lot_ids=start, direction=direction)
    assert {lot.lot_id for lot in summary.lots} == expected


def test_the_diamond_is_walked_once(db: Database, web: Scenario) -> None:
    _kitchen, built, _halfway = web
    with db.transaction(read_only=True) as uow:
        summary = summarize(uow, lot_ids=[built.ids["FLOUR"]], direction=Direction.FORWARD)
    names = {lot_id: name for name, lot_id in built.ids.items()}
    assert sorted(names[lot.lot_id] for lot in summary.lots) == ["D", "F1", "F2", "FLOUR", "M", "R"]


def test_the_forward_summary_says_where_the_stock_is(db: Database, web: Scenario) -> None:
    kitchen, built, _halfway = web
    with db.transaction(read_only=True) as uow:
        summary = summarize(uow, lot_ids=[built.ids["FLOUR"]], direction=Direction.FORWARD)
    held = {(h.lot_id, h.location_id, h.stock_status): h.qty_base for h in summary.on_hand}
    assert held == {
        (built.ids["FLOUR"], kitchen.raw_bin, "AVAILABLE"): Decimal(400),
        (built.ids["F1"], kitchen.qa_area, "AVAILABLE"): Decimal(280),
        (built.ids["F2"], kitchen.qa_area, "AVAILABLE"): Decimal(100),
        (built.ids["M"], kitchen.qa_area, "AVAILABLE"): Decimal(150),
        (built.ids["D"], kitchen.qa_area, "AVAILABLE"): Decimal(90),
        (built.ids["R"], kitchen.qa_area, "QUARANTINE"): Decimal(10),
    }
    assert summary.shipped == []
    assert summary.in_transit == []


def test_a_trace_as_of_a_past_instant_sees_the_genealogy_and_stock_of_then(
    db: Database, web: Scenario
) -> None:
    _kitchen, built, halfway = web
    with db.transaction(read_only=True) as uow:
        then = summarize(uow, lot_ids=[built.ids["FLOUR"]], direction=Direction.FORWARD, as_of=halfway)
    assert {lot.lot_id for lot in then.lots} == {built.ids[n] for n in ("FLOUR", "F1", "F2")}
    held = {(h.lot_id, h.stock_status): h.qty_base for h in then.on_hand}
    assert held == {
        (built.ids["FLOUR"], "AVAILABLE"): Decimal(400),
        (built.ids["F1"], "AVAILABLE"): Decimal(400),
        (built.ids["F2"], "AVAILABLE"): Decimal(200),
    }


def test_backward_reaches_the_receipts_of_supplier_lots(db: Database, web: Scenario) -> None:
    _kitchen, built, _halfway = web
    with db.transaction(read_only=True) as uow:
        summary = summarize(uow, lot_ids=[built.ids["R"]], direction=Direction.BACKWARD)
    # The kitchen's raw lots came in as opening balances, not receipts: nothing to list, and the
    # reached set ends at them.
    assert summary.received == []
    assert {lot.lot_id for lot in summary.lots} >= {built.ids["FLOUR"], built.ids["PORK"]}
