"""The status × transaction matrix: every cell, against expectations written out by hand here.

The expected answers are literal sets typed from the rules (DESIGN.md "Lifecycle", GMP practice)
and combined by logic written apart from ``lotline.domain.matrix``; nothing here reads the table
under test, so a slip in the table shows up as a wrong cell instead of being copied into the test.
"""

from __future__ import annotations

from itertools import combinations, product

import pytest

from lotline.domain.errors import ErrorKind
from lotline.domain.matrix import StockSituation, TransactionNotAllowed, Verdict, check, decide
from lotline.domain.status import HoldType, QualityStatus, StockStatus, Transaction

T = Transaction
Q = QualityStatus
S = StockStatus
H = HoldType

# --- the expectations, by hand --------------------------------------------------------------

ALLOWED_WHEN_UNBLOCKED = {
    T.PUTAWAY,
    T.MOVE,
    T.MOVE_TO_QA,
    T.ALLOCATE,
    T.PICK,
    T.SHIP,
    T.CONSUME,
    T.SAMPLE,
    T.RETAIN_SAMPLE,
    T.RETURN_TO_SUPPLIER,
    T.SCRAP,
    T.ADJUST,
    T.TRANSFER_OUT,
}
# Quarantined or rejected stock moves only into a QA area (待验区 / 不合格品区): a putaway or a
# move elsewhere, or a transfer to another site, is refused until QA decides (issue 5).
ALLOWED_WHEN_QUARANTINED = {
    T.MOVE_TO_QA,
    T.SAMPLE,
    T.RETAIN_SAMPLE,
    T.ADJUST,
    T.SCRAP,
    T.RETURN_TO_SUPPLIER,
}
ALLOWED_WHEN_REJECTED = {
    T.MOVE_TO_QA,
    T.SAMPLE,
    T.ADJUST,
    T.SCRAP,
    T.RETURN_TO_SUPPLIER,
    T.REWORK,
}
ALLOWED_WHEN_IN_TRANSIT = {T.RECEIVE_TRANSFER, T.ADJUST}
ALLOWED_WHEN_RETAINED_SAMPLE = {T.MOVE, T.ADJUST, T.SCRAP}
ALLOWED_WHEN_HELD = {T.PUTAWAY, T.MOVE, T.MOVE_TO_QA, T.SAMPLE, T.ADJUST, T.SCRAP, T.RETURN_TO_SUPPLIER}
ALLOWED_WHEN_EXPIRED = {T.PUTAWAY, T.MOVE, T.MOVE_TO_QA, T.SAMPLE, T.ADJUST, T.SCRAP, T.RETURN_TO_SUPPLIER}
ALWAYS_SIGNED = {T.SCRAP, T.RETURN_TO_SUPPLIER, T.REWORK}

# Hold types in the order their reasons are listed, with their codes.
HOLD_CODES = [
    (H.QA, "hold.qa"),
    (H.EXCURSION, "hold.excursion"),
    (H.DEVIATION, "hold.deviation"),
    (H.RECALL, "hold.recall"),
    (H.EXPIRY, "hold.expiry"),
]

HOLD_SITUATIONS = [
    frozenset(),
    *(frozenset({hold}) for hold in HoldType),
    *(frozenset(pair) for pair in combinations(HoldType, 2)),
]
SITUATIONS = [
    StockSituation(quality=quality, stock=stock, holds=holds, expired=expired)
    for quality, stock, holds, expired in product(QualityStatus, StockStatus, HOLD_SITUATIONS, (False, True))
]


def expected_blocked_by(transaction: Transaction, situation: StockSituation) -> tuple[str, ...]:
    """Every reason the rules give for refusing ``transaction`` here, in the documented order."""
    if transaction is T.RECEIVE_TRANSFER:
        # Whatever is in transit is taken in, blocked or not (it stays blocked); nothing else is.
        return () if situation.stock is S.IN_TRANSIT else ("requires.in_transit",)
    reasons: list[str] = []
    if situation.quality is Q.QUARANTINE and transaction not in ALLOWED_WHEN_QUARANTINED:
        reasons.append("quality.quarantine")
    if situation.quality is Q.REJECTED and transaction not in ALLOWED_WHEN_REJECTED:
        reasons.append("quality.rejected")
    if situation.stock is S.QUARANTINE and transaction not in ALLOWED_WHEN_QUARANTINED:
        reasons.append("stock.quarantine")
    if situation.stock is S.REJECTED and transaction not in ALLOWED_WHEN_REJECTED:
        reasons.append("stock.rejected")
    if situation.stock is S.IN_TRANSIT and transaction not in ALLOWED_WHEN_IN_TRANSIT:
        reasons.append("stock.in_transit")
    if situation.stock is S.RETAINED_SAMPLE and transaction not in ALLOWED_WHEN_RETAINED_SAMPLE:
        reasons.append("stock.retained_sample")
    for hold, code in HOLD_CODES:
        if hold in situation.holds and transaction not in ALLOWED_WHEN_HELD:
            reasons.append(code)
    if situation.expired and transaction not in ALLOWED_WHEN_EXPIRED:
        reasons.append("expired")
    if transaction is T.REWORK and situation.quality is not Q.REJECTED and situation.stock is not S.REJECTED:
        reasons.append("requires.rejected")
    return tuple(reasons)


