"""Side measurements taken while a workload runs: machine CPU use, and who waits on locks.

``CpuMeter`` reads /proc/stat (Linux; elsewhere it reports nothing). ``LockSampler`` polls
PostgreSQL's ``pg_stat_activity`` from its own connection and counts, per role (taken from
each connection's ``application_name``, which ``tagged_url`` sets), how often a connection
was seen waiting on a heavyweight lock (``wait_event_type = 'Lock'``; advisory locks included).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PROC_STAT = Path("/proc/stat")


def tagged_url(database_url: str, application_name: str) -> str:
    """``database_url`` with ``application_name`` set on PostgreSQL (unchanged on SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    return url.update_query_dict({"application_name": application_name}).render_as_string(hide_password=False)


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (Linux; None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs since boot, or None off Linux."""
    try:
        fields = PROC_STAT.read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


class CpuMeter:
    """Share of the whole machine's CPU time spent busy between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self._began: tuple[int, int] | None = None
        self.busy_share: float | None = None

    def start(self) -> None:
        self._began = _cpu_times()

    def stop(self) -> float | None:
        ended = _cpu_times()
        if self._began is None or ended is None or ended[1] == self._began[1]:
            return None
        self.busy_share = (ended[0] - self._began[0]) / (ended[1] - self._began[1])
        return self.busy_share


@dataclass
class LockCounts:
    """Connections of one role seen in samples, and how many of those sightings waited on a lock."""

    seen: int = 0
    waiting: int = 0
    wait_events: Counter[str] = field(default_factory=Counter)

    @property
    def waiting_pct(self) -> float:
        return 100.0 * self.waiting / self.seen if self.seen else 0.0


class LockSampler:
    """Polls ``pg_stat_activity`` every ``interval_s`` in a thread (PostgreSQL only)."""

    QUERY = text(
        "SELECT application_name, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE :prefix"
    )

    def __init__(self, database_url: str, *, prefix: str = "bench-", interval_s: float = 0.02) -> None:
        self.enabled = make_url(database_url).get_backend_name() == "postgresql"
        self.database_url = database_url
        self.prefix = prefix
        self.interval_s = interval_s
        self.samples = 0
        self.roles: dict[str, LockCounts] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def role(application_name: str) -> str:
        """``bench-writer-3`` → ``writer``."""
        parts = application_name.split("-")
        return parts[1] if len(parts) > 1 else application_name

    def start(self) -> None:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="bench-lock-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def counts(self, role: str) -> LockCounts:
        return self.roles.get(role, LockCounts())

    def _run(self) -> None:
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                while not self._stop.wait(self.interval_s):
                    rows = connection.execute(self.QUERY, {"prefix": f"{self.prefix}%"}).all()
                    self.samples += 1
                    for name, wait_type, wait_event in rows:
                        counts = self.roles.setdefault(self.role(str(name)), LockCounts())
                        counts.seen += 1
                        if wait_type == "Lock":
                            counts.waiting += 1
                            counts.wait_events[str(wait_event)] += 1
        finally:
            engine.dispose()
