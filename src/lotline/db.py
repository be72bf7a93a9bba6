"""Engines and sessions. The only module that knows which database backend is in use."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Connection,
    Dialect,
    Engine,
    Insert,
    Integer,
    String,
    Table,
    TypeDecorator,
    bindparam,
    column,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.functions import FunctionElement

# Execution option marking a transaction that only reads (SQLite then skips the write lock).
READ_ONLY_OPTION = "lotline_read_only"


def make_engine(url: str, *, echo: bool = False, pool: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and explicit BEGINs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if not pool else None,
        )
        _configure_sqlite(engine)
        return engine
    # psycopg prepares a statement it has run five times; PostgreSQL then switches to a generic
    # plan, blind to the parameters. Stock is skewed (a hot product has thousands of lots, most
    # have a few), and the generic plan of the FEFO head read walks every lot of a hot product:
    # 20 ms instead of 0.4. Custom plans keep the prepared statement's parse and plan each run.
    # JIT off: a wave's statements cross jit_above_cost, and compiling took 30-40 ms each, more
    # than it saved.
    kwargs: dict[str, Any] = {
        "echo": echo,
        "pool_pre_ping": True,
        "connect_args": {"options": "-c plan_cache_mode=force_custom_plan -c jit=off"},
    }
    if not pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _binary_arrays)
    _quiet_pipeline_aborts()
    return engine


class _PipelineAbortFilter(logging.Filter):
    """psycopg logs a warning when a pipeline block ends with an error already on its way out
    (its own sync then fails: "pipeline aborted"); the error itself propagates and is handled
    (a contended allocation is retried), so the warning is only noise in the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


def _quiet_pipeline_aborts() -> None:
    psycopg_logger = logging.getLogger("psycopg")
    if not any(isinstance(f, _PipelineAbortFilter) for f in psycopg_logger.filters):
        psycopg_logger.addFilter(_PipelineAbortFilter())


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """Send list parameters (the id and column arrays of set-based statements) in PostgreSQL's
    binary array format: psycopg's text format quotes every element through a regular
    expression, a third of a second for a wave's arrays; binary takes about a third of that."""
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and lets a nested COMMIT escape an
    # outer transaction (TRAPS.md); SQLAlchemy's documented recipe is to switch it off and
    # emit BEGIN ourselves. BEGIN IMMEDIATE takes the write lock up front, so two writers
    # queue on busy_timeout instead of failing with "database is locked" at upgrade time.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built then)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_reachable(engine: Engine) -> bool:
    """True when a trivial query succeeds (readiness probe)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def backend_name(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine.dialect.name


def lock_for_transaction(session: Session, name: str) -> None:
    """Serialise holders of ``name`` until the current transaction ends.

    PostgreSQL: a transaction-level advisory lock. SQLite: every write transaction already
    holds the database's single write lock (BEGIN IMMEDIATE), so nothing more is needed.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def next_in_sequence(session: Session, scope: str) -> int:
    """The next number under ``scope``: gap-free per scope, never issued twice.

    One atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``): concurrent callers
    queue on the row lock (PostgreSQL) or the write lock (SQLite) and each gets its own value;
    a rolled-back transaction gives its number back.
    """
    from lotline.models.lot import LotSequence

    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    upsert = (
        insert(LotSequence)
        .values(scope=scope, last_value=1)
        .on_conflict_do_update(
            index_elements=[LotSequence.scope], set_={"last_value": LotSequence.last_value + 1}
        )
        .returning(LotSequence.last_value)
    )
    return int(session.execute(upsert).scalar_one())


def add_on_hand(session: Session, values: dict[str, object]) -> None:
    """Add a quantity to one on-hand bucket, creating it if new: one atomic upsert.

    ``values`` holds the bucket key (lot, location, stock status, SSCC), the lot's product and
    site, ``qty_base``, ``count``, ``weight_kg`` and ``updated_at``. Two writers filling the same
    new bucket cannot collide: the second adds to the row the first created.
    """
    from lotline.models.stock import StockOnHand

    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(StockOnHand).values(**values)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[
            StockOnHand.lot_id,
            StockOnHand.location_id,
            StockOnHand.stock_status,
            StockOnHand.sscc,
        ],
        set_={
            "qty_base": StockOnHand.qty_base + excluded.qty_base,
            "count": func.coalesce(StockOnHand.count, 0) + excluded.count,
            "weight_kg": func.coalesce(StockOnHand.weight_kg, 0) + excluded.weight_kg,
            "updated_at": excluded.updated_at,
        },
    )
    session.execute(statement)


class days_between(FunctionElement[int]):  # noqa: N801  (a SQL function, named as one)
    """``later - earlier`` in whole days, for two DATE expressions, on either backend.

    PostgreSQL subtracts dates to an integer; SQLite keeps dates as text and counts through
    julianday().
    """

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)})"
        " AS INTEGER)"
    )


def table_of(entity: type[Any]) -> Table:
    """An ORM class's table, for Core statements built once and run without the ORM's bulk paths."""
    return cast(Table, entity.__table__)


def expire_loaded(session: Session, entity: type[Any], ids: Iterable[int], attributes: Sequence[str]) -> None:
    """Expire ``attributes`` of the loaded ``entity`` objects with these ids: a Core UPDATE changed
    them behind the identity map (the next read loads them afresh)."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, entity) and obj.id in wanted:
            session.expire(obj, list(attributes))


class in_code_point_order(FunctionElement[str]):  # noqa: N801 - a SQL function, named like one
    """A text column ordered as Python orders ``str`` (by code point): PostgreSQL's "C" collation,
    SQLite's default BINARY one (both compare UTF-8 bytes, which sort as code points do)."""

    type = String()
    inherit_cache = True
    name = "in_code_point_order"