# --- every cell -----------------------------------------------------------------------------


def test_the_cells_cover_every_status_hold_and_expiry_combination() -> None:
    assert len(HOLD_SITUATIONS) == 1 + 5 + 10
    assert len(SITUATIONS) == 3 * 5 * 16 * 2
    assert len(SITUATIONS) * len(Transaction) == 7200


@pytest.mark.parametrize("transaction", list(Transaction), ids=str)
def test_every_cell_matches_the_rules(transaction: Transaction) -> None:
    wrong = []
    for situation in SITUATIONS:
        reasons = expected_blocked_by(transaction, situation)
        expected = Verdict(
            allowed=not reasons, needs_signature=transaction in ALWAYS_SIGNED, blocked_by=reasons
        )
        actual = decide(transaction, situation)
        if actual != expected:
            wrong.append(f"{situation}: expected {expected}, got {actual}")
    assert not wrong, f"{len(wrong)} wrong cells for {transaction}:\n" + "\n".join(wrong[:20])


def test_released_available_stock_allows_everything_but_rework_and_receiving() -> None:
    unblocked = StockSituation(quality=Q.RELEASED, stock=S.AVAILABLE)
    allowed = {transaction for transaction in Transaction if decide(transaction, unblocked).allowed}
    assert allowed == ALLOWED_WHEN_UNBLOCKED
    assert decide(T.REWORK, unblocked).blocked_by == ("requires.rejected",)
    assert decide(T.RECEIVE_TRANSFER, unblocked).blocked_by == ("requires.in_transit",)


# --- cases a QA manager would recognise ------------------------------------------------------


def test_quarantined_stock_may_move_to_a_qa_bin_but_not_be_allocated() -> None:
    quarantined = StockSituation(quality=Q.QUARANTINE, stock=S.QUARANTINE)
    assert decide(T.MOVE_TO_QA, quarantined) == Verdict(allowed=True, needs_signature=False, blocked_by=())
    refused = decide(T.ALLOCATE, quarantined)
    assert not refused.allowed
    assert refused.blocked_by == ("quality.quarantine", "stock.quarantine")


def test_rejected_stock_may_go_back_to_the_supplier_be_scrapped_or_reworked_each_needing_a_signature() -> (
    None
):
    rejected = StockSituation(quality=Q.REJECTED, stock=S.REJECTED)
    for disposition in (T.RETURN_TO_SUPPLIER, T.SCRAP, T.REWORK):
        assert decide(disposition, rejected) == Verdict(allowed=True, needs_signature=True, blocked_by=())
    assert decide(T.SHIP, rejected).blocked_by == ("quality.rejected", "stock.rejected")


def test_a_rejected_pallet_of_a_released_lot_may_be_reworked() -> None:
    assert decide(T.REWORK, StockSituation(quality=Q.RELEASED, stock=S.REJECTED)).allowed


def test_good_stock_is_never_reworked() -> None:
    verdict = decide(T.REWORK, StockSituation(quality=Q.RELEASED, stock=S.AVAILABLE))
    assert verdict == Verdict(allowed=False, needs_signature=True, blocked_by=("requires.rejected",))


def test_expired_stock_may_be_scrapped_or_returned_but_never_shipped() -> None:
    expired = StockSituation(quality=Q.RELEASED, stock=S.AVAILABLE, expired=True)
    assert decide(T.SCRAP, expired).allowed
    assert decide(T.RETURN_TO_SUPPLIER, expired).allowed
    assert decide(T.SAMPLE, expired).allowed  # a retest
    for use in (T.ALLOCATE, T.PICK, T.SHIP, T.CONSUME):
        assert decide(use, expired).blocked_by == ("expired",)


