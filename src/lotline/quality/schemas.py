"""Inspection plan, inspection record, attachment, usage decision and release policy schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import Code, Flag, IdField, Name, RequestBody, StrictId
from lotline.domain.inspection import CharacteristicKind

Limit = Annotated[Decimal, Field(ge=Decimal("-1e12"), le=Decimal("1e12"), decimal_places=6)]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")]
ResultValue = (
    Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f]*$")]
    | Annotated[Decimal, Field(allow_inf_nan=False, ge=Decimal("-1e12"), le=Decimal("1e12"))]
)
UnitCode = Annotated[str, Field(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9_]+$")]
SSCC = Annotated[str, Field(min_length=18, max_length=18, pattern=r"^[0-9]{18}$")]


class CharacteristicWrite(RequestBody):
    code: Code
    name_zh: Name
    name_en: Name
    kind: CharacteristicKind
    unit: UnitCode | None = None
    lower_limit: Limit | None = None
    upper_limit: Limit | None = None
    accepted_values: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    required: Flag = True


class PlanWrite(RequestBody):
    characteristics: list[CharacteristicWrite] = Field(min_length=1, max_length=200)
    sample_size: Annotated[Decimal, Field(gt=0, le=Decimal("1e9"), decimal_places=6)] | None = None
    sample_unit: UnitCode | None = None
    reason: Text | None = None


class CharacteristicRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    code: str
    name_zh: str
    name_en: str
    kind: CharacteristicKind
    unit: str | None
    lower_limit: Decimal | None
    upper_limit: Decimal | None
    accepted_values: list[str] | None
    required: bool


class PlanRead(BaseModel):
    id: int
    product_id: int
    version: int
    sample_size: Decimal | None
    sample_unit: str | None
    active: bool
    characteristics: list[CharacteristicRead]


class InspectionCreate(RequestBody):
    lot_id: StrictId
    results: dict[Code, ResultValue] = Field(min_length=1, max_length=200)
    source: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        default="api",
        description='"api", or the name of the QMS/LIMS posting (then external_ref is required)',
    )
    external_ref: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")] | None = (
        None
    )
    sampled_by: Name | None = None
    sampled_at: datetime | None = None
    comment: Text | None = None
    passed: Flag | None = Field(default=None, description="Only for products without an inspection plan")


class ResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    characteristic_id: int | None
    value_numeric: Decimal | None
    value_text: str | None
    passed: bool


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


class InspectionRead(BaseModel):
    id: int
    lot_id: int
    plan_id: int | None
    source: str
    external_ref: str | None
    sampled_by: str | None
    sampled_at: datetime | None
    recorded_at: datetime
    recorded_by: str
    passed: bool
    comment: str | None
    results: list[ResultRead]
    attachments: list[AttachmentRead]


class UsageDecisionCreate(RequestBody):
    decision: Literal["RELEASED", "REJECTED"]
    quantity: Annotated[Decimal, Field(gt=0, le=Decimal("1e12"), decimal_places=6)] | None = None
    unit: UnitCode | None = None
    location_id: IdField | None = None
    sscc: SSCC | None = None
    inspection_ids: list[StrictId] = Field(default_factory=list, max_length=100)
    reason: Text
    signing_grant: Annotated[str, Field(max_length=200)] | None = None


class UsageDecisionRead(BaseModel):
    id: int
    lot_id: int
    decision: str
    base_qty: Decimal | None = Field(description="None: the whole lot")
    sscc: str | None
    location_id: int | None
    reason: str
    inspection_ids: list[int]
    signature_id: int | None
    signed_by: str | None
    policy_id: int | None
    decided_at: datetime
    decided_by: str
    lot_quality_status: str


class ReleasePolicyWrite(RequestBody):
    conditions: dict[str, Any] = Field(
        description='e.g. {"suppliers": [3], "requires_coa": true, "requires_passing_inspection": true}'
    )
    reason: Text
    signing_grant: Annotated[str, Field(max_length=200)] | None = None


class ReleasePolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    conditions: dict[str, Any]
    active: bool
    reason: str
    signature_id: int
    set_at: datetime
    set_by: str
    withdrawn_at: datetime | None
