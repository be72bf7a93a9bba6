"""Mock recall (W5): from a raw lot, the recall scope (its forward closure) and the FDA FSMA 204
sortable spreadsheet of every event touching it, written as CSV and as XLSX.

The dataset is the ``trace`` workload's (``trace_data``), generated per run: at ``full`` 1,000,000
lots in 20 families; a raw lot's forward closure reaches most of its family (~50k lots), whose
events are ~200k shipment lines, ~100k transformation input/output pairs and the raw lot's one
receipt line. Its site and partners get addresses and a GLN first (the master data a real
installation has, which ``trace_data`` leaves empty). A transformation row's quantity of the new
lot comes from the transformation's PRODUCE movements: a dataset without them
(``produce_movements`` = 0 in the dataset) leaves every transformation row missing that KDE,
listed under "Missing KDEs" — a worst case for the writers.

Each timed run is one mock recall from scratch in its own read-only unit of work: the closure,
then ``trace.fsma`` streams the scope's rows into a file in a temporary directory —

- ``mock_recall_csv_s``: the CSV and its companion list of the rows missing KDEs;
- ``mock_recall_xlsx_s``: the XLSX workbook (both sheets);
- ``fsma_rows``, ``fsma_rows_missing_kdes``, ``lots_in_scope``; ``csv_mb``, ``xlsx_mb``;

each the median over ``repeats`` runs (one at ``full``). Targets at ``full`` (docs/performance.md):
~200k rows, CSV ≤ 3 s, XLSX ≤ 20 s; reported, not asserted. Checks: both files have as many rows
as ``fsma.count_rows`` counts for the scope, and there are lots and rows at all.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, update

from bench.harness import BenchContext, WorkloadResult
from bench.workloads.trace_data import check_scale, create_reference, load_genealogy
from lotline.models.catalog import Partner
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.trace import fsma
from lotline.trace.engine import Direction, closure
from lotline.uow import Database

DESCRIPTION = "Mock recall: forward closure of a raw lot, then its FSMA 204 spreadsheet as CSV and XLSX"

REPEATS = {"smoke": 1, "ci": 3, "full": 1}
SITE_ADDRESS = {"street": "1 Bench Road", "city": "Shanghai", "postcode": "201612", "country": "CN"}
PARTNER_ADDRESS = {"street": "2 Partner Street", "city": "Hangzhou", "postcode": "310000", "country": "CN"}


def _complete_master_data(db: Database, site_id: int) -> None:
    """The addresses and GLNs a live installation holds (trace_data leaves them empty)."""
    with db.transaction() as uow:
        uow.session.execute(
            update(Site).where(Site.id == site_id).values(gln="6901234000016", address=SITE_ADDRESS)
        )
        uow.session.execute(update(Partner).values(address=PARTNER_ADDRESS))


def _produce_movements(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return int(
            uow.session.scalar(
                select(func.count()).select_from(StockMovement).where(StockMovement.kind == "produce")
            )
            or 0
        )


def _recall(db: Database, seed: int, out: Path, form: str) -> tuple[float, int, fsma.Written]:
    """One mock recall from scratch: (seconds, lots in scope, what was written)."""
    began = time.perf_counter()
    with db.transaction(read_only=True) as uow:
        scope = closure(uow, lot_ids=[seed], direction=Direction.FORWARD)
        filters = fsma.resolve_filters(uow, lot_ids=scope)
        rows = fsma.spreadsheet_rows(uow, filters)
        if form == "csv":
            companion = out.with_name(f"{out.stem}-missing-kdes.csv")
            with (
                out.open("w", encoding="utf-8", newline="") as sheet,
                companion.open("w", encoding="utf-8", newline="") as missing,
            ):
                written = fsma.write_csv(rows, sheet, missing)
        else:
            written = fsma.write_xlsx(rows, out)
    return time.perf_counter() - began, len(scope), written


def _counted(db: Database, seed: int) -> int:
    with db.transaction(read_only=True) as uow:
        scope = closure(uow, lot_ids=[seed], direction=Direction.FORWARD)
        return fsma.count_rows(uow, fsma.resolve_filters(uow, lot_ids=scope))


def run(ctx: BenchContext) -> WorkloadResult:
    scale = check_scale(ctx.scale)
    repeats = REPEATS.get(ctx.scale, 1)
    db = Database(ctx.settings())
    result = WorkloadResult()
    try:
        began = time.perf_counter()
        plant = create_reference(db, scale)
        ctx.log(f"generating {scale.lots:,} lots in {scale.clusters} families (the trace dataset)")
        counts, genealogy = load_genealogy(db, plant, scale, random.Random(2026))
        _complete_master_data(db, plant.site_id)
        result.dataset.update(vars(counts))
        result.dataset.update(
            families=scale.clusters,
            depth=len(scale.levels) - 1,
            repeats=repeats,
            produce_movements=_produce_movements(db),
            load_s=round(time.perf_counter() - began, 1),
        )
        seed = genealogy.raw_lots[0][0]
        expected = _counted(db, seed)
        timings: dict[str, list[float]] = {"csv": [], "xlsx": []}
        with tempfile.TemporaryDirectory(prefix="lotline-mock-recall-") as workdir:
            for form in ("csv", "xlsx"):
                out = Path(workdir) / f"fsma204.{form}"
                ctx.log(f"mock recall from raw lot {seed}: FSMA 204 {form.upper()} × {repeats}")
                for _ in range(repeats):
                    seconds, scoped, written = _recall(db, seed, out, form)
                    timings[form].append(seconds)
                result.metrics[f"{form}_mb"] = round(out.stat().st_size / 2**20, 2)
                if written.rows != expected:
                    result.failures.append(f"{form}: {written.rows} rows written, {expected} counted")
                result.metrics["lots_in_scope"] = scoped
                result.metrics["fsma_rows"] = written.rows
                result.metrics["fsma_rows_missing_kdes"] = written.rows_missing_kdes
        result.metrics["mock_recall_csv_s"] = round(statistics.median(timings["csv"]), 3)
        result.metrics["mock_recall_xlsx_s"] = round(statistics.median(timings["xlsx"]), 3)
        if result.metrics["lots_in_scope"] < 1 or result.metrics["fsma_rows"] < 1:
            result.failures.append("the mock recall found no lots or no rows")
    finally:
        db.dispose()
    return result
