"""The stock ledger's vocabulary: movement kinds, where each takes stock from and to, and the
mass-balance identity every test, check and report uses (DESIGN.md "Quantities").

Every movement takes a quantity of one lot from a *bucket* — (location, stock status, SSCC) — to
another, or from/to the outside world (a supplier, a customer, a test lab, the bin of scrap).
On hand per bucket is therefore "everything moved in minus everything moved out", and the
mass balance of a lot closes by construction:

    opening + received + produced + returned by customers + adjusted up
        = on hand + shipped + consumed + sampled + scrapped + lost + returned to supplier
          + adjusted down

Stock in transit between sites is on hand (in an IN_TRANSIT bucket), so inter-site transfers,
putaway, moves, status changes (release or reject of part of a lot) and retained samples (留样:
a bucket of their own, never allocatable) leave the identity untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from lotline.domain.status import StockStatus, Transaction


class MovementKind(StrEnum):
    OPENING = "opening"  # an opening balance when lotline takes over a warehouse
    RECEIPT = "receipt"  # from a supplier, into quarantine at the receiving location
    PUTAWAY = "putaway"  # from the receiving location to storage
    MOVE = "move"  # from one location to another at the same site
    STATUS = "status"  # same place, another stock status (partial release or rejection)
    TRANSFER_OUT = "transfer_out"  # leaves a site for another: in transit until received
    TRANSFER_IN = "transfer_in"  # arrives at the receiving site
    TRANSIT_SHORTAGE = "transit_shortage"  # found missing on arrival
    QC_SAMPLE = "qc_sample"  # taken for testing (consumed by the test)
    RETAIN_SAMPLE = "retain_sample"  # kept as a retained sample (留样): still on hand
    ADJUST_UP = "adjust_up"  # a count found more
    ADJUST_DOWN = "adjust_down"  # a count found less
    SCRAP = "scrap"  # destroyed
    RETURN_TO_SUPPLIER = "return_to_supplier"
    # From the outbound and production issues on:
    SHIP = "ship"
    CUSTOMER_RETURN = "customer_return"
    CONSUME = "consume"
    PRODUCE = "produce"
    LOSS = "loss"  # production loss (drip, cooking, trim)


class Term(StrEnum):
    """The terms of the mass-balance identity."""

    OPENING = "opening"
    RECEIVED = "received"
    PRODUCED = "produced"
    RETURNED_BY_CUSTOMERS = "returned_by_customers"
    ADJUSTED_UP = "adjusted_up"
    SHIPPED = "shipped"
    CONSUMED = "consumed"
    SAMPLED = "sampled"
    SCRAPPED = "scrapped"
    LOST = "lost"
    RETURNED_TO_SUPPLIER = "returned_to_supplier"
    ADJUSTED_DOWN = "adjusted_down"


INFLOWS: Final = (Term.OPENING, Term.RECEIVED, Term.PRODUCED, Term.RETURNED_BY_CUSTOMERS, Term.ADJUSTED_UP)
OUTFLOWS: Final = (
    Term.SHIPPED,
    Term.CONSUMED,
    Term.SAMPLED,
    Term.SCRAPPED,
    Term.LOST,
    Term.RETURNED_TO_SUPPLIER,
    Term.ADJUSTED_DOWN,
)


@dataclass(frozen=True, slots=True)
class Shape:
    """Where a kind of movement takes stock from and to (True: a bucket; False: outside)."""

    from_bucket: bool
    to_bucket: bool
    term: Term | None  # the mass-balance term it counts in; None when it stays on hand
    transaction: Transaction | None  # what the status × transaction matrix is asked; None: nothing


SHAPES: Final[Mapping[MovementKind, Shape]] = MappingProxyType(
    {
        MovementKind.OPENING: Shape(False, True, Term.OPENING, None),
        MovementKind.RECEIPT: Shape(False, True, Term.RECEIVED, None),
        MovementKind.PUTAWAY: Shape(True, True, None, Transaction.PUTAWAY),
        MovementKind.MOVE: Shape(True, True, None, Transaction.MOVE),
        MovementKind.STATUS: Shape(True, True, None, None),  # a signed QA decision, not a move
        MovementKind.TRANSFER_OUT: Shape(True, True, None, Transaction.TRANSFER_OUT),
        MovementKind.TRANSFER_IN: Shape(True, True, None, Transaction.RECEIVE_TRANSFER),
        MovementKind.TRANSIT_SHORTAGE: Shape(True, False, Term.LOST, Transaction.ADJUST),
        MovementKind.QC_SAMPLE: Shape(True, False, Term.SAMPLED, Transaction.SAMPLE),
        MovementKind.RETAIN_SAMPLE: Shape(True, True, None, Transaction.RETAIN_SAMPLE),
        MovementKind.ADJUST_UP: Shape(False, True, Term.ADJUSTED_UP, Transaction.ADJUST),
        MovementKind.ADJUST_DOWN: Shape(True, False, Term.ADJUSTED_DOWN, Transaction.ADJUST),
        MovementKind.SCRAP: Shape(True, False, Term.SCRAPPED, Transaction.SCRAP),
        MovementKind.RETURN_TO_SUPPLIER: Shape(
            True, False, Term.RETURNED_TO_SUPPLIER, Transaction.RETURN_TO_SUPPLIER
        ),
        MovementKind.SHIP: Shape(True, False, Term.SHIPPED, Transaction.SHIP),
        MovementKind.CUSTOMER_RETURN: Shape(False, True, Term.RETURNED_BY_CUSTOMERS, None),
        MovementKind.CONSUME: Shape(True, False, Term.CONSUMED, Transaction.CONSUME),
        MovementKind.PRODUCE: Shape(False, True, Term.PRODUCED, None),
        MovementKind.LOSS: Shape(True, False, Term.LOST, Transaction.CONSUME),
    }
)


def shape_of(kind: MovementKind) -> Shape:
    return SHAPES[kind]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A lot's quantity in its product's base unit; for catch weight also count and weight (kg)."""

    base: Decimal = Decimal(0)
    count: Decimal | None = None
    weight_kg: Decimal | None = None

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(
            self.base + other.base, _add(self.count, other.count), _add(self.weight_kg, other.weight_kg)
        )

    def __neg__(self) -> Quantity:
        return Quantity(-self.base, _neg(self.count), _neg(self.weight_kg))


