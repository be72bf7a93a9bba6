"""``lotline production …`` at the console: orders and their completions, the other
transformations (a rework signed at the prompt), genealogy both ways — and refusals that name the
option and the lot, exit non-zero and write nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from click.testing import Result
from sqlalchemy import func, select

from lotline.domain.status import QualityStatus, StockStatus
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.stock import check
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.cli.conftest import Cli
from tests.conftest import FakeClock
from tests.production_fixtures import Kitchen, build_kitchen, set_quality

KG = "KGM"


@pytest.fixture
def clock() -> FakeClock:
    # The console reads the real clock: build the kitchen around today.
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    return build_kitchen(db, clock, people)


def said(result: Result) -> str:
    """Everything the command printed, with rich's line wrapping undone."""
    return " ".join((result.stdout + result.stderr).split())


def rows(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Transformation, StockMovement, Lot, GenealogyEdge, ProductionOrder, Signature)
        }


def spec(kitchen: Kitchen, name: str, qty: int, where: str = "RM-1") -> str:
    """``PRODUCT/LOT@LOCATION=QTYKGM`` for one of the kitchen's lots."""
    return f"{name.split('-')[0]}/{kitchen.codes[name]}@{where}={qty}{KG}"


def open_order(run: Cli, product: str, qty: int) -> str:
    created = run(
        "production",
        "order",
        "create",
        "--site",
        "A",
        "--product",
        product,
        "--quantity",
        str(qty),
        "--unit",
        KG,
    )
    assert created.exit_code == 0, said(created)
    found = re.search(r"P-A-\d{4}-\d{6}", created.stdout)
    assert found is not None, created.stdout
    return found.group()


def complete_filling(run: Cli, kitchen: Kitchen) -> tuple[str, str]:
    """Pork and cabbage into 150 kg of filling, with 10 kg of cabbage drip: the order and the new lot."""
    number = open_order(run, "FILLING", 150)
    completed = run(
        "production",
        "complete",
        number,
        "--input",
        spec(kitchen, "PORK", 100),
        "--input",
        f"{kitchen.codes['CABBAGE']}@RM-1=60KGM",  # the product may be left out
        "--loss",
        spec(kitchen, "CABBAGE", 10) + ":drip",
        "--output",
        "FILLING@QA-1=150KGM",
    )
    assert completed.exit_code == 0, said(completed)
    with_code = re.search(r"FD\d{9}", completed.stdout.split("output lots", 1)[-1])
    assert with_code is not None, completed.stdout
    return number, with_code.group()


def release(db: Database, clock: FakeClock, kitchen: Kitchen, lot_id: int, qty: int) -> None:
    """QA releases a quarantined output in place (the decision itself is tested elsewhere)."""
    set_quality(db, clock, lot_id, kitchen.qa_area, qty, QualityStatus.RELEASED)


def lot_id(db: Database, code: str) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.scalars(select(Lot.id).where(Lot.code == code)).one())


def test_a_completion_makes_a_quarantined_lot_with_edges_to_its_inputs_and_the_order_shows_it(
    run: Cli, db: Database, kitchen: Kitchen
) -> None:
    number, filling = complete_filling(run, kitchen)
    with db.transaction(read_only=True) as uow:
        lot = uow.session.scalars(select(Lot).where(Lot.code == filling)).one()
        assert lot.quality_status == "QUARANTINE"
        held = uow.session.scalars(select(StockOnHand).where(StockOnHand.lot_id == lot.id)).one()
        assert (held.location_id, held.stock_status, held.qty_base) == (kitchen.qa_area, "QUARANTINE", 150)
        parents = set(
            uow.session.scalars(
                select(GenealogyEdge.parent_lot_id).where(GenealogyEdge.child_lot_id == lot.id)
            )
        )
        assert parents == {kitchen.lots["PORK"], kitchen.lots["CABBAGE"]}
        order = uow.session.scalars(select(ProductionOrder).where(ProductionOrder.number == number)).one()
        done = uow.session.scalars(select(Transformation)).one()
        assert (done.production_order_id, done.kind) == (order.id, "production")
        completion = done.number
        lost = uow.session.scalars(select(StockMovement).where(StockMovement.kind == "loss")).one()
        assert (lost.lot_id, lost.base_qty, lost.reason) == (kitchen.lots["CABBAGE"], 10, "drip")
        assert check.differences(uow) == []
        assert all(balance.closes for balance in check.mass_balances(uow).values())

    shown = run("production", "order", "show", number)
    assert shown.exit_code == 0, said(shown)
    text = said(shown)
    assert "150 KGM" in text  # planned, and produced
    for code in (filling, kitchen.codes["PORK"], kitchen.codes["CABBAGE"]):
        assert code in text
    assert completion in text
    listed = run("production", "order", "list", "--site", "A", "--status", "open")
    assert listed.exit_code == 0, said(listed)
    assert number in listed.stdout
    assert "批次" in said(run("production", "order", "show", number, LOTLINE_DEFAULT_LANGUAGE="zh_CN"))

    closed = run("production", "order", "close", number, "--reason", "shift done")
    assert closed.exit_code == 0, said(closed)
    before = rows(db)
    late = run(
        "production", "complete", number, "--input", spec(kitchen, "PORK", 1), "--output", "FILLING@QA-1=1KGM"
    )
    assert late.exit_code != 0
    assert "production.order_closed" in said(late)
    assert rows(db) == before
    assert run("production", "order", "cancel", number).exit_code != 0  # closed is final


