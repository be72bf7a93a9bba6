"""Schemas for users, grants, tokens and sign-in."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from lotline.api.schemas import IdField
from lotline.domain.permissions import ROLES

ROLE_PATTERN = "^(" + "|".join(ROLES) + ")$"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionRead(BaseModel):
    user_id: int
    username: str
    display_name: str
    csrf_token: str = Field(description="Send as X-CSRF-Token on writes made with the session cookie")
    expires_at: datetime


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: str
    site_id: int | None
    granted_at: datetime


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    language: str | None
    time_zone: str | None
    active: bool
    grants: list[GrantRead]
    created_at: datetime
    updated_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024)
    email: EmailStr | None = None
    language: str | None = Field(default=None, pattern="^(zh_CN|en)$")
    time_zone: str | None = Field(default=None, min_length=1, max_length=64, examples=["Asia/Shanghai"])


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    email: EmailStr | None = None
    language: str | None = Field(default=None, pattern="^(zh_CN|en)$")
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None
    reason: str | None = Field(default=None, max_length=2000)


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern=ROLE_PATTERN, examples=["qa_manager"])
    site_id: IdField | None = Field(default=None, description="Omit for every site")
    reason: str | None = Field(default=None, max_length=2000)


class GrantRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["WMS sync"])
    scopes: list[str] | None = Field(default=None, description="Defaults to all the user's permissions")
    days: int = Field(default=90, ge=1, le=3650)
    user_id: IdField | None = Field(default=None, description="Issue for another user (needs user.write)")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenRead):
    token: str = Field(description="The secret: shown once, store it now")
