"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Numeric, String
from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware UTC; returns aware UTC datetimes on every backend.

    SQLite hands datetimes back naive (see TRAPS.md), so naive values read back are UTC by
    construction; naive values *written* are a programming error and refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal that is never a float: NUMERIC on PostgreSQL, canonical text on SQLite.

    SQLite would store NUMERIC as a REAL; quantities summed in SQL on SQLite must therefore be
    held as integers of a base unit or summed in Python from this text.
    """

    impl = Numeric(precision=28, scale=9)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(precision=28, scale=9, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value) if not isinstance(value, float) else None
        if exact is None:
            raise ValueError("floats are not quantities; pass a Decimal")
        if dialect.name == "sqlite":
            return format(exact.normalize(), "f")
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value))
