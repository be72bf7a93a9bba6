"""``lotline order …`` at the console: the A–F allocation scenario gives the same lots and
reasons as the API; bad input is a message, a non-zero exit and nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import Result
from sqlalchemy import func, select

from lotline.domain.status import HoldType, QualityStatus
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.models.outbound import Allocation, Pick, SalesOrder, Shipment
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.stock import check
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.cli.conftest import Cli
from tests.conftest import FakeClock
from tests.outbound_fixtures import PASSED_OVER, Shelf, build_shelf


@pytest.fixture
def clock() -> FakeClock:
    # The console reads the real clock: build the scenario around today.
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def rows(db: Database) -> tuple[int, int]:
    with db.transaction(read_only=True) as uow:
        return (
            int(uow.session.scalar(select(func.count()).select_from(SalesOrder)) or 0),
            int(uow.session.scalar(select(func.count()).select_from(Allocation)) or 0),
        )


def enter(run: Cli, shelf: Shelf, line: str) -> Result:
    """``lotline order create`` for the shop, shipping on the scenario's ship date."""
    return run(
        "order",
        "create",
        "--customer",
        "SHOP",
        "--site",
        "A",
        "--ship-date",
        shelf.ship_date.isoformat(),
        "--line",
        line,
    )


def test_the_console_allocates_e_then_f_and_names_the_reason_for_a_to_d(
    run: Cli, db: Database, shelf: Shelf
) -> None:
    entered = enter(run, shelf, "MILK:5:CS")
    assert entered.exit_code == 0, entered.output
    assert "SO-000001" in entered.output
    allocated = run("order", "allocate", "SO-000001", "--json")
    assert allocated.exit_code == 0, allocated.output
    (line,) = json.loads(allocated.output)
    assert [(shelf.letter_of(c["lot"]), Decimal(c["qty_base"])) for c in line["chosen"]] == [
        ("E", Decimal(30)),
        ("F", Decimal(30)),
    ]
    reasons = {shelf.letter_of(p["lot"]): p["reasons"] for p in line["passed"]}
    assert set(reasons) == set(PASSED_OVER)
    for letter, code in PASSED_OVER.items():
        assert code in reasons[letter]
    explained = run("order", "explain", "SO-000001", "1")
    assert explained.exit_code == 0, explained.output
    assert shelf.codes["E"] in explained.output
    assert "a QA hold is on it" in explained.output
    assert "it expires before the delivery date" in explained.output
    chinese = run("order", "explain", "SO-000001", "1", LOTLINE_DEFAULT_LANGUAGE="zh_CN")
    assert chinese.exit_code == 0
    assert "留样" in chinese.output  # "this is a retained sample", in Chinese
    listed = run("order", "list")
    assert listed.exit_code == 0, listed.output
    assert "SO-000001" in listed.output
    assert "Allocated" in listed.output
    assert "已分配" in run("order", "list", LOTLINE_DEFAULT_LANGUAGE="zh_CN").output


def test_a_bad_line_is_refused_with_a_message_and_nothing_written(
    run: Cli, db: Database, shelf: Shelf
) -> None:
    before = rows(db)
    for spec in ("MILK:5", "MILK:five:CS", "MILK:5:PAL", "NOPE:5:CS", "MILK:5:CS:colour=red"):
        refused = run(
            "order",
            "create",
            "--customer",
            "SHOP",
            "--site",
            "A",
            "--ship-date",
            shelf.ship_date.isoformat(),
            "--line",
            spec,
        )
        assert refused.exit_code != 0, spec
        assert refused.output.strip(), spec
    assert run("order", "allocate", "SO-999999").exit_code != 0
    assert rows(db) == before


def create_and_allocate(run: Cli, shelf: Shelf, line: str) -> None:
    entered = enter(run, shelf, line)
    assert entered.exit_code == 0, entered.output
    allocated = run("order", "allocate", "SO-000001")
    assert allocated.exit_code == 0, allocated.output


def ledger_rows(db: Database) -> tuple[int, ...]:
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (StockMovement, Pick, Shipment, Signature)
        )


