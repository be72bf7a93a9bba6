"""The words of the lot lifecycle: quality status, stock status, hold types, transactions.

Kept apart on purpose (DESIGN.md "Lifecycle"): the QA decision on a lot, the status of each
piece of its stock, and the holds that block it are three different things.
"""

from __future__ import annotations

from enum import StrEnum


class QualityStatus(StrEnum):
    """The QA decision on the lot as a whole."""

    QUARANTINE = "QUARANTINE"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"


class StockStatus(StrEnum):
    """The status of one piece of stock (lot × location × SSCC)."""

    AVAILABLE = "AVAILABLE"
    QUARANTINE = "QUARANTINE"
    REJECTED = "REJECTED"
    IN_TRANSIT = "IN_TRANSIT"
    RETAINED_SAMPLE = "RETAINED_SAMPLE"


class HoldType(StrEnum):
    """Why stock is blocked; several holds may stand at once, each lifted on its own."""

    QA = "QA"
    EXCURSION = "EXCURSION"
    DEVIATION = "DEVIATION"
    RECALL = "RECALL"
    EXPIRY = "EXPIRY"


class Transaction(StrEnum):
    """Everything that can be done to stock; the matrix says which are allowed when."""

    PUTAWAY = "putaway"
    MOVE = "move"
    MOVE_TO_QA = "move_to_qa"
    ALLOCATE = "allocate"
    PICK = "pick"
    SHIP = "ship"
    CONSUME = "consume"
    SAMPLE = "sample"
    RETAIN_SAMPLE = "retain_sample"
    RETURN_TO_SUPPLIER = "return_to_supplier"
    SCRAP = "scrap"
    REWORK = "rework"
    ADJUST = "adjust"
    TRANSFER_OUT = "transfer_out"
    RECEIVE_TRANSFER = "receive_transfer"


# The lot-level QA decisions and the transitions they may make. Rejected is final for the lot
# as a whole: what happens to rejected stock (return, scrap, rework) is a transaction of its own.
DECISIONS: dict[QualityStatus, frozenset[QualityStatus]] = {
    QualityStatus.RELEASED: frozenset({QualityStatus.QUARANTINE}),
    QualityStatus.REJECTED: frozenset({QualityStatus.QUARANTINE, QualityStatus.RELEASED}),
}


def decision_allowed(current: QualityStatus, decision: QualityStatus) -> bool:
    """Whether a lot in ``current`` may be given ``decision`` (release or reject)."""
    return current in DECISIONS.get(decision, frozenset())