def _add(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    if first is None and second is None:
        return None
    return (first or Decimal(0)) + (second or Decimal(0))


def _neg(value: Decimal | None) -> Decimal | None:
    return None if value is None else -value


ZERO: Final = Quantity()


@dataclass(frozen=True)
class Balance:
    """One lot's mass balance: every term, and what is on hand."""

    terms: Mapping[Term, Quantity] = field(default_factory=dict)
    on_hand: Quantity = ZERO

    def side(self, terms: Iterable[Term]) -> Quantity:
        total = ZERO
        for term in terms:
            total = total + self.terms.get(term, ZERO)
        return total

    @property
    def difference(self) -> Quantity:
        """Inflows − (on hand + outflows): zero in every component when the balance closes."""
        return self.side(INFLOWS) + -(self.on_hand + self.side(OUTFLOWS))

    @property
    def closes(self) -> bool:
        gap = self.difference
        return gap.base == 0 and not gap.count and not gap.weight_kg


def balance(movements: Iterable[tuple[MovementKind, Quantity]], on_hand: Quantity) -> Balance:
    """The mass balance of one lot from its movements (kind, quantity moved) and its on-hand."""
    terms: dict[Term, Quantity] = {}
    for kind, quantity in movements:
        term = SHAPES[kind].term
        if term is not None:
            terms[term] = terms.get(term, ZERO) + quantity
    return Balance(terms=terms, on_hand=on_hand)


# The stock status a kind of movement may leave stock in, when it changes it.
STATUS_TARGETS: Final[Mapping[MovementKind, frozenset[StockStatus]]] = MappingProxyType(
    {
        MovementKind.RECEIPT: frozenset({StockStatus.QUARANTINE}),
        MovementKind.OPENING: frozenset(StockStatus) - {StockStatus.IN_TRANSIT},
        MovementKind.TRANSFER_OUT: frozenset({StockStatus.IN_TRANSIT}),
        MovementKind.RETAIN_SAMPLE: frozenset({StockStatus.RETAINED_SAMPLE}),
        MovementKind.STATUS: frozenset({StockStatus.AVAILABLE, StockStatus.REJECTED, StockStatus.QUARANTINE}),
        MovementKind.CUSTOMER_RETURN: frozenset({StockStatus.QUARANTINE}),
        MovementKind.PRODUCE: frozenset({StockStatus.QUARANTINE, StockStatus.AVAILABLE}),
    }
)
