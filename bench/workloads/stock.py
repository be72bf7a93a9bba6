"""Stock movements per second through the ledger, and what the ledger check costs.

Each posting is one full transaction through ``Database.transaction`` calling
``stock.service.post`` — the matrix asked for the source bucket (lot status, bucket status, the
holds covering it, expiry at the site's date), the storage condition checked, the movement
appended and the on-hand projection updated — as an API call or a scan would do it. Per lot: a
receipt into a QA bin, a release of most of it (a status movement), a move to a freezer bin, a
QC sample. Then a bulk load (large transactions, not timed) grows the ledger, and
``stock.check`` rebuilds every bucket from the ledger and checks every lot's mass balance —
set-based, so its time should grow with the ledger, not with the number of lots squared.
The run fails if any bucket differs or any balance does not close.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bench.harness import BenchContext, WorkloadResult
from lotline.catalog import service as catalog
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.stock import check as ledger_check
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Actor, Database, UnitOfWork

DESCRIPTION = "stock movements/s through the ledger (matrix + storage checks); ledger check time"

BENCH_ACTOR = Actor(kind="system", user_id=None, name="bench")


@dataclass(frozen=True)
class StockScale:
    lots: int  # each gets 4 timed movements
    bulk_lots: int  # each gets 4 more movements in large untimed transactions
    bulk_batch: int = 250


SCALES: dict[str, StockScale] = {
    "smoke": StockScale(lots=10, bulk_lots=20),
    "ci": StockScale(lots=150, bulk_lots=500),
    "full": StockScale(lots=2_500, bulk_lots=50_000),
}


@dataclass(frozen=True)
class Plant:
    product_id: int
    site_id: int
    qa_bin: int
    freezer_bins: tuple[int, ...]


def _plant(db: Database) -> Plant:
    with db.transaction(actor=BENCH_ACTOR) as uow:
        site = sites.create_site(uow, code="B1", name_zh="基准", name_en="Bench", time_zone="Asia/Shanghai")
        frozen = catalog.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal(-18)
        )
        lot_type = catalog.create_lot_type(
            uow, code="FG", name_zh="成品", name_en="Finished", code_template="{site}{yy}{doy:03}{seq:06}"
        )
        product = catalog.create_product(
            uow,
            code="DUMP",
            name_zh="水饺",
            name_en="Dumplings",
            base_unit="EA",
            lot_type_id=lot_type.id,
            storage_condition_id=frozen.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        store = places.create_location(
            uow, site_id=site.id, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )
        qa_bin = places.create_location(
            uow,
            site_id=site.id,
            code="QA",
            name_zh="待验",
            name_en="QA",
            kind="BIN",
            parent_id=store.id,
            is_qa_area=True,
            storage_condition_id=frozen.id,
        ).id
        bins = tuple(
            places.create_location(
                uow,
                site_id=site.id,
                code=f"FZ-{n:03}",
                name_zh=f"冷冻 {n}",
                name_en=f"Freezer {n}",
                kind="BIN",
                parent_id=store.id,
                storage_condition_id=frozen.id,
            ).id
            for n in range(20)
        )
        return Plant(product.id, site.id, qa_bin, bins)


def _new_lots(db: Database, plant: Plant, count: int, batch: int) -> list[int]:
    made: list[int] = []
    while len(made) < count:
        with db.transaction(actor=BENCH_ACTOR) as uow:
            for _ in range(min(batch, count - len(made))):
                lot = lots.register_lot(
                    uow,
                    product_id=plant.product_id,
                    site_id=plant.site_id,
                    source="PRODUCTION",
                    production_date=date(2026, 11, 1),
                )
                lot.quality_status = QualityStatus.RELEASED.value  # released by QA (not timed here)
                made.append(lot.id)
    return made


def _steps(plant: Plant, index: int) -> list[tuple[MovementKind, int, Bucket | None, Bucket | None]]:
    """The four movements of one lot: receive 40, release 36, move them to a freezer, sample 1."""
    qa_q = Bucket(plant.qa_bin, StockStatus.QUARANTINE)
    qa_a = Bucket(plant.qa_bin, StockStatus.AVAILABLE)
    freezer = Bucket(plant.freezer_bins[index % len(plant.freezer_bins)], StockStatus.AVAILABLE)
    return [
        (MovementKind.RECEIPT, 40, None, qa_q),
        (MovementKind.STATUS, 36, qa_q, qa_a),
        (MovementKind.MOVE, 36, qa_a, freezer),
        (MovementKind.QC_SAMPLE, 1, qa_q, None),
    ]


def _post(
    lot: Lot, uow: UnitOfWork, kind: MovementKind, qty: int, source: Bucket | None, target: Bucket | None
) -> None:
    stock.post(
        uow,
        kind=kind,
        lot=lot,
        quantity=Quantity(Decimal(qty)),
        entered_qty=Decimal(qty),
        entered_unit="EA",
        source=source,
        target=target,
    )


def run(ctx: BenchContext) -> WorkloadResult:
    scale = SCALES[ctx.scale]
    db = Database(ctx.settings())
    result = WorkloadResult(
        dataset={
            "timed_lots": scale.lots,
            "timed_movements": scale.lots * 4,
            "bulk_lots": scale.bulk_lots,
            "bulk_movements": scale.bulk_lots * 4,
            "posting": "one transaction per movement: matrix, storage check, ledger row, on-hand upsert",
        }
    )
    try:
        plant = _plant(db)
        timed = _new_lots(db, plant, scale.lots, 500)
        ctx.log(f"posting {len(timed) * 4} movements, one transaction each")
        latencies: list[float] = []
        began = time.perf_counter()
        for index, lot_id in enumerate(timed):
            for kind, qty, source, target in _steps(plant, index):
                start = time.perf_counter()
                with db.transaction(actor=BENCH_ACTOR) as uow:
                    _post(uow.session.get_one(Lot, lot_id), uow, kind, qty, source, target)
                latencies.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - began
        result.metrics["movements_per_s"] = round(len(latencies) / elapsed, 1)
        result.metrics["post_p50_ms"] = round(statistics.median(latencies) * 1000, 2)
        result.metrics["post_p95_ms"] = round(statistics.quantiles(latencies, n=20)[18] * 1000, 2)

        ctx.log(f"bulk: {scale.bulk_lots} lots × 4 movements in transactions of {scale.bulk_batch} lots")
        bulk = _new_lots(db, plant, scale.bulk_lots, scale.bulk_batch)
        for start_at in range(0, len(bulk), scale.bulk_batch):
            with db.transaction(actor=BENCH_ACTOR) as uow:
                for index, lot_id in enumerate(bulk[start_at : start_at + scale.bulk_batch], start=start_at):
                    lot = uow.session.get_one(Lot, lot_id)
                    for kind, qty, source, target in _steps(plant, index):
                        _post(lot, uow, kind, qty, source, target)

        ctx.log("ledger check: every bucket rebuilt, every mass balance")
        began = time.perf_counter()
        with db.transaction(read_only=True) as uow:
            differences = ledger_check.differences(uow)
            balances = ledger_check.mass_balances(uow)
        check_s = time.perf_counter() - began
        total = (scale.lots + scale.bulk_lots) * 4
        result.metrics["ledger_movements"] = total
        result.metrics["check_s"] = round(check_s, 3)
        result.metrics["check_movements_per_s"] = round(total / check_s, 1) if check_s else 0.0
        result.metrics["differences"] = len(differences)
        open_balances = sum(1 for b in balances.values() if not b.closes)
        result.metrics["balances_not_closing"] = open_balances
        if differences:
            result.failures.append(f"{len(differences)} on-hand buckets differ from the ledger")
        if open_balances:
            result.failures.append(f"{open_balances} lots' mass balances do not close")
        if len(balances) != scale.lots + scale.bulk_lots:
            result.failures.append(f"{len(balances)} balances for {scale.lots + scale.bulk_lots} lots")
    finally:
        db.dispose()
    return result
