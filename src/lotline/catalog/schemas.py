"""Storage condition, lot type, product, unit and change-history schemas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from lotline.api.schemas import (
    CODE_PATTERN,
    Changes,
    Code,
    Days,
    Flag,
    Name,
    Percent,
    Reason,
    RequestBody,
    StrictId,
    six_places,
)
from lotline.domain.expiry import MAX_AMOUNT, MAX_DAYS, ExpiryKind, ShelfLifeUnit

# Storage-condition and lot-type codes are shorter than product codes (their column is).
ShortCode = Annotated[str, Field(min_length=1, max_length=32, pattern=CODE_PATTERN)]
Celsius = Annotated[
    Decimal, Field(ge=Decimal("-273.15"), le=100, decimal_places=6), AfterValidator(six_places)
]
CodeTemplate = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="Placeholders {site} {product} {line} {yy} {yyyy} {mm} {dd} {doy} and {seq} once",
        examples=["{site}{yy}{doy:03}{seq:04}"],
    ),
]
CodePattern = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Regular expression codes from outside must match in full",
        examples=[r"[A-Z]{2}\d{6}"],
    ),
]
CustomSchema = Annotated[
    dict[str, Any], Field(description="JSON Schema (2020-12) of the lots' custom fields")
]
ShelfLifeAmount = Annotated[int, Strict(), Field(ge=1, le=max(MAX_AMOUNT.values()))]
RetestDays = Annotated[int, Strict(), Field(ge=1, le=MAX_DAYS)]
PrefixLength = Annotated[int, Strict(), Field(ge=6, le=12, description="Digits of the GS1 company prefix")]
STORAGE_CONDITION_CLEARABLE = frozenset({"min_temp_c", "max_temp_c", "max_humidity_pct"})
LOT_TYPE_CLEARABLE = frozenset({"external_code_pattern"})
AllocationStrategy = Literal["fefo", "fifo"]
PRODUCT_CLEARABLE = frozenset(
    {
        "gtin",
        "gs1_company_prefix_length",
        "category",
        "storage_condition_id",
        "retest_days",
        "min_receipt_days",
        "min_receipt_percent",
        "min_ship_days",
        "min_ship_percent",
        "allocation_strategy",
    }
)


class ConfigVersionRead(BaseModel):
    """One kept version of a GMP-relevant configuration, with who changed it, when and why."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    entity_type: str
    entity_id: int
    aspect: str
    version: int
    content: dict[str, Any]
    changed_at: datetime
    changed_by: str
    reason: str | None


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    dimension: str
    to_base: Decimal = Field(description="How many of the dimension's base unit one of this is")
    name_zh: str
    name_en: str


# --- storage conditions -------------------------------------------------------------------------


class StorageConditionCreate(RequestBody):
    code: ShortCode = Field(examples=["CHILLED"])
    name_zh: Name = Field(examples=["冷藏 2–8 °C"])
    name_en: Name = Field(examples=["Chilled 2–8 °C"])
    min_temp_c: Celsius | None = Field(default=None, examples=["2"])
    max_temp_c: Celsius | None = Field(default=None, examples=["8"])
    max_humidity_pct: Percent | None = None


class StorageConditionUpsert(StorageConditionCreate, Changes):
    CLEARABLE: ClassVar[frozenset[str]] = STORAGE_CONDITION_CLEARABLE

    reason: Reason = None


class StorageConditionUpdate(Changes):
    CLEARABLE: ClassVar[frozenset[str]] = STORAGE_CONDITION_CLEARABLE

    name_zh: Name | None = None
    name_en: Name | None = None
    min_temp_c: Celsius | None = Field(default=None, description="Send null to clear it")
    max_temp_c: Celsius | None = Field(default=None, description="Send null to clear it")
    max_humidity_pct: Percent | None = Field(default=None, description="Send null to clear it")
    reason: Reason = None


class StorageConditionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    min_temp_c: Decimal | None
    max_temp_c: Decimal | None
    max_humidity_pct: Decimal | None
    version: int = Field(description="Counts changes of the limits")
    created_at: datetime
    updated_at: datetime


# --- lot types ----------------------------------------------------------------------------------


class LotTypeCreate(RequestBody):
    code: ShortCode = Field(examples=["RAW"])
    name_zh: Name = Field(examples=["原料"])
    name_en: Name = Field(examples=["Raw material"])
    code_template: CodeTemplate
    external_code_pattern: CodePattern | None = None
    custom_schema: CustomSchema = Field(default_factory=lambda: {"type": "object"})


class LotTypeUpsert(LotTypeCreate, Changes):
    CLEARABLE: ClassVar[frozenset[str]] = LOT_TYPE_CLEARABLE

    reason: Reason = None


class LotTypeUpdate(Changes):
    CLEARABLE: ClassVar[frozenset[str]] = LOT_TYPE_CLEARABLE

    name_zh: Name | None = None
    name_en: Name | None = None
    code_template: CodeTemplate | None = None
    external_code_pattern: CodePattern | None = Field(default=None, description="Send null to clear it")
    custom_schema: CustomSchema | None = None
    reason: Reason = None


class LotTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    code_template: str
    external_code_pattern: str | None
    custom_schema: dict[str, Any]
    version: int = Field(description="Counts changes of the coding rule and custom-field schema")
    created_at: datetime
    updated_at: datetime


