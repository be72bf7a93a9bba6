"""UTCDateTime and ExactDecimal behave the same on SQLite and PostgreSQL (real test database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, text
from sqlalchemy.exc import StatementError

from lotline.models.types import ExactDecimal, UTCDateTime
from lotline.uow import Database
from tests.conftest import backend

ON_SQLITE = backend() == "sqlite"


@pytest.fixture
def scratch(db: Database) -> Iterator[Table]:
    """A throwaway table, on its own MetaData, with one column of each type under test."""
    metadata = MetaData()
    table = Table(
        "scratch_column_types",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
        Column("qty", ExactDecimal()),
    )
    metadata.create_all(db.engine)
    yield table
    metadata.drop_all(db.engine)


def store(db: Database, table: Table, **values: object) -> int:
    with db.engine.begin() as connection:
        return int(connection.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def load(db: Database, table: Table, column: str, row_id: int) -> object:
    with db.engine.connect() as connection:
        return connection.execute(select(table.c[column]).where(table.c.id == row_id)).scalar_one()


def row_count(db: Database, table: Table) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


# --- UTCDateTime ---------------------------------------------------------------------------


def test_a_naive_datetime_is_refused_and_nothing_is_written(db: Database, scratch: Table) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        store(db, scratch, at=datetime(2026, 3, 1, 8, 0))

    assert row_count(db, scratch) == 0


def test_a_utc_datetime_reads_back_aware_and_unchanged(db: Database, scratch: Table) -> None:
    moment = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)

    stored = load(db, scratch, "at", store(db, scratch, at=moment))

    assert stored == moment
    assert isinstance(stored, datetime)
    assert stored.utcoffset() == timedelta(0)


def test_a_shanghai_datetime_reads_back_as_the_same_instant_in_utc(db: Database, scratch: Table) -> None:
    shanghai_afternoon = datetime(2026, 3, 1, 16, 30, 15, 250000, tzinfo=timezone(timedelta(hours=8)))

    stored = load(db, scratch, "at", store(db, scratch, at=shanghai_afternoon))

    assert isinstance(stored, datetime)
    assert stored == shanghai_afternoon
    assert stored.utcoffset() == timedelta(0)
    assert (stored.year, stored.month, stored.day, stored.hour, stored.minute) == (2026, 3, 1, 8, 30)
    assert (stored.second, stored.microsecond) == (15, 250000)


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(datetime(2026, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))), id="new-york-winter"),
        pytest.param(
            datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=45))),
            id="kathmandu",
        ),
        pytest.param(datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")), id="berlin-summer-time"),
        pytest.param(datetime(2026, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=14))), id="kiritimati"),
    ],
)
def test_any_aware_datetime_reads_back_as_the_same_instant_in_utc(
    db: Database, scratch: Table, moment: datetime
) -> None:
    stored = load(db, scratch, "at", store(db, scratch, at=moment))

    assert stored == moment
    assert isinstance(stored, datetime)
    assert stored.utcoffset() == timedelta(0)


def test_a_null_datetime_stays_null(db: Database, scratch: Table) -> None:
    assert load(db, scratch, "at", store(db, scratch, at=None)) is None


def test_a_query_bound_with_a_non_utc_instant_compares_by_instant(db: Database, scratch: Table) -> None:
    store(db, scratch, id=1, at=datetime(2026, 3, 1, 7, 59, tzinfo=UTC))
    store(db, scratch, id=2, at=datetime(2026, 3, 1, 8, 1, tzinfo=UTC))
    eight_utc_in_shanghai = datetime(2026, 3, 1, 16, 0, tzinfo=timezone(timedelta(hours=8)))

    with db.engine.connect() as connection:
        later = connection.execute(select(scratch.c.id).where(scratch.c.at > eight_utc_in_shanghai)).scalars()

        assert list(later) == [2]


# --- ExactDecimal --------------------------------------------------------------------------


def test_decimal_tenths_read_back_exactly_and_sum_exactly(db: Database, scratch: Table) -> None:
    tenth = load(db, scratch, "qty", store(db, scratch, qty=Decimal("0.1")))
    fifth = load(db, scratch, "qty", store(db, scratch, qty=Decimal("0.2")))

    assert isinstance(tenth, Decimal)
    assert isinstance(fifth, Decimal)
    assert tenth + fifth == Decimal("0.3")


@pytest.mark.parametrize(
    "quantity",
    [
        "123456789012.123456",
        "-999999999999.999999",
        "0.000001",
        "100",
        "25000",
        "0",
        "12.5",
    ],
)
def test_a_decimal_within_twelve_digits_and_six_places_reads_back_equal(
    db: Database, scratch: Table, quantity: str
) -> None:
    stored = load(db, scratch, "qty", store(db, scratch, qty=Decimal(quantity)))

    assert isinstance(stored, Decimal)
    assert stored == Decimal(quantity)


def test_an_integer_or_decimal_text_is_taken_as_an_exact_decimal(db: Database, scratch: Table) -> None:
    assert load(db, scratch, "qty", store(db, scratch, qty=7)) == Decimal(7)
    assert load(db, scratch, "qty", store(db, scratch, qty="12.50")) == Decimal("12.5")


def test_a_decimal_is_never_stored_as_a_float(db: Database, scratch: Table) -> None:
    row_id = store(db, scratch, qty=Decimal("0.1"))

    with db.engine.connect() as connection:
        raw = connection.execute(text("SELECT qty FROM scratch_column_types WHERE id = :id"), {"id": row_id})
        stored = raw.scalar_one()

    assert not isinstance(stored, float)
    # SQLite holds millionths as an integer; PostgreSQL holds NUMERIC(18, 6).
    assert stored == (100_000 if ON_SQLITE else Decimal("0.1"))


@pytest.mark.parametrize("quantity", [0.1, 1.0, 0.30000000000000004])
def test_a_float_is_refused_and_nothing_is_written(db: Database, scratch: Table, quantity: float) -> None:
    with pytest.raises(StatementError, match="floats and booleans are not quantities"):
        store(db, scratch, qty=quantity)

    assert row_count(db, scratch) == 0


def test_a_null_quantity_stays_null(db: Database, scratch: Table) -> None:
    assert load(db, scratch, "qty", store(db, scratch, qty=None)) is None


def test_a_decimal_finer_than_six_places_is_refused_not_silently_rounded(
    db: Database, scratch: Table
) -> None:
    with pytest.raises(StatementError, match="more than 6 decimal places"):
        store(db, scratch, qty=Decimal("0.0000001"))
    assert row_count(db, scratch) == 0


@pytest.mark.parametrize("quantity", ["1E+12", "-1000000000000", "1E+30"])
def test_a_decimal_with_twelve_or_more_integer_digits_is_refused(
    db: Database, scratch: Table, quantity: str
) -> None:
    with pytest.raises(StatementError, match="too large"):
        store(db, scratch, qty=Decimal(quantity))


@pytest.mark.parametrize("quantity", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), True])
def test_a_value_that_is_not_a_number_is_refused(db: Database, scratch: Table, quantity: object) -> None:
    with pytest.raises(StatementError):
        store(db, scratch, qty=quantity)
    assert row_count(db, scratch) == 0


def test_ordering_and_summing_a_decimal_column_in_sql_are_numeric_and_exact(
    db: Database, scratch: Table
) -> None:
    for row_id, quantity in ((1, "9"), (2, "10"), (3, "-2.5"), (4, "0.75"), (5, "0.1"), (6, "0.2")):
        store(db, scratch, id=row_id, qty=Decimal(quantity))

    with db.engine.connect() as connection:
        ordered = list(connection.execute(select(scratch.c.qty).order_by(scratch.c.qty)).scalars())
        total = connection.execute(select(func.sum(scratch.c.qty))).scalar_one()
        above = connection.execute(select(func.count()).where(scratch.c.qty > Decimal("0.5"))).scalar_one()

    assert ordered == [Decimal(q) for q in ("-2.5", "0.1", "0.2", "0.75", "9", "10")]
    assert total == Decimal("17.55")
    assert above == 3
