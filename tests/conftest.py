"""Test databases: migrations run once per worker into a template; every test starts from it.

SQLite: the template file is copied per test (no savepoint tricks, so the pysqlite
commit-escapes-rollback trap in TRAPS.md cannot bite). PostgreSQL: copies of the template
(``CREATE DATABASE … TEMPLATE …``) are reused: when a test is done with one, its leftover
connections are terminated and the database is emptied back to the migrated state (rows the
migrations seed and sequence positions included) — or dropped and replaced if the test changed
its schema — before the next test of the same worker gets it; see tests/pg_pool.py. Tests
commit real transactions and may open many connections or processes either way. Set
LOTLINE_TEST_DATABASE_URL to run on PostgreSQL; tests marked ``postgres`` run only in that pass.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The console (rich) takes its width from COLUMNS when lotline.clikit is imported; without a
# terminal — a pytest-xdist worker — it would wrap at 80 columns and split the values the CLI
# tests look for. Set before lotline is imported below.
os.environ.setdefault("COLUMNS", "250")

import psycopg
import pytest
from argon2.profiles import CHEAPEST
from sqlalchemy.engine import make_url

from lotline import migrate
from lotline.auth import passwords
from lotline.config import Settings
from lotline.db import make_engine
from lotline.uow import Database
from tests.pg_pool import PostgresDatabases

TEST_DATABASE_URL = os.environ.get("LOTLINE_TEST_DATABASE_URL", "").strip() or None
IN_CI = os.environ.get("CI", "").lower() == "true"
AUDIT_KEY = "test-audit-key-kept-outside-the-database"
_counter = itertools.count()
pytest_plugins = ["tests.app_fixtures"]

# Password hashing at production cost would dominate the suite's run time; the hashing itself
# is argon2-cffi's, and tests only need hashes that verify.
passwords.use_parameters(CHEAPEST)


def backend() -> str:
    return make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"


def pytest_report_header(config: pytest.Config) -> str:
    shown = (
        make_url(TEST_DATABASE_URL).render_as_string(hide_password=True) if TEST_DATABASE_URL else "SQLite"
    )
    return f"lotline test database: {shown}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgresql":
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgres") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def migrate_to_head(url: str) -> None:
    engine = make_engine(url, pool=False)
    migrate.upgrade(engine)
    engine.dispose()


class DatabaseProvider:
    """Hands each test a database in the freshly migrated state (see the module docstring)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.kind = backend()
        if self.kind == "sqlite":
            self.template = str(workdir / "template.db")
            migrate_to_head(f"sqlite:///{self.template}")
            return
        assert TEST_DATABASE_URL is not None
        server = make_url(TEST_DATABASE_URL)
        try:
            self.postgres = PostgresDatabases(server, migrate_to_head)
        except psycopg.OperationalError as exc:
            pytest.exit(
                f"PostgreSQL at {server.render_as_string(hide_password=True)} is unreachable: {exc}", 3
            )

    def new_database(self) -> str:
        """A database in the freshly migrated state, the caller's alone until it gives it back."""
        if self.kind == "sqlite":
            target = self.workdir / f"test-{next(_counter)}.db"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        return self.postgres.acquire()

    def drop_database(self, url: str) -> None:
        """The caller is done with ``url``: the SQLite file is deleted; a PostgreSQL database is
        reset for a later test (dropped and replaced if the test changed its schema)."""
        if self.kind == "sqlite":
            path = make_url(url).database or ""
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        else:
            self.postgres.release(url)

    def close(self) -> None:
        if self.kind != "sqlite":
            self.postgres.close()


@pytest.fixture(scope="session")
def database_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseProvider]:
    provider = DatabaseProvider(tmp_path_factory.mktemp("db"))
    yield provider
    provider.close()


@pytest.fixture
def database_url(database_provider: DatabaseProvider) -> Iterator[str]:
    url = database_provider.new_database()
    yield url
    database_provider.drop_database(url)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "audit_key": AUDIT_KEY,
        "default_language": "en",
        "default_time_zone": "Asia/Shanghai",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@dataclass
class FakeClock:
    """A clock the test moves by hand; every unit of work reads it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def scenario_db(database_provider: DatabaseProvider) -> Iterator[Database]:
    """One database shared by a whole module: for scenario tests that build a rich dataset once
    (a season of receipts, shipments and recalls) and then check it many ways."""
    url = database_provider.new_database()
    database = Database(make_settings(url))
    yield database
    database.dispose()
    database_provider.drop_database(url)
