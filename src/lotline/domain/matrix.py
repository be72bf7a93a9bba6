"""The status × transaction matrix: which transaction is allowed on which stock, in one table.

Every interface (API, web, CLI, import) asks ``decide`` or ``check`` before it touches stock
(DESIGN.md "Lifecycle"). The rules, GMP practice:

- Unblocked stock (quality RELEASED, stock AVAILABLE, no active hold, not expired) allows every
  transaction except REWORK (only for rejected stock) and RECEIVE_TRANSFER (only for stock
  IN_TRANSIT).
- Each of the following is a blocking condition with its own reason code. A transaction is
  allowed only if EVERY condition present still permits it, and ``blocked_by`` lists every
  condition that does not, in a fixed order (allocation explains why it passed a lot over):

  - quality QUARANTINE (lot not yet released), and likewise stock QUARANTINE (one pallet of a
    released lot from a failed truck): MOVE_TO_QA, SAMPLE, RETAIN_SAMPLE, ADJUST, SCRAP,
    RETURN_TO_SUPPLIER. Never PUTAWAY or MOVE (outside a QA area), TRANSFER_OUT, ALLOCATE, PICK,
    SHIP, CONSUME, REWORK. A putaway or move whose target is a QA-area location is MOVE_TO_QA.
  - quality REJECTED, and likewise stock REJECTED: MOVE_TO_QA, SAMPLE, ADJUST, SCRAP,
    RETURN_TO_SUPPLIER, REWORK. Never PUTAWAY, MOVE, ALLOCATE, PICK, SHIP, CONSUME, TRANSFER_OUT,
    RETAIN_SAMPLE.
  - stock IN_TRANSIT: only RECEIVE_TRANSFER and ADJUST (a shortage found on the way); anything
    else is refused with ``stock.in_transit``.
  - stock RETAINED_SAMPLE (留样): MOVE, ADJUST, SCRAP (at the end of retention). Never allocated,
    sampled for testing through this path, or shipped.
  - each active hold type (QA, EXCURSION, DEVIATION, RECALL, EXPIRY; its own row and reason, equal
    today so that one can change alone): PUTAWAY, MOVE, MOVE_TO_QA, SAMPLE, ADJUST, SCRAP,
    RETURN_TO_SUPPLIER. Never ALLOCATE, PICK, SHIP, CONSUME, TRANSFER_OUT, RETAIN_SAMPLE, REWORK.
  - expired by date, always: PUTAWAY, MOVE, MOVE_TO_QA, SAMPLE (retest), ADJUST, SCRAP,
    RETURN_TO_SUPPLIER. Never ALLOCATE, PICK, SHIP, CONSUME, TRANSFER_OUT, RETAIN_SAMPLE, REWORK.

- RECEIVE_TRANSFER is allowed only for stock IN_TRANSIT, and then whatever else blocks it: the
  receiving site must be able to take in blocked stock, which stays blocked there. On any
  other stock it is refused with ``requires.in_transit``; REWORK on stock that is not rejected
  (by quality or stock status) with ``requires.rejected``.
- SCRAP, RETURN_TO_SUPPLIER and REWORK always need a signed decision (``needs_signature`` is
  true whether or not they are allowed); nothing else does here (a large ADJUST is signed by a
  quantity rule elsewhere).

"Expired" is derived by the caller from dates and the site's clock; it is never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from lotline.domain.errors import N_, Conflict, Translate
from lotline.domain.reason_text import transaction_text
from lotline.domain.status import HoldType, QualityStatus, StockStatus, Transaction

__all__ = [
    "NEEDS_SIGNATURE",
    "ONLY_FOR",
    "PERMITTED",
    "Reason",
    "StockSituation",
    "TransactionNotAllowed",
    "Verdict",
    "check",
    "decide",
]


class Reason(StrEnum):
    """Why a transaction is refused; stable codes, in the order ``blocked_by`` lists them."""

    QUALITY_QUARANTINE = "quality.quarantine"
    QUALITY_REJECTED = "quality.rejected"
    STOCK_QUARANTINE = "stock.quarantine"
    STOCK_REJECTED = "stock.rejected"
    STOCK_IN_TRANSIT = "stock.in_transit"
    STOCK_RETAINED_SAMPLE = "stock.retained_sample"
    HOLD_QA = "hold.qa"
    HOLD_EXCURSION = "hold.excursion"
    HOLD_DEVIATION = "hold.deviation"
    HOLD_RECALL = "hold.recall"
    HOLD_EXPIRY = "hold.expiry"
    EXPIRED = "expired"
    # Not conditions of the stock but the absence of one a transaction needs (ONLY_FOR).
    REQUIRES_REJECTED = "requires.rejected"
    REQUIRES_IN_TRANSIT = "requires.in_transit"


_T = Transaction

# What each kind of block still lets through, named once so the table below reads row by row.
# Not yet released: it stays in a QA area (a putaway or move goes there: MOVE_TO_QA), is tested,
# sampled for retention, counted, or disposed of. It does not leave the site.
_QUARANTINED = frozenset(
    {_T.MOVE_TO_QA, _T.SAMPLE, _T.RETAIN_SAMPLE, _T.ADJUST, _T.SCRAP, _T.RETURN_TO_SUPPLIER}
)
# Rejected: kept in a QA area, tested, counted, and its disposition (return, scrap, rework).
_REJECTED = frozenset({_T.MOVE_TO_QA, _T.SAMPLE, _T.ADJUST, _T.SCRAP, _T.RETURN_TO_SUPPLIER, _T.REWORK})
# Held: handling, a retest sample and disposal go on; no use, shipment, transfer or rework.
_HELD = frozenset({_T.PUTAWAY, _T.MOVE, _T.MOVE_TO_QA, _T.SAMPLE, _T.ADJUST, _T.SCRAP, _T.RETURN_TO_SUPPLIER})
# Equal to _HELD today, written apart because expiry is a rule of its own (DESIGN.md).
_EXPIRED = frozenset(
    {_T.PUTAWAY, _T.MOVE, _T.MOVE_TO_QA, _T.SAMPLE, _T.ADJUST, _T.SCRAP, _T.RETURN_TO_SUPPLIER}
)
# No block stops receiving a transfer: the receiving site must take in whatever arrives, and it
# stays blocked there. Whether there is anything to receive is ONLY_FOR's question.
_RECEIVING = frozenset({_T.RECEIVE_TRANSFER})

# THE TABLE: each blocking condition → the transactions it still permits.
PERMITTED: Mapping[Reason, frozenset[Transaction]] = MappingProxyType(
    {
        # Not yet released: it may be kept in a QA area, tested, sampled for retention or disposed
        # of, but never stored with good stock, sent away, used or shipped before QA says so.
        Reason.QUALITY_QUARANTINE: _QUARANTINED | _RECEIVING,
        # One pallet of a released lot in quarantine (a failed truck, a return): same as the lot.
        Reason.STOCK_QUARANTINE: _QUARANTINED | _RECEIVING,
        # Rejected: only its disposition (back to the supplier, scrap, rework) and the handling and
        # testing that lead to it; moving it to another site or retaining it serves no purpose.
        Reason.QUALITY_REJECTED: _REJECTED | _RECEIVING,
        # One rejected pallet of an otherwise good lot: same as a rejected lot.
        Reason.STOCK_REJECTED: _REJECTED | _RECEIVING,
        # On the road: nothing can be done to it but receive it, or book a shortage found on the way.
        Reason.STOCK_IN_TRANSIT: frozenset({_T.ADJUST}) | _RECEIVING,
        # 留样: kept untouched for the retention period, then scrapped; never used, tested or shipped.
        Reason.STOCK_RETAINED_SAMPLE: frozenset({_T.MOVE, _T.ADJUST, _T.SCRAP}) | _RECEIVING,
        # A hold blocks use while it is investigated; handling, retest and disposal go on.
        Reason.HOLD_QA: _HELD | _RECEIVING,
        # A temperature excursion under assessment: as any hold.
        Reason.HOLD_EXCURSION: _HELD | _RECEIVING,
        # A deviation under investigation: as any hold.
        Reason.HOLD_DEVIATION: _HELD | _RECEIVING,
        # A recall: nothing may leave for a customer; return to the supplier or scrap still may.
        Reason.HOLD_RECALL: _HELD | _RECEIVING,
        # An expiry hold (re-dating pending): as any hold.
        Reason.HOLD_EXPIRY: _HELD | _RECEIVING,
        # Expired by date, always: no use, no shipment; a retest sample, scrap or return may.
        Reason.EXPIRED: _EXPIRED | _RECEIVING,
    }
)

# Transactions that exist only for some stock: refused, with the reason given, unless one of the
# listed conditions is present.
ONLY_FOR: Mapping[Transaction, tuple[frozenset[Reason], Reason]] = MappingProxyType(
    {
        # Rework is a disposition of rejected stock, decided and signed; good stock is not reworked.
        _T.REWORK: (frozenset({Reason.QUALITY_REJECTED, Reason.STOCK_REJECTED}), Reason.REQUIRES_REJECTED),
        # Only stock on its way to this site can be received from a transfer.
        _T.RECEIVE_TRANSFER: (frozenset({Reason.STOCK_IN_TRANSIT}), Reason.REQUIRES_IN_TRANSIT),
    }
)

# Stock leaves the books or changes its nature: a signed decision, whether or not it is allowed.
NEEDS_SIGNATURE = frozenset({_T.SCRAP, _T.RETURN_TO_SUPPLIER, _T.REWORK})

_QUALITY_CONDITION = {
    QualityStatus.QUARANTINE: Reason.QUALITY_QUARANTINE,
    QualityStatus.REJECTED: Reason.QUALITY_REJECTED,
}
_STOCK_CONDITION = {
    StockStatus.QUARANTINE: Reason.STOCK_QUARANTINE,
    StockStatus.REJECTED: Reason.STOCK_REJECTED,
    StockStatus.IN_TRANSIT: Reason.STOCK_IN_TRANSIT,
    StockStatus.RETAINED_SAMPLE: Reason.STOCK_RETAINED_SAMPLE,
}
_HOLD_CONDITION = {
    HoldType.QA: Reason.HOLD_QA,
    HoldType.EXCURSION: Reason.HOLD_EXCURSION,
    HoldType.DEVIATION: Reason.HOLD_DEVIATION,
    HoldType.RECALL: Reason.HOLD_RECALL,
    HoldType.EXPIRY: Reason.HOLD_EXPIRY,
}


@dataclass(frozen=True, slots=True)
class StockSituation:
    """What the matrix needs to know about one piece of stock; ``expired`` is derived, not stored."""

    quality: QualityStatus
    stock: StockStatus
    holds: frozenset[HoldType] = frozenset()
    expired: bool = False

    def conditions(self) -> tuple[Reason, ...]:
        """The blocking conditions present, in ``Reason`` order."""
        present = {
            _QUALITY_CONDITION.get(self.quality),
            _STOCK_CONDITION.get(self.stock),
            *(_HOLD_CONDITION[hold] for hold in self.holds),
            Reason.EXPIRED if self.expired else None,
        }
        return tuple(reason for reason in Reason if reason in present)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The matrix's answer: allowed or not, every reason why not, and whether a signature is due."""

    allowed: bool
    needs_signature: bool
    blocked_by: tuple[str, ...] = ()


