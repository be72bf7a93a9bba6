"""Production and transformations: production orders, the transformations that consume lots and
create lots, and the genealogy edges they leave behind.

A transformation's inputs, losses and outputs are ledger movements (CONSUME, LOSS, PRODUCE)
that cite it (``reference_type = 'transformation'``); what it adds is the edge from each input
lot to each output lot, in a table of its own indexed both ways, so that a trace walks the
genealogy with one recursive query. Edges, like the ledger, are never updated or deleted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId
from lotline.models.types import ExactDecimal, UTCDateTime


class ProductionOrder(Base):
    """What a production line is to make: a product, a planned quantity, at one site."""

    __tablename__ = "production_order"
    __table_args__ = (
        UniqueConstraint("number"),
        CheckConstraint("planned_base_qty > 0", name="planned_positive"),
        Index("ix_production_order_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    line: Mapped[str | None] = mapped_column(String(40))
    planned_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    planned_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    planned_base_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(200))


class Transformation(Base):
    """One production completion, repack, relabel, rework, split or merge: lots in, lots out."""

    __tablename__ = "transformation"
    __table_args__ = (
        UniqueConstraint("number"),
        Index("ix_transformation_site_time", "site_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False)
    production_order_id: Mapped[int | None] = mapped_column(ForeignKey("production_order.id"), index=True)
    txn_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)  # its movements'
    line: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))


class GenealogyEdge(Base):
    """Input lot → output lot of one transformation, with how much of the input went in.

    ``qty`` is the input lot's consumption in the transformation, in its product's base unit
    (``unit``): with several outputs each of its edges carries the whole of it.
    """

    __tablename__ = "genealogy_edge"
    __table_args__ = (
        # Forward (used in): from a parent to its children; backward (made from): the reverse.
        UniqueConstraint("parent_lot_id", "child_lot_id", "transformation_id"),
        Index("ix_genealogy_edge_child", "child_lot_id", "parent_lot_id"),
        CheckConstraint("parent_lot_id <> child_lot_id", name="not_a_loop"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    parent_lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    child_lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), nullable=False)
    transformation_id: Mapped[int] = mapped_column(
        ForeignKey("transformation.id"), nullable=False, index=True
    )
    qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    unit: Mapped[str] = mapped_column(String(8), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
