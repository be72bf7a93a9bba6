"""Site: a plant or warehouse, with its own time zone; the unit permissions are granted on."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from lotline.models.base import Base, BigIntId, TimestampMixin


class Site(TimestampMixin, Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
