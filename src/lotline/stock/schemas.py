"""Stock request and response schemas: on hand, movements, and one body per operation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import IdField, RequestBody
from lotline.domain.status import StockStatus

# Quantities travel as JSON strings or numbers and are kept exact (six places, as stored).
Qty = Annotated[Decimal, Field(gt=0, le=Decimal("999999999999"), decimal_places=6)]
CountedQty = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999"), decimal_places=6)]
UnitCode = Annotated[str, Field(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9_]+$", examples=["KGM"])]
Sscc = Annotated[str, Field(pattern=r"^(\d{18})?$", description="18 digits, or empty for none")]
Text = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")]
Grant = Annotated[
    str | None, Field(default=None, max_length=200, description="From POST /signatures/authorize")
]


class StockLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    lot_id: int
    lot_code: str
    product_id: int
    product_code: str
    base_unit: str
    site_id: int
    location_id: int
    location_code: str
    stock_status: StockStatus
    sscc: str
    qty_base: Decimal
    count: Decimal | None
    weight_kg: Decimal | None


class MovementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    txn_id: str
    kind: str
    lot_id: int
    product_id: int
    site_id: int
    from_location_id: int | None
    from_status: str | None
    from_sscc: str
    to_location_id: int | None
    to_status: str | None
    to_sscc: str
    entered_qty: Decimal
    entered_unit: str
    base_qty: Decimal
    count: Decimal | None
    weight_kg: Decimal | None
    occurred_at: datetime
    recorded_at: datetime
    actor_name: str
    reference_type: str | None
    reference_id: str | None
    reason: str | None
    signature_id: int | None


class OperationRead(BaseModel):
    """What an operation did: its transaction id and the movements it posted."""

    txn_id: str
    movements: list[MovementRead]
    signature_id: int | None = None


class Taken(RequestBody):
    """Stock taken from one bucket of one lot."""

    lot_id: IdField
    from_location_id: IdField
    from_status: StockStatus | None = Field(
        default=None, description="Left out: the only status the lot has at that place"
    )
    from_sscc: Sscc = ""
    quantity: Qty
    unit: UnitCode
    count: Qty | None = Field(default=None, description="Catch weight: cases or pieces")
    weight_kg: Qty | None = Field(default=None, description="Catch weight: net kilograms")


class MoveCreate(Taken):
    to_location_id: IdField
    to_sscc: Sscc | None = Field(default=None, description="Left out: the SSCC it had")
    putaway: bool = Field(default=False, description="A putaway from receiving rather than a move")
    reason: Text | None = None


class TransferCreate(Taken):
    to_location_id: IdField = Field(description="A location at another site")
    reason: Text | None = None


class TransferReceive(RequestBody):
    quantity: Qty | None = Field(default=None, description="Left out: everything that was sent")
    unit: UnitCode | None = None
    count: Qty | None = None
    weight_kg: Qty | None = None
    to_location_id: IdField | None = Field(default=None, description="Left out: where it was sent")
    reason: Text | None = Field(default=None, description="Required when less arrived than was sent")


class SampleCreate(Taken):
    reason: Text | None = None
    reference: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f]*$")] | None = None


class RetainedSampleCreate(Taken):
    to_location_id: IdField
    reason: Text | None = None


class CountCreate(RequestBody):
    lot_id: IdField
    location_id: IdField
    stock_status: StockStatus | None = None
    sscc: Sscc = ""
    counted: CountedQty
    unit: UnitCode
    count: CountedQty | None = None
    weight_kg: CountedQty | None = None
    reason: Text | None = Field(default=None, description="Required when the count differs")
    signing_grant: Grant = None


class DisposalCreate(Taken):
    reason: Text
    signing_grant: Grant = None
    reference: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f]*$")] | None = None
