"""Inspection rules: limits inclusive, choices exact, a record passes only when complete."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lotline.domain.errors import InvalidInput
from lotline.domain.inspection import Characteristic, CharacteristicKind, free_results, judge, judge_record

NUMERIC, CHOICE = CharacteristicKind.NUMERIC, CharacteristicKind.CHOICE
CORE_TEMP = Characteristic("core_temp", NUMERIC, upper=Decimal("-18"))
PH = Characteristic("ph", NUMERIC, lower=Decimal("5.5"), upper=Decimal("6.2"))
LOOK = Characteristic("appearance", CHOICE, accepted=frozenset({"OK", "MINOR"}))
SMELL = Characteristic("odour", CHOICE, accepted=frozenset({"NORMAL"}), required=False)


@pytest.mark.parametrize(
    ("value", "passed"),
    [("5.5", True), ("6.2", True), ("5.49", False), ("6.21", False), (6, True), ("  5.80 ", True)],
)
def test_numeric_limits_are_inclusive_at_both_ends(value: object, passed: bool) -> None:
    assert judge(PH, value).passed is passed


def test_a_one_sided_limit_leaves_the_other_side_open() -> None:
    assert judge(CORE_TEMP, "-40").passed
    assert judge(CORE_TEMP, "-18").passed
    assert not judge(CORE_TEMP, "-17.9").passed


def test_a_measured_value_is_kept_exactly_never_as_a_binary_float() -> None:
    assert judge(PH, 5.6).numeric == Decimal("5.6")
    assert judge(PH, "5.600").numeric == Decimal("5.600")


@pytest.mark.parametrize("value", ["warm", "", "NaN", "Infinity", True, None])
def test_a_value_that_is_not_a_finite_number_is_refused_naming_the_characteristic(value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        judge(PH, value)
    assert refused.value.field == "results.ph"
    assert refused.value.code == "inspection.not_a_number"


def test_a_choice_passes_only_on_an_accepted_value() -> None:
    assert judge(LOOK, "MINOR").passed
    assert not judge(LOOK, "DAMAGED").passed
    assert not judge(LOOK, "ok").passed  # exact: a code, not free text


def test_a_record_passes_when_every_required_characteristic_passes() -> None:
    outcomes, passed = judge_record([PH, LOOK, SMELL], {"ph": "5.8", "appearance": "OK"})
    assert passed
    assert [o.code for o in outcomes] == ["ph", "appearance"]


def test_a_record_missing_a_required_result_fails() -> None:
    _, passed = judge_record([PH, LOOK], {"ph": "5.8"})
    assert not passed


def test_an_optional_characteristic_fails_the_record_only_when_measured_out_of_spec() -> None:
    assert not judge_record([PH, LOOK, SMELL], {"ph": "5.8", "appearance": "OK", "odour": "SOUR"})[1]


def test_one_failing_result_fails_the_record() -> None:
    assert not judge_record([PH, LOOK], {"ph": "7", "appearance": "OK"})[1]


def test_a_result_for_an_unknown_characteristic_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        judge_record([PH], {"ph": "5.8", "pH": "5.8"})
    assert refused.value.code == "inspection.unknown_characteristic"
    assert refused.value.params["codes"] == "pH"


def test_a_characteristic_without_limits_or_values_or_with_crossed_limits_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Characteristic("x", NUMERIC)
    with pytest.raises(InvalidInput):
        Characteristic("x", NUMERIC, lower=Decimal(2), upper=Decimal(1))
    with pytest.raises(InvalidInput):
        Characteristic("x", CHOICE)


def test_results_without_a_plan_are_kept_typed() -> None:
    outcomes = free_results({"ph": "5.8", "visual": "OK"})
    assert [(o.numeric, o.text) for o in outcomes] == [(Decimal("5.8"), None), (None, "OK")]