class LotCodePreview(RequestBody):
    site_code: str = Field(min_length=1, max_length=16, pattern=CODE_PATTERN, examples=["SH1"])
    production_date: date = Field(description="The site's local date the lot is coded for")
    product_code: str | None = Field(default=None, min_length=1, max_length=40, pattern=CODE_PATTERN)
    line: str | None = Field(default=None, min_length=1, max_length=20, pattern=CODE_PATTERN)
    code_template: CodeTemplate | None = Field(
        default=None, description="A draft to try instead of the lot type's current template"
    )


class LotCodePreviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="The code the first lot of the period would get (sequence 1)")
    code_template: str
    sequence_scope: str = Field(description="The key the sequence counts under")


# --- products -----------------------------------------------------------------------------------


class ProductCreate(RequestBody):
    model_config = ConfigDict(use_enum_values=True)

    code: Code = Field(examples=["PORK-LOIN"])
    gtin: str | None = Field(
        default=None, min_length=8, max_length=14, description="GTIN-8, -12, -13 or -14, check digit checked"
    )
    gs1_company_prefix_length: PrefixLength | None = None
    name_zh: Name = Field(examples=["猪里脊"])
    name_en: Name = Field(examples=["Pork loin"])
    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    base_unit: str = Field(min_length=1, max_length=8, description="A code from GET /units", examples=["KGM"])
    catch_weight: Flag = False
    storage_condition_id: StrictId | None = None
    lot_type_id: StrictId
    shelf_life_amount: ShelfLifeAmount = Field(examples=[10])
    shelf_life_unit: ShelfLifeUnit
    expiry_kind: ExpiryKind
    retest_days: RetestDays | None = None
    round_to_month_end: Flag = False
    supplier_date_wins: Flag = False
    min_receipt_days: Days | None = Field(default=None, description="Either days or percent, not both")
    min_receipt_percent: Percent | None = None
    min_ship_days: Days | None = Field(default=None, description="Either days or percent, not both")
    min_ship_percent: Percent | None = None
    allocation_strategy: AllocationStrategy | None = Field(
        default=None, description="fefo or fifo; none follows the category's (FEFO by default)"
    )
    reuse_supplier_lot: Flag = False
    expiry_capped_by_inputs: Flag = Field(
        default=False, description="A produced lot never outlives its earliest input lot"
    )
    repack_keeps_lot: Flag = Field(default=False, description="A repack keeps the lot (else: a new lot)")
    active: Flag = True


class ProductUpsert(ProductCreate, Changes):
    CLEARABLE: ClassVar[frozenset[str]] = PRODUCT_CLEARABLE

    reason: Reason = None


class ProductUpdate(Changes):
    model_config = ConfigDict(use_enum_values=True)
    CLEARABLE: ClassVar[frozenset[str]] = PRODUCT_CLEARABLE

    gtin: str | None = Field(default=None, min_length=8, max_length=14, description="Send null to clear it")
    gs1_company_prefix_length: PrefixLength | None = None
    name_zh: Name | None = None
    name_en: Name | None = None
    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    catch_weight: Flag | None = None
    storage_condition_id: StrictId | None = Field(default=None, description="Send null to clear it")
    shelf_life_amount: ShelfLifeAmount | None = None
    shelf_life_unit: ShelfLifeUnit | None = None
    expiry_kind: ExpiryKind | None = None
    retest_days: RetestDays | None = None
    round_to_month_end: Flag | None = None
    supplier_date_wins: Flag | None = None
    min_receipt_days: Days | None = None
    min_receipt_percent: Percent | None = None
    min_ship_days: Days | None = None
    min_ship_percent: Percent | None = None
    allocation_strategy: AllocationStrategy | None = Field(default=None, description="Send null to clear it")
    reuse_supplier_lot: Flag | None = None
    expiry_capped_by_inputs: Flag | None = None
    repack_keeps_lot: Flag | None = None
    active: Flag | None = None
    reason: Reason = None


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    gtin: str | None = Field(description="As 14 digits")
    gs1_company_prefix_length: int | None
    name_zh: str
    name_en: str
    category: str | None
    base_unit: str
    catch_weight: bool
    storage_condition_id: int | None
    lot_type_id: int
    shelf_life_amount: int
    shelf_life_unit: ShelfLifeUnit
    expiry_kind: ExpiryKind
    retest_days: int | None
    round_to_month_end: bool
    supplier_date_wins: bool
    shelf_life_version: int = Field(description="Counts changes of the shelf-life rule")
    min_receipt_days: int | None
    min_receipt_percent: Decimal | None
    min_ship_days: int | None
    min_ship_percent: Decimal | None
    allocation_strategy: str | None
    reuse_supplier_lot: bool
    expiry_capped_by_inputs: bool
    repack_keeps_lot: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class PackagingLevelIn(RequestBody):
    code: str = Field(min_length=1, max_length=8, pattern=r"^[A-Z0-9]{1,8}$", examples=["CS"])
    each_per_unit: Annotated[
        Decimal, Field(gt=0, le=Decimal("999999999999"), decimal_places=6), AfterValidator(six_places)
    ] = Field(description="How many each (EA) one of this level holds", examples=["12"])
    gtin: str | None = Field(default=None, max_length=14, examples=["16901234567899"])


class PackagingSet(RequestBody):
    levels: list[PackagingLevelIn] = Field(max_length=8, description="The whole set; replaces the old one")
    reason: Reason = None


class PackagingLevelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    each_per_unit: Decimal = Field(validation_alias="base_per_unit")
    gtin: str | None
