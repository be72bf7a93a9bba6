"""Master data with change control: storage conditions, lot types, products, units.

The functions live in ``storage_conditions``, ``lot_types``, ``products``, ``units`` and
``revisions`` (the change control they share); this module offers them under one name, as it
did before they were split, for callers that use the catalog as a whole.
"""

from __future__ import annotations

from lotline.catalog.lot_types import (
    CODING_FIELDS,
    LOT_TYPE_FIXED,
    CodePreview,
    check_custom_schema,
    create_lot_type,
    get_lot_type,
    list_lot_types,
    preview_lot_code,
    update_lot_type,
    upsert_lot_type,
    validate_custom_fields,
)
from lotline.catalog.products import (
    PRODUCT_DECIMALS,
    PRODUCT_FIXED,
    SHELF_LIFE_FIELDS,
    add_product,
    create_product,
    get_product,
    list_products,
    revise_product,
    shelf_life_rule,
    update_product,
    upsert_product,
)
from lotline.catalog.revisions import AUDIT_EXCLUDE, history
from lotline.catalog.storage_conditions import (
    LIMIT_FIELDS,
    STORAGE_CONDITION_FIXED,
    create_storage_condition,
    get_storage_condition,
    list_storage_conditions,
    update_storage_condition,
    upsert_storage_condition,
)
from lotline.catalog.units import list_units

# What an update may repeat but never change, and the decimals compared as stored, per entity.
FIXED_FIELDS = {
    "storage_condition": STORAGE_CONDITION_FIXED,
    "lot_type": LOT_TYPE_FIXED,
    "product": PRODUCT_FIXED,
}
DECIMAL_FIELDS = (*LIMIT_FIELDS, *PRODUCT_DECIMALS)

__all__ = [
    "AUDIT_EXCLUDE",
    "CODING_FIELDS",
    "DECIMAL_FIELDS",
    "FIXED_FIELDS",
    "LIMIT_FIELDS",
    "SHELF_LIFE_FIELDS",
    "CodePreview",
    "add_product",
    "check_custom_schema",
    "create_lot_type",
    "create_product",
    "create_storage_condition",
    "get_lot_type",
    "get_product",
    "get_storage_condition",
    "history",
    "list_lot_types",
    "list_products",
    "list_storage_conditions",
    "list_units",
    "preview_lot_code",
    "revise_product",
    "shelf_life_rule",
    "update_lot_type",
    "update_product",
    "update_storage_condition",
    "upsert_lot_type",
    "upsert_product",
    "upsert_storage_condition",
    "validate_custom_fields",
]
