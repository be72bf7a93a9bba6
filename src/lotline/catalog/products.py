"""Products: identification, unit, storage and the shelf-life rule, which is under change control
(a new rule needs a reason, gets a new version, and moves no existing lot)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import select

from lotline.audit.service import record_created, snapshot
from lotline.catalog import external_ids
from lotline.catalog.revisions import AUDIT_EXCLUDE, checked_changes, keep_version, revise
from lotline.catalog.storage_conditions import get_storage_condition
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.domain.expiry import ExpiryKind, MinimumShelfLife, ShelfLifeRule, ShelfLifeUnit
from lotline.domain.gs1 import validate_gtin
from lotline.models.catalog import LotType, Product, Unit
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
    "expiry_capped_by_inputs",
)
# The code names the product elsewhere and its stock is counted in its unit of its lot type's
# lots: an update may repeat them, never change them.
PRODUCT_FIXED = ("code", "base_unit", "lot_type_id")
PRODUCT_DECIMALS = ("min_receipt_percent", "min_ship_percent")


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
    keep_version(
        uow,
        entity_type="product",
        entity_id=product.id,
        aspect="shelf_life",
        version=1,
        content=snapshot(product, SHELF_LIFE_FIELDS),
        reason=None,
    )
    return product


def add_product(uow: UnitOfWork, **fields: Any) -> Product:
    """``create_product``, refusing an unknown storage condition with a 404 naming it."""
    if fields.get("storage_condition_id") is not None:
        get_storage_condition(uow, storage_condition_id=fields["storage_condition_id"])
    return create_product(uow, **fields)


def update_product(
    uow: UnitOfWork, *, product_id: int, changes: Mapping[str, Any], reason: str | None
) -> Product:
    """Change a product; a new shelf-life rule needs a reason, gets a new version, moves no lot."""
    product = get_product(uow, product_id=product_id)
    revise(
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


def revise_product(
    uow: UnitOfWork, *, product_id: int, changes: Mapping[str, Any], reason: str | None
) -> Product:
    """``update_product`` after the checks outside input needs: fixed identity, GTIN, references."""
    product = get_product(uow, product_id=product_id)
    values = checked_changes(product, changes, fixed=PRODUCT_FIXED, decimals=PRODUCT_DECIMALS)
    if values.get("gtin") is not None:
        gtin = validate_gtin(str(values["gtin"]), field="gtin")
        taken = select(Product.id).where(Product.gtin == gtin, Product.id != product.id)
        if uow.session.execute(taken).first():
            raise AlreadyExists(entity=N_("product"), key=gtin, field="gtin")
        values["gtin"] = gtin
    if values.get("storage_condition_id") is not None:
        get_storage_condition(uow, storage_condition_id=values["storage_condition_id"])
    return update_product(uow, product_id=product.id, changes=values, reason=reason)


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
