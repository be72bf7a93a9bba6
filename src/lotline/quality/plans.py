"""Inspection plans per product: what is checked on its lots, and how much is sampled.

A plan is never edited in place: setting a product's plan adds a new version and retires the
old one, so an inspection record keeps pointing at the specification it was judged against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select, update

from lotline.audit.service import record_changed
from lotline.catalog.packaging import factors_of
from lotline.catalog.service import get_product
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.inspection import Characteristic, CharacteristicKind
from lotline.domain.units import resolve_unit
from lotline.models.quality import InspectionCharacteristic, InspectionPlan
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class CharacteristicInput:
    code: str
    name_zh: str
    name_en: str
    kind: CharacteristicKind
    unit: str | None = None
    lower_limit: Decimal | None = None
    upper_limit: Decimal | None = None
    accepted_values: Sequence[str] = field(default_factory=tuple)
    required: bool = True


def rule_of(row: InspectionCharacteristic) -> Characteristic:
    """The pure rule a stored characteristic stands for."""
    return Characteristic(
        code=row.code,
        kind=CharacteristicKind(row.kind),
        lower=row.lower_limit,
        upper=row.upper_limit,
        accepted=frozenset(row.accepted_values or ()),
        required=row.required,
    )


def active_plan(uow: UnitOfWork, *, product_id: int) -> InspectionPlan | None:
    """The product's plan in force, if it has one."""
    return uow.session.scalars(
        select(InspectionPlan).where(InspectionPlan.product_id == product_id, InspectionPlan.active)
    ).one_or_none()


def characteristics_of(uow: UnitOfWork, *, plan_id: int) -> list[InspectionCharacteristic]:
    return list(
        uow.session.scalars(
            select(InspectionCharacteristic)
            .where(InspectionCharacteristic.plan_id == plan_id)
            .order_by(InspectionCharacteristic.position)
        )
    )


def get_plan(uow: UnitOfWork, *, product_id: int) -> tuple[InspectionPlan, list[InspectionCharacteristic]]:
    """The product's active plan with its characteristics; not found when it has none."""
    get_product(uow, product_id=product_id)
    plan = active_plan(uow, product_id=product_id)
    if plan is None:
        raise NotFound(entity=N_("inspection plan"), key=product_id, field="product_id")
    return plan, characteristics_of(uow, plan_id=plan.id)


def set_plan(
    uow: UnitOfWork,
    *,
    product_id: int,
    characteristics: Sequence[CharacteristicInput],
    sample_size: Decimal | None,
    sample_unit: str | None,
    reason: str | None = None,
) -> tuple[InspectionPlan, list[InspectionCharacteristic]]:
    """Give the product a new plan version (the old one is kept, retired); audited."""
    get_product(uow, product_id=product_id)
    if not characteristics:
        raise InvalidInput(
            N_("{field} needs at least one characteristic."),
            field="characteristics",
            code="inspection.no_characteristics",
        )
    codes = [c.code for c in characteristics]
    if len(set(codes)) != len(codes):
        raise InvalidInput(
            N_("Each characteristic code may appear only once."),
            field="characteristics",
            code="inspection.duplicate_characteristic",
        )
    for given in characteristics:
        rule_of_input(given)  # refuses limits that make no sense, before anything is written
    if (sample_size is None) != (sample_unit is None):
        raise InvalidInput(
            N_("A sampling size needs its unit, and a unit its size."),
            field="sample_unit",
            code="inspection.sample_unit",
        )
    if sample_size is not None and sample_size <= 0:
        raise InvalidInput(
            N_("{field} must be greater than zero."), field="sample_size", code="inspection.sample_size"
        )
    if sample_unit is not None:
        resolve_unit(sample_unit, packaging=factors_of(uow, product_id=product_id), field="sample_unit")
    previous = active_plan(uow, product_id=product_id)
    version = 1
    if previous is not None:
        version = previous.version + 1
        # Retire by statement and flush, so the new active row never meets the old one.
        uow.session.execute(
            update(InspectionPlan)
            .where(InspectionPlan.id == previous.id)
            .values(active=False)
            .execution_options(synchronize_session="fetch")
        )
    else:
        latest = uow.session.scalar(
            select(InspectionPlan.version)
            .where(InspectionPlan.product_id == product_id)
            .order_by(InspectionPlan.version.desc())
            .limit(1)
        )
        version = (latest or 0) + 1
    now = uow.now()
    plan = InspectionPlan(
        product_id=product_id,
        version=version,
        sample_size=sample_size,
        sample_unit=sample_unit,
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(plan)
    uow.session.flush()
    rows = [
        InspectionCharacteristic(
            plan_id=plan.id,
            position=position,
            code=given.code,
            name_zh=given.name_zh,
            name_en=given.name_en,
            kind=given.kind.value,
            unit=given.unit,
            lower_limit=given.lower_limit,
            upper_limit=given.upper_limit,
            accepted_values=list(given.accepted_values) or None,
            required=given.required,
        )
        for position, given in enumerate(characteristics, start=1)
    ]
    uow.session.add_all(rows)
    uow.session.flush()
    record_changed(
        uow,
        entity_type="inspection_plan",
        entity_id=plan.id,
        before={"version": previous.version if previous else None},
        after={"version": plan.version, "product_id": product_id, "characteristics": _shown(rows)},
        reason=reason,
        action="create",
    )
    emit(
        uow,
        events.INSPECTION_PLAN_SET,
        subject_type="product",
        subject_id=product_id,
        payload={"plan_id": plan.id, "version": plan.version},
    )
    return plan, rows


def rule_of_input(given: CharacteristicInput) -> Characteristic:
    return Characteristic(
        code=given.code,
        kind=given.kind,
        lower=given.lower_limit,
        upper=given.upper_limit,
        accepted=frozenset(given.accepted_values),
        required=given.required,
    )


def _shown(rows: Sequence[InspectionCharacteristic]) -> list[str]:
    """A readable line per characteristic for the audit trail."""
    shown = []
    for row in rows:
        if row.kind == CharacteristicKind.NUMERIC.value:
            spec = f"[{row.lower_limit if row.lower_limit is not None else ''}, "
            spec += f"{row.upper_limit if row.upper_limit is not None else ''}] {row.unit or ''}".rstrip()
        else:
            spec = "{" + ", ".join(row.accepted_values or ()) + "}"
        shown.append(f"{row.code} {spec}{'' if row.required else ' (optional)'}")
    return shown
