"""The stock ledger (immutable movement rows) and its on-hand projection.

A movement takes a quantity of one lot from a bucket — (location, stock status, SSCC) — to
another, or from/to outside (``domain/ledger.py``). ``stock_on_hand`` holds, per bucket, the sum
of what moved in minus what moved out; it is kept in the same transaction as the movement and
can always be rebuilt from the ledger (``lotline stock check``). SSCC "" means "no SSCC", so the
bucket key is unique on every backend (NULLs are distinct in unique constraints).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import ExactDecimal, UTCDateTime


class StockMovement(Base):
    """One movement of one lot; never updated or deleted (append-only triggers)."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("base_qty > 0", name="base_qty_positive"),
        CheckConstraint("from_location_id IS NOT NULL OR to_location_id IS NOT NULL", name="moves_somewhere"),
        Index("ix_stock_movement_lot", "lot_id", "id"),
        Index("ix_stock_movement_from", "from_location_id"),
        Index("ix_stock_movement_to", "to_location_id"),
        Index("ix_stock_movement_reference", "reference_type", "reference_id"),
        Index("ix_stock_movement_site_time", "site_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    txn_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    from_sscc: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    to_status: Mapped[str | None] = mapped_column(String(16))
    to_sscc: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    entered_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    base_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    count: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    weight_kg: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    reference_type: Mapped[str | None] = mapped_column(String(32))
    reference_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))


class StockOnHand(Base):
    """What is in one bucket now: the projection of the ledger, never negative."""

    __tablename__ = "stock_on_hand"
    __table_args__ = (
        UniqueConstraint("lot_id", "location_id", "stock_status", "sscc"),
        CheckConstraint("qty_base >= 0", name="qty_not_negative"),
        CheckConstraint("qty_allocated >= 0 AND qty_allocated <= qty_base", name="allocated_within_on_hand"),
        Index("ix_stock_on_hand_location", "location_id"),
        Index("ix_stock_on_hand_product_site", "product_id", "site_id"),
        # What an allocation's one foreign key refers to: the bucket with its lot and location,
        # so the lot and location an allocation copies can only be its bucket's.
        Index("uq_stock_on_hand_id_lot_location", "id", "lot_id", "location_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), nullable=False)
    stock_status: Mapped[str] = mapped_column(String(16), nullable=False)
    sscc: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    # Reserved for order lines (the sum of the bucket's open allocations); never above qty_base.
    qty_allocated: Mapped[Decimal] = mapped_column(
        ExactDecimal(), nullable=False, default=Decimal(0), server_default="0"
    )
    count: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    weight_kg: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
