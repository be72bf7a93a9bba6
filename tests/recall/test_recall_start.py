"""Starting a recall holds every lot in scope that has stock and gives back the open allocations
of those lots, in the one signed transaction; a drill over the same lots blocks nothing and
balances each of them. The outbound scenario: MILK lots E and F on the shelf, an order allocated
on them, part of E shipped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from lotline.domain.errors import Conflict
from lotline.domain.recall import CaseStatus, RecallKind, RecallLevel, TriggerKind
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType
from lotline.lots import service as lots
from lotline.models.lot import Hold
from lotline.models.outbound import Allocation
from lotline.models.recall import RecallHold
from lotline.models.stock import StockOnHand
from lotline.outbound.reservations import AllocationStatus
from lotline.recall import queries, service
from lotline.signatures import service as signatures
from lotline.signatures.service import SigningGrantInvalid
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import (
    PASSWORD,
    allocation_states,
    order_for,
    principal,
    reserved,
    rows,
)
from tests.outbound_fixtures import Shelf, build_shelf
from tests.tracing.helpers import ship

RECALLED = Hold.hold_type == HoldType.RECALL.value


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def _open(db: Database, clock: FakeClock, shelf: Shelf, kind: RecallKind, *letters: str) -> int:
    with db.transaction(clock=clock) as uow:
        case = service.open_case(
            uow,
            service.OpenRequest(
                kind=kind,
                trigger=service.Trigger(TriggerKind.LOTS, lot_codes=tuple(shelf.codes[x] for x in letters)),
                level=RecallLevel.CN_1,
                reason="glass fragments found by a customer",
            ),
        )
        return case.id


def _grant(db: Database, clock: FakeClock, case_id: int, meaning: Meaning = Meaning.RECALL) -> str:
    with db.transaction(clock=clock) as uow:
        secret, _ = signatures.authorize_signing(
            uow,
            principal=principal(db),
            web_session=None,
            username="admin",
            password=PASSWORD,
            meaning=meaning,
            record_type=service.RECORD_TYPE,
            record_id=str(case_id),
            client_ip=None,
        )
        return secret


def test_start_holds_the_stock_in_scope_and_gives_back_its_allocations(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    e, f = shelf.lots["E"], shelf.lots["F"]
    ship(db, clock, shelf, "10", shelf.codes["E"])
    order_for(db, clock, shelf, "40")  # open allocations on E (and F)
    assert reserved(db).get(e)
    case_id = _open(db, clock, shelf, RecallKind.RECALL, "E")
    with db.transaction(read_only=True) as uow:  # a draft holds nothing yet
        assert uow.session.scalars(select(Hold).where(Hold.lot_id == e)).all() == []
    with db.transaction(clock=clock) as uow:
        service.start_case(
            uow, case_id=case_id, principal=principal(db), signing_grant=_grant(db, clock, case_id)
        )
    with db.transaction(read_only=True) as uow:
        holds = uow.session.scalars(select(Hold).where(Hold.lifted_at.is_(None), RECALLED)).all()
        assert [h.lot_id for h in holds] == [e]
        linked = uow.session.scalars(select(RecallHold.hold_id).where(RecallHold.case_id == case_id)).all()
        assert linked == [holds[0].id]
        open_on_e = uow.session.scalars(
            select(Allocation).where(Allocation.lot_id == e, Allocation.status == AllocationStatus.OPEN.value)
        ).all()
        assert open_on_e == []
        view = queries.case_view(uow, service.get_case(uow, case_id), now=clock.now)
    assert e not in reserved(db)  # what E held for the order is free again (and blocked by the hold)
    assert view.case.status == CaseStatus.ACTIVE.value
    assert [(c.customer_id, c.shipped) for c in view.customers] == [(shelf.customer, Decimal(10))]
    assert view.unheld_stock == []
    assert {lot.lot_id for lot in view.lots} == {e}
    assert f not in {row.lot_id for row in view.stock}


def test_a_refused_signature_starts_nothing(db: Database, clock: FakeClock, shelf: Shelf) -> None:
    order_for(db, clock, shelf, "40")
    case_id = _open(db, clock, shelf, RecallKind.RECALL, "E")
    before, states = rows(db), allocation_states(db)
    with db.transaction(clock=clock) as uow, pytest.raises(SigningGrantInvalid):
        service.start_case(uow, case_id=case_id, principal=principal(db), signing_grant="not-a-grant")
    assert rows(db) == before
    assert allocation_states(db) == states
    with db.transaction(read_only=True) as uow:
        assert service.get_case(uow, case_id).status == CaseStatus.DRAFT.value


def test_a_started_recall_cannot_start_again_and_closes_signed_with_its_holds_kept(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    case_id = _open(db, clock, shelf, RecallKind.RECALL, "E", "F")
    with db.transaction(clock=clock) as uow:
        service.start_case(
            uow, case_id=case_id, principal=principal(db), signing_grant=_grant(db, clock, case_id)
        )
    with db.transaction(clock=clock) as uow, pytest.raises(Conflict) as refused:
        service.start_case(
            uow, case_id=case_id, principal=principal(db), signing_grant=_grant(db, clock, case_id)
        )
    assert refused.value.code == "recall.bad_transition"
    with db.transaction(clock=clock) as uow:
        closed = service.close_case(
            uow,
            case_id=case_id,
            note="all stock destroyed, customers confirmed",
            principal=principal(db),
            signing_grant=_grant(db, clock, case_id, Meaning.CLOSE),
        )
        assert (closed.status, closed.close_signature_id is not None) == (CaseStatus.CLOSED.value, True)
    with db.transaction(read_only=True) as uow:
        assert len(uow.session.scalars(select(Hold).where(Hold.lifted_at.is_(None), RECALLED)).all()) == 2


def test_a_drill_blocks_nothing_and_lists_a_lot_whose_balance_does_not_close(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    e = shelf.lots["E"]
    ship(db, clock, shelf, "10", shelf.codes["E"])
    # Someone edited the projection behind the ledger's back: five of E vanished.
    with db.transaction(clock=clock) as uow:
        row = uow.session.scalars(
            select(StockOnHand).where(StockOnHand.lot_id == e, StockOnHand.qty_base > 5)
        ).first()
        assert row is not None
        uow.session.execute(
            update(StockOnHand).where(StockOnHand.id == row.id).values(qty_base=row.qty_base - 5)
        )
    order_for(db, clock, shelf, "30")
    states, held_before = allocation_states(db), reserved(db)
    case_id = _open(db, clock, shelf, RecallKind.DRILL, "E", "F")
    with db.transaction(read_only=True) as uow:
        case = service.get_case(uow, case_id)
        assert case.status == CaseStatus.COMPLETED.value
        assert uow.session.scalars(select(Hold).where(RECALLED)).all() == []
        result = case.drill_result or {}
    assert allocation_states(db) == states
    assert reserved(db) == held_before
    assert result["lots"] == 2
    assert result["balanced"] == 1
    assert [(row["lot"], row["difference"]) for row in result["unbalanced"]] == [
        (shelf.codes["E"], "5.000000")
    ]
    assert result["time_to_trace_ms"] >= 0


def test_allocations_flagged_by_an_earlier_hold_are_given_back_too(
    db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    e = shelf.lots["E"]
    order_for(db, clock, shelf, "40")
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=e, hold_type=HoldType.QA, reason="odd smell reported")
    assert {status for _line, lot, status, _qty in allocation_states(db) if lot == e} == {
        AllocationStatus.FLAGGED.value
    }
    assert reserved(db).get(e)  # flagged: still reserved for the order, waiting for re-allocation
    case_id = _open(db, clock, shelf, RecallKind.RECALL, "E")
    with db.transaction(clock=clock) as uow:
        service.start_case(
            uow, case_id=case_id, principal=principal(db), signing_grant=_grant(db, clock, case_id)
        )
    assert {status for _line, lot, status, _qty in allocation_states(db) if lot == e} == {
        AllocationStatus.RELEASED.value
    }
    assert e not in reserved(db)