@pytest.mark.parametrize(
    ("blocked", "reason", "code"),
    [
        ("PORK-Q", "the lot is in quarantine", "quality.quarantine"),
        ("CABBAGE-H", "a QA hold is on it", "hold.qa"),
    ],
)
def test_a_quarantined_or_held_input_is_refused_naming_the_lot_and_nothing_is_written(
    run: Cli, db: Database, kitchen: Kitchen, blocked: str, reason: str, code: str
) -> None:
    number = open_order(run, "FILLING", 100)
    before = rows(db)
    refused = run(
        "production",
        "complete",
        number,
        "--input",
        spec(kitchen, "FLOUR", 10),
        "--input",
        spec(kitchen, blocked, 50),
        "--output",
        "FILLING@QA-1=60KGM",
    )
    assert refused.exit_code != 0
    message = " ".join(refused.stderr.split())
    assert f"--input #2 {spec(kitchen, blocked, 50)}" in message  # the option, its position, the lot
    assert kitchen.codes[blocked] in message
    assert reason in message
    assert code in message
    assert rows(db) == before
    cancelled = run("production", "order", "cancel", number, "--reason", "pork not released in time")
    assert cancelled.exit_code == 0, said(cancelled)  # nothing was posted to it


def test_a_split_makes_sub_lots_whose_quantities_add_up(run: Cli, db: Database, kitchen: Kitchen) -> None:
    flour = kitchen.codes["FLOUR"]
    split = run(
        "production",
        "transform",
        "split",
        "--site",
        "A",
        "--input",
        spec(kitchen, "FLOUR", 100),
        "--output",
        "FLOUR@QA-1=60KGM",
        "--output",
        "FLOUR@QA-1=40KGM",
    )
    assert split.exit_code == 0, said(split)
    assert f"{flour}-1" in split.stdout
    assert f"{flour}-2" in split.stdout
    with db.transaction(read_only=True) as uow:
        made = dict(
            uow.session.execute(
                select(Lot.code, func.sum(StockOnHand.qty_base))
                .join(StockOnHand, StockOnHand.lot_id == Lot.id)
                .where(Lot.code.startswith(f"{flour}-"))
                .group_by(Lot.code)
            )
            .tuples()
            .all()
        )
        assert made == {f"{flour}-1": 60, f"{flour}-2": 40}
        assert sum(made.values()) == 100
        children = set(
            uow.session.scalars(
                select(Lot.code)
                .join(GenealogyEdge, GenealogyEdge.child_lot_id == Lot.id)
                .where(GenealogyEdge.parent_lot_id == kitchen.lots["FLOUR"])
            )
        )
        assert children == {f"{flour}-1", f"{flour}-2"}
    unbalanced = run(
        "production",
        "transform",
        "split",
        "--site",
        "A",
        "--input",
        spec(kitchen, "FLOUR", 100),
        "--output",
        "FLOUR@QA-1=60KGM",
        "--output",
        "FLOUR@QA-1=30KGM",
    )
    assert unbalanced.exit_code != 0
    assert "transformation.unbalanced" in said(unbalanced)


