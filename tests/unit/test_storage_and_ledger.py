"""Storage bands and the mass-balance identity, as cases written out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lotline.domain.ledger import MovementKind, Quantity, balance
from lotline.domain.storage import Band, fits

FROZEN = Band("FROZEN", None, Decimal(-18))
DEEP_FREEZE = Band("DEEP", None, Decimal(-25))
CHILLED = Band("CHILLED", Decimal(0), Decimal(4))
COLD_ROOM_2_4 = Band("CR", Decimal(2), Decimal(4))
DRY = Band("DRY", None, Decimal(25), Decimal(60))
HUMID = Band("HUMID", None, Decimal(25), Decimal(80))


@pytest.mark.parametrize(
    ("needed", "provided", "ok"),
    [
        (None, None, True),  # a product with no condition goes anywhere
        (None, FROZEN, True),
        (FROZEN, None, False),  # frozen goods into an ambient bin
        (FROZEN, FROZEN, True),
        (FROZEN, DEEP_FREEZE, True),  # colder than needed is fine
        (DEEP_FREEZE, FROZEN, False),  # −18 °C is too warm for −25 °C
        (FROZEN, CHILLED, False),
        (CHILLED, COLD_ROOM_2_4, True),  # 2–4 °C lies inside 0–4 °C
        (CHILLED, FROZEN, False),  # a freezer has no lower bound: chilled goods would freeze
        (DRY, HUMID, False),  # 80 % humidity is more than 60 %
        (HUMID, DRY, True),
    ],
)
def test_storage_fits(needed: Band | None, provided: Band | None, ok: bool) -> None:
    assert fits(needed, provided) is ok


def q(base: int, count: int | None = None, weight: str | None = None) -> Quantity:
    return Quantity(
        Decimal(base), None if count is None else Decimal(count), None if weight is None else Decimal(weight)
    )


def test_the_balance_closes_when_on_hand_is_what_came_in_less_what_went_out() -> None:
    moved = [
        (MovementKind.RECEIPT, q(40, 40, "40.6")),
        (MovementKind.PUTAWAY, q(40, 40, "40.6")),  # inside the walls: no term
        (MovementKind.QC_SAMPLE, q(2, 2, "2.1")),
        (MovementKind.SCRAP, q(3, 3, "3.0")),
        (MovementKind.ADJUST_UP, q(1, 1, "1.0")),
        (MovementKind.RETAIN_SAMPLE, q(1, 1, "1.0")),  # still on hand
    ]
    closed = balance(moved, on_hand=q(36, 36, "36.5"))
    assert closed.closes
    short = balance(moved, on_hand=q(36, 36, "36.4"))  # 100 g missing
    assert not short.closes
    assert short.difference.weight_kg == Decimal("0.1")
