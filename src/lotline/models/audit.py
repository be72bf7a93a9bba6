"""The audit trail: append-only records, and the seal chain that orders and binds them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import UTCDateTime


class AuditRecord(Base):
    """One create/update/delete/status change, written in the business transaction.

    ``mac`` is HMAC-SHA256 over the record's canonical content, keyed by LOTLINE_AUDIT_KEY:
    a row inserted or edited by someone without the key does not verify.
    """

    __tablename__ = "audit_record"
    __table_args__ = (
        Index("ix_audit_record_entity", "entity_type", "entity_id"),
        Index("ix_audit_record_occurred_at", "occurred_at"),
        Index("ix_audit_record_actor_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    record_uuid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    site_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # Canonical JSON text, {field: [old, new]}: kept as text so the MAC'd bytes never change
    # (a JSONB column would re-serialise them).
    changes: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditSeal(Base):
    """A link of the chain: the sealer appends one per record, in the order records committed.

    ``link = HMAC(key, prev_link | seq | record mac)``; seq is gap-free, so a deleted link
    shows as a gap and a deleted record as a link pointing at nothing.
    """

    __tablename__ = "audit_seal"

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    record_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    prev_link: Mapped[str] = mapped_column(String(64), nullable=False)
    link: Mapped[str] = mapped_column(String(64), nullable=False)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AuditPending(Base):
    """Records written but not yet sealed: the sealer's work queue, so it never scans the trail.

    Deleting a row here cannot hide a record: ``audit verify`` also looks for records that
    are neither sealed nor pending.
    """

    __tablename__ = "audit_pending"

    record_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
