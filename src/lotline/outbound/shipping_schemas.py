"""Picking, shipping and customer-return schemas: what a client sends, and reads back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lotline.api.schemas import RequestBody, StrictId

Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1e11"), decimal_places=6, allow_inf_nan=False)]
UnitCode = Annotated[str, Field(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9_]+$")]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")]
Place = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f]*$")]
Vehicle = Annotated[str, Field(max_length=40, pattern=r"^[^\x00-\x1f]*$")]


class PickCreate(RequestBody):
    scanned: Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")] = Field(
        description="What was scanned: a lot code, an SSCC, or a GS1 barcode / Digital Link (AI 10 or 00)"
    )
    quantity: Quantity
    unit: UnitCode
    deviation_reason: Text | None = Field(
        default=None, description="Required when the lot scanned is not one proposed (a FEFO deviation)"
    )
    signing_grant: Annotated[str, Field(max_length=200)] | None = Field(
        default=None,
        description="A FEFO deviation is signed: a grant for meaning override on record sales_order_line",
    )


class PickRead(BaseModel):
    id: int
    line_id: int
    allocation_id: int | None
    lot_id: int
    lot_code: str
    location_id: int
    sscc: str
    qty_base: Decimal
    scanned: str | None
    deviation: bool
    proposed_lot_id: int | None
    proposed_lot_code: str | None
    deviation_reason: str | None
    signature_id: int | None
    shipped: bool
    picked_at: datetime
    picked_by: str


class PickResult(BaseModel):
    line_id: int
    line_status: str
    deviation: bool
    picks: list[PickRead]


class LegCreate(RequestBody):
    carrier_id: StrictId | None = Field(default=None, description="Default: the shipment's carrier")
    vehicle: Vehicle | None = None
    origin: Place | None = None
    destination: Place | None = None
    departed_at: AwareDatetime | None = Field(default=None, description="Default for the first leg: now")
    arrived_at: AwareDatetime | None = None


class ShipmentCreate(RequestBody):
    carrier_id: StrictId | None = None
    vehicle: Vehicle | None = None
    legs: list[LegCreate] = Field(default_factory=list, max_length=20)


class ArrivalCreate(RequestBody):
    arrived_at: AwareDatetime | None = Field(default=None, description="Default: now")


class LegRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    carrier_id: int | None
    vehicle: str | None
    origin: str | None
    destination: str | None
    departed_at: datetime | None
    arrived_at: datetime | None


class ShipmentLineRead(BaseModel):
    id: int
    order_line_id: int
    pick_id: int | None
    lot_id: int
    lot_code: str
    expiry_date: date
    location_id: int
    sscc: str
    qty_base: Decimal
    count: Decimal | None
    weight_kg: Decimal | None
    movement_id: int
    returned: Decimal = Field(description="Taken back from the customer so far")


class ShipmentRead(BaseModel):
    id: int
    number: str
    order_id: int
    site_id: int
    customer_id: int
    carrier_id: int | None
    vehicle: str | None
    shipped_at: datetime
    shipped_by: str
    delivered_at: datetime | None
    lines: list[ShipmentLineRead]
    legs: list[LegRead]


class CustomerReturnCreate(RequestBody):
    shipment_line_id: StrictId
    quantity: Quantity
    unit: UnitCode
    location_id: StrictId = Field(description="Where it is received; it lands there in quarantine")
    reason: Text


class CustomerReturnRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shipment_line_id: int
    lot_id: int
    location_id: int
    qty_base: Decimal
    entered_qty: Decimal
    entered_unit: str
    reason: str
    movement_id: int
    received_at: datetime
    received_by: str
    stock_status: str = "QUARANTINE"


class DeviationRead(BaseModel):
    pick_id: int
    order_id: int
    order_number: str
    site_id: int
    line_id: int
    lot_id: int
    lot_code: str
    proposed_lot_id: int | None
    proposed_lot_code: str | None
    qty_base: Decimal
    reason: str | None
    signature_id: int | None
    signed_by: str | None
    picked_at: datetime
    picked_by: str
