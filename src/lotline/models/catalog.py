"""Master data: units, storage conditions, lot types, products, locations, partners, external ids.

GMP-relevant configuration (shelf-life rules, storage conditions, lot-type schemas and coding
rules, minimum shelf-life rules) carries a ``version`` that every change increments; the old
versions are kept in ``config_version`` (change control).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId, TimestampMixin
from lotline.models.types import ExactDecimal, UTCDateTime


class Unit(Base):
    """A unit of measure; ``to_base`` converts to its dimension's base unit (kg, L, each …)."""

    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), nullable=False)
    to_base: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(64), nullable=False)
    name_en: Mapped[str] = mapped_column(String(64), nullable=False)


class StorageCondition(TimestampMixin, Base):
    """A temperature band (and optional humidity) that locations provide and products need."""

    __tablename__ = "storage_condition"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    min_temp_c: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    max_temp_c: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    max_humidity_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class LotType(TimestampMixin, Base):
    """How lots of a kind are coded and which custom fields they carry (a JSON Schema)."""

    __tablename__ = "lot_type"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    code_template: Mapped[str] = mapped_column(String(100), nullable=False)
    external_code_pattern: Mapped[str | None] = mapped_column(String(200))
    custom_schema: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class Product(TimestampMixin, Base):
    """An item: identification, units, storage, and the shelf-life rule lots are dated by."""

    __tablename__ = "product"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    gs1_company_prefix_length: Mapped[int | None] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    base_unit: Mapped[str] = mapped_column(ForeignKey("unit.code"), nullable=False)
    catch_weight: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    storage_condition_id: Mapped[int | None] = mapped_column(ForeignKey("storage_condition.id"))
    lot_type_id: Mapped[int] = mapped_column(ForeignKey("lot_type.id"), nullable=False)
    # The shelf-life rule (domain.expiry.ShelfLifeRule); ``shelf_life_version`` counts its changes.
    shelf_life_amount: Mapped[int] = mapped_column(Integer, nullable=False)
    shelf_life_unit: Mapped[str] = mapped_column(String(8), nullable=False)
    expiry_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    retest_days: Mapped[int | None] = mapped_column(Integer)
    round_to_month_end: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    supplier_date_wins: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    shelf_life_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Minimum remaining shelf life, one model (days or % of shelf life) at receipt and shipment.
    min_receipt_days: Mapped[int | None] = mapped_column(Integer)
    min_receipt_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    min_ship_days: Mapped[int | None] = mapped_column(Integer)
    min_ship_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    # FEFO or FIFO for this product; None follows its category's strategy (FEFO by default).
    allocation_strategy: Mapped[str | None] = mapped_column(String(8))
    reuse_supplier_lot: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # A produced lot never outlives its earliest input when set (chilled ready meals); off, the
    # shelf-life rule alone dates it (frozen dumplings from fresh pork).
    expiry_capped_by_inputs: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # A repack of this product keeps its lot (new packaging, same lot code); off: a new lot.
    repack_keeps_lot: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ProductPackaging(Base):
    """A packaging level of one product: how many base units one case (pallet …) holds."""

    __tablename__ = "product_packaging"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(8), nullable=False)
    base_per_unit: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    gtin: Mapped[str | None] = mapped_column(String(14))


class Location(TimestampMixin, Base):
    """A place stock can be: warehouse → zone → bin, cold room, vehicle; with its conditions."""

    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    storage_condition_id: Mapped[int | None] = mapped_column(ForeignKey("storage_condition.id"))
    is_qa_area: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Partner(TimestampMixin, Base):
    """A supplier, customer or carrier (or several of these at once)."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    is_supplier: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_customer: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_carrier: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    gln: Mapped[str | None] = mapped_column(String(13), index=True)
    address: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    default_transit_days: Mapped[int | None] = mapped_column(Integer)
    min_delivery_days: Mapped[int | None] = mapped_column(Integer)
    min_delivery_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ExternalId(Base):
    """(system, key) → one lotline entity, so a WMS, MES or ERP can upsert by its own keys."""

    __tablename__ = "external_id"
    __table_args__ = (
        UniqueConstraint("system", "entity_type", "external_key"),
        Index("ix_external_id_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    system: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    external_key: Mapped[str] = mapped_column(String(200), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ConfigVersion(Base):
    """Change control: every version of a GMP-relevant configuration, with who, when and why."""

    __tablename__ = "config_version"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "aspect", "version"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    aspect: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    changed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
