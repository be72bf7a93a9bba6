"""Picking by scan: a lot code, an SSCC or a GS1 label confirms the line's allocation; another lot
is a FEFO deviation that must be signed and still fit the delivery; blocked stock is refused with
the matrix's reason and nothing written; a hold placed after allocation flags the allocation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from lotline.domain.errors import InvalidInput, NotFound
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.status import HoldType, QualityStatus
from lotline.lots import service as lots
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import Allocation, Pick, SalesOrder, SalesOrderLine
from lotline.models.signature import Signature
from lotline.outbound import picking
from lotline.outbound.fulfilment import HeldSinceAllocation
from lotline.outbound.picking import DeviationNotEligible, PickTooLarge
from lotline.signatures.service import SigningGrantInvalid
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import (
    allocation_states,
    invariants_hold,
    order_for,
    override_grant,
    palletise,
    principal,
    reserved,
    rows,
)
from tests.outbound_fixtures import Shelf, build_shelf


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def pick(
    db: Database, clock: FakeClock, line_id: int, scanned: str, qty: str, unit: str = "EA", **extra: object
):  # type: ignore[no-untyped-def]
    with db.transaction(clock=clock) as uow:
        picked = picking.pick(
            uow,
            line_id=line_id,
            scanned=scanned,
            quantity=Decimal(qty),
            unit=unit,
            principal=principal(db),
            **extra,  # type: ignore[arg-type]
        )
        return [(p.lot_id, p.qty_base, p.deviation) for p in picked.picks], picked.line.status


def pick_as_the_interfaces_do(db: Database, clock: FakeClock, line_id: int, scanned: str, qty: str) -> None:
    """A pick in its own transaction, committed when refused for a hold: the refusal keeps its flags."""
    with db.transaction(clock=clock) as uow:
        try:
            picking.pick(
                uow,
                line_id=line_id,
                scanned=scanned,
                quantity=Decimal(qty),
                unit="EA",
                principal=principal(db),
            )
        except HeldSinceAllocation:
            uow.commit()
            raise


def statuses(db: Database, line_id: int) -> tuple[str, str]:
    with db.transaction(read_only=True) as uow:
        line = uow.session.get_one(SalesOrderLine, line_id)
        return line.status, uow.session.get_one(SalesOrder, line.order_id).status


def test_a_lot_code_scan_confirms_the_proposed_lots_in_eaches_and_cases(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    e, f = shelf.lots["E"], shelf.lots["F"]
    assert pick(db, clock, line, shelf.codes["E"], "30") == ([(e, Decimal(30), False)], "allocated")
    assert pick(db, clock, line, f"  {shelf.codes['F']} ", "2", unit="CS") == (
        [(f, Decimal(24), False)],
        "allocated",
    )
    assert pick(db, clock, line, shelf.codes["F"], "6") == ([(f, Decimal(6), False)], "picked")
    assert statuses(db, line) == ("picked", "picked")
    # Picked stock stays reserved until it ships; the split allocation keeps the line's total.
    assert reserved(db) == {e: Decimal(30), f: Decimal(30)}
    assert sorted((lot, status, qty) for _l, lot, status, qty in allocation_states(db)) == [
        (e, "picked", Decimal(30)),
        (f, "picked", Decimal(6)),
        (f, "picked", Decimal(24)),
    ]
    invariants_hold(db)


@pytest.mark.parametrize("form", ["bare", "gs1_128", "ai_00_digits", "digital_link"])
def test_an_sscc_scan_confirms_the_pallet_allocated(
    db: Database, clock: FakeClock, shelf: Shelf, form: str
) -> None:
    code = palletise(db, clock, shelf, "E", 1)
    line = order_for(db, clock, shelf)
    scanned = {
        "bare": code,
        "gs1_128": f"]C100{code}",
        "ai_00_digits": f"00{code}",
        "digital_link": f"https://id.example.com/00/{code}",
    }[form]
    assert pick(db, clock, line, scanned, "30") == ([(shelf.lots["E"], Decimal(30), False)], "allocated")
    with db.transaction(read_only=True) as uow:
        done = uow.session.scalars(select(Pick)).one()
        assert (done.sscc, done.scanned) == (code, scanned)
    invariants_hold(db)


def test_a_gs1_label_with_the_lot_in_ai_10_is_read(db: Database, clock: FakeClock, shelf: Shelf) -> None:
    line = order_for(db, clock, shelf)
    assert pick(db, clock, line, f"]C110{shelf.codes['E']}", "10")[0] == [
        (shelf.lots["E"], Decimal(10), False)
    ]


def test_a_bad_scan_or_quantity_is_refused_and_nothing_is_written(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    before = rows(db)
    with pytest.raises(InvalidInput) as bad_digit:
        pick(db, clock, line, "030698040000000010", "1")  # wrong SSCC check digit
    assert bad_digit.value.field == "scanned"
    with pytest.raises(NotFound):
        pick(db, clock, line, "NO-SUCH-LOT", "1")
    with pytest.raises(PickTooLarge):
        pick(db, clock, line, shelf.codes["E"], "31")
    with pytest.raises(InvalidInput):
        pick(db, clock, line, shelf.codes["E"], "0")
    assert rows(db) == before


def test_a_deviation_without_a_reason_or_a_signature_is_refused(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf, "20")  # FEFO proposes E
    before = rows(db)
    with pytest.raises(InvalidInput) as no_reason:
        pick(db, clock, line, shelf.codes["F"], "20")
    assert no_reason.value.field == "deviation_reason"
    with pytest.raises(SigningGrantInvalid):
        pick(db, clock, line, shelf.codes["F"], "20", deviation_reason="E is behind the pallets")
    with pytest.raises(SigningGrantInvalid):
        pick(
            db,
            clock,
            line,
            shelf.codes["F"],
            "20",
            deviation_reason="E is behind",
            signing_grant="lls_forged",
        )
    assert rows(db) == before


def test_a_signed_deviation_moves_the_reservation_and_is_logged(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf, "30")
    e, f = shelf.lots["E"], shelf.lots["F"]
    assert reserved(db) == {e: Decimal(30)}
    grant = override_grant(db, clock, line)
    picked = pick(
        db,
        clock,
        line,
        shelf.codes["F"],
        "20",
        deviation_reason="E is blocked in by a pallet",
        signing_grant=grant,
    )
    assert picked == ([(f, Decimal(20), True)], "allocated")
    # E gives way for what F took; the rest of E stays proposed.
    assert reserved(db) == {e: Decimal(10), f: Decimal(20)}
    assert sorted((lot, status, q) for _l, lot, status, q in allocation_states(db)) == [
        (e, "open", Decimal(10)),
        (e, "released", Decimal(20)),
        (f, "picked", Decimal(20)),
    ]
    with db.transaction(read_only=True) as uow:
        (logged,) = picking.deviations(uow, site_ids={shelf.site}, cursor=None, limit=10).items
        assert (logged.lot_id, logged.proposed_lot_id, logged.deviation_reason) == (
            f,
            e,
            "E is blocked in by a pallet",
        )
        signature = uow.session.get_one(Signature, logged.signature_id)
        assert (signature.meaning, signature.record_type, signature.record_id) == (
            "override",
            "sales_order_line",
            str(line),
        )
        assert picking.deviations(uow, site_ids=set(), cursor=None, limit=10).items == []
    invariants_hold(db)
    # The grant was used once: a second deviation needs a new signature.
    with pytest.raises(SigningGrantInvalid):
        pick(db, clock, line, shelf.codes["F"], "1", deviation_reason="again", signing_grant=grant)


@pytest.mark.parametrize(
    ("letter", "reason"), [("C", "short_of_customer_minimum"), ("B", "expires_before_delivery")]
)
def test_a_deviation_must_still_meet_the_delivery_date_and_minimum_shelf_life(
    db: Database, clock: FakeClock, shelf: Shelf, letter: str, reason: str
) -> None:
    line = order_for(db, clock, shelf, "20")
    grant = override_grant(db, clock, line)
    before = rows(db)
    with pytest.raises(DeviationNotEligible) as refused:
        pick(
            db,
            clock,
            line,
            shelf.codes[letter],
            "5",
            deviation_reason="closer to the door",
            signing_grant=grant,
        )
    assert reason in refused.value.details()["reasons"]  # type: ignore[operator]
    assert rows(db) == before


def _block(db: Database, clock: FakeClock, shelf: Shelf, how: str) -> None:
    e = shelf.lots["E"]
    with db.transaction(clock=clock) as uow:
        if how == "quarantined":
            uow.session.get_one(Lot, e).quality_status = QualityStatus.QUARANTINE.value
        elif how == "rejected":
            uow.session.get_one(Lot, e).quality_status = QualityStatus.REJECTED.value
        elif how == "recall_held":
            lots.place_hold(uow, lot_id=e, hold_type=HoldType.RECALL, reason="recall R-1")
    if how == "expired":
        clock.now = datetime(2026, 3, 20, 16, 30, tzinfo=UTC)  # 00:30 on 03-21 in Shanghai


BLOCKS = {
    "quarantined": "quality.quarantine",
    "rejected": "quality.rejected",
    "recall_held": "hold.recall",
    "expired": "expired",
}


@pytest.mark.parametrize("how", list(BLOCKS))
def test_blocked_stock_is_refused_at_pick_with_the_reason_and_nothing_written(
    db: Database, clock: FakeClock, shelf: Shelf, how: str
) -> None:
    line = order_for(db, clock, shelf)
    _block(db, clock, shelf, how)
    before, allocations = rows(db), allocation_states(db)
    with pytest.raises(TransactionNotAllowed) as refused:
        pick(db, clock, line, shelf.codes["E"], "30")
    assert not isinstance(refused.value, HeldSinceAllocation)
    assert BLOCKS[how] in refused.value.details()["blocked_by"]  # type: ignore[operator]
    assert refused.value.details()["transaction"] == "pick"
    assert rows(db) == before
    assert allocation_states(db) == allocations


def test_a_blocked_lot_cannot_be_taken_as_a_deviation_either(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf, "20")
    grant = override_grant(db, clock, line)
    before = rows(db)
    with pytest.raises(TransactionNotAllowed) as refused:  # A: on a QA hold from the start
        pick(db, clock, line, shelf.codes["A"], "5", deviation_reason="nearest", signing_grant=grant)
    assert "hold.qa" in refused.value.details()["blocked_by"]  # type: ignore[operator]
    assert rows(db) == before


def test_a_hold_placed_after_allocation_fails_the_pick_and_the_allocation_is_flagged(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    e = shelf.lots["E"]
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=e, hold_type=HoldType.DEVIATION, reason="seal broken on arrival")
    before = rows(db)
    with pytest.raises(TransactionNotAllowed) as refused:
        pick(db, clock, line, shelf.codes["E"], "30")
    assert "hold.deviation" in refused.value.details()["blocked_by"]  # type: ignore[operator]
    assert rows(db) == before
    with db.transaction(read_only=True) as uow:
        flagged = uow.session.scalars(select(Allocation).where(Allocation.lot_id == e)).one()
        assert (flagged.status, flagged.flag_reason) == ("flagged", "hold.deviation")
    invariants_hold(db)


def test_a_hold_that_reached_the_stock_unflagged_is_flagged_when_the_pick_is_refused(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    """A hold written by a path that does not flag (a bin held by an excursion, an import) is
    caught at the pick: refused, and the allocations it covers are flagged and kept flagged."""
    line = order_for(db, clock, shelf)
    e = shelf.lots["E"]
    with db.transaction(clock=clock) as uow:
        uow.session.add(
            Hold(
                lot_id=e,
                site_id=shelf.site,
                hold_type=HoldType.EXCURSION.value,
                reason="bin AMB-1 at 31 °C",
                location_id=shelf.bin,
                placed_at=clock.now,
                placed_by="sensor import",
            )
        )
    with pytest.raises(HeldSinceAllocation) as refused:
        pick_as_the_interfaces_do(db, clock, line, shelf.codes["E"], "30")
    assert "hold.excursion" in refused.value.details()["blocked_by"]  # type: ignore[operator]
    assert refused.value.details()["flagged_allocations"] == 1
    with db.transaction(read_only=True) as uow:
        flagged = uow.session.scalars(select(Allocation).where(Allocation.lot_id == e)).one()
        assert (flagged.status, flagged.flag_reason) == ("flagged", "hold.excursion")
        assert uow.session.scalars(select(Pick)).all() == []
    assert statuses(db, line) == ("short", "open")
    invariants_hold(db)
