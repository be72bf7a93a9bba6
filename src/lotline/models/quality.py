"""Inspection plans and records (检验), attachments, QA decisions on (part of) a lot, and
auto-release policies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId, TimestampMixin
from lotline.models.types import ExactDecimal, UTCDateTime


class InspectionPlan(TimestampMixin, Base):
    """What to check on a product's lots and how many units to sample."""

    __tablename__ = "inspection_plan"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    sample_size: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    sample_unit: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class InspectionCharacteristic(Base):
    """One thing checked: a measured value within limits, or one of accepted values."""

    __tablename__ = "inspection_characteristic"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plan.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # NUMERIC or CHOICE
    unit: Mapped[str | None] = mapped_column(String(16))
    lower_limit: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    upper_limit: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    accepted_values: Mapped[list[str] | None] = mapped_column(JSON)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class InspectionRecord(Base):
    """One inspection of a lot: who sampled, the results, pass or fail as computed from limits."""

    __tablename__ = "inspection_record"
    __table_args__ = (
        Index("ix_inspection_record_lot", "lot_id", "id"),
        UniqueConstraint("source", "external_ref"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_plan.id"))
    source: Mapped[str] = mapped_column(String(40), nullable=False)  # web, api, or a LIMS name
    external_ref: Mapped[str | None] = mapped_column(String(100))
    sampled_by: Mapped[str | None] = mapped_column(String(200))
    sampled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)


class InspectionResult(Base):
    __tablename__ = "inspection_result"
    __table_args__ = (UniqueConstraint("record_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("inspection_record.id"), nullable=False, index=True)
    characteristic_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_characteristic.id"))
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    value_numeric: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    value_text: Mapped[str | None] = mapped_column(String(200))
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)


class Attachment(Base):
    """A file kept with a record (a supplier's CoA …), with its SHA-256 to prove it unchanged."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(40), nullable=False)
    owner_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False)


class QualityDecision(Base):
    """A release or rejection of a lot, or of part of it (a quantity, an SSCC), signed or by a policy."""

    __tablename__ = "quality_decision"
    __table_args__ = (Index("ix_quality_decision_lot", "lot_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # RELEASED or REJECTED
    base_qty: Mapped[Decimal | None] = mapped_column(ExactDecimal())  # None: the whole lot
    sscc: Mapped[str | None] = mapped_column(String(18))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    inspection_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("release_policy.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by: Mapped[str] = mapped_column(String(200), nullable=False)


class ReleasePolicy(Base):
    """Automatic release for a trusted product, itself signed when set."""

    __tablename__ = "release_policy"
    __table_args__ = (Index("ix_release_policy_product", "product_id", "active"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"), nullable=False)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    set_by: Mapped[str] = mapped_column(String(200), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
