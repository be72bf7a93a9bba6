"""Transformations: what each kind takes and makes, the rules of its quantities and dates, and
the genealogy edges it leaves. Pure functions, no I/O.

A transformation consumes input lots and creates output lots; the kinds differ in shape:

============  ==========  ===========  ======================================================
kind          input lots  output lots  rules
============  ==========  ===========  ======================================================
production    1 or more   1 or more    any products (main, co- and by-products); the output
                                       expiry is capped by the earliest input only where the
                                       product says so
rework        1 or more   1 or more    released or rejected stock, a signed decision; capped
repack        1           1 or more    new packaging; a new lot, or the same lot where the
                                       product keeps it; capped
relabel       1           1            a new label, perhaps another product (GTIN); capped
split         1           2 or more    sub-lots of the same product; capped
merge         2 or more   1            one lot of the same product; capped
============  ==========  ===========  ======================================================

Where outputs are of the input product (split, merge; repack and relabel when the product stays)
quantities balance: outputs + losses = inputs, in the product's base unit. Losses (drip, cooking,
trim) are movements of their own, so each lot's mass balance closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from lotline.domain.errors import N_, InvalidInput
from lotline.domain.units import Dimension, resolve_unit

MAX_LOT_CODE = 20  # lot.code's length


class TransformationKind(StrEnum):
    PRODUCTION = "production"
    REWORK = "rework"
    REPACK = "repack"
    RELABEL = "relabel"
    SPLIT = "split"
    MERGE = "merge"


class LossKind(StrEnum):
    """Why stock went missing in a transformation: the mass balance names it."""

    DRIP = "drip"  # thawing, draining
    COOKING = "cooking"  # water and fat lost in cooking
    TRIM = "trim"  # trimmings, offcuts
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Shape:
    """How many input and output lots a kind takes, and which rules bind it."""

    min_inputs: int
    max_inputs: int | None
    min_outputs: int
    max_outputs: int | None
    same_product: bool  # outputs must be of the input product
    capped: bool  # outputs never outlive the earliest input, whatever the product says
    signed: bool  # a quality decision, signed by someone who may take one


SHAPES: Final[Mapping[TransformationKind, Shape]] = MappingProxyType(
    {
        TransformationKind.PRODUCTION: Shape(
            1, None, 1, None, same_product=False, capped=False, signed=False
        ),
        TransformationKind.REWORK: Shape(1, None, 1, None, same_product=False, capped=True, signed=True),
        TransformationKind.REPACK: Shape(1, 1, 1, None, same_product=False, capped=True, signed=False),
        TransformationKind.RELABEL: Shape(1, 1, 1, 1, same_product=False, capped=True, signed=False),
        TransformationKind.SPLIT: Shape(1, 1, 2, None, same_product=True, capped=True, signed=False),
        TransformationKind.MERGE: Shape(2, None, 1, 1, same_product=True, capped=True, signed=False),
    }
)


# The kinds in words, for messages (msgids: the reader's language fills ``{kind}``).
KIND_WORDS: Final[Mapping[TransformationKind, str]] = MappingProxyType(
    {
        TransformationKind.PRODUCTION: N_("production"),
        TransformationKind.REWORK: N_("rework"),
        TransformationKind.REPACK: N_("repack"),
        TransformationKind.RELABEL: N_("relabel"),
        TransformationKind.SPLIT: N_("split"),
        TransformationKind.MERGE: N_("merge"),
    }
)


class ShapeRefused(InvalidInput):
    """A transformation its kind does not allow; ``{kind}`` is said in the reader's words."""

    code = "transformation.shape"  # each instance gives its finer code
    translated_params = ("kind",)


def _count_error(field: str, kind: TransformationKind, least: int, most: int | None) -> InvalidInput:
    if most is None:
        message = N_("A {kind} needs at least {least} lots in {field}.")
    elif least == most:
        message = N_("A {kind} takes exactly {least} lot in {field}.")
    else:
        message = N_("A {kind} takes {least} to {most} lots in {field}.")
    return ShapeRefused(
        message, field=field, code="transformation.lot_count", kind=KIND_WORDS[kind], least=least, most=most
    )


def check_shape(
    kind: TransformationKind,
    *,
    input_lots: Iterable[int],
    input_products: Iterable[int],
    output_products: Iterable[int],
    outputs: int,
) -> None:
    """Refuse a transformation whose lot counts or products its kind does not allow."""
    shape = SHAPES[kind]
    lots = set(input_lots)
    if len(lots) < shape.min_inputs or (shape.max_inputs is not None and len(lots) > shape.max_inputs):
        raise _count_error("inputs", kind, shape.min_inputs, shape.max_inputs)
    if outputs < shape.min_outputs or (shape.max_outputs is not None and outputs > shape.max_outputs):
        raise _count_error("outputs", kind, shape.min_outputs, shape.max_outputs)
    products = set(input_products)
    if shape.same_product and (len(products) != 1 or set(output_products) != products):
        raise ShapeRefused(
            N_("A {kind} keeps one product: every input and output must be of the same product."),
            field="outputs",
            code="transformation.other_product",
            kind=KIND_WORDS[kind],
        )


def must_balance(
    kind: TransformationKind, *, input_units: Iterable[str], output_units: Iterable[str]
) -> bool:
    """Whether outputs + losses must equal inputs: a split, merge, repack or relabel whose lots
    are all counted in one base unit, or in units of one mass or volume dimension (a relabel
    from a product in kilograms to one in grams) — the service converts them to the input's.
    Production and rework change the material; a repack from kilograms into cases of another
    product has no common measure."""
    if kind is TransformationKind.PRODUCTION or kind is TransformationKind.REWORK:
        return False
    units = set(input_units) | set(output_units)
    if len(units) == 1:
        return True
    dimensions = {resolve_unit(unit).dimension for unit in units}
    return len(dimensions) == 1 and dimensions <= {Dimension.MASS, Dimension.VOLUME}


def check_balance(*, consumed: Decimal, lost: Decimal, produced: Decimal, unit: str) -> None:
    """Outputs and losses account for exactly what was consumed (one product, its base unit)."""
    if produced + lost != consumed:
        raise InvalidInput(
            N_(
                "The outputs ({produced} {unit}) and losses ({lost} {unit}) must add up to the "
                "inputs ({consumed} {unit})."
            ),
            field="outputs",
            code="transformation.unbalanced",
            produced=produced,
            lost=lost,
            consumed=consumed,
            unit=unit,
        )


def caps_expiry(kind: TransformationKind, *, product_caps: bool) -> bool:
    """Whether an output's expiry is capped by its earliest input."""
    return SHAPES[kind].capped or product_caps


def sub_lot_code(parent: str, number: int) -> str | None:
    """The code of a split's ``number``-th sub-lot (``L2026-0001-2``), None if it would not fit."""
    code = f"{parent}-{number}"
    return code if len(code) <= MAX_LOT_CODE else None


@dataclass(frozen=True, slots=True)
class Edge:
    parent_lot_id: int
    child_lot_id: int
    qty: Decimal


def edges(consumed: Mapping[int, Decimal], outputs: Iterable[int]) -> list[Edge]:
    """Every input lot → every output lot (none from a lot to itself), with what the input gave.

    ``consumed``: base quantity per input lot, losses excluded; ``outputs``: the output lots.
    """
    children = sorted(set(outputs))
    return [
        Edge(parent, child, qty)
        for parent, qty in sorted(consumed.items())
        for child in children
        if parent != child and qty > 0
    ]
