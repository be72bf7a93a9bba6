"""``lotline recall …`` at the console, on the demo company: a drill that prints its scope and
mass balance as JSON and blocks nothing, the demo's recall and drill listed and shown with both
customers, a recall opened from lot codes and started (then closed) by the QA manager typing her
password — and refusals that exit non-zero, say why and write nothing."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select

from lotline import clikit, demo
from lotline.models.audit import AuditRecord
from lotline.models.catalog import Partner
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import Allocation, Shipment, ShipmentLine
from lotline.models.recall import RecallCase, RecallHold, RecallLot
from lotline.models.signature import Signature
from lotline.models.stock import StockOnHand
from lotline.uow import Actor, Database
from tests.cli.conftest import Cli
from tests.recall.test_recall_api import forward_closure

PASSWORD = demo.DEMO_PASSWORD


@pytest.fixture(autouse=True)
def console_width_from_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let Rich read the width from each run's COLUMNS (see tests/cli/test_catalog_cli.py)."""
    for console in (clikit.console, clikit.errors):
        monkeypatch.setattr(console, "_width", None)


@pytest.fixture
def demo_db(db: Database) -> Database:
    # The console reads the real clock: the demo is loaded on it too.
    with db.transaction(actor=Actor(kind="system", user_id=None, name="demo loader")) as uow:
        demo.load(uow)
    return db


def said(result: Result) -> str:
    """Everything the command printed, with rich's line wrapping undone."""
    return " ".join((result.stdout + result.stderr).split())


def numbers(db: Database) -> dict[str, str]:
    """The demo's cases by kind: its recall (RC-<year>-0001) and its drill (MR-<year>-0001)."""
    with db.transaction(read_only=True) as uow:
        return dict(uow.session.execute(select(RecallCase.kind, RecallCase.number)).tuples().all())


def pork(db: Database) -> tuple[int, str]:
    """Jinhua Meat's lot JH-0329, the demo recall's trigger."""
    with db.transaction(read_only=True) as uow:
        lot = uow.session.scalars(
            select(Lot)
            .join(Partner, Partner.id == Lot.supplier_id)
            .where(Partner.code == "JINHUA-MEAT", Lot.supplier_lot_code == "JH-0329")
        ).one()
        return lot.id, lot.code


def allocated_lot(db: Database) -> tuple[int, str]:
    with db.transaction(read_only=True) as uow:
        lot_id = uow.session.scalars(
            select(Allocation.lot_id).where(Allocation.status == "open").order_by(Allocation.lot_id)
        ).first()
        assert lot_id is not None, "the demo has an order allocated and not yet picked"
        return int(lot_id), uow.session.get_one(Lot, lot_id).code


def snapshot(db: Database) -> tuple[Any, ...]:
    """Holds, allocations and the counts of what a recall command writes."""
    with db.transaction(read_only=True) as uow:
        holds = uow.session.execute(select(Hold.id, Hold.lot_id, Hold.lifted_at).order_by(Hold.id)).all()
        allocations = uow.session.execute(
            select(Allocation.id, Allocation.status).order_by(Allocation.id)
        ).all()
        counts = tuple(
            int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (RecallCase, RecallLot, RecallHold, Signature, AuditRecord)
        )
    return [tuple(r) for r in holds], [tuple(r) for r in allocations], counts


def case_holds(db: Database, number: str) -> dict[int, tuple[str, object]]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(Hold.lot_id, Hold.hold_type, Hold.lifted_at)
            .join(RecallHold, RecallHold.hold_id == Hold.id)
            .join(RecallCase, RecallCase.id == RecallHold.case_id)
            .where(RecallCase.number == number)
        ).all()
    return {int(lot): (kind, lifted) for lot, kind, lifted in rows}


def test_a_drill_prints_its_scope_and_mass_balance_as_json_and_blocks_nothing(
    run: Cli, demo_db: Database
) -> None:
    pork_id, pork_code = pork(demo_db)
    scope = forward_closure(demo_db, {pork_id})
    year = numbers(demo_db)["drill"].split("-")[1]
    holds, allocations, _counts = snapshot(demo_db)
    result = run("recall", "drill", pork_code, "--format", "json")
    assert result.exit_code == 0, said(result)
    body = json.loads(result.stdout)
    assert (body["number"], body["kind"], body["status"]) == (f"MR-{year}-0002", "drill", "completed")
    assert body["lots_in_scope"] == len(scope) == 7  # the pork, its filling and tubs, the dumplings
    drill = body["drill"]
    assert (drill["lots"], drill["balanced"], drill["unbalanced"]) == (len(scope), len(scope), [])
    assert drill["time_to_trace_ms"] == body["time_to_trace_ms"] >= 0
    assert {c["code"] for c in body["customers"]} == {"HEMA", "LIANHUA"}
    assert body["holds_placed"] == 0
    assert snapshot(demo_db)[:2] == (holds, allocations)
    # As a table: the flour drill of the demo again, by the supplier's lot code.
    table = run("recall", "drill", "--supplier", "WUDELI", "--supplier-lot", "WDL-260105")
    assert table.exit_code == 0, said(table)
    assert f"MR-{year}-0003" in said(table)
    assert "mass balance: 4 of 4 lots balance" in said(table)
    assert snapshot(demo_db)[:2] == (holds, allocations)


