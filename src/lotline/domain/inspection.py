"""Inspection (检验) rules: whether a result meets its characteristic, and a record passes.

A NUMERIC characteristic has a lower and/or an upper limit, both inclusive (a specification
"≤ 4.0 °C" accepts 4.0); a CHOICE characteristic lists the accepted values. A record passes
when every required characteristic has a passing result; an optional one fails the record only
when it was measured and is out of specification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from lotline.domain.errors import N_, InvalidInput


class CharacteristicKind(StrEnum):
    NUMERIC = "NUMERIC"
    CHOICE = "CHOICE"


@dataclass(frozen=True, slots=True)
class Characteristic:
    """One thing checked on a lot, with its specification."""

    code: str
    kind: CharacteristicKind
    lower: Decimal | None = None
    upper: Decimal | None = None
    accepted: frozenset[str] = frozenset()
    required: bool = True

    def __post_init__(self) -> None:
        if self.kind is CharacteristicKind.NUMERIC:
            if self.lower is None and self.upper is None:
                raise InvalidInput(
                    N_("Characteristic {characteristic} needs a lower or an upper limit."),
                    field="characteristics",
                    code="inspection.no_limits",
                    characteristic=self.code,
                )
            if self.lower is not None and self.upper is not None and self.lower > self.upper:
                raise InvalidInput(
                    N_("Characteristic {characteristic}: the lower limit is above the upper limit."),
                    field="characteristics",
                    code="inspection.limits_crossed",
                    characteristic=self.code,
                )
        elif not self.accepted:
            raise InvalidInput(
                N_("Characteristic {characteristic} needs at least one accepted value."),
                field="characteristics",
                code="inspection.no_accepted_values",
                characteristic=self.code,
            )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One result as judged: the value kept in its typed form, and whether it passes."""

    code: str
    numeric: Decimal | None
    text: str | None
    passed: bool


def parse_numeric(value: object, *, field: str) -> Decimal:
    """A measured value as an exact Decimal (never a float); refused when it is not a number."""
    number: Decimal | None = None
    if not isinstance(value, bool):  # True is not 1 here
        try:
            # str() first: a JSON float 0.1 becomes Decimal("0.1"), not its binary expansion.
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise InvalidInput(N_("{field} must be a number."), field=field, code="inspection.not_a_number")
    return number


def judge(characteristic: Characteristic, value: object) -> Outcome:
    """Whether ``value`` meets ``characteristic`` (limits inclusive; choice by exact value)."""
    field = f"results.{characteristic.code}"
    if characteristic.kind is CharacteristicKind.NUMERIC:
        number = parse_numeric(value, field=field)
        passed = (characteristic.lower is None or number >= characteristic.lower) and (
            characteristic.upper is None or number <= characteristic.upper
        )
        return Outcome(characteristic.code, number, None, passed)
    text = str(value).strip()
    return Outcome(characteristic.code, None, text, text in characteristic.accepted)


def judge_record(
    characteristics: Iterable[Characteristic], results: Mapping[str, object]
) -> tuple[list[Outcome], bool]:
    """Every result judged, and whether the record passes.

    A result for a code the plan does not know is refused (a typo must not pass silently); a
    required characteristic without a result makes the record fail, not the request.
    """
    by_code = {c.code: c for c in characteristics}
    unknown = sorted(set(results) - set(by_code))
    if unknown:
        raise InvalidInput(
            N_("The plan has no characteristic {codes}."),
            field="results",
            code="inspection.unknown_characteristic",
            codes=", ".join(unknown),
        )
    outcomes = [judge(by_code[code], value) for code, value in results.items()]
    measured = {o.code for o in outcomes}
    complete = all(c.code in measured for c in by_code.values() if c.required)
    return outcomes, complete and all(o.passed for o in outcomes)


def free_results(results: Mapping[str, object]) -> list[Outcome]:
    """Results recorded without a plan: kept as given, each counted as passing.

    With no plan there is no specification to fail against; the record's pass/fail is then the
    inspector's stated verdict (see ``quality.inspections``).
    """
    outcomes = []
    for code, value in results.items():
        try:
            number: Decimal | None = parse_numeric(value, field=f"results.{code}")
            text = None
        except InvalidInput:
            number, text = None, str(value).strip()
        outcomes.append(Outcome(code, number, text, True))
    return outcomes
