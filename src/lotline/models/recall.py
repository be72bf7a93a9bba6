"""Recall cases: what triggered them, the lots in scope (the forward trace, frozen when the case
is opened and topped up when it starts), the holds they placed, customers notified, quantities
destroyed at customers; returns citing the scope's shipment lines count as recovered by query.

A drill (mock recall) is a case of kind ``drill``: the same scope and report, no holds, with its
time to trace and every lot's mass balance in ``drill_result``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import ExactDecimal, UTCDateTime


class RecallCase(Base):
    __tablename__ = "recall_case"
    __table_args__ = (UniqueConstraint("number"), Index("ix_recall_case_status", "status", "opened_at"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)  # its clock's time zone
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    opened_by: Mapped[str] = mapped_column(String(200), nullable=False)
    start_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    complete_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scope_ms: Mapped[int] = mapped_column(Integer, nullable=False)  # time to trace the scope
    lots_in_scope: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str | None] = mapped_column(String(200))
    start_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(200))
    close_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    close_note: Mapped[str | None] = mapped_column(Text)
    drill_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RecallLot(Base):
    """One lot in a case's scope; ``is_trigger`` for the lots that started it."""

    __tablename__ = "recall_lot"
    __table_args__ = (Index("ix_recall_lot_lot", "lot_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("recall_case.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), primary_key=True)
    is_trigger: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class RecallHold(Base):
    __tablename__ = "recall_hold"

    case_id: Mapped[int] = mapped_column(ForeignKey("recall_case.id"), primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("hold.id"), primary_key=True)


class RecallNotice(Base):
    """A customer told of the recall: when, how, by whom."""

    __tablename__ = "recall_notice"
    __table_args__ = (UniqueConstraint("case_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("recall_case.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    notified_by: Mapped[str] = mapped_column(String(200), nullable=False)


class RecallDestruction(Base):
    """What a customer destroyed of a lot in scope rather than sending it back."""

    __tablename__ = "recall_destruction"
    __table_args__ = (
        Index("ix_recall_destruction_case", "case_id", "customer_id"),
        CheckConstraint("qty_base > 0", name="qty_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("recall_case.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
