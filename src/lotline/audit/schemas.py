"""Audit trail schemas."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AuditRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_kind: str
    actor_id: int | None
    actor_name: str
    token_id: int | None
    site_id: int | None
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any] = Field(description="{field: [old, new]}")
    reason: str | None
    request_id: str | None

    @field_validator("changes", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class ChainBreakRead(BaseModel):
    problem: str
    record_id: int | None
    seq: int | None


class VerifyRead(BaseModel):
    ok: bool
    links: int
    pending: int
    head_seq: int
    head_link: str
    breaks: list[ChainBreakRead]


class HeadRead(BaseModel):
    seq: int
    link: str
