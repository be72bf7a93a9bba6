"""Audited business changes per second, with the audit sealer running, and what it costs to verify.

Each write is one full transaction through ``Database.transaction`` calling
``sites.service.update_site`` (a real audited change: the site row, an audit record with its
MAC, a pending marker and an outbox event). Writers are separate OS processes (multiprocessing
"spawn", started once and reused by both phases), each with its own ``Database``, each renaming
its own site — so they share no row and only contend where the design makes them. A
``BackgroundSealer`` runs in the parent during each phase, so sealing competes with the
writers as it does in production.

Phases: 1 writer, then 4 writers, on the same database. Then a bulk set of audit records
(written in large transactions, not timed) is sealed with nothing else running and the whole
chain is verified. The run fails (exit 1) if the chain does not verify.
"""

from __future__ import annotations

import multiprocessing
import queue
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench.harness import BenchContext, BenchError, WorkloadResult, bench_settings
from bench.probes import CpuMeter, LockSampler, process_cpu_s, tagged_url
from lotline.audit import service as audit
from lotline.audit.sealer import BackgroundSealer, seal_pending
from lotline.audit.verify import verify_chain
from lotline.models.audit import AuditPending, AuditRecord
from lotline.sites import service as sites
from lotline.uow import Database

DESCRIPTION = "audited changes/s from 1 and 4 writer processes, sealer running; seal lag; verify speed"


@dataclass(frozen=True)
class AuditScale:
    writes_per_writer: int
    writer_counts: tuple[int, ...]
    bulk_records: int  # extra records sealed and verified after the writer phases
    bulk_batch: int = 500


SCALES: dict[str, AuditScale] = {
    # "smoke" is the harness's hidden scale: the unit test's, checking that the run works at all.
    "smoke": AuditScale(writes_per_writer=25, writer_counts=(1, 4), bulk_records=100),
    "ci": AuditScale(writes_per_writer=300, writer_counts=(1, 4), bulk_records=2_000),
    "full": AuditScale(writes_per_writer=1_000, writer_counts=(1, 4), bulk_records=50_000),
}

# The parent's sealer wakes this often; writers live in other processes, so their commits
# cannot poke it (in production the process that commits pokes its own sealer).
SEALER_INTERVAL_S = 0.05
START_TIMEOUT_S = 120.0
PHASE_TIMEOUT_S = 1_800.0
SEAL_TIMEOUT_S = 300.0


@dataclass
class PhaseFigures:
    writers: int
    writes: int
    elapsed_s: float
    latencies_ms: list[float]
    backlog_at_finish: int
    seal_lag_s: float | None
    errors: list[str]
    cpu_busy_share: float | None
    locks: LockSampler
    writer_cpu_s: float
    server_cpu_s: float | None

    @property
    def writes_per_s(self) -> float:
        return self.writes / self.elapsed_s if self.elapsed_s > 0 else 0.0


# A writer's task: (site_id, number of changes, wall-clock instant to start at); None: exit.
Task = tuple[int, int, float] | None


def _writes(db: Database, index: int, site_id: int, count: int, server_pid: int | None) -> dict[str, Any]:
    """``count`` audited renames of one site, one transaction each, timed one by one."""
    latencies: list[float] = []
    outcome: dict[str, Any] = {"index": index, "writes": 0, "latencies_ms": latencies}
    server_cpu = process_cpu_s(server_pid) if server_pid else None
    cpu = time.process_time()
    outcome["start"] = time.time()
    try:
        for number in range(count):
            began = time.perf_counter()
            with db.transaction() as uow:
                sites.update_site(
                    uow, site_id=site_id, changes={"name_en": f"Bench writer {index} #{number}"}, reason=None
                )
            latencies.append((time.perf_counter() - began) * 1000)
            outcome["writes"] = number + 1
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        outcome["error"] = f"writer {index}: {type(exc).__name__}: {exc}"
    outcome["end"] = time.time()
    outcome["cpu_s"] = time.process_time() - cpu
    if server_pid and server_cpu is not None:
        after = process_cpu_s(server_pid)
        outcome["server_cpu_s"] = None if after is None else after - server_cpu
    return outcome


def _writer(database_url: str, index: int, tasks: Queue[Task], results: Queue[dict[str, Any]]) -> None:
    """A writer process: its own ``Database``; runs the tasks it is sent until it gets None."""
    sys.stdout = sys.stderr  # the parent's stdout carries the JSON result only
    db = Database(bench_settings(tagged_url(database_url, f"bench-writer-{index}")))
    try:
        with db.transaction(read_only=True) as uow:  # connect before any clock starts
            server_pid = backend_pid(uow.session)
        results.put({"index": index, "ready": True})
        while (task := tasks.get()) is not None:
            site_id, count, start_at = task
            time.sleep(max(0.0, start_at - time.time()))
            results.put(_writes(db, index, site_id, count, server_pid))
    finally:
        db.dispose()


