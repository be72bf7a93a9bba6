"""Recall API schemas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import Code, RequestBody, StrictId
from lotline.domain.recall import RecallKind, RecallLevel, TriggerKind
from lotline.production.schemas import LotCode, Moment, Text
from lotline.stock.schemas import Grant, Qty, UnitCode


class TriggerIn(RequestBody):
    kind: TriggerKind
    lot_codes: list[LotCode] = Field(default_factory=list, max_length=500, description="For kind lots")
    product_code: Code | None = Field(default=None, description="For product_range; narrows lots")
    supplier_code: Code | None = Field(default=None, description="For supplier_lot")
    supplier_lot_code: str | None = Field(
        default=None, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f]+$"
    )
    date_from: date | None = Field(default=None, description="For product_range, inclusive")
    date_to: date | None = Field(default=None, description="For product_range, inclusive")


class RecallCreate(RequestBody):
    kind: RecallKind = RecallKind.RECALL
    trigger: TriggerIn
    level: RecallLevel
    reason: Text
    discovered_at: Moment | None = Field(
        default=None, description="When the hazard became known; now if left out"
    )
    start_due_at: Moment | None = Field(default=None, description="US classes: the company's deadline")
    complete_due_at: Moment | None = Field(default=None, description="US classes: the company's deadline")


class RecallStart(RequestBody):
    signing_grant: Grant = Field(
        default=None, description="A grant for meaning recall on record recall_case, the case's id"
    )


class RecallClose(RequestBody):
    note: Text
    signing_grant: Grant = Field(
        default=None, description="A grant for meaning close on record recall_case, the case's id"
    )


class NoticeCreate(RequestBody):
    customer_id: StrictId
    channel: Literal["phone", "email", "letter", "visit", "edi"]
    note: Text | None = None


class DestructionCreate(RequestBody):
    customer_id: StrictId
    lot_id: StrictId
    quantity: Qty
    unit: UnitCode
    note: Text | None = None


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    kind: str
    status: str
    level: str
    reason: str
    trigger: dict[str, Any]
    site_id: int
    discovered_at: datetime
    opened_at: datetime
    opened_by: str
    start_due_at: datetime | None
    complete_due_at: datetime | None
    scope_ms: int
    lots_in_scope: int
    started_at: datetime | None
    started_by: str | None
    start_signature_id: int | None
    closed_at: datetime | None
    closed_by: str | None
    close_signature_id: int | None
    close_note: str | None
    drill_result: dict[str, Any] | None


class ScopeLotRead(BaseModel):
    lot_id: int
    code: str
    product_code: str
    base_unit: str
    quality_status: str
    expiry_date: date
    is_trigger: bool
    on_hand_base: Decimal


class ProductTotalRead(BaseModel):
    product_code: str
    base_unit: str
    lots: list[str]
    shipped: Decimal
    returned: Decimal
    destroyed: Decimal
    recovered: Decimal
    effectiveness: Decimal | None


class CustomerRead(BaseModel):
    customer_id: int
    code: str
    name_zh: str
    name_en: str
    contacts: list[dict[str, Any]]
    address: dict[str, Any]
    shipments: list[str]
    products: list[ProductTotalRead]
    unit: str | None = Field(description="The base unit of shipped and recovered; null when products differ")
    shipped: Decimal | None
    recovered: Decimal | None
    effectiveness: Decimal | None
    notified_at: datetime | None
    channel: str | None


class AffectedLineRead(BaseModel):
    shipment_line_id: int
    shipment_number: str
    shipped_at: datetime
    customer_id: int
    lot_id: int
    lot_code: str
    product_code: str
    base_unit: str
    qty_base: Decimal
    returned_base: Decimal


class StockRowRead(BaseModel):
    lot_id: int
    lot_code: str
    location_code: str
    site_code: str
    stock_status: str
    qty_base: Decimal
    held: bool


class CaseDetail(CaseRead):
    start_state: str
    complete_state: str
    unit: str | None = Field(description="The base unit of shipped and recovered; null when products differ")
    shipped: Decimal | None
    recovered: Decimal | None
    effectiveness: Decimal | None
    check_level: str | None
    customers_notified: int
    holds_placed: int
    lots: list[ScopeLotRead]
    customers: list[CustomerRead]
    shipment_lines: list[AffectedLineRead]
    stock: list[StockRowRead]


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    customer_id: int
    channel: str
    note: str | None
    notified_at: datetime
    notified_by: str


class DestructionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    customer_id: int
    lot_id: int
    qty_base: Decimal
    entered_qty: Decimal
    entered_unit: str
    note: str | None
    recorded_at: datetime
    recorded_by: str
