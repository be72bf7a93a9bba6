"""Master data with change control: storage conditions, lot types, products.

GMP-relevant aspects (a product's shelf-life and minimum shelf-life rules, a storage
condition's limits, a lot type's coding rule and custom-field schema) need a reason to change,
bump their version, and keep every version in ``config_version`` with who, when and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import select

from lotline.audit.service import record_changed, record_created, snapshot
from lotline.catalog import external_ids
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.domain.expiry import ExpiryKind, MinimumShelfLife, ShelfLifeRule, ShelfLifeUnit
from lotline.domain.gs1 import validate_gtin
from lotline.domain.lotcode import compile_code_pattern, parse_template
from lotline.domain.units import quantize
from lotline.models.catalog import ConfigVersion, LotType, Product, StorageCondition, Unit
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

SHELF_LIFE_FIELDS = (
    "shelf_life_amount",
    "shelf_life_unit",
    "expiry_kind",
    "retest_days",
    "round_to_month_end",
    "supplier_date_wins",
    "min_receipt_days",
    "min_receipt_percent",
    "min_ship_days",
    "min_ship_percent",
)
CODING_FIELDS = ("code_template", "external_code_pattern", "custom_schema")
LIMIT_FIELDS = ("min_temp_c", "max_temp_c", "max_humidity_pct")
AUDIT_EXCLUDE = ("created_at", "updated_at")


def _keep_version(
    uow: UnitOfWork,
    *,
    entity_type: str,
    entity_id: int,
    aspect: str,
    version: int,
    content: Mapping[str, object],
    reason: str | None,
) -> None:
    uow.session.add(
        ConfigVersion(
            entity_type=entity_type,
            entity_id=entity_id,
            aspect=aspect,
            version=version,
            content=dict(content),
            changed_at=uow.now(),
            changed_by=uow.actor.name,
            reason=reason,
        )
    )


def _revise(
    uow: UnitOfWork,
    entity: Any,
    *,
    entity_type: str,
    aspect: str,
    governed: tuple[str, ...],
    version_attr: str,
    values: Mapping[str, Any],
    reason: str | None,
    check: Callable[[], None] | None = None,
) -> None:
    """Apply ``values`` under change control: a change to a ``governed`` field needs a reason,
    bumps ``version_attr`` and keeps the new version of that aspect; everything is audited."""
    before = snapshot(entity, exclude=AUDIT_EXCLUDE)
    for name, value in values.items():
        setattr(entity, name, value)
    if check is not None:
        check()
    after = snapshot(entity, exclude=AUDIT_EXCLUDE)
    governed_changed = any(before[f] != after[f] for f in governed)
    if governed_changed:
        setattr(entity, version_attr, getattr(entity, version_attr) + 1)
        after[version_attr] = getattr(entity, version_attr)
    if after != before:
        entity.updated_at = uow.now()
    record_changed(
        uow, entity_type=entity_type, entity_id=entity.id, before=before, after=after, reason=reason
    )
    if governed_changed:
        _keep_version(
            uow,
            entity_type=entity_type,
            entity_id=entity.id,
            aspect=aspect,
            version=getattr(entity, version_attr),
            content=snapshot(entity, governed),
            reason=reason,
        )


def history(uow: UnitOfWork, *, entity_type: str, entity_id: int) -> list[ConfigVersion]:
    """Every kept version of an entity's GMP configuration, oldest first."""
    return list(
        uow.session.execute(
            select(ConfigVersion)
            .where(ConfigVersion.entity_type == entity_type, ConfigVersion.entity_id == entity_id)
            .order_by(ConfigVersion.aspect, ConfigVersion.version)
        ).scalars()
    )