class WriterPool:
    """Writer processes started once ("spawn", so each imports lotline afresh) and reused by phases."""

    def __init__(self, database_url: str, size: int) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.results: Queue[dict[str, Any]] = spawn.Queue()
        self.tasks: list[Queue[Task]] = [spawn.Queue() for _ in range(size)]
        self._closed = False
        self.processes: list[SpawnProcess] = [
            spawn.Process(
                target=_writer,
                args=(database_url, index, self.tasks[index], self.results),
                name=f"bench-audit-writer-{index}",
                daemon=True,
            )
            for index in range(size)
        ]
        for process in self.processes:
            process.start()

    def _next(self, deadline: float) -> dict[str, Any]:
        while True:
            try:
                return self.results.get(timeout=0.5)
            except queue.Empty:
                dead = [p.name for p in self.processes if p.exitcode is not None]
                if dead:
                    raise BenchError(f"writer process(es) exited unexpectedly: {', '.join(dead)}") from None
                if time.time() > deadline:
                    raise BenchError("writer processes stopped answering") from None

    def wait_ready(self) -> None:
        deadline = time.time() + START_TIMEOUT_S
        for _ in self.processes:
            self._next(deadline)

    def run(self, site_ids: list[int], count: int) -> list[dict[str, Any]]:
        """Writer i renames ``site_ids[i]`` ``count`` times; all start at the same instant."""
        start_at = time.time() + 0.2
        for index, site_id in enumerate(site_ids):
            self.tasks[index].put((site_id, count, start_at))
        deadline = time.time() + PHASE_TIMEOUT_S
        return [self._next(deadline) for _ in site_ids]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


