"""Order and allocation schemas: what a client sends to enter and allocate orders, and reads back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import Days, IdField, Percent, RequestBody, StrictId

Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1e11"), decimal_places=6, allow_inf_nan=False)]
UnitCode = Annotated[str, Field(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9_]+$")]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")]
ShortText = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f]*$")]


class OrderLineCreate(RequestBody):
    product_id: StrictId
    quantity: Quantity
    unit: UnitCode
    delivery_date: date | None = Field(
        default=None, description="Default: ship date + the customer's transit days"
    )
    min_days: Days | None = Field(default=None, description="The customer's minimum at delivery, in days")
    min_percent: Percent | None = Field(default=None, description="… or as a percentage of the shelf life")
    ship_to: ShortText | None = None


class OrderCreate(RequestBody):
    customer_id: StrictId
    site_id: StrictId
    ship_date: date
    customer_ref: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f]*$")] | None = None
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=1000)


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line_no: int
    product_id: int
    entered_qty: Decimal
    entered_unit: str
    qty_base: Decimal
    delivery_date: date
    min_days: int | None
    min_percent: Decimal | None
    ship_to: str | None
    status: str
    allocated: Decimal = Decimal(0)


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    customer_id: int
    site_id: int
    customer_ref: str | None
    ship_date: date
    status: str
    created_at: datetime
    created_by: str
    lines: list[OrderLineRead] = []


class OrderSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    customer_id: int
    site_id: int
    ship_date: date
    status: str
    created_at: datetime


class ChosenRead(BaseModel):
    allocation_id: int | None = None
    lot_id: int
    lot_code: str
    location_id: int
    sscc: str
    qty_base: Decimal
    expiry_date: date | None = None
    status: str | None = None


class PassedRead(BaseModel):
    lot_id: int
    lot_code: str
    location_id: int
    sscc: str
    stock_status: str
    expiry_date: date
    free: Decimal
    reasons: list[str] = Field(description="Stable codes: matrix reasons (hold.qa …) and allocation reasons")
    detail: dict[str, Any] = {}


class LineAllocationRead(BaseModel):
    line_id: int
    strategy: str | None = None
    chosen: list[ChosenRead]
    passed: list[PassedRead]
    short: Decimal


class OrderAllocationRead(BaseModel):
    order_id: int
    status: str
    lines: list[LineAllocationRead]


class CategoryStrategyWrite(RequestBody):
    strategy: Literal["fefo", "fifo"] | None = Field(description="null: back to the default, FEFO")


class CategoryStrategyRead(BaseModel):
    category: str
    strategy: str


class WaveCreate(RequestBody):
    line_ids: list[IdField] = Field(min_length=1, max_length=20000)


class WaveRead(BaseModel):
    lines: int
    allocations: int
    short_lines: int


class ReleaseCreate(RequestBody):
    reason: Text


class ReleaseRead(BaseModel):
    line_id: int
    released: int
