"""FEFO/FIFO allocation that explains itself: rank a product's stock, fill order lines from it,
and give, for every bucket passed over, each reason why — pure functions, no I/O.

The services load the candidate buckets in one ranked query and hand them here. A bucket is
allocatable when the status × transaction matrix allows ALLOCATE on it (released, available,
no active hold, not expired today, not a retained sample), it is not expired on the line's
delivery date (the expiry date is the last day of use, DESIGN.md), it keeps the customer's
minimum remaining shelf life at delivery and the product's at shipment, and part of it is not
yet reserved for another line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

from lotline.domain.expiry import MinimumShelfLife, RemainingShelfLife, minimum_shortfall
from lotline.domain.matrix import StockSituation, decide
from lotline.domain.status import Transaction

__all__ = [
    "Candidate",
    "Chosen",
    "Demand",
    "PassReason",
    "Passed",
    "Proposal",
    "Strategy",
    "allocate",
    "allocate_wave",
    "rank",
    "reasons_against",
    "remaining_on",
]


class Strategy(StrEnum):
    FEFO = "fefo"  # first expiry, first out: expiry date, then receipt time, then lot code
    FIFO = "fifo"  # first in, first out: receipt time, then lot code


class PassReason(StrEnum):
    """Why a bucket the matrix allows was still passed over (matrix reasons come as they are)."""

    EXPIRES_BEFORE_DELIVERY = "expires_before_delivery"
    SHORT_AT_DELIVERY = "short_of_customer_minimum"
    SHORT_AT_SHIPMENT = "short_of_product_minimum"
    FULLY_ALLOCATED = "fully_allocated"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One on-hand bucket of the product at the shipping site, as the ranked query returns it."""

    on_hand_id: int
    lot_id: int
    lot_code: str
    location_id: int
    sscc: str
    free: Decimal  # on hand minus what other lines have reserved, in the base unit
    expiry_date: date
    production_date: date | None
    received_at: datetime
    situation: StockSituation


@dataclass(frozen=True, slots=True)
class Demand:
    """What one order line still needs, and the shelf life it must keep."""

    line_id: int
    quantity: Decimal  # base unit
    ship_date: date
    delivery_date: date
    at_delivery: MinimumShelfLife | None = None  # the customer's minimum (line override first)
    at_shipment: MinimumShelfLife | None = None  # the product's minimum at shipment


@dataclass(frozen=True, slots=True)
class Chosen:
    candidate: Candidate
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Passed:
    candidate: Candidate
    reasons: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Proposal:
    """The lots a line gets, in order, the buckets passed over before it was filled, and any shortfall."""

    line_id: int
    chosen: tuple[Chosen, ...]
    passed: tuple[Passed, ...]
    short: Decimal

    @property
    def allocated(self) -> Decimal:
        return sum((c.quantity for c in self.chosen), Decimal(0))


def rank(strategy: Strategy) -> Callable[[Candidate], tuple[Any, ...]]:
    """The sort key of a strategy; ties end on the bucket id so the order is total."""
    if strategy is Strategy.FIFO:
        return lambda c: (c.received_at, c.lot_code, c.on_hand_id)
    return lambda c: (c.expiry_date, c.received_at, c.lot_code, c.on_hand_id)


def remaining_on(*, expiry_date: date, production_date: date | None, day: date) -> RemainingShelfLife:
    """The shelf life a lot has left on ``day`` (days after it; fraction as ``remaining_shelf_life``)."""
    days = (expiry_date - day).days
    if production_date is None:
        return RemainingShelfLife(days, None)
    total = Decimal((expiry_date - production_date).days + 1)
    if total <= 0:
        return RemainingShelfLife(days, None)
    fraction = min(max(Decimal(days + 1) / total, Decimal(0)), Decimal(1))
    return RemainingShelfLife(days, fraction.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


def reasons_against(candidate: Candidate, demand: Demand) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Every reason the bucket cannot serve the line (empty: it can), and the shortfall details."""
    reasons = list(decide(Transaction.ALLOCATE, candidate.situation).blocked_by)
    detail: dict[str, Any] = {}
    if candidate.expiry_date < demand.delivery_date:
        reasons.append(PassReason.EXPIRES_BEFORE_DELIVERY.value)
        detail["expiry_date"] = candidate.expiry_date.isoformat()
        detail["delivery_date"] = demand.delivery_date.isoformat()
    else:
        checks = (
            (PassReason.SHORT_AT_DELIVERY, demand.at_delivery, demand.delivery_date),
            (PassReason.SHORT_AT_SHIPMENT, demand.at_shipment, demand.ship_date),
        )
        for reason, minimum, day in checks:
            if minimum is None:
                continue
            left = remaining_on(
                expiry_date=candidate.expiry_date, production_date=candidate.production_date, day=day
            )
            shortfall = minimum_shortfall(minimum, left)
            if shortfall is not None:
                reasons.append(reason.value)
                detail[reason.value] = shortfall
    return tuple(reasons), detail


def allocate(
    demand: Demand, ranked: Iterable[Candidate], used: MutableMapping[int, Decimal] | None = None
) -> Proposal:
    """Fill one line from buckets in rank order.

    Each bucket met before the line is full is either taken (as much as is free) or passed over
    with its reasons; buckets after that are not looked at. ``used`` carries what earlier lines
    of the same wave took from each bucket, and is updated.
    """
    taken = used if used is not None else {}
    need = demand.quantity
    chosen: list[Chosen] = []
    passed: list[Passed] = []
    for candidate in ranked:
        if need <= 0:
            break
        reasons, detail = reasons_against(candidate, demand)
        free = candidate.free - taken.get(candidate.on_hand_id, Decimal(0))
        if not reasons and free <= 0:
            reasons = (PassReason.FULLY_ALLOCATED.value,)
        if reasons:
            passed.append(Passed(candidate, reasons, detail))
            continue
        quantity = min(free, need)
        chosen.append(Chosen(candidate, quantity))
        taken[candidate.on_hand_id] = taken.get(candidate.on_hand_id, Decimal(0)) + quantity
        need -= quantity
    return Proposal(demand.line_id, tuple(chosen), tuple(passed), max(need, Decimal(0)))


def allocate_wave(
    demands: Sequence[Demand],
    ranked_by_product: Mapping[int, Sequence[Candidate]],
    product_of: Mapping[int, int],
) -> list[Proposal]:
    """Fill many lines: per product, the earliest delivery first, sharing what each bucket has free."""
    used: dict[int, Decimal] = {}
    ordered = sorted(demands, key=lambda d: (d.delivery_date, d.line_id))
    return [allocate(d, ranked_by_product.get(product_of[d.line_id], ()), used) for d in ordered]
