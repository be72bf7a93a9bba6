"""Lot, hold and re-dating schemas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import IdField
from lotline.domain.expiry import RedateKind
from lotline.domain.status import HoldType, QualityStatus


class LotCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: IdField
    site_id: IdField
    source: str = Field(pattern="^(PRODUCTION|SUPPLIER)$", examples=["PRODUCTION"])
    code: str | None = Field(default=None, min_length=1, max_length=20, description="Omit to generate one")
    production_date: date | None = None
    produced_at: datetime | None = Field(default=None, description="For shelf lives counted in hours")
    supplier_id: IdField | None = None
    supplier_lot_code: str | None = Field(default=None, min_length=1, max_length=20)
    supplier_expiry: date | None = None
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Custom fields (the lot type's schema)"
    )
    line: str | None = Field(default=None, max_length=20)


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    lot_id: int
    hold_type: HoldType
    reason: str
    placed_at: datetime
    placed_by: str
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None
    lift_signature_id: int | None


class LotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    code: str
    site_id: int
    lot_type_id: int
    quality_status: QualityStatus
    source: str
    production_date: date | None
    produced_at: datetime | None
    expiry_date: date
    expiry_at: datetime | None
    retest_date: date | None
    expiry_provenance: dict[str, Any]
    supplier_id: int | None
    supplier_lot_code: str | None
    supplier_expiry_date: date | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold_type: HoldType
    reason: str = Field(min_length=1, max_length=2000)


class HoldLift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    signing_grant: str = Field(
        min_length=1, max_length=200, description="From POST /api/v1/signatures/grants"
    )


class Redate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_expiry: date
    kind: RedateKind
    reason: str = Field(min_length=1, max_length=2000)
    signing_grant: str = Field(
        min_length=1, max_length=200, description="From POST /api/v1/signatures/grants"
    )


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["RELEASED", "REJECTED"] = Field(description="Release or reject the lot as a whole")
    reason: str = Field(min_length=1, max_length=2000)
    inspection_ids: list[Annotated[int, Field(ge=1, le=2**53 - 1)]] = Field(
        default_factory=list,
        max_length=50,
        description="The lot's inspection records the decision rests on (a release needs a passing one "
        "when the product has an inspection plan)",
    )
    signing_grant: str = Field(
        min_length=1,
        max_length=200,
        description="From POST /api/v1/signatures/grants with meaning release or reject",
    )


# --- one view of a lot (GET /lots/{id}/view) ------------------------------------------------------


class _Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NamedRead(_Row):
    id: int
    code: str
    name_zh: str
    name_en: str


class SiteBrief(NamedRead):
    time_zone: str


class ProductBrief(NamedRead):
    base_unit: str
    gtin: str | None


class ExpiryView(BaseModel):
    expiry_date: date = Field(description="The last day of use, at the site's local date")
    expiry_at: datetime | None = Field(description="For shelf lives counted in hours")
    retest_date: date | None
    provenance: dict[str, Any] = Field(description="How the dates were set (rule version and inputs)")
    expired: bool
    remaining_days: int
    remaining_fraction: float | None = Field(description="Share of the shelf life left, 0 to 1")


class SignatureRead(_Row):
    id: int
    printed_name: str
    meaning: str
    signed_at: datetime
    comment: str | None
    content_hash: str


class HoldView(HoldRead):
    active: bool
    lift_signature: SignatureRead | None


class DecisionView(_Row):
    id: int
    decision: QualityStatus
    base_qty: Decimal | None = Field(description="None: the whole lot")
    sscc: str | None
    location_id: int | None
    reason: str
    inspection_ids: list[int]
    policy_id: int | None = Field(description="Taken by this signed release policy, unsigned itself")
    decided_at: datetime
    decided_by: str
    signature: SignatureRead | None


class InspectionResultView(_Row):
    code: str
    value_numeric: Decimal | None
    value_text: str | None
    passed: bool


class InspectionView(_Row):
    id: int
    source: str
    external_ref: str | None
    sampled_by: str | None
    sampled_at: datetime | None
    recorded_at: datetime
    recorded_by: str
    passed: bool
    comment: str | None
    results: list[InspectionResultView]
    cited_by: list[DecisionView] = Field(description="The signed decisions resting on this inspection")


class StockPlaceView(_Row):
    location_id: int
    location_code: str
    stock_status: str
    qty_base: Decimal
    ssccs: int = Field(description="Pallets (SSCCs) among the quantity")


class TransportLegView(_Row):
    shipment_id: int
    shipment_number: str
    customer_code: str
    lot_qty_base: Decimal = Field(description="How much of this lot the shipment carried")
    seq: int
    carrier_id: int | None
    carrier_code: str | None
    vehicle: str | None
    origin: str | None
    destination: str | None
    departed_at: datetime | None
    arrived_at: datetime | None


class TemperatureView(BaseModel):
    recorded: bool = Field(description="False until cold-chain readings are bound to lots")
    readings: list[dict[str, Any]] = Field(description="Always empty for now")
    note: str


class TraceView(BaseModel):
    upstream_lots: int = Field(description="Lots this lot was made from, at any depth")
    downstream_lots: int = Field(description="Lots made from this lot, at any depth")
    edges: int
    held_lots: int = Field(description="Lots of the graph (this one included) under an active hold")
    recalled_lots: int = Field(description="Lots of the graph under an active recall hold")
    expired_lots: int
    trace_url: str = Field(description="The full trace (customers, stock, suppliers)")


class TimelineEventView(_Row):
    occurred_at: datetime = Field(description="UTC")
    kind: str = Field(
        description="created, receipt, produced_by, movement, inspection, decision, hold_placed, "
        "hold_lifted, redated, consumed_in, shipment or customer_return"
    )
    detail: str | None = Field(
        description="What qualifies the kind: hold type, movement kind, decision, transformation kind, "
        "passed or failed"
    )
    actor: str
    summary: str
    reference_type: str | None
    reference_id: str | None


class LotViewRead(BaseModel):
    lot: LotRead
    product: ProductBrief
    site: SiteBrief
    supplier: NamedRead | None
    quality_status: QualityStatus
    expiry: ExpiryView
    holds: list[HoldView]
    decisions: list[DecisionView] | None = Field(description="None: the caller may not read quality records")
    inspections: list[InspectionView] | None = Field(description="None: as decisions")
    on_hand_base: Decimal
    stock: list[StockPlaceView]
    transport: list[TransportLegView]
    temperature: TemperatureView
    trace: TraceView | None = Field(description="None: the caller may not trace the lot")
    timeline: list[TimelineEventView] = Field(description="Oldest first")