def test_genealogy_shows_what_a_lot_was_made_from_and_what_it_went_into(
    run: Cli, db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    _number, filling = complete_filling(run, kitchen)
    release(db, clock, kitchen, lot_id(db, filling), 150)
    repacked = run(
        "production",
        "transform",
        "repack",
        "--site",
        "A",
        "--input",
        f"FILLING/{filling}@QA-1=150KGM:AVAILABLE",
        "--output",
        "FILLING@QA-1=150KGM",
        "--reason",
        "into 10 kg tubs",
    )
    assert repacked.exit_code == 0, said(repacked)

    shown = run("production", "genealogy", filling, "--product", "FILLING", "--json")
    assert shown.exit_code == 0, said(shown)
    tree = json.loads(shown.stdout)
    assert {n["lot"] for n in tree["made_from"]} == {kitchen.codes["PORK"], kitchen.codes["CABBAGE"]}
    assert {(n["kind"], Decimal(n["qty"])) for n in tree["made_from"]} == {
        ("production", Decimal(100)),
        ("production", Decimal(60)),  # what the cabbage gave, its drip apart
    }
    (child,) = tree["used_in"]
    assert (child["product"], child["kind"], child["quality_status"]) == ("FILLING", "repack", "QUARANTINE")
    table = run("production", "genealogy", kitchen.codes["PORK"])
    assert table.exit_code == 0, said(table)
    assert filling in table.stdout
    assert "made from" in table.stdout
    assert "used in" in table.stdout
    assert run("production", "genealogy", "NO-SUCH-LOT").exit_code != 0


@pytest.mark.parametrize(
    ("option", "text", "named"),
    [
        ("--input", "PORK", "--input #1 PORK"),
        ("--input", "PORK/{PORK}@RM-1=lots", "--input #1"),
        ("--input", "PORK/{PORK}@RM-1=10KGM:FROZEN", "FROZEN"),
        ("--input", "PORK/{PORK}@NOWHERE=10KGM", "NOWHERE"),
        ("--input", "PORK/NO-SUCH@RM-1=10KGM", "PORK/NO-SUCH"),
        ("--input", "PORK/{PORK}@RM-1=0KGM", "quantity"),
        ("--input", "PORK/{PORK}@RM-1=10PAL", "--input #1"),
        ("--output", "NOPE@QA-1=10KGM", "--output #1 NOPE@QA-1=10KGM"),
        ("--loss", "PORK/{PORK}@RM-1=1KGM:spilt", "spilt"),
        ("--at", "yesterday", "--at"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_option_and_nothing_is_written(
    run: Cli, db: Database, kitchen: Kitchen, option: str, text: str, named: str
) -> None:
    number = open_order(run, "FILLING", 100)
    given = {"--input": spec(kitchen, "PORK", 10), "--output": "FILLING@QA-1=10KGM"}
    given[option] = text.format(**kitchen.codes)
    args = [arg for name, value in given.items() for arg in (name, value)]
    before = rows(db)
    refused = run("production", "complete", number, *args)
    assert refused.exit_code != 0
    message = " ".join(refused.stderr.split())
    assert message.startswith("Error (")
    assert named.format(**kitchen.codes) in message
    assert rows(db) == before


def test_a_rework_of_rejected_stock_is_signed_at_the_prompt(
    run: Cli, db: Database, clock: FakeClock, kitchen: Kitchen, people: People
) -> None:
    flour = kitchen.lots["FLOUR"]
    set_quality(
        db, clock, flour, kitchen.raw_bin, 1000, QualityStatus.REJECTED, stock_from=StockStatus.AVAILABLE
    )
    args = [
        "production",
        "transform",
        "rework",
        "--site",
        "A",
        "--input",
        spec(kitchen, "FLOUR", 200),
        "--loss",
        spec(kitchen, "FLOUR", 5) + ":other",
        "--output",
        "FLOUR@QA-1=195KGM",
    ]
    before = rows(db)
    unsigned = run(*args, "--reason", "re-sieved after a foreign-body finding")
    assert unsigned.exit_code != 0
    assert "--user" in said(unsigned)
    assert run(*args, "--user", "admin", "--password", PASSWORD).exit_code != 0  # no reason
    assert rows(db) == before
    wrong = run(*args, "--reason", "re-sieved", "--user", "admin", "--password", "not the password")
    assert wrong.exit_code != 0
    assert rows(db)["transformation"] == before["transformation"]

    # A QA inspector may not take the decision; the QA manager signs it.
    assert run(*args, "--reason", "re-sieved", "--user", "qa", "--password", PASSWORD).exit_code != 0
    reworked = run(*args, "--reason", "re-sieved", "--user", "qa_manager", "--password", PASSWORD)
    assert reworked.exit_code == 0, said(reworked)
    with db.transaction(read_only=True) as uow:
        done = uow.session.scalars(select(Transformation)).one()
        signature = uow.session.get_one(Signature, done.signature_id)
        assert (done.kind, done.reason) == ("rework", "re-sieved")
        assert (signature.meaning, signature.record_type, signature.record_id) == (
            "rework",
            "lot",
            str(flour),
        )
        assert signature.user_id == people.user_ids["qa_manager"]
        child = uow.session.scalars(
            select(Lot)
            .join(GenealogyEdge, GenealogyEdge.child_lot_id == Lot.id)
            .where(GenealogyEdge.parent_lot_id == flour)
        ).one()
        assert child.quality_status == "QUARANTINE"
