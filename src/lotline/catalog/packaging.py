"""A product's packaging levels (case, box, pallet): how many each one of them holds.

Global units convert by their factors (kg ↔ g); packaging is per product (a case of dumplings
holds 12 bags, a case of another product 24). Levels count in EA, so only products counted in
each carry them. The whole set is replaced at once and audited as one change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from lotline.audit.service import record_changed
from lotline.catalog.products import get_product
from lotline.domain.errors import N_, InvalidInput
from lotline.domain.gs1 import validate_gtin
from lotline.domain.units import UNITS, Dimension, PackagingLevel, convert, packaging_factors
from lotline.models.catalog import ProductPackaging
from lotline.uow import UnitOfWork

MAX_LEVELS = 8


@dataclass(frozen=True)
class LevelInput:
    code: str
    each_per_unit: Decimal
    gtin: str | None = None


def packaging_of(uow: UnitOfWork, *, product_id: int) -> list[ProductPackaging]:
    """The product's levels, smallest first."""
    return list(
        uow.session.scalars(
            select(ProductPackaging)
            .where(ProductPackaging.product_id == product_id)
            .order_by(ProductPackaging.base_per_unit, ProductPackaging.code)
        )
    )


def factors_of(uow: UnitOfWork, *, product_id: int) -> Mapping[str, Decimal]:
    """The product's levels as the mapping ``domain.units.convert`` takes."""
    return packaging_factors(
        PackagingLevel(level.code, level.base_per_unit) for level in packaging_of(uow, product_id=product_id)
    )


def _shown(levels: Sequence[ProductPackaging] | Sequence[LevelInput]) -> list[str]:
    shown = []
    for level in levels:
        each = level.base_per_unit if isinstance(level, ProductPackaging) else level.each_per_unit
        shown.append(f"{level.code}={format(each, 'f')}" + (f" ({level.gtin})" if level.gtin else ""))
    return sorted(shown)


def set_packaging(
    uow: UnitOfWork, *, product_id: int, levels: Sequence[LevelInput], reason: str | None = None
) -> list[ProductPackaging]:
    """Replace the product's packaging levels; every level checked, the change audited."""
    product = get_product(uow, product_id=product_id)
    if levels and UNITS[product.base_unit].dimension is not Dimension.COUNT:
        raise InvalidInput(
            N_("Packaging levels count in each: {product} is counted in {unit}."),
            field="packaging",
            code="units.packaging_not_counted",
            product=product.code,
            unit=product.base_unit,
        )
    if len(levels) > MAX_LEVELS:
        raise InvalidInput(
            N_("A product has at most {count} packaging levels."),
            field="packaging",
            code="units.bad_packaging",
            count=MAX_LEVELS,
        )
    packaging_factors(PackagingLevel(level.code, level.each_per_unit) for level in levels)
    gtins = [
        validate_gtin(level.gtin, field=f"packaging.{i}.gtin") if level.gtin else None
        for i, level in enumerate(levels)
    ]
    if product.gtin and product.gtin in gtins:
        raise InvalidInput(
            N_("A packaging level needs its own GTIN, not the product's."),
            field="packaging",
            code="units.bad_packaging",
        )
    existing = packaging_of(uow, product_id=product.id)
    before = _shown(existing)
    for level in existing:
        uow.session.delete(level)
    uow.session.flush()
    created = [
        ProductPackaging(product_id=product.id, code=level.code, base_per_unit=level.each_per_unit, gtin=gtin)
        for level, gtin in zip(levels, gtins, strict=True)
    ]
    uow.session.add_all(created)
    uow.session.flush()
    record_changed(
        uow,
        entity_type="product",
        entity_id=product.id,
        before={"packaging": before},
        after={"packaging": _shown(created)},
        reason=reason,
        action="packaging",
    )
    return sorted(created, key=lambda level: (level.base_per_unit, level.code))


def convert_for_product(
    uow: UnitOfWork, *, product_id: int, quantity: Decimal, from_unit: str, to_unit: str
) -> Decimal:
    """``quantity`` of ``from_unit`` in ``to_unit``, using the product's own packaging levels."""
    return convert(quantity, from_unit, to_unit, packaging=factors_of(uow, product_id=product_id))
