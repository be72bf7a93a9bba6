"""``lotline stock …`` at the console: the same operations and refusals as the API, a non-zero
exit and nothing written when refused, signed disposal and large counts by password."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.cli.conftest import Cli
from tests.conftest import FakeClock
from tests.integration.test_stock_operations import (
    A,
    Floor,
    Q,
    build_floor,
    closes,
    on_hand,
    rows,
    seed,
    set_quality,
)


@pytest.fixture
def floor(db: Database, clock: FakeClock, people: People) -> Floor:
    return build_floor(db, clock, people)


def lot_code(db: Database, floor: Floor) -> str:
    with db.transaction(read_only=True) as uow:
        return uow.session.get_one(Lot, floor.lot).code


def test_the_ten_in_quarantine_go_only_to_a_qa_bin_or_are_scrapped_or_returned_signed(
    run: Cli, db: Database, clock: FakeClock, floor: Floor
) -> None:
    code = lot_code(db, floor)
    seed(db, clock, floor, 40, Bucket(floor.qa_bin, Q), MovementKind.RECEIPT)
    set_quality(db, floor, QualityStatus.RELEASED)
    with db.transaction(clock=clock) as uow:
        stock.post(
            uow,
            kind=MovementKind.STATUS,
            lot=uow.session.get_one(Lot, floor.lot),
            quantity=Quantity(Decimal(30)),
            entered_qty=Decimal(30),
            entered_unit="EA",
            source=Bucket(floor.qa_bin, Q),
            target=Bucket(floor.qa_bin, A),
        )
    moved = run(
        "stock",
        "move",
        code,
        "--from",
        "QA-01",
        "--to",
        "FZ-01",
        "--qty",
        "30",
        "--unit",
        "EA",
        "--status",
        "AVAILABLE",
    )
    assert moved.exit_code == 0, moved.output
    before = rows(db)
    for args in (
        ("move", code, "--from", "QA-01", "--to", "FZ-01", "--qty", "10", "--unit", "EA"),
        ("transfer", code, "--from", "QA-01", "--to", "B:FZ-B1", "--qty", "10", "--unit", "EA"),
    ):
        refused = run("stock", *args)
        assert refused.exit_code == 1
        assert "matrix.not_allowed" in refused.stderr
    assert rows(db) == before
    assert (
        run(
            "stock", "move", code, "--from", "QA-01", "--to", "QA-02", "--qty", "10", "--unit", "EA"
        ).exit_code
        == 0
    )
    scrap = (
        "stock",
        "scrap",
        code,
        "--from",
        "QA-02",
        "--qty",
        "4",
        "--unit",
        "EA",
        "--reason",
        "torn",
        "--user",
        "admin",
    )
    wrong = run(*scrap, "--password", "nope")
    assert wrong.exit_code == 1
    assert "signature.bad_password" in wrong.stderr
    assert rows(db)[:2] == (before[0] + 1, before[1] + 1)  # only the move to QA-02 (a new bucket)
    assert run(*scrap, "--password", PASSWORD).exit_code == 0
    returned = run(
        "stock",
        "return",
        code,
        "--from",
        "QA-02",
        "--qty",
        "6",
        "--unit",
        "EA",
        "--reason",
        "wrong spec",
        "--reference",
        "RMA-7",
        "--user",
        "admin",
        "--password",
        PASSWORD,
    )
    assert returned.exit_code == 0, returned.output
    assert on_hand(db) == {(floor.freezer, "AVAILABLE"): Decimal(30)}
    listed = run("stock", "list", "--location", "WH")
    assert "FZ-01" in listed.stdout
    assert "QA-02" not in listed.stdout
    closes(db)


def test_frozen_into_ambient_and_held_stock_are_refused_and_nothing_is_written(
    run: Cli, db: Database, clock: FakeClock, floor: Floor
) -> None:
    code = lot_code(db, floor)
    seed(db, clock, floor, 10, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    before = rows(db)
    warm = run("stock", "move", code, "--from", "FZ-01", "--to", "AMB-01", "--qty", "5", "--unit", "EA")
    assert warm.exit_code == 1
    assert "storage.mismatch" in warm.stderr
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=floor.lot, hold_type=HoldType.RECALL, reason="recall 7")
    before = rows(db)
    recalled = run(
        "stock", "transfer", code, "--from", "FZ-01", "--to", "B:FZ-B1", "--qty", "5", "--unit", "EA"
    )
    assert recalled.exit_code == 1
    assert "hold.recall" in recalled.stderr
    assert rows(db) == before


def test_a_transfer_is_received_with_a_shortage_and_counts_are_signed_when_large(
    run: Cli, db: Database, clock: FakeClock, floor: Floor
) -> None:
    code = lot_code(db, floor)
    seed(db, clock, floor, 100, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    sent = run("stock", "transfer", code, "--from", "FZ-01", "--to", "B:FZ-B1", "--qty", "2", "--unit", "CS")
    assert sent.exit_code == 0, sent.output
    txn = sent.stdout.strip().split()[-1]
    too_many = run("stock", "receive-transfer", txn, "--qty", "20")  # in the unit sent: cases
    assert too_many.exit_code == 1
    assert "stock.more_than_sent" in too_many.stderr
    short = run("stock", "receive-transfer", txn, "--qty", "20", "--unit", "EA")
    assert short.exit_code == 1
    assert "stock.reason_required" in short.stderr
    received = run("stock", "receive-transfer", txn, "--qty", "20", "--unit", "EA", "--reason", "crushed")
    assert received.exit_code == 0, received.output
    assert "transit_shortage" in received.stdout
    small = run(
        "stock", "count", code, "--at", "FZ-01", "--counted", "75", "--unit", "EA", "--reason", "recount"
    )
    assert small.exit_code == 0, small.output
    before = rows(db)
    unsigned = run(
        "stock", "count", code, "--at", "FZ-01", "--counted", "50", "--unit", "EA", "--reason", "lost"
    )
    assert unsigned.exit_code == 1
    assert "stock.signature_required" in unsigned.stderr
    assert rows(db) == before
    signed = run(
        "stock",
        "count",
        code,
        "--at",
        "FZ-01",
        "--counted",
        "50",
        "--unit",
        "EA",
        "--reason",
        "lost",
        "--user",
        "admin",
        "--password",
        PASSWORD,
    )
    assert signed.exit_code == 0, signed.output
    assert on_hand(db) == {
        (floor.freezer, "AVAILABLE"): Decimal(50),
        (floor.far_freezer, "AVAILABLE"): Decimal(20),
    }
    closes(db)


@pytest.mark.parametrize(
    ("situation", "reason"),
    [("rejected", "stock.rejected"), ("held", "hold.qa"), ("expired", "expired")],
)
def test_rejected_held_and_expired_stock_cannot_leave_the_site_at_the_console(
    run: Cli, db: Database, clock: FakeClock, floor: Floor, situation: str, reason: str
) -> None:
    code = lot_code(db, floor)
    status = StockStatus.REJECTED if situation == "rejected" else StockStatus.AVAILABLE
    seed(db, clock, floor, 10, Bucket(floor.freezer, status), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.REJECTED if situation == "rejected" else QualityStatus.RELEASED)
    with db.transaction(clock=clock) as uow:
        if situation == "held":
            lots.place_hold(uow, lot_id=floor.lot, hold_type=HoldType.QA, reason="micro pending")
        if situation == "expired":
            uow.session.get_one(Lot, floor.lot).expiry_date = date(2026, 2, 27)
    before = rows(db)
    refused = run(
        "stock", "transfer", code, "--from", "FZ-01", "--to", "B:FZ-B1", "--qty", "5", "--unit", "EA"
    )
    assert refused.exit_code == 1
    assert "matrix.not_allowed" in refused.stderr
    assert reason in refused.stderr
    assert rows(db) == before
