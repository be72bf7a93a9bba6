"""Site: a plant or warehouse, with its own time zone; the unit permissions are granted on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, String, text
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
    # Where the site is, for trace exports: EPCIS read points and business locations, FSMA
    # ship-from and receiving location descriptions.
    gln: Mapped[str | None] = mapped_column(String(13))
    address: Mapped[dict[str, Any]] = mapped_column(
        JSON, nullable=False, default=dict, server_default=text("'{}'")
    )