@compiles(in_code_point_order, "postgresql")
def _in_code_point_order_postgresql(element: in_code_point_order, compiler: Any, **kw: Any) -> str:
    (text_column,) = list(element.clauses)
    return f'({compiler.process(text_column, **kw)} COLLATE "C")'


@compiles(in_code_point_order)
def _in_code_point_order_default(element: in_code_point_order, compiler: Any, **kw: Any) -> str:
    (text_column,) = list(element.clauses)
    return str(compiler.process(text_column, **kw))


def joins_laterally(connection: Connection) -> bool:
    """Whether the backend has LATERAL joins (PostgreSQL does; SQLite has none)."""
    return connection.dialect.name == "postgresql"


def takes_arrays(connection: Connection) -> bool:
    """Whether the backend takes a whole column of values as one array parameter (unnest)."""
    return connection.dialect.name == "postgresql"


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """Run the statements inside without waiting for each one's answer where the driver can
    (psycopg's pipeline mode): a run of writes costs one round trip instead of one each.

    Nothing inside may read a statement's result, its row count included (it is not there
    yet). A statement's error is raised by a later statement inside, or when the block ends."""
    if connection.dialect.name != "postgresql":  # SQLite: one statement after the other
        yield
        return
    import psycopg

    try:
        with connection.connection.driver_connection.pipeline():  # type: ignore[union-attr]
            yield
    except psycopg.Error as error:
        # An error that arrives when the block ends comes from psycopg itself, not through
        # SQLAlchemy: translate it as SQLAlchemy would (IntegrityError, DataError, …), so the
        # same handlers see it. Errors raised inside the block are translated already.
        raise DBAPIError.instance(None, None, error, psycopg.Error) from error


def violated_constraint(error: BaseException) -> str | None:
    """The name of the constraint a database error says was violated (PostgreSQL), else None."""
    seen: BaseException | None = error
    while seen is not None:
        diagnostics = getattr(getattr(seen, "orig", seen), "diag", None)
        name = getattr(diagnostics, "constraint_name", None)
        if name:
            return str(name)
        seen = seen.__cause__ or seen.__context__
    return None


@lru_cache(maxsize=64)
def insert_unnested(table: Table, names: tuple[str, ...], same: frozenset[str] = frozenset()) -> Insert:
    """``INSERT INTO table (names) SELECT … FROM unnest(:name, …)``: many rows in one statement,
    one array parameter per column (PostgreSQL; see ``takes_arrays``); the columns in ``same``
    hold one value for every row and are bound once."""
    varying = [name for name in names if name not in same]
    given = (
        func.unnest(*(bindparam(name, type_=ARRAY(table.c[name].type)) for name in varying))
        .table_valued(*(column(name, table.c[name].type) for name in varying))
        .render_derived(name="given")
    )
    values = [bindparam(name, type_=table.c[name].type) if name in same else given.c[name] for name in names]
    return insert(table).from_select(list(names), select(*values).select_from(given))


def columns_of(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], frozenset[str]]:
    """Rows (same keys) as the parameters of ``insert_unnested``: one list per column, or one
    value for a column that holds the same in every row; and which columns those are."""
    params: dict[str, Any] = {}
    same: set[str] = set()
    for name in rows[0]:
        column_values = [row[name] for row in rows]
        first = column_values[0]
        if all(value == first and type(value) is type(first) for value in column_values):
            params[name] = first
            same.add(name)
        else:
            params[name] = column_values
    if len(same) == len(params):  # one array at least, so that unnest gives the number of rows
        name = next(iter(params))
        same.discard(name)
        params[name] = [row[name] for row in rows]
    return params, frozenset(same)


# From this many rows on, set-based statements over arrays pay off (below, one executemany is a
# single pipelined round trip anyway).
MANY_ROWS = 16


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows (same keys) in one statement where the backend takes arrays — psycopg
    would otherwise send one INSERT per row — else as one executemany."""
    if not rows:
        return
    if len(rows) >= MANY_ROWS and takes_arrays(connection):
        params, same = columns_of(rows)
        connection.execute(insert_unnested(table, tuple(rows[0]), same), params)
    else:
        connection.execute(insert(table).inline(), list(rows))  # inline: no RETURNING of the ids


class IdList(TypeDecorator[list[int]]):
    """A list of ids bound as one parameter: an array on PostgreSQL, JSON text on SQLite (read
    back with json_each). The statement's text is the same for any number of ids, so it is
    compiled, and on PostgreSQL prepared, once — an expanding IN renders a placeholder per id."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(BigInteger()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Iterable[int] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        ids = [int(i) for i in value]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class is_one_of(FunctionElement[bool]):  # noqa: N801 - a SQL function, named like one
    """``column`` is one of the ids bound to ``name`` (an ``IdList``)."""

    type = Boolean()
    inherit_cache = True
    name = "is_one_of"
    # A condition in itself: without this, SQLite (no native boolean) gets "(… IN …) = 1", which
    # its planner cannot turn into an index search — every use scanned the whole index.
    _is_implicitly_boolean = True

    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, bindparam(name, type_=IdList()))


@compiles(is_one_of, "postgresql")
def _is_one_of_postgresql(element: is_one_of, compiler: Any, **kw: Any) -> str:
    column_, ids = list(element.clauses)
    return f"({compiler.process(column_, **kw)} = ANY({compiler.process(ids, **kw)}))"


@compiles(is_one_of)
def _is_one_of_default(element: is_one_of, compiler: Any, **kw: Any) -> str:
    column_, ids = list(element.clauses)
    return (
        f"({compiler.process(column_, **kw)} IN (SELECT value FROM json_each({compiler.process(ids, **kw)})))"
    )
