"""Location and partner schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from lotline.api.schemas import IdField
from lotline.places.service import LocationKind


class Changes(BaseModel):
    """A partial update: fields not sent stay; null clears only the fields that may be empty."""

    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True, exclude={"reason", "site_id"})
        return {name: value for name, value in values.items() if value is not None or name in self.CLEARABLE}


# Codes and external keys: printable, no control characters (PostgreSQL refuses NUL in text).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$")]
Reason = Annotated[
    str | None, Field(max_length=2000, pattern=r"^[^\x00]*$", description="Required for GMP-relevant fields")
]
AddressLine = Annotated[str | None, Field(max_length=200, pattern=r"^[^\x00-\x1f]*$")]
LOCATION_CLEARABLE = frozenset({"parent_id", "storage_condition_id"})
PARTNER_CLEARABLE = frozenset({"gln", "default_transit_days", "min_delivery_days", "min_delivery_percent"})


class LocationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=CODE_PATTERN, examples=["WH1-Z2-B07"])
    name_zh: Name = Field(examples=["冷冻库2区7号位"])
    name_en: Name = Field(examples=["Freezer zone 2, bin 7"])
    kind: LocationKind
    parent_id: IdField | None = None
    storage_condition_id: IdField | None = None
    is_qa_area: bool = False
    active: bool = True


class LocationUpsert(LocationCreate, Changes):
    """A location as a WMS knows it: where it is (``site_id``) and what it is."""

    CLEARABLE: ClassVar[frozenset[str]] = LOCATION_CLEARABLE

    site_id: IdField
    reason: Reason = None


class LocationUpdate(Changes):
    model_config = ConfigDict(extra="forbid")
    CLEARABLE: ClassVar[frozenset[str]] = LOCATION_CLEARABLE

    code: str | None = Field(default=None, min_length=1, max_length=40, pattern=CODE_PATTERN)
    name_zh: Name | None = None
    name_en: Name | None = None
    kind: LocationKind | None = None
    parent_id: IdField | None = Field(default=None, description="Send null to move the location to the top")
    storage_condition_id: IdField | None = Field(default=None, description="Send null to clear it")
    is_qa_area: bool | None = None
    active: bool | None = None
    reason: Reason = None


class LocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    parent_id: int | None
    code: str
    name_zh: str
    name_en: str
    kind: LocationKind
    storage_condition_id: int | None
    is_qa_area: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class LocationNode(LocationRead):
    """A descendant in a subtree: ``depth`` 1 for a child, 2 for a grandchild …"""

    depth: int


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: AddressLine = None
    city: AddressLine = None
    province: AddressLine = None
    postcode: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9 \-]*$")
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["CN"]
    )


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9][0-9 ()\-]*$")
    email: EmailStr | None = None


class PartnerFields(BaseModel):
    """What every partner write may carry."""

    model_config = ConfigDict(extra="forbid")

    is_supplier: bool = False
    is_customer: bool = False
    is_carrier: bool = False
    gln: str | None = Field(default=None, max_length=32, description="13-digit GS1 Global Location Number")
    address: Address = Field(default_factory=Address)
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    time_zone: str | None = Field(
        default=None, min_length=1, max_length=64, description="IANA name; the server's default if omitted"
    )
    default_transit_days: int | None = Field(default=None, ge=0, le=365, description="For customers")
    min_delivery_days: int | None = Field(default=None, ge=0, le=36_600)
    min_delivery_percent: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=6)
    active: bool = True


class PartnerCreate(PartnerFields):
    code: str = Field(min_length=1, max_length=40, pattern=CODE_PATTERN, examples=["JINHUA-PORK"])
    name_zh: Name = Field(examples=["金华猪肉"])
    name_en: Name = Field(examples=["Jinhua Pork"])


class PartnerUpsert(PartnerCreate, Changes):
    CLEARABLE: ClassVar[frozenset[str]] = PARTNER_CLEARABLE

    reason: Reason = None


class PartnerUpdate(Changes):
    model_config = ConfigDict(extra="forbid")
    CLEARABLE: ClassVar[frozenset[str]] = PARTNER_CLEARABLE

    code: str | None = Field(default=None, min_length=1, max_length=40, pattern=CODE_PATTERN)
    name_zh: Name | None = None
    name_en: Name | None = None
    is_supplier: bool | None = None
    is_customer: bool | None = None
    is_carrier: bool | None = None
    gln: str | None = Field(default=None, max_length=32, description="Send null to clear it")
    address: Address | None = None
    contacts: list[Contact] | None = Field(default=None, max_length=50)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    default_transit_days: int | None = Field(default=None, ge=0, le=365)
    min_delivery_days: int | None = Field(default=None, ge=0, le=36_600)
    min_delivery_percent: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=6)
    active: bool | None = None
    reason: Reason = None


class PartnerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    is_supplier: bool
    is_customer: bool
    is_carrier: bool
    gln: str | None
    address: dict[str, Any]
    contacts: list[dict[str, Any]]
    time_zone: str
    default_transit_days: int | None
    min_delivery_days: int | None
    min_delivery_percent: Decimal | None
    active: bool
    created_at: datetime
    updated_at: datetime
