"""Outbound: sales orders and their lines, allocations of stock to lines, picks (with FEFO
deviations), shipments with their lines and transport legs, and customer returns.

An allocation reserves part of one on-hand bucket for one order line; the bucket's
``qty_allocated`` is the sum of its open allocations, kept in the same transaction and never
above what the bucket holds (a guarded update, so concurrent allocators cannot over-allocate).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import ExactDecimal, UTCDateTime


class CategoryAllocation(Base):
    """The allocation strategy (FEFO or FIFO) of a product category; a product may override it."""

    __tablename__ = "category_allocation"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(8), nullable=False)


class SalesOrder(Base):
    """A customer's order, shipped from one site."""

    __tablename__ = "sales_order"
    __table_args__ = (
        UniqueConstraint("number"),
        Index("ix_sales_order_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    customer_ref: Mapped[str | None] = mapped_column(String(64))
    ship_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class SalesOrderLine(Base):
    """One product wanted, delivered by a date with at least a minimum shelf life left."""

    __tablename__ = "sales_order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("qty_base > 0", name="qty_positive"),
        Index("ix_sales_order_line_product", "product_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False)
    entered_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    ship_to: Mapped[str | None] = mapped_column(String(200))
    delivery_date: Mapped[date] = mapped_column(Date, nullable=False)
    # The customer's minimum remaining shelf life at delivery for this line (days or %).
    min_days: Mapped[int | None] = mapped_column(Integer)
    min_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    status: Mapped[str] = mapped_column(String(16), nullable=False)


class Allocation(Base):
    """Part of one bucket reserved for one order line, until picked, shipped or released."""

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("qty_base > 0", name="qty_positive"),
        Index("ix_allocation_line", "line_id", "status"),
        Index("ix_allocation_on_hand", "on_hand_id", "status"),
        Index("ix_allocation_lot", "lot_id", "status"),
        # One foreign key for the bucket, its lot and its location (one trigger per row, not
        # three, and the copies cannot disagree with the bucket); the bucket's own keys cover
        # the lot and the location.
        ForeignKeyConstraint(
            ["on_hand_id", "lot_id", "location_id"],
            ["stock_on_hand.id", "stock_on_hand.lot_id", "stock_on_hand.location_id"],
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"), nullable=False)
    on_hand_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    lot_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    location_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    sscc: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)  # position in the line's proposal
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    flag_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Pick(Base):
    """Stock confirmed by scan for an order line; a lot other than proposed is a FEFO deviation."""

    __tablename__ = "pick"
    __table_args__ = (
        CheckConstraint("qty_base > 0", name="qty_positive"),
        Index("ix_pick_line", "line_id"),
        Index("ix_pick_deviation", "deviation", "picked_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"), nullable=False)
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocation.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False, index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), nullable=False)
    sscc: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    scanned: Mapped[str | None] = mapped_column(Text)
    deviation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    proposed_lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    shipped: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    picked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    picked_by: Mapped[str] = mapped_column(String(200), nullable=False)


class Shipment(Base):
    """What left a site for a customer, on one or more transport legs."""

    __tablename__ = "shipment"
    __table_args__ = (UniqueConstraint("number"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), nullable=False, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False, index=True)
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    vehicle: Mapped[str | None] = mapped_column(String(40))
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    shipped_by: Mapped[str] = mapped_column(String(200), nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShipmentLine(Base):
    """One bucket's stock that left on a shipment: the trace's link from lot to customer."""

    __tablename__ = "shipment_line"
    __table_args__ = (
        CheckConstraint("qty_base > 0", name="qty_positive"),
        Index("ix_shipment_line_lot", "lot_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"), nullable=False)
    pick_id: Mapped[int | None] = mapped_column(ForeignKey("pick.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), nullable=False)
    sscc: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    count: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    weight_kg: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movement.id"), nullable=False)


class TransportLeg(Base):
    """One leg of a shipment's journey: the in-transit time of every lot aboard."""

    __tablename__ = "transport_leg"
    __table_args__ = (UniqueConstraint("shipment_id", "seq"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    vehicle: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str | None] = mapped_column(String(200))
    destination: Mapped[str | None] = mapped_column(String(200))
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CustomerReturn(Base):
    """Stock a customer sent back, citing the shipment line; it lands in quarantine."""

    __tablename__ = "customer_return"
    __table_args__ = (CheckConstraint("qty_base > 0", name="qty_positive"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    shipment_line_id: Mapped[int] = mapped_column(ForeignKey("shipment_line.id"), nullable=False, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False, index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), nullable=False)
    qty_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    entered_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movement.id"), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_by: Mapped[str] = mapped_column(String(200), nullable=False)
