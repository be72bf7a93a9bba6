"""The production scenario's mass balance, proven by ``lotline stock check`` on the real command line."""

from __future__ import annotations

from lotline.domain.ledger import INFLOWS, OUTFLOWS, Term
from lotline.stock import check
from lotline.uow import Database
from tests.app_fixtures import People
from tests.cli.conftest import Cli
from tests.conftest import FakeClock
from tests.production_fixtures import build_kitchen, two_level_run


def test_a_two_level_run_closes_every_lots_mass_balance(
    db: Database, clock: FakeClock, people: People, run: Cli
) -> None:
    kitchen = build_kitchen(db, clock, people)
    made = two_level_run(db, clock, kitchen)
    checked = run("stock", "check")
    assert checked.exit_code == 0, checked.output
    assert "0 on-hand differences, 0 mass balances not closing" in checked.output
    with db.transaction(read_only=True) as uow:
        balances = check.mass_balances(uow)
    # The identity of DESIGN.md, term by term, for the lots the run touched.
    expected = {
        kitchen.lots["PORK"]: ({Term.OPENING: 200}, {Term.CONSUMED: 100}, 100),
        kitchen.lots["CABBAGE"]: ({Term.OPENING: 300}, {Term.CONSUMED: 60, Term.LOST: 10}, 230),
        kitchen.lots["FLOUR"]: ({Term.OPENING: 1000}, {Term.CONSUMED: 250}, 750),
        made["filling"]: ({Term.PRODUCED: 150}, {Term.CONSUMED: 140, Term.LOST: 10}, 0),
        made["dumpling"]: ({Term.PRODUCED: 300}, {}, 300),
        made["dumpling_f"]: ({Term.PRODUCED: 80}, {}, 80),
    }
    for lot_id, (inflows, outflows, on_hand) in expected.items():
        balance = balances[lot_id]
        assert {t: int(q.base) for t, q in balance.terms.items() if t in INFLOWS} == inflows
        assert {t: int(q.base) for t, q in balance.terms.items() if t in OUTFLOWS} == outflows
        assert balance.on_hand.base == on_hand
        assert sum(inflows.values()) == on_hand + sum(outflows.values())
