"""Display names (msgids) for the codes the administration pages show."""

from __future__ import annotations

from lotline.domain.errors import N_

LOCATION_KIND = {
    "WAREHOUSE": N_("Warehouse"),
    "ZONE": N_("Zone"),
    "BIN": N_("Bin"),
    "COLD_ROOM": N_("Cold room"),
    "VEHICLE": N_("Vehicle"),
}

PARTNER_ROLE = {"supplier": N_("Supplier"), "customer": N_("Customer"), "carrier": N_("Carrier")}

DIMENSION = {"mass": N_("Mass"), "volume": N_("Volume"), "count": N_("Count"), "length": N_("Length")}

FIELD_TYPE = {
    "string": N_("Text"),
    "integer": N_("Whole number"),
    "number": N_("Number"),
    "boolean": N_("Yes/no"),
    "date": N_("Date"),
    "enum": N_("Choice"),
}

# The kinds of change-controlled configuration the change history lists.
HISTORY_KIND = {
    "product": N_("Product shelf life"),
    "storage_condition": N_("Storage condition limits"),
    "lot_type": N_("Lot type coding and custom fields"),
    "role_grant": N_("Role grants"),
}

GRANT_ACTION = {"grant": N_("Granted"), "revoke": N_("Revoked")}

# Field names as people read them, for forms' messages and "old → new" lists.
FIELD = {
    "code": N_("Code"),
    "gtin": N_("GTIN"),
    "gs1_company_prefix_length": N_("GS1 company prefix length"),
    "name_zh": N_("Name (Chinese)"),
    "name_en": N_("Name (English)"),
    "category": N_("Category"),
    "base_unit": N_("Base unit"),
    "catch_weight": N_("Catch weight"),
    "storage_condition_id": N_("Storage condition"),
    "lot_type_id": N_("Lot type"),
    "shelf_life_amount": N_("Shelf life"),
    "shelf_life_unit": N_("Shelf-life unit"),
    "expiry_kind": N_("Kind of date"),
    "retest_days": N_("Retest interval (days)"),
    "round_to_month_end": N_("Round to the end of the month"),
    "supplier_date_wins": N_("Supplier's date wins"),
    "min_receipt_days": N_("Minimum at receipt (days)"),
    "min_receipt_percent": N_("Minimum at receipt (%)"),
    "min_ship_days": N_("Minimum at shipment (days)"),
    "min_ship_percent": N_("Minimum at shipment (%)"),
    "reuse_supplier_lot": N_("Reuse the supplier's lot code"),
    "expiry_capped_by_inputs": N_("Produced lots never outlive their earliest input"),
    "repack_keeps_lot": N_("A repack keeps the lot"),
    "active": N_("Active"),
    "min_temp_c": N_("Lowest temperature (°C)"),
    "max_temp_c": N_("Highest temperature (°C)"),
    "max_humidity_pct": N_("Highest humidity (%)"),
    "code_template": N_("Lot-code template"),
    "external_code_pattern": N_("Pattern for outside codes"),
    "custom_schema": N_("Custom fields (JSON Schema)"),
    "user_id": N_("User"),
    "role": N_("Role"),
    "site_id": N_("Site"),
    "time_zone": N_("Time zone"),
    "reason": N_("Reason for change"),
}

ALL = {
    "location_kind_labels": LOCATION_KIND,
    "partner_role_labels": PARTNER_ROLE,
    "dimension_labels": DIMENSION,
    "field_type_labels": FIELD_TYPE,
    "history_kind_labels": HISTORY_KIND,
    "grant_action_labels": GRANT_ACTION,
    "field_labels": FIELD,
}
