"""Users, their role grants per site, API tokens, web sessions and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lotline.models.base import Base, BigIntId, TimestampMixin
from lotline.models.types import UTCDateTime


class User(TimestampMixin, Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # The printed name shown on electronic signatures (21 CFR 11.50).
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    language: Mapped[str | None] = mapped_column(String(8))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    grants: Mapped[list[RoleGrant]] = relationship(
        lazy="raise",
        order_by="RoleGrant.id",
        foreign_keys="RoleGrant.user_id",
        cascade="all, delete-orphan",
    )


class RoleGrant(Base):
    """A role held by a user at one site, or at every site when ``site_id`` is null."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "site_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ApiToken(Base):
    """A bearer token acting for a user, limited to its scopes. Tokens never sign."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    # SHA-256 of the secret: the secret is 256 random bits, so a fast hash is enough here.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(Base):
    """A web login; the cookie holds a random id, the database only its hash."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    client_ip: Mapped[str | None] = mapped_column(String(64))
    # The first electronic signature of the session; after it, the password alone suffices.
    first_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """Every login attempt, successful or not; the throttle counts recent failures."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "attempted_at"),
        Index("ix_login_attempt_client_ip_at", "client_ip", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
