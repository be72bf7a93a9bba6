"""Display names (msgids) for the codes pages show: statuses, hold types, meanings, kinds."""

from __future__ import annotations

from lotline.domain.errors import N_

QUALITY = {
    "QUARANTINE": N_("Quarantine"),
    "RELEASED": N_("Released"),
    "REJECTED": N_("Rejected"),
}

HOLD = {
    "QA": N_("QA hold"),
    "EXCURSION": N_("Temperature excursion"),
    "DEVIATION": N_("Deviation"),
    "RECALL": N_("Recall"),
    "EXPIRY": N_("Expiry"),
}

MEANING = {
    "release": N_("Release"),
    "reject": N_("Reject"),
    "approve": N_("Approve"),
    "review": N_("Review"),
    "redate": N_("Re-date"),
    "place_hold": N_("Place hold"),
    "lift_hold": N_("Lift hold"),
    "override": N_("Override"),
    "scrap": N_("Scrap"),
    "return_to_supplier": N_("Return to supplier"),
    "rework": N_("Rework"),
    "recall": N_("Recall"),
    "close": N_("Close"),
}

REDATE = {
    "RETEST_PASSED": N_("Retest passed"),
    "EXTENSION": N_("Shelf-life extension"),
    "THAW": N_("Thawed (new use-by)"),
    "SHORTEN": N_("Shortened"),
}

SOURCE = {"PRODUCTION": N_("Own production"), "SUPPLIER": N_("Supplier lot")}

SHELF_LIFE_UNIT = {"HOURS": N_("hours"), "DAYS": N_("days"), "MONTHS": N_("months")}

EXPIRY_KIND = {"USE_BY": N_("use by"), "BEST_BEFORE": N_("best before")}

AUDIT_ACTION = {
    "create": N_("Created"),
    "update": N_("Changed"),
    "hold": N_("Hold placed"),
    "lift_hold": N_("Hold lifted"),
    "redate": N_("Re-dated"),
    "decide": N_("QA decision"),
    "sign": N_("Signed"),
    "signature_failed": N_("Signature refused"),
}

PROVENANCE = {
    "site_zone": N_("Site time zone"),
    "produced_on": N_("Production date"),
    "produced_at": N_("Production time"),
    "production_day": N_("Production day (site)"),
    "computed_expiry_date": N_("Computed from the rule"),
    "computed_expiry_at": N_("Computed instant"),
    "rounded_to_month_end": N_("Rounded to the end of the month"),
    "unrounded_expiry_date": N_("Before rounding"),
    "supplier_expiry": N_("Supplier's declared expiry"),
    "supplier_expiry_gs1": N_("Supplier's date as printed (GS1)"),
    "gs1_day_00": N_("GS1 day 00 (end of month)"),
    "supplier_date_won": N_("Supplier's date applies"),
    "supplier_date_earlier": N_("Supplier's date is earlier"),
    "earliest_input": N_("Earliest input lot"),
    "input_limited": N_("Capped by an input lot"),
    "decided_by": N_("Decided by"),
    "expiry_date": N_("Expiry date"),
    "expiry_at": N_("Expiry instant"),
    "retest_date": N_("Retest date"),
    "retest_capped": N_("Retest capped at expiry"),
}

ROLE = {
    "admin": N_("Administrator"),
    "qa_manager": N_("QA manager"),
    "qa": N_("QA inspector"),
    "warehouse": N_("Warehouse"),
    "viewer": N_("Viewer (read only)"),
    "production": N_("Production operator"),
    "integration": N_("Integration (ERP/WMS/MES)"),
}

STOCK_STATUS = {
    "AVAILABLE": N_("Available"),
    "QUARANTINE": N_("Quarantine"),
    "REJECTED": N_("Rejected"),
    "IN_TRANSIT": N_("In transit"),
    "RETAINED_SAMPLE": N_("Retained sample"),
}

MOVEMENT = {
    "opening": N_("Opening balance"),
    "receipt": N_("Receipt"),
    "putaway": N_("Putaway"),
    "move": N_("Move"),
    "status": N_("Status change"),
    "transfer_out": N_("Transfer out"),
    "transfer_in": N_("Transfer in"),
    "transit_shortage": N_("Transit shortage"),
    "qc_sample": N_("QC sample"),
    "retain_sample": N_("Retained sample"),
    "adjust_up": N_("Count: more"),
    "adjust_down": N_("Count: less"),
    "scrap": N_("Scrap"),
    "return_to_supplier": N_("Return to supplier"),
    "ship": N_("Shipment"),
    "customer_return": N_("Customer return"),
    "consume": N_("Consumed"),
    "produce": N_("Produced"),
    "loss": N_("Production loss"),
}

ALL = {
    "stock_status_labels": STOCK_STATUS,
    "movement_labels": MOVEMENT,
    "role_labels": ROLE,
    "provenance_labels": PROVENANCE,
    "quality_labels": QUALITY,
    "hold_labels": HOLD,
    "meaning_labels": MEANING,
    "redate_labels": REDATE,
    "source_labels": SOURCE,
    "unit_labels": SHELF_LIFE_UNIT,
    "expiry_kind_labels": EXPIRY_KIND,
    "action_labels": AUDIT_ACTION,
}
