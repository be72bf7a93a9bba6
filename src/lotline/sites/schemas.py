"""Site schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import Flag, Reason, RequestBody
from lotline.places.schemas import Address


class SiteCreate(RequestBody):
    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$", examples=["SH01"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["上海一厂"])
    name_en: str = Field(min_length=1, max_length=200, examples=["Shanghai Plant 1"])
    time_zone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    gln: str | None = Field(default=None, max_length=32, description="13-digit GS1 Global Location Number")
    address: Address = Field(default_factory=Address, description="For trace exports (EPCIS, FSMA 204)")


class SiteUpdate(RequestBody):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    gln: str | None = Field(default=None, max_length=32)
    address: Address | None = None
    active: Flag | None = None
    reason: Reason = None


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    time_zone: str
    gln: str | None
    address: dict[str, Any]
    active: bool
    created_at: datetime
    updated_at: datetime
