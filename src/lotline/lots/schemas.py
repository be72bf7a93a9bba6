"""Lot, hold and re-dating schemas."""

from __future__ import annotations

from datetime import date, datetime
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
