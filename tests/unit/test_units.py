"""Exact unit conversion in Decimal: global units, per-product packaging, explicit rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lotline.domain.errors import InvalidInput
from lotline.domain.units import (
    BASE_UNITS,
    UNITS,
    Dimension,
    PackagingLevel,
    Unit,
    base_unit,
    convert,
    packaging_factors,
    quantize,
    resolve_unit,
    to_base,
)

quick = settings(max_examples=80, deadline=None)
CASE_OF_12 = packaging_factors([PackagingLevel("CS", Decimal(12)), PackagingLevel("PF", Decimal(480))])

quantities = st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9)
packaged_units = st.sampled_from(["EA", "H87", "C62", "CS", "PF"])


@pytest.mark.parametrize(
    ("quantity", "source", "target", "expected"),
    [
        ("1.5", "KGM", "GRM", "1500"),
        ("1500", "GRM", "TNE", "0.0015"),
        ("1", "LBR", "KGM", "0.45359237"),
        ("0.45359237", "KGM", "LBR", "1"),
        ("16", "ONZ", "LBR", "1"),
        ("250", "MLT", "LTR", "0.25"),
        ("2", "MTQ", "LTR", "2000"),
        ("5", "TNE", "KGM", "5000"),
        ("-1.20", "KGM", "GRM", "-1200"),
        ("120", "CMT", "MTR", "1.2"),
        ("3", "H87", "EA", "3"),
        ("0", "KGM", "MGM", "0"),
    ],
)
def test_global_units_convert_exactly(quantity: str, source: str, target: str, expected: str) -> None:
    result = convert(Decimal(quantity), source, target)
    assert result == Decimal(expected)
    assert str(result) == expected  # canonical: no exponent, no trailing zeros


def test_cases_and_eaches_convert_with_the_products_own_factor() -> None:
    assert convert(Decimal(2), "CS", "EA", packaging=CASE_OF_12) == 24
    assert convert(Decimal(36), "EA", "CS", packaging=CASE_OF_12) == 3
    assert convert(Decimal(1), "PF", "CS", packaging=CASE_OF_12) == 40
    assert convert(Decimal(6), "EA", "CS", packaging=CASE_OF_12) == Decimal("0.5")
    assert convert(Decimal(2), "CS", "EA", packaging={"CS": Decimal(6)}) == 12


def test_a_result_without_an_exact_decimal_value_is_refused_not_rounded() -> None:
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(1), "EA", "CS", packaging=CASE_OF_12)
    assert caught.value.code == "units.inexact"
    assert str(caught.value) == "1 EA has no exact value in CS."
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(1), "GRM", "LBR")
    assert caught.value.code == "units.inexact"


@pytest.mark.parametrize(("source", "target"), [("KGM", "LTR"), ("CS", "KGM"), ("EA", "MTR"), ("MLT", "GRM")])
def test_units_of_different_dimensions_do_not_convert(source: str, target: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(1), source, target, packaging=CASE_OF_12)
    assert caught.value.code == "units.incompatible"
    assert caught.value.params == {"from_unit": source, "to_unit": target}


def test_an_unknown_unit_is_named_with_its_side() -> None:
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(1), "kg", "GRM")
    assert (caught.value.code, caught.value.field, caught.value.params) == (
        "units.unknown",
        "from_unit",
        {"unit": "kg"},
    )
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(1), "KGM", "CS")  # a case means nothing without the product's packaging
    assert (caught.value.code, caught.value.field) == ("units.unknown", "to_unit")


@pytest.mark.parametrize("quantity", [1.5, 0.1, float("nan")])
def test_floats_are_refused(quantity: float) -> None:
    with pytest.raises(TypeError, match="never float"):
        convert(quantity, "KGM", "GRM")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="never float"):
        to_base(quantity, "KGM")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="never float"):
        quantize(quantity, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", [True, "1.5", None])
def test_only_decimals_and_ints_are_quantities(quantity: object) -> None:
    with pytest.raises(TypeError):
        convert(quantity, "KGM", "GRM")  # type: ignore[arg-type]


def test_ints_are_exact_quantities_too() -> None:
    assert convert(3, "CS", "EA", packaging=CASE_OF_12) == 36


@pytest.mark.parametrize("quantity", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(quantity: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(quantity), "KGM", "GRM")
    assert caught.value.code == "units.not_finite"


def test_to_base_gives_the_dimensions_base_unit() -> None:
    assert to_base(Decimal("2.5"), "TNE") == 2500
    assert to_base(Decimal(3), "CS", packaging=CASE_OF_12) == 36
    assert to_base(Decimal("1.000"), "LBR") == Decimal("0.45359237")
    assert base_unit("LBR").code == "KGM"
    assert base_unit("CS", packaging=CASE_OF_12).code == "EA"
    assert {dimension: UNITS[code].to_base for dimension, code in BASE_UNITS.items()} == dict.fromkeys(
        Dimension, Decimal(1)
    )


def test_quantize_pads_to_the_scale_it_is_asked_for() -> None:
    assert str(quantize(Decimal("1.5"), 3)) == "1.500"
    assert str(quantize(Decimal("1500"), 0)) == "1500"
    assert str(quantize(3, 2)) == "3.00"
    assert str(quantize(Decimal("1.2300"), 2)) == "1.23"


def test_quantize_refuses_to_round_a_value_away() -> None:
    with pytest.raises(InvalidInput) as caught:
        quantize(Decimal("1.505"), 2, field="net_weight")
    assert caught.value.code == "units.too_precise"
    assert caught.value.field == "net_weight"
    assert str(caught.value) == "net_weight allows at most 2 decimal places: 1.505 has more."


@pytest.mark.parametrize("places", [-1, True, 1.0])
def test_quantize_places_is_a_non_negative_int(places: int) -> None:
    with pytest.raises(ValueError):
        quantize(Decimal(1), places)


@pytest.mark.parametrize(
    ("code", "each", "error"),
    [
        ("KGM", Decimal(1), "units.bad_packaging"),  # a global unit cannot be redefined per product
        ("EA", Decimal(1), "units.bad_packaging"),
        ("CS", Decimal(0), "units.bad_packaging"),
        ("CS", Decimal(-12), "units.bad_packaging"),
        ("CS", Decimal("Infinity"), "units.bad_packaging"),
        ("", Decimal(12), "units.bad_packaging"),
    ],
)
def test_a_packaging_level_holds_a_positive_number_of_eaches(code: str, each: Decimal, error: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        PackagingLevel(code, each)
    assert caught.value.code == error
    with pytest.raises(InvalidInput) as caught:
        convert(Decimal(1), code, "EA", packaging={code: each})
    assert caught.value.code == error


def test_a_packaging_factor_is_never_a_float() -> None:
    with pytest.raises(TypeError):
        PackagingLevel("CS", 12.0)  # type: ignore[arg-type]


def test_a_packaging_level_is_defined_once_per_product() -> None:
    with pytest.raises(InvalidInput) as caught:
        packaging_factors([PackagingLevel("CS", Decimal(12)), PackagingLevel("CS", Decimal(24))])
    assert caught.value.code == "units.bad_packaging"
    assert caught.value.params == {"unit": "CS"}


def test_a_unit_factor_is_a_positive_decimal() -> None:
    with pytest.raises(ValueError):
        Unit("XX", Dimension.MASS, Decimal(0))
    with pytest.raises(ValueError):
        Unit("XX", Dimension.MASS, 1.0)  # type: ignore[arg-type]
    custom = Unit("HGM", Dimension.MASS, Decimal("0.1"))
    assert resolve_unit(custom) is custom
    assert convert(Decimal(5), custom, "GRM") == 500


# --- properties -------------------------------------------------------------------------------


def same_dimension_pairs() -> st.SearchStrategy[tuple[str, str]]:
    by_dimension: dict[Dimension, list[str]] = {}
    for unit in UNITS.values():
        by_dimension.setdefault(unit.dimension, []).append(unit.code)
    by_dimension[Dimension.COUNT] += list(CASE_OF_12)
    return st.sampled_from(sorted(by_dimension.values())).flatmap(
        lambda codes: st.tuples(*[st.sampled_from(codes)] * 2)
    )


def converted(quantity: Decimal, source: str, target: str) -> Decimal | None:
    """The conversion, or None where it has no exact value (1 EA in cases of 12)."""
    try:
        return convert(quantity, source, target, packaging=CASE_OF_12)
    except InvalidInput as error:
        if error.code != "units.inexact":
            raise
        return None


@quick
@given(quantity=quantities, units=same_dimension_pairs())
def test_there_and_back_is_exact(quantity: Decimal, units: tuple[str, str]) -> None:
    source, target = units
    there = converted(quantity, source, target)
    assume(there is not None)
    assert there is not None
    assert convert(there, target, source, packaging=CASE_OF_12) == quantity


@quick
@given(quantity=quantities, units=same_dimension_pairs())
def test_a_conversion_keeps_the_base_quantity(quantity: Decimal, units: tuple[str, str]) -> None:
    source, target = units
    there = converted(quantity, source, target)
    assume(there is not None)
    assert there is not None
    assert to_base(there, target, packaging=CASE_OF_12) == to_base(quantity, source, packaging=CASE_OF_12)


@quick
@given(quantity=quantities, units=same_dimension_pairs())
def test_a_metric_or_packaging_conversion_has_a_canonical_form(
    quantity: Decimal, units: tuple[str, str]
) -> None:
    there = converted(quantity, *units)
    assume(there is not None)
    assert there is not None
    exponent = there.as_tuple().exponent
    assert isinstance(exponent, int)
    assert exponent <= 0  # never 1.5E+3
    assert there == 0 or exponent == 0 or there.as_tuple().digits[-1] != 0  # no trailing zeros


@quick
@given(quantity=quantities, unit=st.sampled_from(sorted(UNITS)))
def test_to_base_never_rounds(quantity: Decimal, unit: str) -> None:
    assert to_base(quantity, unit) == quantity * UNITS[unit].to_base  # exact in the default context here


@quick
@given(quantity=quantities, places=st.integers(0, 6))
def test_quantize_either_keeps_the_value_or_refuses(quantity: Decimal, places: int) -> None:
    significant = quantity.normalize().as_tuple().exponent
    assert isinstance(significant, int)
    if -significant > places:
        with pytest.raises(InvalidInput, match="decimal places"):
            quantize(quantity, places)
    else:
        result = quantize(quantity, places)
        assert result == quantity
        assert result.as_tuple().exponent == -places
