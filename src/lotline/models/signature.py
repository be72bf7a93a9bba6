"""Electronic signatures (21 CFR 11.50, 11.70, 11.200) and the one-use grants that carry them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import UTCDateTime


class Signature(Base):
    """Who signed what, meaning what, when — bound to a hash of the signed record's content."""

    __tablename__ = "signature"
    __table_args__ = (Index("ix_signature_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False)
    printed_name: Mapped[str] = mapped_column(String(200), nullable=False)
    meaning: Mapped[str] = mapped_column(String(32), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str] = mapped_column(String(64), nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # HMAC over (signer, meaning, time, record, content hash) with the audit key: copying the
    # row onto another record, or editing it, no longer verifies.
    binding: Mapped[str] = mapped_column(String(64), nullable=False)


class SigningGrant(Base):
    """Proof that a user re-entered their password for one record: short-lived, used once."""

    __tablename__ = "signing_grant"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    grant_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False)
    meaning: Mapped[str] = mapped_column(String(32), nullable=False)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str] = mapped_column(String(64), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
