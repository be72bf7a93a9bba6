"""The rules of each kind of transformation, as pure functions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lotline.domain.errors import InvalidInput
from lotline.domain.transformation import (
    Edge,
    TransformationKind,
    caps_expiry,
    check_balance,
    check_shape,
    edges,
    must_balance,
    sub_lot_code,
)

K = TransformationKind


@pytest.mark.parametrize(
    ("kind", "inputs", "outputs", "field"),
    [
        (K.MERGE, [1], 1, "inputs"),
        (K.SPLIT, [1], 1, "outputs"),
        (K.REPACK, [1, 2], 1, "inputs"),
        (K.RELABEL, [1], 2, "outputs"),
        (K.PRODUCTION, [], 1, "inputs"),
        (K.PRODUCTION, [1], 0, "outputs"),
    ],
)
def test_lot_counts_outside_a_kind_are_refused(
    kind: TransformationKind, inputs: list[int], outputs: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_shape(
            kind, input_lots=inputs, input_products=[7] * len(inputs), output_products=[7], outputs=outputs
        )
    assert (refused.value.code, refused.value.field) == ("transformation.lot_count", field)


def test_two_lines_of_one_lot_are_one_input() -> None:
    with pytest.raises(InvalidInput):
        check_shape(K.MERGE, input_lots=[1, 1], input_products=[7, 7], output_products=[7], outputs=1)
    check_shape(K.REPACK, input_lots=[1, 1], input_products=[7, 7], output_products=[7, 8], outputs=2)


def test_split_and_merge_keep_one_product() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_shape(K.SPLIT, input_lots=[1], input_products=[7], output_products=[7, 8], outputs=2)
    assert refused.value.code == "transformation.other_product"
    check_shape(K.SPLIT, input_lots=[1], input_products=[7], output_products=[7, 7], outputs=2)


def test_kinds_that_keep_the_material_balance_in_one_measure() -> None:
    assert must_balance(K.SPLIT, input_units=["KGM"], output_units=["KGM", "KGM"])
    assert must_balance(K.RELABEL, input_units=["KGM"], output_units=["GRM"])  # converted
    assert must_balance(K.REPACK, input_units=["LTR"], output_units=["LTR"])
    assert not must_balance(K.REPACK, input_units=["KGM"], output_units=["EA"])  # cases of a retail pack
    assert not must_balance(K.RELABEL, input_units=["EA"], output_units=["KGM"])
    assert not must_balance(K.PRODUCTION, input_units=["KGM"], output_units=["KGM"])
    assert not must_balance(K.REWORK, input_units=["KGM"], output_units=["KGM"])


def test_balance_counts_losses() -> None:
    check_balance(consumed=Decimal("100"), lost=Decimal("2.5"), produced=Decimal("97.5"), unit="KGM")
    with pytest.raises(InvalidInput) as refused:
        check_balance(consumed=Decimal("100"), lost=Decimal("0"), produced=Decimal("100.001"), unit="KGM")
    assert refused.value.code == "transformation.unbalanced"


def test_production_is_capped_only_where_the_product_says_so() -> None:
    assert not caps_expiry(K.PRODUCTION, product_caps=False)
    assert caps_expiry(K.PRODUCTION, product_caps=True)
    for kind in (K.REWORK, K.REPACK, K.RELABEL, K.SPLIT, K.MERGE):
        assert caps_expiry(kind, product_caps=False)


def test_sub_lot_codes_fit_the_lot_code_column() -> None:
    assert sub_lot_code("L2026-0001", 2) == "L2026-0001-2"
    assert sub_lot_code("A" * 19, 1) is None
    assert sub_lot_code("A" * 18, 9) == "A" * 18 + "-9"


def test_edges_join_every_input_to_every_output_but_never_a_lot_to_itself() -> None:
    found = edges({1: Decimal(5), 2: Decimal(3), 3: Decimal(0)}, [1, 9, 9])
    assert found == [Edge(1, 9, Decimal(5)), Edge(2, 1, Decimal(3)), Edge(2, 9, Decimal(3))]
