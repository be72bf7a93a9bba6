"""What every workload gets: a freshly migrated database, the settings to reach it, a progress log.

SQLite: a new file in a temporary directory per run. PostgreSQL: the database named by
``LOTLINE_BENCH_DATABASE_URL`` (default ``.../bench``) is dropped and recreated per run —
never truncated, because the audit tables refuse DELETE and TRUNCATE. The harness refuses
to touch the ``test`` database (the test suite's) or any database whose name lacks ``bench``.
"""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bench.probes import CpuMeter
from lotline.config import Settings
from lotline.db import make_engine

BENCH_URL_ENV = "LOTLINE_BENCH_DATABASE_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
BENCH_AUDIT_KEY = "bench-audit-key"
BACKENDS = ("sqlite", "postgres")
SCALES = ("ci", "full")
# Not offered in --help: for the harness's own unit test, which checks that a run works at all.
HIDDEN_SCALES = ("smoke", "series")  # series: the trace only
# Databases the harness will never drop, whatever the URL says.
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})

Metric = int | float


class BenchError(Exception):
    """A problem the harness reports in one line and exits on (no traceback)."""


@dataclass
class WorkloadResult:
    """What a workload measured: the data it ran on, its figures, and what went wrong."""

    dataset: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@dataclass
class BenchContext:
    """Handed to a workload's ``run``: one clean, migrated database for this run."""

    workload: str
    backend: str
    scale: str
    database_url: str
    progress: Console

    def settings(self) -> Settings:
        """Settings for a ``Database`` on the bench database (picklable: pass the URL, not these)."""
        return bench_settings(self.database_url)

    def log(self, message: str) -> None:
        self.progress.log(message)


def bench_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, audit_key=BENCH_AUDIT_KEY, _env_file=None)


def postgres_url() -> URL:
    """The bench PostgreSQL URL, checked: never ``test``, never a database without ``bench``."""
    raw = os.environ.get(BENCH_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise BenchError(f"{BENCH_URL_ENV} must be a postgresql URL, got {url.get_backend_name()!r}")
    name = url.database or ""
    if name == "test":
        raise BenchError(
            f"{BENCH_URL_ENV} points at the database 'test', which belongs to the test suite; "
            "the harness drops its database on every run — use e.g. .../bench"
        )
    if name in PROTECTED_DATABASES or "bench" not in name:
        raise BenchError(
            f"refusing to drop and recreate database {name!r}: the bench database's name must "
            "contain 'bench' (the harness drops it on every run)"
        )
    return url


def _recreate_postgres(url: URL) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = (url.database or "").replace('"', '""')
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        shown = url.render_as_string(hide_password=True)
        raise BenchError(f"cannot recreate the bench database {shown}: {exc}") from exc
    finally:
        admin.dispose()


def _migrate(url: str) -> None:
    from lotline import migrate  # Alembic is slow to import; only a run needs it

    engine = make_engine(url, pool=False)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """The URL of an empty database at the newest schema, for one run."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lotline-bench-") as workdir:
            url = f"sqlite:///{Path(workdir) / 'bench.db'}"
            _migrate(url)
            yield url
        return
    if backend == "postgres":
        parsed = postgres_url()
        _recreate_postgres(parsed)
        url = parsed.render_as_string(hide_password=False)
        _migrate(url)
        # Left in place after the run for inspection; the next run drops it.
        yield url
        return
    raise BenchError(f"unknown database backend {backend!r} (use one of: {', '.join(BACKENDS)})")


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _server_version(database_url: str) -> str | None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                return str(connection.execute(text("SHOW server_version")).scalar_one())
            return str(connection.execute(text("SELECT sqlite_version()")).scalar_one())
    except Exception:  # noqa: BLE001 - the version is informative only
        return None
    finally:
        engine.dispose()


def _memory_gib() -> float | None:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * page_size / 2**30, 1)


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _background_cpu_pct(seconds: float = 1.0) -> float | None:
    """Share of the machine's CPU time others used over ``seconds`` (this run is idle meanwhile)."""
    meter = CpuMeter()
    meter.start()
    time.sleep(seconds)
    busy = meter.stop()
    return None if busy is None else round(100 * busy, 1)


def _cpu_reference_ms(rounds: int = 5) -> float:
    """A fixed piece of pure-Python work (building and sorting 200,000 small tuples), best of
    ``rounds``: the same code takes twice as long on some days on a shared host, so runs taken on
    different days are compared through this figure (or run back to back)."""
    best = math.inf
    for _ in range(rounds):
        began = time.perf_counter()
        sorted((n * 7919 % 1_000_003, str(n)) for n in range(200_000))
        best = min(best, time.perf_counter() - began)
    return round(best * 1000, 1)


def environment(database_url: str) -> dict[str, object]:
    """The machine and library versions the figures were measured with."""
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "sqlalchemy": _version("sqlalchemy"),
        "psycopg": _version("psycopg"),
        "lotline": _version("lotline"),
        "sqlite_library": sqlite3.sqlite_version,
        "database_server": _server_version(database_url),
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        # Other work on the machine skews every figure: how busy it was just before the run.
        "load_average_1m": _load_average(),
        "background_cpu_busy_pct": _background_cpu_pct(),
        "cpu_reference_ms": _cpu_reference_ms(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