def test_a_released_lots_quarantined_pallet_cannot_be_picked() -> None:
    pallet = StockSituation(quality=Q.RELEASED, stock=S.QUARANTINE)
    verdict = decide(T.PICK, pallet)
    assert verdict == Verdict(allowed=False, needs_signature=False, blocked_by=("stock.quarantine",))
    assert decide(T.PICK, StockSituation(quality=Q.RELEASED, stock=S.AVAILABLE)).allowed


def test_two_holds_are_each_listed_and_lifting_one_still_blocks() -> None:
    both = StockSituation(quality=Q.RELEASED, stock=S.AVAILABLE, holds=frozenset({H.RECALL, H.EXCURSION}))
    assert decide(T.ALLOCATE, both).blocked_by == ("hold.excursion", "hold.recall")
    excursion_lifted = StockSituation(quality=Q.RELEASED, stock=S.AVAILABLE, holds=frozenset({H.RECALL}))
    assert decide(T.ALLOCATE, excursion_lifted) == Verdict(
        allowed=False, needs_signature=False, blocked_by=("hold.recall",)
    )


def test_a_retained_sample_is_never_allocatable() -> None:
    for quality in QualityStatus:
        verdict = decide(T.ALLOCATE, StockSituation(quality=quality, stock=S.RETAINED_SAMPLE))
        assert not verdict.allowed
        assert "stock.retained_sample" in verdict.blocked_by
    retained = StockSituation(quality=Q.RELEASED, stock=S.RETAINED_SAMPLE)
    assert {transaction for transaction in Transaction if decide(transaction, retained).allowed} == {
        T.MOVE,
        T.ADJUST,
        T.SCRAP,
    }


def test_in_transit_stock_can_only_be_received_even_on_recall_hold_or_adjusted() -> None:
    recalled = StockSituation(quality=Q.RELEASED, stock=S.IN_TRANSIT, holds=frozenset({H.RECALL}))
    assert decide(T.RECEIVE_TRANSFER, recalled).allowed
    assert decide(T.ADJUST, recalled).allowed
    on_the_road = StockSituation(quality=Q.RELEASED, stock=S.IN_TRANSIT)
    allowed = {transaction for transaction in Transaction if decide(transaction, on_the_road).allowed}
    assert allowed == {T.RECEIVE_TRANSFER, T.ADJUST}
    assert decide(T.MOVE, on_the_road).blocked_by == ("stock.in_transit",)


def test_quarantined_or_rejected_stock_in_transit_is_still_received() -> None:
    for quality in (Q.QUARANTINE, Q.REJECTED):
        situation = StockSituation(quality=quality, stock=S.IN_TRANSIT, expired=True)
        assert decide(T.RECEIVE_TRANSFER, situation).allowed


def test_every_blocking_reason_is_listed_in_a_fixed_order() -> None:
    everything = StockSituation(
        quality=Q.QUARANTINE, stock=S.REJECTED, holds=frozenset(HoldType), expired=True
    )
    assert decide(T.SHIP, everything).blocked_by == (
        "quality.quarantine",
        "stock.rejected",
        "hold.qa",
        "hold.excursion",
        "hold.deviation",
        "hold.recall",
        "hold.expiry",
        "expired",
    )


def test_a_signature_is_due_for_scrap_return_and_rework_even_when_refused() -> None:
    on_the_road = StockSituation(quality=Q.RELEASED, stock=S.IN_TRANSIT)
    for signed in (T.SCRAP, T.RETURN_TO_SUPPLIER, T.REWORK):
        verdict = decide(signed, on_the_road)
        assert not verdict.allowed
        assert verdict.needs_signature


# --- check ----------------------------------------------------------------------------------


def test_check_raises_transaction_not_allowed_with_the_reasons() -> None:
    held = StockSituation(
        quality=Q.RELEASED, stock=S.AVAILABLE, holds=frozenset({H.QA, H.DEVIATION}), expired=True
    )
    with pytest.raises(TransactionNotAllowed) as raised:
        check(T.PICK, held)
    error = raised.value
    assert error.code == "matrix.not_allowed"
    assert error.kind is ErrorKind.CONFLICT
    assert error.field == "lot"
    assert error.params["transaction"] == "pick"
    assert error.params["blocked_by"] == ("hold.qa", "hold.deviation", "expired")
    assert error.params["reasons"] == "hold.qa, hold.deviation, expired"
    rendered = error.render(lambda text: text)
    assert rendered == (
        "picking is not allowed: a QA hold is on it; a deviation hold is on it; the lot is expired."
    )


def test_check_returns_the_verdict_when_allowed() -> None:
    rejected = StockSituation(quality=Q.REJECTED, stock=S.AVAILABLE)
    assert check(T.SCRAP, rejected) == Verdict(allowed=True, needs_signature=True, blocked_by=())
