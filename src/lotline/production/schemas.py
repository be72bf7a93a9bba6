"""Production schemas: orders, transformations (by lotline ids, or by an MES's own keys),
genealogy neighbours."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from lotline.api.schemas import IdField, RequestBody, StrictId, six_places
from lotline.domain.status import StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.production.orders import OrderStatus
from lotline.production.service import MAX_LINES
from lotline.stock.operations import Amount, Source
from lotline.stock.schemas import Grant, Qty, Sscc, UnitCode

# Read back with the six places the columns keep, whether just posted or loaded.
Exact = Annotated[Decimal, AfterValidator(six_places)]
# Nothing a line posts happened before lotline's epoch; it keeps dates within the calendar.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
Moment = Annotated[AwareDatetime, Field(gt=_EPOCH, description="With its UTC offset; not in the future")]
Line = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$")]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")]
LotCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[^\x00-\x1f\x7f]+$")]
Attributes = Annotated[dict[str, Any], Field(description="Custom fields (the lot type's schema)")]
# An MES's own keys: its name like every external system's, and its ids for orders and completions.
System = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", examples=["MES-1"])
]
OrderRef = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f/]+$")]
CompletionRef = Annotated[str, Field(min_length=1, max_length=99, pattern=r"^[^\x00-\x1f\x7f]+$")]
PlaceCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")]
ProductRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The product's code, or its GTIN (8 to 14 digits)",
    ),
]


def _lines() -> Any:
    return Field(default_factory=list, max_length=MAX_LINES)


# --- production orders --------------------------------------------------------------------------


class OrderCreate(RequestBody):
    site_id: StrictId
    product_id: StrictId
    quantity: Qty = Field(description="Planned, in any unit of the product")
    unit: UnitCode
    line: Line | None = None
    note: Text | None = None


class OrderFinish(RequestBody):
    reason: Text | None = None


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    site_id: int
    product_id: int
    line: str | None
    planned_qty: Exact
    planned_unit: str
    planned_base_qty: Exact
    status: OrderStatus
    note: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    closed_at: datetime | None
    closed_by: str | None


class FlowRead(BaseModel):
    """One lot's part in an order, in its product's base unit."""

    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(description="consume, produce or loss")
    lot_id: int
    lot_code: str
    product_id: int
    qty_base: Exact
    expiry_date: date


class ProgressRead(BaseModel):
    base_unit: str
    planned: Exact = Field(description="The planned quantity in the product's base unit")
    produced: Exact = Field(description="Produced of the order's own product, in its base unit")
    flows: list[FlowRead]


class TransformationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    kind: TransformationKind
    site_id: int
    production_order_id: int | None
    line: str | None
    occurred_at: datetime
    recorded_at: datetime
    actor_name: str
    reason: str | None
    signature_id: int | None


class OrderDetail(OrderRead):
    progress: ProgressRead
    transformations: list[TransformationSummary]


# --- transformations by lotline ids -------------------------------------------------------------


class Measured(RequestBody):
    """A quantity as entered, with the cases and kilograms of a catch-weight product."""

    quantity: Qty
    unit: UnitCode
    count: Qty | None = Field(default=None, description="Catch weight: cases or pieces")
    weight_kg: Qty | None = Field(default=None, description="Catch weight: net kilograms")

    def amount(self) -> Amount:
        return Amount(self.quantity, self.unit, self.count, self.weight_kg)


class InputCreate(Measured):
    lot_id: IdField
    location_id: IdField
    stock_status: StockStatus | None = Field(
        default=None, description="Left out: the only status the lot has at that place"
    )
    sscc: Sscc = ""

    def source(self) -> Source:
        return Source(self.location_id, self.stock_status, self.sscc)


class LossCreate(InputCreate):
    lot_id: IdField = Field(description="One of the input lots")
    kind: LossKind
    note: Text | None = None


class OutputCreate(Measured):
    product_id: IdField
    location_id: IdField
    sscc: Sscc = ""
    code: LotCode | None = Field(default=None, description="The new lot's code; left out: generated")
    production_date: date | None = Field(
        default=None, description="Left out: the day it occurred (production, rework) or the inputs' own"
    )
    produced_at: Moment | None = Field(default=None, description="For shelf lives counted in hours")
    attributes: Attributes | None = None


class CompletionCreate(RequestBody):
    """A production completion of an order: what went in, what came out, what was lost."""

    line: Line | None = Field(default=None, description="Left out: the order's line")
    occurred_at: Moment | None = Field(default=None, description="Left out: now")
    reason: Text | None = None
    inputs: list[InputCreate] = _lines()
    outputs: list[OutputCreate] = _lines()
    losses: list[LossCreate] = _lines()


class TransformationCreate(CompletionCreate):
    kind: TransformationKind
    site_id: StrictId
    production_order_id: StrictId | None = Field(default=None, description="Required for production")
    reason: Text | None = Field(default=None, description="Required for a rework")
    signing_grant: Grant = Field(
        default=None,
        description="A rework is signed: a grant for meaning rework on record lot, the first input's id",
    )


class LineRead(BaseModel):
    """One line of a transformation, read back from its ledger movement."""

    movement_id: int
    lot_id: int
    lot_code: str
    product_id: int
    location_id: int
    stock_status: StockStatus
    sscc: str
    quantity: Exact = Field(description="As entered")
    unit: str
    qty_base: Exact
    count: Exact | None
    weight_kg: Exact | None


class LossRead(LineRead):
    kind: LossKind
    note: str | None


class OutputLotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    product_id: int
    production_date: date | None
    expiry_date: date
    quality_status: str
    expiry_provenance: dict[str, Any]


class EdgeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    parent_lot_id: int
    child_lot_id: int
    qty: Exact = Field(description="What the parent gave, in its base unit")
    unit: str


class TransformationRead(TransformationSummary):
    txn_id: str = Field(description="The ledger transaction its movements share")
    inputs: list[LineRead]
    outputs: list[LineRead]
    losses: list[LossRead]
    output_lots: list[OutputLotRead]
    edges: list[EdgeRead]


# --- genealogy ----------------------------------------------------------------------------------


class NeighbourRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    lot_id: int
    lot_code: str
    product_id: int
    product_code: str
    product_name_zh: str
    product_name_en: str
    quality_status: str
    expiry_date: date
    qty: Exact = Field(description="What the parent lot gave, in its base unit")
    unit: str
    transformation_id: int
    transformation_number: str
    transformation_kind: str
    occurred_at: datetime


class GenealogyRead(BaseModel):
    lot_id: int
    lot_code: str
    made_from: list[NeighbourRead] = Field(description="One level up: the lots it was made from")
    used_in: list[NeighbourRead] = Field(description="One level down: the lots made from it")


# --- MES completions ----------------------------------------------------------------------------


class MesInput(Measured):
    product: ProductRef
    lot_code: LotCode
    location_code: PlaceCode
    stock_status: StockStatus | None = None
    sscc: Sscc = ""


class MesLoss(MesInput):
    kind: LossKind
    note: Text | None = None


class MesOutput(Measured):
    product: ProductRef
    location_code: PlaceCode
    sscc: Sscc = ""
    lot_code: LotCode | None = Field(default=None, description="The new lot's code; left out: generated")
    production_date: date | None = None


class MesCompletion(RequestBody):
    """One completion as an MES knows it: its own keys for the order, the lots and the places."""

    system: System
    site: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="The site's code", examples=["SH1"]
    )
    order_ref: OrderRef = Field(description="The MES's id of the production order")
    completion_ref: CompletionRef = Field(description="The MES's id of this completion")
    line: Line | None = None
    occurred_at: Moment
    product: ProductRef | None = Field(
        default=None, description="A new order's product; left out: the first output's"
    )
    quantity: Qty | None = Field(
        default=None, description="A new order's planned quantity; left out: that product's output"
    )
    unit: UnitCode | None = None
    inputs: list[MesInput] = _lines()
    outputs: list[MesOutput] = _lines()
    losses: list[MesLoss] = _lines()


class MesCompletionRead(BaseModel):
    production_order: OrderRead
    order_created: bool = Field(description="The order_ref was new: this completion opened the order")
    transformation: TransformationRead
