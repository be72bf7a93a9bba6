"""Site schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$", examples=["SH01"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["上海一厂"])
    name_en: str = Field(min_length=1, max_length=200, examples=["Shanghai Plant 1"])
    time_zone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])


class SiteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None
    reason: str | None = Field(default=None, max_length=2000, description="Required for GMP-relevant fields")


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