def _check_references(node: object, root: dict[str, Any]) -> None:
    """Every ``$ref`` must point inside the schema and resolve: a lot type must never fail later."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: object = root
            if not ref.startswith("#"):
                raise SchemaError(f"only references inside the schema are allowed, not {ref}")
            for part in [p for p in ref[1:].split("/") if p]:
                key = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and key in target:
                    target = target[key]
                elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                    target = target[int(key)]
                else:
                    raise SchemaError(f"the reference {ref} does not resolve")
        for value in node.values():
            _check_references(value, root)
    elif isinstance(node, list):
        for value in node:
            _check_references(value, root)


def check_custom_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A lot type's custom-field schema must itself be a valid JSON Schema (2020-12)."""
    try:
        Draft202012Validator.check_schema(dict(schema))
        _check_references(dict(schema), dict(schema))
    except SchemaError as exc:
        raise InvalidInput(
            N_("The custom-field schema is not a valid JSON Schema: {problem}"),
            field="custom_schema",
            code="lot_type.bad_schema",
            problem=exc.message,
        ) from exc
    return dict(schema)


def validate_custom_fields(lot_type: LotType, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Check a lot's custom fields against its lot type's schema; name the first failing field."""
    validator = Draft202012Validator(lot_type.custom_schema)
    for error in sorted(validator.iter_errors(dict(attributes)), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.absolute_path)
        raise InvalidInput(
            N_("Custom field {path} is not valid: {problem}"),
            field=f"attributes.{path}" if path else "attributes",
            code="lot.bad_custom_field",
            path=path or "-",
            problem=error.message,
        )
    return dict(attributes)


def _check_limits(min_temp: Decimal | None, max_temp: Decimal | None) -> None:
    if min_temp is not None and max_temp is not None and min_temp > max_temp:
        raise InvalidInput(
            N_("The lowest temperature {minimum} °C is above the highest {maximum} °C."),
            field="min_temp_c",
            code="storage.bad_limits",
            minimum=min_temp,
            maximum=max_temp,
        )


def create_storage_condition(
    uow: UnitOfWork,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    min_temp_c: Decimal | None,
    max_temp_c: Decimal | None,
    max_humidity_pct: Decimal | None = None,
) -> StorageCondition:
    """A temperature band products need and locations provide."""
    if uow.session.execute(select(StorageCondition.id).where(StorageCondition.code == code)).first():
        raise AlreadyExists(entity=N_("storage condition"), key=code, field="code")
    _check_limits(min_temp_c, max_temp_c)
    now = uow.now()
    condition = StorageCondition(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        min_temp_c=min_temp_c,
        max_temp_c=max_temp_c,
        max_humidity_pct=max_humidity_pct,
        version=1,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(condition)
    uow.session.flush()
    record_created(
        uow, entity_type="storage_condition", entity=condition, entity_id=condition.id, exclude=AUDIT_EXCLUDE
    )
    _keep_version(
        uow,
        entity_type="storage_condition",
        entity_id=condition.id,
        aspect="limits",
        version=1,
        content=snapshot(condition, LIMIT_FIELDS),
        reason=None,
    )
    return condition


def create_lot_type(
    uow: UnitOfWork,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    code_template: str,
    external_code_pattern: str | None = None,
    custom_schema: Mapping[str, Any] | None = None,
) -> LotType:
    """A kind of lot: its coding rule, external-code pattern and custom fields."""
    if uow.session.execute(select(LotType.id).where(LotType.code == code)).first():
        raise AlreadyExists(entity=N_("lot type"), key=code, field="code")
    parse_template(code_template)
    if external_code_pattern:
        compile_code_pattern(external_code_pattern, field="external_code_pattern")
    schema = check_custom_schema(custom_schema or {"type": "object"})
    now = uow.now()
    lot_type = LotType(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        code_template=code_template,
        external_code_pattern=external_code_pattern,
        custom_schema=schema,
        version=1,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(lot_type)
    uow.session.flush()
    record_created(uow, entity_type="lot_type", entity=lot_type, entity_id=lot_type.id, exclude=AUDIT_EXCLUDE)
    _keep_version(
        uow,
        entity_type="lot_type",
        entity_id=lot_type.id,
        aspect="coding",
        version=1,
        content=snapshot(lot_type, CODING_FIELDS),
        reason=None,
    )
    return lot_type


def shelf_life_rule(product: Product) -> ShelfLifeRule:
    """The product's current shelf-life rule as the domain sees it."""
    # The rule validates the stored strings itself (a 4xx naming the field, not a ValueError).
    return ShelfLifeRule(
        amount=product.shelf_life_amount,
        unit=cast(ShelfLifeUnit, product.shelf_life_unit),
        kind=cast(ExpiryKind, product.expiry_kind),
        retest_days=product.retest_days,
        round_to_month_end=product.round_to_month_end,
        supplier_date_wins=product.supplier_date_wins,
        version=product.shelf_life_version,
    )


def _check_product_rules(product: Product) -> None:
    shelf_life_rule(product)
    for days, percent, label in (
        (product.min_receipt_days, product.min_receipt_percent, "min_receipt"),
        (product.min_ship_days, product.min_ship_percent, "min_ship"),
    ):
        if days is not None or percent is not None:
            try:
                MinimumShelfLife(days=days, percent=percent)
            except InvalidInput as exc:
                exc.field = f"{label}_days" if days is not None else f"{label}_percent"
                raise


def get_product(uow: UnitOfWork, *, product_id: int) -> Product:
    product = uow.session.get(Product, product_id)
    if product is None:
        raise NotFound(entity=N_("product"), key=product_id, field="product_id")
    return product


def create_product(uow: UnitOfWork, **fields: Any) -> Product:
    """A product with its identification, storage and shelf-life rule (version 1)."""
    code = str(fields["code"])
    if uow.session.execute(select(Product.id).where(Product.code == code)).first():
        raise AlreadyExists(entity=N_("product"), key=code, field="code")
    if fields.get("gtin"):
        fields["gtin"] = validate_gtin(str(fields["gtin"]), field="gtin")
        if uow.session.execute(select(Product.id).where(Product.gtin == fields["gtin"])).first():
            raise AlreadyExists(entity=N_("product"), key=fields["gtin"], field="gtin")
    if uow.session.get(Unit, fields.get("base_unit")) is None:
        raise NotFound(entity=N_("unit"), key=fields.get("base_unit"), field="base_unit")
    if uow.session.get(LotType, fields.get("lot_type_id")) is None:
        raise NotFound(entity=N_("lot type"), key=fields.get("lot_type_id"), field="lot_type_id")
    now = uow.now()
    product = Product(**fields, shelf_life_version=1, created_at=now, updated_at=now)
    _check_product_rules(product)
    uow.session.add(product)
    uow.session.flush()
    record_created(uow, entity_type="product", entity=product, entity_id=product.id, exclude=AUDIT_EXCLUDE)
    _keep_version(
        uow,
        entity_type="product",
        entity_id=product.id,
        aspect="shelf_life",
        version=1,
        content=snapshot(product, SHELF_LIFE_FIELDS),
        reason=None,
    )
    return product


def update_product(
    uow: UnitOfWork, *, product_id: int, changes: Mapping[str, Any], reason: str | None
) -> Product:
    """Change a product; a new shelf-life rule needs a reason, gets a new version, moves no lot."""
    product = get_product(uow, product_id=product_id)
    _revise(
        uow,
        product,
        entity_type="product",
        aspect="shelf_life",
        governed=SHELF_LIFE_FIELDS,
        version_attr="shelf_life_version",
        values=changes,
        reason=reason,
        check=lambda: _check_product_rules(product),
    )
    return product


# --- reading, revising, previewing and upserting (the catalog API) ------------------------------

_FIXED = N_("{field} cannot be changed.")
# Codes name master data elsewhere (a lot type's code is part of its lot-code sequence scope, a
# product's unit is what its stock is counted in): an update may repeat them, never change them.
FIXED_FIELDS = {
    "storage_condition": ("code",),
    "lot_type": ("code",),
    "product": ("code", "base_unit", "lot_type_id"),
}
DECIMAL_FIELDS = (*LIMIT_FIELDS, "min_receipt_percent", "min_ship_percent")
# Template placeholders → the preview's request fields, so a refusal names what the caller sent.
_PREVIEW_FIELDS = {"site": "site_code", "product": "product_code", "line": "line"}
_E = TypeVar("_E", bound=external_ids.HasId)


@dataclass(frozen=True)
class CodePreview:
    code: str
    code_template: str
    sequence_scope: str


def _changes(entity_type: str, entity: object, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` without the fixed fields (refused if they differ), decimals as stored."""
    values = dict(changes)
    for name in FIXED_FIELDS[entity_type]:
        if name in values and values.pop(name) != getattr(entity, name):
            raise InvalidInput(_FIXED, field=name, code="catalog.fixed_field")
    for name in DECIMAL_FIELDS:
        # Six places, as the column keeps them: re-sending 2 where 2.000000 is stored is no change.
        if values.get(name) is not None:
            values[name] = quantize(values[name], 6, field=name)
    return values


def get_storage_condition(uow: UnitOfWork, *, storage_condition_id: int) -> StorageCondition:
    condition = uow.session.get(StorageCondition, storage_condition_id)
    if condition is None:
        raise NotFound(entity=N_("storage condition"), key=storage_condition_id, field="storage_condition_id")
    return condition


def list_storage_conditions(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[StorageCondition]:
    """Storage conditions in the order they were created."""
    return keyset_page(uow.session, select(StorageCondition), StorageCondition.id, cursor=cursor, limit=limit)


def update_storage_condition(
    uow: UnitOfWork, *, storage_condition_id: int, changes: Mapping[str, Any], reason: str | None
) -> StorageCondition:
    """Change a storage condition; new limits need a reason and get a new version."""
    condition = get_storage_condition(uow, storage_condition_id=storage_condition_id)
    values = _changes("storage_condition", condition, changes)
    _revise(
        uow,
        condition,
        entity_type="storage_condition",
        aspect="limits",
        governed=LIMIT_FIELDS,
        version_attr="version",
        values=values,
        reason=reason,
        check=lambda: _check_limits(condition.min_temp_c, condition.max_temp_c),
    )
    return condition


def get_lot_type(uow: UnitOfWork, *, lot_type_id: int) -> LotType:
    lot_type = uow.session.get(LotType, lot_type_id)
    if lot_type is None:
        raise NotFound(entity=N_("lot type"), key=lot_type_id, field="lot_type_id")
    return lot_type


def list_lot_types(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[LotType]:
    """Lot types in the order they were created."""
    return keyset_page(uow.session, select(LotType), LotType.id, cursor=cursor, limit=limit)


def update_lot_type(
    uow: UnitOfWork, *, lot_type_id: int, changes: Mapping[str, Any], reason: str | None
) -> LotType:
    """Change a lot type; a new coding rule or custom-field schema needs a reason and gets a new version."""
    lot_type = get_lot_type(uow, lot_type_id=lot_type_id)
    values = _changes("lot_type", lot_type, changes)
    if "code_template" in values:
        parse_template(values["code_template"])
    if values.get("external_code_pattern"):
        compile_code_pattern(values["external_code_pattern"], field="external_code_pattern")
    if "custom_schema" in values:
        values["custom_schema"] = check_custom_schema(values["custom_schema"])
    _revise(
        uow,
        lot_type,
        entity_type="lot_type",
        aspect="coding",
        governed=CODING_FIELDS,
        version_attr="version",
        values=values,
        reason=reason,
    )
    return lot_type


def preview_lot_code(
    uow: UnitOfWork,
    *,
    lot_type_id: int,
    site_code: str,
    production_date: date,
    product_code: str | None = None,
    line: str | None = None,
    code_template: str | None = None,
) -> CodePreview:
    """The code the first lot of a period would get, from the lot type's template or a draft; no
    sequence number is consumed."""
    lot_type = get_lot_type(uow, lot_type_id=lot_type_id)
    template = parse_template(code_template if code_template is not None else lot_type.code_template)
    try:
        code = template.render(site=site_code, on=production_date, seq=1, product=product_code, line=line)
    except InvalidInput as exc:
        exc.field = _PREVIEW_FIELDS.get(exc.field or "", exc.field)
        raise
    scope = template.sequence_scope(lot_type=lot_type.code, site=site_code, on=production_date)
    return CodePreview(code=code, code_template=template.template, sequence_scope=scope)


def list_products(
    uow: UnitOfWork,
    *,
    cursor: str | None,
    limit: int,
    category: str | None = None,
    active: bool | None = None,
    gtin: str | None = None,
    code: str | None = None,
) -> Page[Product]:
    """Products matching every given filter; a GTIN matches in any of its 8 to 14 digit forms."""
    query = select(Product)
    if category is not None:
        query = query.where(Product.category == category)
    if active is not None:
        query = query.where(Product.active.is_(active))
    if gtin:
        query = query.where(Product.gtin == gtin.strip().zfill(14))
    if code:
        query = query.where(Product.code == code)
    return keyset_page(uow.session, query, Product.id, cursor=cursor, limit=limit)


def add_product(uow: UnitOfWork, **fields: Any) -> Product:
    """``create_product``, refusing an unknown storage condition with a 404 naming it."""
    if fields.get("storage_condition_id") is not None:
        get_storage_condition(uow, storage_condition_id=fields["storage_condition_id"])
    return create_product(uow, **fields)


def revise_product(
    uow: UnitOfWork, *, product_id: int, changes: Mapping[str, Any], reason: str | None
) -> Product:
    """``update_product`` after the checks outside input needs: fixed identity, GTIN, references."""
    product = get_product(uow, product_id=product_id)
    values = _changes("product", product, changes)
    if values.get("gtin") is not None:
        gtin = validate_gtin(str(values["gtin"]), field="gtin")
        taken = select(Product.id).where(Product.gtin == gtin, Product.id != product.id)
        if uow.session.execute(taken).first():
            raise AlreadyExists(entity=N_("product"), key=gtin, field="gtin")
        values["gtin"] = gtin
    if values.get("storage_condition_id") is not None:
        get_storage_condition(uow, storage_condition_id=values["storage_condition_id"])
    return update_product(uow, product_id=product.id, changes=values, reason=reason)


def list_units(uow: UnitOfWork) -> list[Unit]:
    """Every unit of measure, by dimension, smallest first."""
    return list(uow.session.execute(select(Unit).order_by(Unit.dimension, Unit.to_base, Unit.code)).scalars())


def upsert_storage_condition(
    uow: UnitOfWork, *, system: str, key: str, fields: Mapping[str, Any], reason: str | None = None
) -> tuple[StorageCondition, bool]:
    """Update the storage condition (system, key) names, or create it; True when created."""

    def create() -> StorageCondition:
        return create_storage_condition(uow, **({"min_temp_c": None, "max_temp_c": None} | dict(fields)))

    def update(storage_condition_id: int) -> StorageCondition:
        return update_storage_condition(
            uow, storage_condition_id=storage_condition_id, changes=fields, reason=reason
        )

    return external_ids.upsert(
        uow, system=system, entity_type="storage_condition", key=key, create=create, update=update
    )


def upsert_lot_type(
    uow: UnitOfWork, *, system: str, key: str, fields: Mapping[str, Any], reason: str | None = None
) -> tuple[LotType, bool]:
    """Update the lot type (system, key) names, or create it; True when created."""

    def create() -> LotType:
        return create_lot_type(uow, **fields)

    def update(lot_type_id: int) -> LotType:
        return update_lot_type(uow, lot_type_id=lot_type_id, changes=fields, reason=reason)

    return external_ids.upsert(
        uow, system=system, entity_type="lot_type", key=key, create=create, update=update
    )


def upsert_product(
    uow: UnitOfWork, *, system: str, key: str, fields: Mapping[str, Any], reason: str | None = None
) -> tuple[Product, bool]:
    """Update the product (system, key) names, or create it; True when created."""

    def create() -> Product:
        return add_product(uow, **fields)

    def update(product_id: int) -> Product:
        return revise_product(uow, product_id=product_id, changes=fields, reason=reason)

    return external_ids.upsert(
        uow, system=system, entity_type="product", key=key, create=create, update=update
    )
