"""Receipts from suppliers: a header and its lines, each line landing one lot in quarantine."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import ExactDecimal, UTCDateTime


class Receipt(Base):
    __tablename__ = "receipt"
    __table_args__ = (UniqueConstraint("site_id", "number"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False, index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), nullable=False)
    purchase_order: Mapped[str | None] = mapped_column(String(64))
    delivery_note: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_by: Mapped[str] = mapped_column(String(200), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)


class ReceiptLine(Base):
    __tablename__ = "receipt_line"
    __table_args__ = (UniqueConstraint("receipt_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"), nullable=False)
    line_no: Mapped[int] = mapped_column(nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False, index=True)
    supplier_lot_code: Mapped[str | None] = mapped_column(String(40))
    # FSMA 204: where the supplier's traceability lot code was assigned (a place description
    # or a reference to it), as the supplier reported it; the supplier's own address when empty.
    tlc_source: Mapped[str | None] = mapped_column(String(200))
    production_date: Mapped[date | None] = mapped_column(Date)
    supplier_expiry: Mapped[date | None] = mapped_column(Date)
    entered_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    base_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    count: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    weight_kg: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    sscc: Mapped[str | None] = mapped_column(String(18), index=True)
    scan: Mapped[str | None] = mapped_column(Text)
    override_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