class TransactionNotAllowed(Conflict):
    """The matrix refused a transaction; ``params`` carry ``transaction``, ``reasons`` and ``blocked_by``."""

    code = "matrix.not_allowed"
    message = N_("{transaction} is not allowed: {reasons}.")
    reason_codes = "blocked_by"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = "lot",
        code: str | None = None,
        **params: object,
    ) -> None:
        super().__init__(message, field=field, code=code, **params)

    def values(self, translate: Translate) -> dict[str, object]:
        """The transaction and every reason in the reader's words, not codes."""
        values = super().values(translate)
        if "transaction" in values:
            values["transaction"] = transaction_text(translate, values["transaction"])
        return values

    def details(self) -> dict[str, object]:
        blocked_by = self.params.get("blocked_by", ())
        return {
            "transaction": self.params.get("transaction"),
            "blocked_by": [str(code) for code in blocked_by] if isinstance(blocked_by, tuple | list) else [],
        }


@lru_cache(maxsize=512)
def decide(transaction: Transaction, situation: StockSituation) -> Verdict:
    """Whether ``transaction`` is allowed on stock in ``situation``, with every reason it is not.

    Pure, and its arguments are immutable: a wave asks it the same question thousands of times."""
    present = situation.conditions()
    blocked = [reason for reason in present if transaction not in PERMITTED[reason]]
    if transaction in ONLY_FOR:
        enabled_by, missing = ONLY_FOR[transaction]
        if enabled_by.isdisjoint(present):
            blocked.append(missing)
    return Verdict(
        allowed=not blocked,
        needs_signature=transaction in NEEDS_SIGNATURE,
        blocked_by=tuple(reason.value for reason in blocked),
    )


def check(transaction: Transaction, situation: StockSituation) -> Verdict:
    """The verdict of ``decide``; raises TransactionNotAllowed when it refuses."""
    verdict = decide(transaction, situation)
    if not verdict.allowed:
        raise TransactionNotAllowed(
            transaction=transaction.value,
            reasons=", ".join(verdict.blocked_by),
            blocked_by=verdict.blocked_by,
        )
    return verdict