def test_the_list_shows_the_demos_recall_and_drill(run: Cli, demo_db: Database) -> None:
    cases = numbers(demo_db)
    listed = run("recall", "list")
    assert listed.exit_code == 0, said(listed)
    lines = listed.stdout.splitlines()
    recall_line = next(line for line in lines if cases["recall"] in line)
    drill_line = next(line for line in lines if cases["drill"] in line)
    assert ("recall" in recall_line, "cn-2" in recall_line, "active" in recall_line) == (True, True, True)
    assert ("drill" in drill_line, "completed" in drill_line) == (True, True)


def test_show_lists_both_customers_with_what_they_were_shipped(run: Cli, demo_db: Database) -> None:
    number = numbers(demo_db)["recall"]
    shown = run("recall", "show", number)
    assert shown.exit_code == 0, said(shown)
    text = said(shown)
    assert number in text
    assert "HEMA" in text
    assert "LIANHUA" in text
    pork_id, _code = pork(demo_db)
    scope = forward_closure(demo_db, {pork_id})
    with demo_db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(Partner.code, ShipmentLine.lot_id, ShipmentLine.qty_base)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .join(Partner, Partner.id == Shipment.customer_id)
        ).all()
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for code, lot_id, qty in rows:
        if lot_id in scope:
            expected[code] += Decimal(qty)
    as_json = run("recall", "show", number.lower(), "--format", "json")  # the number in any case
    assert as_json.exit_code == 0, said(as_json)
    body = json.loads(as_json.stdout)
    shipped = {c["code"]: sum(Decimal(p["shipped"]) for p in c["products"]) for c in body["customers"]}
    assert shipped == dict(expected)
    assert Decimal(body["shipped_base"]) == sum(expected.values())
    assert body["stock_not_held"] == []
    assert body["effectiveness"] == "0.2000"


def test_opening_with_an_unknown_lot_exits_non_zero_and_writes_nothing(run: Cli, demo_db: Database) -> None:
    before = snapshot(demo_db)
    refused = run("recall", "open", "NO-SUCH-LOT", "--level", "cn-1", "--reason", "complaint")
    assert refused.exit_code == 1
    assert "NO-SUCH-LOT" in refused.stderr
    assert "trigger.lot_codes" in refused.stderr
    nothing = run("recall", "open", "--level", "cn-1", "--reason", "complaint")  # no trigger at all
    assert nothing.exit_code == 1
    assert "cli.recall_trigger" in nothing.stderr
    bad_day = run(
        "recall", "drill", "--product", "DUMP-PORK-1KG", "--from", "18.11.2026", "--to", "2026-11-23"
    )
    assert bad_day.exit_code == 1
    assert "--from" in bad_day.stderr
    assert snapshot(demo_db) == before


def test_a_recall_opened_at_the_console_is_started_and_closed_by_the_qa_managers_password(
    run: Cli, demo_db: Database
) -> None:
    lot_id, code = allocated_lot(demo_db)
    year = numbers(demo_db)["recall"].split("-")[1]
    number = f"RC-{year}-0002"
    opened = run("recall", "open", code, "--level", "cn-1", "--reason", "金属异物 / metal fragment")
    assert opened.exit_code == 0, said(opened)
    assert f"recall {number} opened: 1 lots in scope" in said(opened)
    assert case_holds(demo_db, number) == {}

    holds, allocations, counts = snapshot(demo_db)
    wrong = run("recall", "start", number, "--user", "qa.manager", "--password", "not her password")
    assert wrong.exit_code == 1
    assert "signature.bad_password" in wrong.stderr
    not_allowed = run("recall", "start", number, "--user", "qa", "--password", PASSWORD)  # no recall.manage
    assert not_allowed.exit_code == 1
    assert "(user)" in not_allowed.stderr
    assert "recall.manage" in not_allowed.stderr
    after = snapshot(demo_db)
    assert after[:2] == (holds, allocations)
    assert after[2][:4] == counts[:4]  # the failed signature is audited; nothing else is written

    started = run("recall", "start", number, "--user", "qa.manager", "--password", PASSWORD)
    assert started.exit_code == 0, said(started)
    assert f"recall {number} started: 1 lots held" in said(started)
    assert case_holds(demo_db, number) == {lot_id: ("RECALL", None)}
    with demo_db.transaction(read_only=True) as uow:
        assert "open" not in set(
            uow.session.scalars(select(Allocation.status).where(Allocation.lot_id == lot_id))
        )
        case = uow.session.scalars(select(RecallCase).where(RecallCase.number == number)).one()
        assert (case.status, case.started_by) == ("active", "李秀英 (Li Xiuying)")
        stock = uow.session.scalar(select(func.sum(StockOnHand.qty_base)).where(StockOnHand.lot_id == lot_id))
        assert Decimal(stock) > 0

    again = run("recall", "start", number, "--user", "qa.manager", "--password", PASSWORD)
    assert again.exit_code == 1
    assert "recall.bad_transition" in again.stderr

    closed = run(
        "recall", "close", number, "--note", "stock scrapped", "--user", "qa.manager", "--password", PASSWORD
    )
    assert closed.exit_code == 0, said(closed)
    assert f"recall {number} closed" in said(closed)
    assert case_holds(demo_db, number) == {lot_id: ("RECALL", None)}  # closing lifts no hold
    listed = run("recall", "list").stdout.splitlines()
    assert "closed" in next(line for line in listed if number in line)
