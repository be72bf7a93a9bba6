"""Lots, their holds, and the counters lot codes are numbered from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lotline.db import days_between
from lotline.models.base import Base, BigIntId, TimestampMixin
from lotline.models.types import UTCDateTime


class Lot(TimestampMixin, Base):
    """The one object everything binds to. Expiry is fixed at creation, with its provenance.

    "Is expired" and remaining shelf life are derived from the dates, never stored.
    """

    __tablename__ = "lot"
    __table_args__ = (
        UniqueConstraint("product_id", "code"),
        Index("ix_lot_site_expiry", "site_id", "expiry_date"),
        # FEFO: a product's lots in expiry order, so an allocation reads the head and stops.
        Index("ix_lot_product_expiry", "product_id", "expiry_date"),
        # FIFO: a product's lots in receipt order, likewise.
        Index("ix_lot_product_received", "product_id", "created_at"),
        Index("ix_lot_supplier_lot", "supplier_id", "supplier_lot_code"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    lot_type_id: Mapped[int] = mapped_column(ForeignKey("lot_type.id"), nullable=False)
    quality_status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    production_date: Mapped[date | None] = mapped_column(Date)
    produced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_date: Mapped[date] = mapped_column(Date, nullable=False)
    expiry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retest_date: Mapped[date | None] = mapped_column(Date)
    expiry_provenance: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    supplier_lot_code: Mapped[str | None] = mapped_column(String(40))
    supplier_expiry_date: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


# A product's shortest shelf life (expiry − production) in one index probe: a minimum shelf life in
# per cent then bounds the expiry a line can take from below, and the FEFO read starts there.
Index("ix_lot_product_life", Lot.product_id, days_between(Lot.expiry_date, Lot.production_date))


class Hold(Base):
    """A typed block on a lot (later: on part of its stock). Lifting one never lifts another."""

    __tablename__ = "hold"
    __table_args__ = (Index("ix_hold_lot_active", "lot_id", "lifted_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    hold_type: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    sscc: Mapped[str | None] = mapped_column(String(18))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    placed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    lift_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))


class LotSequence(Base):
    """The last number issued under one sequence scope (lot type × site × day, by default)."""

    __tablename__ = "lot_sequence"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, nullable=False)
