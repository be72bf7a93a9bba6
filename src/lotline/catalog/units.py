"""Units of measure (UN/ECE Rec 20 codes), each with its factor to its dimension's base unit."""

from __future__ import annotations

from sqlalchemy import select

from lotline.models.catalog import Unit
from lotline.uow import UnitOfWork


def list_units(uow: UnitOfWork) -> list[Unit]:
    """Every unit of measure, by dimension, smallest first."""
    return list(uow.session.execute(select(Unit).order_by(Unit.dimension, Unit.to_base, Unit.code)).scalars())
