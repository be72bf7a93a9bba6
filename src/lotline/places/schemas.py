"""Location and partner schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, Strict

from lotline.api.schemas import Changes, Code, Days, Flag, Name, Percent, Reason, RequestBody, StrictId
from lotline.places.locations import LocationKind
from lotline.places.partners import MAX_TRANSIT_DAYS

TransitDays = Annotated[int, Strict(), Field(ge=0, le=MAX_TRANSIT_DAYS)]
AddressLine = Annotated[str | None, Field(max_length=200, pattern=r"^[^\x00-\x1f]*$")]
LOCATION_CLEARABLE = frozenset({"parent_id", "storage_condition_id"})
PARTNER_CLEARABLE = frozenset({"gln", "default_transit_days", "min_delivery_days", "min_delivery_percent"})


class LocationCreate(RequestBody):
    code: Code = Field(examples=["WH1-Z2-B07"])
    name_zh: Name = Field(examples=["冷冻库2区7号位"])
    name_en: Name = Field(examples=["Freezer zone 2, bin 7"])
    kind: LocationKind
    parent_id: StrictId | None = None
    storage_condition_id: StrictId | None = None
    is_qa_area: Flag = False
    active: Flag = True


class LocationUpsert(LocationCreate, Changes):
    """A location as a WMS knows it: where it is (``site_id``) and what it is."""

    CLEARABLE: ClassVar[frozenset[str]] = LOCATION_CLEARABLE
    CONTEXT: ClassVar[frozenset[str]] = frozenset({"reason", "site_id"})

    site_id: StrictId
    reason: Reason = None


class LocationUpdate(Changes):
    CLEARABLE: ClassVar[frozenset[str]] = LOCATION_CLEARABLE

    code: Code | None = None
    name_zh: Name | None = None
    name_en: Name | None = None
    kind: LocationKind | None = None
    parent_id: StrictId | None = Field(default=None, description="Send null to move the location to the top")
    storage_condition_id: StrictId | None = Field(default=None, description="Send null to clear it")
    is_qa_area: Flag | None = None
    active: Flag | None = None
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


class Address(RequestBody):
    street: AddressLine = None
    city: AddressLine = None
    province: AddressLine = None
    postcode: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9 \-]*$")
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["CN"]
    )


class Contact(RequestBody):
    name: Name
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9][0-9 ()\-]*$")
    email: EmailStr | None = None


class PartnerFields(RequestBody):
    """What every partner write may carry."""

    is_supplier: Flag = False
    is_customer: Flag = False
    is_carrier: Flag = False
    gln: str | None = Field(default=None, max_length=32, description="13-digit GS1 Global Location Number")
    address: Address = Field(default_factory=Address)
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    time_zone: str | None = Field(
        default=None, min_length=1, max_length=64, description="IANA name; the server's default if omitted"
    )
    default_transit_days: TransitDays | None = Field(default=None, description="For customers")
    min_delivery_days: Days | None = None
    min_delivery_percent: Percent | None = None
    active: Flag = True


class PartnerCreate(PartnerFields):
    code: Code = Field(examples=["JINHUA-PORK"])
    name_zh: Name = Field(examples=["金华猪肉"])
    name_en: Name = Field(examples=["Jinhua Pork"])


class PartnerUpsert(PartnerCreate, Changes):
    CLEARABLE: ClassVar[frozenset[str]] = PARTNER_CLEARABLE

    reason: Reason = None


class PartnerUpdate(Changes):
    CLEARABLE: ClassVar[frozenset[str]] = PARTNER_CLEARABLE

    code: Code | None = None
    name_zh: Name | None = None
    name_en: Name | None = None
    is_supplier: Flag | None = None
    is_customer: Flag | None = None
    is_carrier: Flag | None = None
    gln: str | None = Field(default=None, max_length=32, description="Send null to clear it")
    address: Address | None = None
    contacts: list[Contact] | None = Field(default=None, max_length=50)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    default_transit_days: TransitDays | None = None
    min_delivery_days: Days | None = None
    min_delivery_percent: Percent | None = None
    active: Flag | None = None
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
