"""Units of measure and exact conversion between them, in Decimal, never float.

Each dimension has one base unit (kg, L, each, m); a unit knows how many base units one of it
is. Global units carry UN/ECE Recommendation 20 codes, the ones EPCIS ``uom`` wants (KGM,
LTR …). Packaging (case, box, pallet) is per product: a ``PackagingLevel`` says how many
``EA`` one of it holds, and a conversion takes the product's levels as a mapping.

Conversions are exact or they fail: 1 EA in cases of 12 has no exact decimal value, and is
refused with ``units.inexact`` rather than rounded. Rounding to a column's scale is a choice
the caller makes out loud with ``quantize``, which refuses (``units.too_precise``) when it
would change the value. Results are in a canonical form, so equal quantities look alike when
stored: no trailing zeros and never a positive exponent (``Decimal("1500")``, not ``1.5E+3``;
``Decimal("0.25")``, not ``0.250``). ``str()`` still writes very small values as ``1E-10``:
write ``format(quantity, "f")`` where plain digits are needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from lotline.domain.errors import N_, InvalidInput


class Dimension(StrEnum):
    MASS = "mass"
    VOLUME = "volume"
    COUNT = "count"
    LENGTH = "length"


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit of measure: ``to_base`` is how many of its dimension's base unit one of it is."""

    code: str
    dimension: Dimension
    to_base: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.to_base, Decimal) or not self.to_base.is_finite() or self.to_base <= 0:
            raise ValueError(f"unit {self.code}: to_base must be a positive finite Decimal")


def _unit(code: str, dimension: Dimension, to_base: str) -> Unit:
    return Unit(code, dimension, Decimal(to_base))


# UN/ECE Rec 20 codes. The pound and ounce are the international (1959) ones, exact in kg.
UNITS: Final[Mapping[str, Unit]] = MappingProxyType(
    {
        unit.code: unit
        for unit in (
            _unit("KGM", Dimension.MASS, "1"),
            _unit("GRM", Dimension.MASS, "0.001"),
            _unit("MGM", Dimension.MASS, "0.000001"),
            _unit("TNE", Dimension.MASS, "1000"),
            _unit("LBR", Dimension.MASS, "0.45359237"),
            _unit("ONZ", Dimension.MASS, "0.028349523125"),
            _unit("LTR", Dimension.VOLUME, "1"),
            _unit("MLT", Dimension.VOLUME, "0.001"),
            _unit("MTQ", Dimension.VOLUME, "1000"),
            _unit("EA", Dimension.COUNT, "1"),  # each: what packaging levels count in
            _unit("H87", Dimension.COUNT, "1"),  # piece
            _unit("C62", Dimension.COUNT, "1"),  # one
            _unit("MTR", Dimension.LENGTH, "1"),
            _unit("CMT", Dimension.LENGTH, "0.01"),
            _unit("MMT", Dimension.LENGTH, "0.001"),
        )
    }
)
BASE_UNITS: Final[Mapping[Dimension, str]] = MappingProxyType(
    {Dimension.MASS: "KGM", Dimension.VOLUME: "LTR", Dimension.COUNT: "EA", Dimension.LENGTH: "MTR"}
)
NO_PACKAGING: Final[Mapping[str, Decimal]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PackagingLevel:
    """A product's packaging unit (case ``CS``, box ``BX``, pallet ``PF`` …): ``each_per_unit`` EA."""

    code: str
    each_per_unit: Decimal

    def __post_init__(self) -> None:
        _check_packaging(self.code, self.each_per_unit)


def packaging_factors(levels: Iterable[PackagingLevel]) -> Mapping[str, Decimal]:
    """A product's packaging levels as the mapping ``convert`` takes; a code may appear once."""
    factors: dict[str, Decimal] = {}
    for level in levels:
        if level.code in factors:
            raise InvalidInput(
                N_("The packaging level {unit} is defined twice."),
                field="packaging",
                code="units.bad_packaging",
                unit=level.code,
            )
        factors[level.code] = level.each_per_unit
    return MappingProxyType(factors)


def _check_packaging(code: str, each_per_unit: Decimal) -> None:
    if not isinstance(code, str) or not code:
        raise InvalidInput(
            N_("A packaging level needs a code."), field="packaging", code="units.bad_packaging"
        )
    if code in UNITS:
        raise InvalidInput(
            N_("{unit} is a unit of measure and cannot be a packaging level."),
            field="packaging",
            code="units.bad_packaging",
            unit=code,
        )
    if isinstance(each_per_unit, float):
        raise TypeError("quantities are Decimal, never float")
    if not isinstance(each_per_unit, Decimal) or not each_per_unit.is_finite() or each_per_unit <= 0:
        raise InvalidInput(
            N_("The packaging level {unit} must hold a positive number of each, not {value}."),
            field="packaging",
            code="units.bad_packaging",
            unit=code,
            value=each_per_unit,
        )


def resolve_unit(
    unit: str | Unit, *, packaging: Mapping[str, Decimal] = NO_PACKAGING, field: str = "unit"
) -> Unit:
    """The unit a code names: a global unit, or one of the product's packaging levels (in EA)."""
    if isinstance(unit, Unit):
        return unit
    if unit in packaging:
        _check_packaging(unit, packaging[unit])
        return Unit(unit, Dimension.COUNT, packaging[unit])
    found = UNITS.get(unit)
    if found is None:
        raise InvalidInput(
            N_("Unknown unit of measure: {unit}."), field=field, code="units.unknown", unit=unit
        )
    return found


def base_unit(unit: str | Unit, *, packaging: Mapping[str, Decimal] = NO_PACKAGING) -> Unit:
    """The base unit of ``unit``'s dimension (KGM, LTR, EA, MTR)."""
    return UNITS[BASE_UNITS[resolve_unit(unit, packaging=packaging).dimension]]


def _checked(quantity: Decimal | int, *, field: str) -> Decimal:
    if isinstance(quantity, float):
        raise TypeError("quantities are Decimal, never float")
    if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int):
        raise TypeError(f"{field} must be a Decimal, not {type(quantity).__name__}")
    value = Decimal(quantity)
    if not value.is_finite():
        raise InvalidInput(
            N_("{field} must be a finite number, not {value}."),
            field=field,
            code="units.not_finite",
            value=value,
        )
    return value


