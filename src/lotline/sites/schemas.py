"""Site schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from lotline.api.schemas import Flag, Reason, RequestBody


class SiteCreate(RequestBody):
    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$", examples=["SH01"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["上海一厂"])
    name_en: str = Field(min_length=1, max_length=200, examples=["Shanghai Plant 1"])
    time_zone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])


class SiteUpdate(RequestBody):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    active: Flag | None = None
    reason: Reason = None


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    time_zone: str
    active: bool
    created_at: datetime
    updated_at: datetime