def test_blocked_lots_are_refused_at_the_scanner_and_nothing_is_written(
    run: Cli, db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    create_and_allocate(run, shelf, "MILK:30:EA")  # E is proposed
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Lot, shelf.lots["B"]).quality_status = QualityStatus.QUARANTINE.value
        uow.session.get_one(Lot, shelf.lots["C"]).quality_status = QualityStatus.REJECTED.value
        lots.place_hold(uow, lot_id=shelf.lots["F"], hold_type=HoldType.RECALL, reason="supplier recall")
        uow.session.get_one(Lot, shelf.lots["A"]).expiry_date = shelf.ship_date - timedelta(
            days=3
        )  # yesterday
    expected = {
        "A": ("hold.qa", "expired"),
        "B": ("quality.quarantine",),
        "C": ("quality.rejected",),
        "D": ("stock.retained_sample",),
        "F": ("hold.recall",),
    }
    before = ledger_rows(db)
    for letter in expected:  # held and expired, quarantined, rejected, retained sample, recalled
        refused = run(
            "order",
            "pick",
            "SO-000001",
            "1",
            "--scan",
            shelf.codes[letter],
            "--qty",
            "10",
            "--unit",
            "EA",
            "--deviation-reason",
            "closer to the door",
            "--user",
            "admin",
            "--password",
            PASSWORD,
        )
        assert refused.exit_code != 0, (letter, refused.output)
        assert "matrix.not_allowed" in refused.output, (letter, refused.output)
        for reason in expected[letter]:
            assert reason in refused.output, (letter, refused.output)
    assert ledger_rows(db)[:3] == before[:3]


def test_pick_a_signed_deviation_ship_and_take_a_return_at_the_console(
    run: Cli, db: Database, shelf: Shelf
) -> None:
    create_and_allocate(run, shelf, "MILK:30:EA")  # E is proposed
    unsigned = run(
        "order", "pick", "SO-000001", "1", "--scan", shelf.codes["F"], "--qty", "30", "--unit", "EA"
    )
    assert unsigned.exit_code != 0
    assert "pick.reason_required" in unsigned.output
    deviated = run(
        "order",
        "pick",
        "SO-000001",
        "1",
        "--scan",
        shelf.codes["F"],
        "--qty",
        "30",
        "--unit",
        "EA",
        "--deviation-reason",
        "E is behind the pallet jack",
        "--user",
        "admin",
        "--password",
        PASSWORD,
    )
    assert deviated.exit_code == 0, deviated.output
    assert "FEFO deviation" in deviated.output
    log = run("order", "deviations")
    assert shelf.codes["F"] in log.output
    assert "E is behind the pallet jack" in log.output
    shipped = run("order", "ship", "SO-000001", "--vehicle", "沪A12345", "--to", "SHOP DC")
    assert shipped.exit_code == 0, shipped.output
    with db.transaction(read_only=True) as uow:
        number = uow.session.scalars(select(Shipment.number)).one()
        assert check.differences(uow) == []
    came_back = run(
        "order",
        "return",
        number,
        shelf.codes["F"],
        "--qty",
        "5",
        "--unit",
        "EA",
        "--location",
        "AMB-1",
        "--reason",
        "dented",
    )
    assert came_back.exit_code == 0, came_back.output
    too_many = run(
        "order",
        "return",
        number,
        shelf.codes["F"],
        "--qty",
        "26",
        "--unit",
        "EA",
        "--location",
        "AMB-1",
        "--reason",
        "dented",
    )
    assert too_many.exit_code != 0
    with db.transaction(read_only=True) as uow:
        back = uow.session.execute(
            select(StockOnHand.stock_status, StockOnHand.qty_base).where(
                StockOnHand.lot_id == shelf.lots["F"], StockOnHand.stock_status == "QUARANTINE"
            )
        ).one()
        assert tuple(back) == ("QUARANTINE", Decimal(5))
        assert check.differences(uow) == []
        assert all(b.closes for b in check.mass_balances(uow).values())