def _digits(*values: Decimal) -> int:
    return sum(len(value.as_tuple().digits) for value in values)


def _exact_context(*values: Decimal) -> Context:
    """Precise enough that every exact product or terminating quotient of ``values`` fits.

    A quotient that terminates has at most about 4 × the divisor's digits more than the
    dividend (its 2s and 5s), so anything that still rounds is a non-terminating decimal.
    """
    return Context(prec=4 * _digits(*values) + 40, traps=[Inexact, InvalidOperation])


def _canonical(value: Decimal, context: Context) -> Decimal:
    value = value.normalize(context)
    if value.as_tuple().exponent > 0:  # type: ignore[operator]  # finite: an int exponent
        value = value.quantize(Decimal(1), context=context)
    return value


def to_base(
    quantity: Decimal | int, unit: str | Unit, *, packaging: Mapping[str, Decimal] = NO_PACKAGING
) -> Decimal:
    """``quantity`` of ``unit`` in its dimension's base unit, exactly (a product never rounds)."""
    value = _checked(quantity, field="quantity")
    source = resolve_unit(unit, packaging=packaging)
    context = _exact_context(value, source.to_base)
    with localcontext(context):
        return _canonical(value * source.to_base, context)


def convert(
    quantity: Decimal | int,
    from_unit: str | Unit,
    to_unit: str | Unit,
    *,
    packaging: Mapping[str, Decimal] = NO_PACKAGING,
) -> Decimal:
    """``quantity`` of ``from_unit`` in ``to_unit``, exactly, or InvalidInput.

    ``units.incompatible`` across dimensions (a case is not a kilogram: catch weight is
    recorded, not converted); ``units.inexact`` when the result has no exact decimal value.
    """
    value = _checked(quantity, field="quantity")
    source = resolve_unit(from_unit, packaging=packaging, field="from_unit")
    target = resolve_unit(to_unit, packaging=packaging, field="to_unit")
    if source.dimension != target.dimension:
        raise InvalidInput(
            N_("{from_unit} cannot be converted to {to_unit}."),
            field="to_unit",
            code="units.incompatible",
            from_unit=source.code,
            to_unit=target.code,
        )
    context = _exact_context(value, source.to_base, target.to_base)
    try:
        with localcontext(context):
            return _canonical(value * source.to_base / target.to_base, context)
    except Inexact as error:
        raise InvalidInput(
            N_("{quantity} {from_unit} has no exact value in {to_unit}."),
            field="quantity",
            code="units.inexact",
            quantity=value,
            from_unit=source.code,
            to_unit=target.code,
        ) from error


def quantize(quantity: Decimal | int, places: int, *, field: str = "quantity") -> Decimal:
    """``quantity`` with exactly ``places`` decimal places; ``units.too_precise`` if that rounds."""
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise ValueError(f"places is an int >= 0, not {places!r}")
    value = _checked(quantity, field=field)
    context = Context(prec=_digits(value) + places + 40)
    result = value.quantize(Decimal(1).scaleb(-places), context=context)
    if result != value:
        raise InvalidInput(
            N_("{field} allows at most {places} decimal places: {value} has more."),
            field=field,
            code="units.too_precise",
            places=places,
            value=value,
        )
    return result


def plain(value: Decimal) -> str:
    """A quantity in plain digits without trailing zeros (20, 0.5, 1000 — never 2E+1)."""
    return format(value.normalize(), "f")
