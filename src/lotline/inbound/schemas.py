"""Receipt and scan schemas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import IdField, RequestBody

Text = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")]
GS1Date = Annotated[
    date | Annotated[str, Field(pattern=r"^[0-9]{6}$")],
    Field(description="An ISO date, or GS1 YYMMDD text (day 00 is the month's last day)"),
]
Positive = Annotated[Decimal, Field(gt=0, max_digits=24, decimal_places=6)]


class ReceiptLineIn(RequestBody):
    """One line: its fields, or a GS1 ``scan`` that fills them (typed fields must agree with it)."""

    product_id: IdField | None = None
    gtin: str | None = Field(default=None, pattern=r"^[0-9]{8,14}$")
    supplier_lot_code: str | None = Field(default=None, min_length=1, max_length=20)
    tlc_source: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]*$",
        description="FSMA 204: where the supplier's traceability lot code was assigned (a place "
        "description or a reference such as a GLN or URL), as the supplier reports it",
    )
    quantity: Positive | None = Field(default=None, description="In unit; defaults from count/weight")
    unit: str | None = Field(default=None, min_length=1, max_length=8, pattern=r"^[A-Z0-9]+$")
    count: Positive | None = Field(default=None, description="Catch weight: how many pieces")
    net_weight_kg: Positive | None = Field(default=None, description="Catch weight: net weight (AI 310n)")
    production_date: GS1Date | None = None
    supplier_expiry: GS1Date | None = None
    sscc: str | None = Field(default=None, pattern=r"^[0-9]{18}$")
    scan: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="GS1-128 / DataMatrix text (FNC1 as \\u001d, ]C1/]d2 prefix) or a GS1 Digital Link URL",
    )
    override_signing_grant: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Accept a delivery short of its minimum shelf life: a grant with meaning override "
        "for record_type receipt_line_override, record_id '<product_id>:<supplier lot code>'",
    )
    override_reason: str | None = Field(default=None, min_length=1, max_length=2000)


class ReceiptCreate(RequestBody):
    site_id: IdField
    supplier_id: IdField
    location_id: IdField = Field(description="The receiving location (same site)")
    purchase_order: Text | None = None
    delivery_note: Text | None = None
    note: str | None = Field(default=None, max_length=2000)
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)


class ReceiptLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line_no: int
    product_id: int
    lot_id: int
    lot_code: str
    supplier_lot_code: str | None
    tlc_source: str | None
    production_date: date | None
    supplier_expiry: date | None
    entered_qty: Decimal
    entered_unit: str
    base_qty: Decimal
    count: Decimal | None
    weight_kg: Decimal | None
    sscc: str | None
    scan: str | None
    override_signature_id: int | None


class ReceiptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    site_id: int
    supplier_id: int
    location_id: int
    purchase_order: str | None
    delivery_note: str | None
    received_at: datetime
    received_by: str
    note: str | None
    lines: list[ReceiptLineRead] = Field(default_factory=list)


class ScanParse(RequestBody):
    site_id: IdField = Field(description="Dates are placed around this site's local date")
    scan: str = Field(min_length=1, max_length=1000)


class ScanPreview(BaseModel):
    """The line fields a scan fills; nothing is written."""

    product_id: int | None
    unit: str | None
    gtin: str | None
    supplier_lot_code: str | None
    production_date: date | None
    supplier_expiry: date | None
    count: Decimal | None
    net_weight_kg: Decimal | None
    sscc: str | None
