"""``lotline order …`` at the console: the A–F allocation scenario gives the same lots and
reasons as the API; bad input is a message, a non-zero exit and nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline.models.outbound import Allocation, SalesOrder
from lotline.uow import Database
from tests.app_fixtures import People
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


def test_the_console_allocates_e_then_f_and_names_the_reason_for_a_to_d(
    run: Cli, db: Database, shelf: Shelf
) -> None:
    entered = run(
        "order",
        "create",
        "--customer",
        "SHOP",
        "--site",
        "A",
        "--ship-date",
        shelf.ship_date.isoformat(),
        "--line",
        "MILK:5:CS",
    )
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
