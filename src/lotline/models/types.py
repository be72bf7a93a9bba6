"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect, Numeric
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
    """An exact decimal with one precision on every backend: 12 integer digits, 6 decimals.

    PostgreSQL stores NUMERIC(18, 6). SQLite would store NUMERIC as a REAL (TRAPS.md), so there
    the value is kept as an INTEGER count of millionths: SUM, ORDER BY and comparisons in SQL
    stay exact and numeric. Values the column cannot hold exactly are refused, never rounded:
    floats, booleans, NaN/Infinity, more than 6 decimals, 12 or more integer digits.
    """

    impl = Numeric(precision=18, scale=6)
    cache_ok = True

    SCALE = 6
    LIMIT = Decimal(10) ** 12

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(precision=18, scale=self.SCALE, asdecimal=True))

    @classmethod
    def exact(cls, value: Decimal | int | str) -> Decimal:
        """``value`` as a Decimal this column holds exactly, or ValueError."""
        if isinstance(value, (float, bool)):
            raise ValueError(f"floats and booleans are not quantities ({value!r}); pass a Decimal")
        exact = Decimal(value)
        if not exact.is_finite():
            raise ValueError(f"{exact} is not a quantity")
        if abs(exact) >= cls.LIMIT:
            raise ValueError(f"{exact} is too large (at most 12 integer digits)")
        if exact != exact.quantize(Decimal(1).scaleb(-cls.SCALE), rounding=ROUND_HALF_EVEN):
            raise ValueError(f"{exact} has more than {cls.SCALE} decimal places")
        return exact

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = self.exact(value)
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.SCALE))
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.SCALE)
        return Decimal(str(value))