def backend_pid(session: Session) -> int | None:
    """The PostgreSQL server process serving this session (the pool keeps reusing it), else None."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _pending(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(AuditPending)).scalar_one())


def _records(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(AuditRecord)).scalar_one())


def _wait_until_sealed(db: Database, sealer: BackgroundSealer) -> float | None:
    """The wall-clock instant nothing is pending any more (None on timeout)."""
    began = time.time()
    sealer.poke()  # as the last writer's commit would, had it run in this process
    while _pending(db):
        if time.time() - began > SEAL_TIMEOUT_S:
            return None
        time.sleep(0.005)
    return time.time()


def _phase(
    ctx: BenchContext, pool: WriterPool, db: Database, sealer_db: Database, site_ids: list[int], count: int
) -> PhaseFigures:
    """``len(site_ids)`` writers at once with a sealer running; then the time until all is sealed."""
    sealer = BackgroundSealer(sealer_db, interval_s=SEALER_INTERVAL_S)
    locks = LockSampler(ctx.database_url)
    cpu = CpuMeter()
    sealer.start()
    try:
        ctx.log(f"{len(site_ids)} writer(s) × {count} audited changes running…")
        cpu.start()
        locks.start()
        try:
            outcomes = pool.run(site_ids, count)
        finally:
            locks.stop()
            cpu.stop()
        finished = max(float(o["end"]) for o in outcomes)
        backlog = _pending(db)
        sealed_at = _wait_until_sealed(db, sealer)
    finally:
        sealer.stop()
    began = min(float(o["start"]) for o in outcomes)
    return PhaseFigures(
        writers=len(site_ids),
        writes=sum(int(o["writes"]) for o in outcomes),
        elapsed_s=finished - began,
        latencies_ms=[ms for o in outcomes for ms in o["latencies_ms"]],
        backlog_at_finish=backlog,
        seal_lag_s=None if sealed_at is None else sealed_at - finished,
        errors=[str(o["error"]) for o in outcomes if "error" in o],
        cpu_busy_share=cpu.busy_share,
        locks=locks,
        writer_cpu_s=sum(float(o["cpu_s"]) for o in outcomes),
        server_cpu_s=_total(o.get("server_cpu_s") for o in outcomes),
    )


def _total(values: Iterable[float | None]) -> float | None:
    """The sum, or None if any value is missing."""
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _percentiles(latencies_ms: list[float]) -> dict[str, float]:
    if len(latencies_ms) < 2:
        return {}
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def _bulk_records(db: Database, site_id: int, total: int, batch: int) -> None:
    """``total`` audit records in transactions of ``batch`` (dataset for sealing and verifying)."""
    written = 0
    while written < total:
        size = min(batch, total - written)
        with db.transaction() as uow:
            for number in range(written, written + size):
                audit.record(
                    uow,
                    action="update",
                    entity_type="site",
                    entity_id=site_id,
                    changes={"name_en": [f"bulk {number - 1}", f"bulk {number}"]},
                    site_id=site_id,
                )
        written += size


def _report_phase(result: WorkloadResult, figures: PhaseFigures) -> None:
    """Metrics ``<name>_<writers>`` for one phase."""
    metrics, suffix = result.metrics, f"_{figures.writers}"
    result.failures.extend(figures.errors)
    metrics[f"audit_writes_per_s{suffix}"] = round(figures.writes_per_s, 1)
    for name, value in _percentiles(figures.latencies_ms).items():
        metrics[f"audit_write_{name}_ms{suffix}"] = round(value, 2)
    metrics[f"seal_backlog_at_finish{suffix}"] = figures.backlog_at_finish
    if figures.seal_lag_s is None:
        result.failures.append(
            f"{figures.writers} writer(s): records still pending {SEAL_TIMEOUT_S:.0f} s later"
        )
    else:
        metrics[f"seal_lag_s{suffix}"] = round(figures.seal_lag_s, 3)
    if figures.cpu_busy_share is not None:
        metrics[f"cpu_busy_pct{suffix}"] = round(100 * figures.cpu_busy_share, 1)
    if figures.writes:
        metrics[f"writer_cpu_ms_per_write{suffix}"] = round(1000 * figures.writer_cpu_s / figures.writes, 2)
        if figures.server_cpu_s is not None:
            metrics[f"server_cpu_ms_per_write{suffix}"] = round(
                1000 * figures.server_cpu_s / figures.writes, 2
            )
    if figures.locks.enabled:
        result.dataset[f"lock_samples{suffix}"] = figures.locks.samples
        for role in ("writer", "sealer"):
            counts = figures.locks.counts(role)
            metrics[f"{role}_lock_wait_pct{suffix}"] = round(counts.waiting_pct, 2)
            if counts.wait_events:
                result.dataset[f"{role}_lock_waits{suffix}"] = dict(counts.wait_events)


def run(ctx: BenchContext) -> WorkloadResult:
    scale = SCALES[ctx.scale]
    busiest = max(scale.writer_counts)
    result = WorkloadResult(
        dataset={
            "writes_per_writer": scale.writes_per_writer,
            "writer_counts": list(scale.writer_counts),
            **{f"audited_changes_{n}": n * scale.writes_per_writer for n in scale.writer_counts},
            "sites": busiest,
            "bulk_records": scale.bulk_records,
            "sealer": f"BackgroundSealer thread in the parent process, woken every {SEALER_INTERVAL_S} s",
        }
    )
    metrics = result.metrics
    pool = WriterPool(ctx.database_url, busiest)  # the processes start while the sites are created
    db = Database(bench_settings(tagged_url(ctx.database_url, "bench-main")))
    sealer_db = Database(bench_settings(tagged_url(ctx.database_url, "bench-sealer")))
    try:
        with db.transaction() as uow:
            site_ids = [
                sites.create_site(
                    uow, code=f"BENCH{n}", name_zh=f"基准{n}", name_en=f"Bench {n}", time_zone="UTC"
                ).id
                for n in range(busiest)
            ]
        seal_pending(db)
        pool.wait_ready()

        for writers in scale.writer_counts:
            figures = _phase(ctx, pool, db, sealer_db, site_ids[:writers], scale.writes_per_writer)
            _report_phase(result, figures)
            lag = "?" if figures.seal_lag_s is None else f"{figures.seal_lag_s:.3f}"
            ctx.log(
                f"{writers} writer(s): {figures.writes} changes in {figures.elapsed_s:.2f} s "
                f"= {figures.writes_per_s:.0f}/s; backlog {figures.backlog_at_finish}, "
                f"all sealed {lag} s later"
            )
        if f"seal_lag_s_{busiest}" in metrics:  # the headline lag is the busiest phase's
            metrics["seal_lag_s"] = metrics[f"seal_lag_s_{busiest}"]

        pool.close()
        ctx.log(f"writing {scale.bulk_records} more audit records for the seal and verify figures…")
        _bulk_records(db, site_ids[0], scale.bulk_records, scale.bulk_batch)
        began = time.perf_counter()
        sealed = seal_pending(db)
        seal_s = time.perf_counter() - began
        metrics["seal_records_per_s"] = round(sealed.sealed / seal_s, 1) if seal_s > 0 else 0.0
        if sealed.rejected:
            result.failures.append(f"the sealer rejected {len(sealed.rejected)} record(s)")

        ctx.log("verifying the chain…")
        records = _records(db)
        result.dataset["audit_records"] = records
        began = time.perf_counter()
        with db.transaction(read_only=True) as uow:
            report = verify_chain(uow)
        verify_s = time.perf_counter() - began
        metrics["verify_records_per_s"] = round(report.links / verify_s, 1) if verify_s > 0 else 0.0
        metrics["verify_s"] = round(verify_s, 3)
        metrics["chain_links"] = report.links
        metrics["chain_pending"] = report.pending
        metrics["chain_breaks"] = len(report.breaks)
        result.failures.extend(f"chain break: {problem.describe()}" for problem in report.breaks[:5])
        if report.links != records:
            result.failures.append(f"{records} audit records but {report.links} links in the chain")
    finally:
        pool.close()
        db.dispose()
        sealer_db.dispose()
    return result
