"""The ``trace`` workload's dataset: a layered genealogy generated per run, loaded in bulk.

The lots form ``clusters`` independent families (a raw material's world: its intermediates and
finished goods), each a DAG of ``depth`` + 1 levels: raw lots at level 0 (received from a
supplier), every lot of a further level made by its own transformation from 1–3 parents of the
level above (so diamonds — one raw lot reaching a lot by two paths — are everywhere), no parent
used more than ``MAX_FANOUT`` times. One product per cluster and level. The last two levels are
shipped: ``shipment_lines`` per cluster, most on the last level, some on the level before; each
shipment line has its ``ship`` ledger movement, its order line and its shipment. A share of the
lots has a stock bucket (the summary's stock part); the 10M stock movements of the issue's full
dataset are not generated (only the shipments' movements).

At ``full``: 20 clusters × 50,000 lots = 1,000,000 lots, about 2,000,000 edges, a forward trace
from a raw lot reaching most of its cluster (~50k lots, ~200k shipment lines); ``ci`` is the same
shape at 1/50 (20,000 lots, ~1k lots and ~4k shipment lines per forward trace).

Rows go in through ``fefo_data.Loader`` (COPY on PostgreSQL, ``executemany`` on SQLite): no ORM,
no audit records (TRAPS.md: fine for benchmark data only).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bench.harness import BenchError
from bench.workloads.fefo_data import (
    BENCH_ACTOR,
    LINE_COLUMNS,
    LOT_COLUMNS,
    ON_HAND_COLUMNS,
    ORDER_COLUMNS,
    PARTNER_COLUMNS,
    PRODUCT_COLUMNS,
    TIME_ZONE,
    Loader,
    next_ids,
)
from lotline.catalog import service as catalog
from lotline.domain.expiry import local_today
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.uow import Database

MAX_FANOUT = 20  # children of one lot, at most
SHIPMENT_SIZE = 40  # shipment lines per shipment (one sales order each)
LAST_LEVEL_SHARE = 0.85  # of the shipment lines; the rest ship lots of the level before
SHIPPED_BEFORE_LAST = 0.3  # share of the level before the last that is shipped as is
ON_HAND_SHARE = 0.2  # share of lots with a stock bucket


@dataclass(frozen=True)
class TraceScale:
    clusters: int
    levels: tuple[int, ...]  # lots per level of one cluster, raw first (depth = len - 1)
    shipment_lines: int  # per cluster
    customers: int
    bins: int
    seeds: int  # raw lots (forward) and finished lots (backward) traced
    repeats: int  # timed runs per seed

    @property
    def lots(self) -> int:
        return self.clusters * sum(self.levels)


SCALES: dict[str, TraceScale] = {
    "smoke": TraceScale(
        clusters=10,
        levels=(1, 2, 4, 6, 10, 14, 18, 20, 25),
        shipment_lines=400,
        customers=5,
        bins=5,
        seeds=3,
        repeats=3,
    ),
    "ci": TraceScale(
        clusters=20,
        levels=(1, 3, 8, 20, 40, 80, 160, 288, 400),
        shipment_lines=4_000,
        customers=50,
        bins=20,
        seeds=5,
        repeats=5,
    ),
    "full": TraceScale(
        clusters=20,
        levels=(5, 20, 80, 300, 1_000, 3_000, 8_000, 15_000, 22_595),
        shipment_lines=200_000,
        customers=500,
        bins=200,
        seeds=5,
        repeats=5,
    ),
}


@dataclass
class Plant:
    site_id: int
    lot_type_id: int
    bins: list[int]
    today: date
    supplier_id: int = 0
    customers: list[int] = field(default_factory=list)


@dataclass
class Counts:
    lots: int = 0
    edges: int = 0
    transformations: int = 0
    diamonds: int = 0  # lots with two parents sharing a parent (the smallest diamond), level ≥ 2
    max_fanout: int = 0
    shipments: int = 0
    shipment_lines: int = 0
    order_lines: int = 0
    stock_rows: int = 0
    receipts: int = 0


@dataclass
class Genealogy:
    """Ids the workload traces from: per cluster, its lots level by level."""

    clusters: list[list[list[int]]] = field(default_factory=list)

    @property
    def raw_lots(self) -> list[list[int]]:
        return [levels[0] for levels in self.clusters]

    @property
    def finished_lots(self) -> list[list[int]]:
        return [levels[-1] for levels in self.clusters]


TRACE_LOT_COLUMNS = [*LOT_COLUMNS, "supplier_id", "supplier_lot_code"]
TRANSFORMATION_COLUMNS = [
    "id",
    "number",
    "kind",
    "site_id",
    "txn_id",
    "occurred_at",
    "recorded_at",
    "actor_name",
]
EDGE_COLUMNS = ["id", "parent_lot_id", "child_lot_id", "transformation_id", "qty", "unit", "occurred_at"]
RECEIPT_COLUMNS = ["id", "number", "site_id", "supplier_id", "location_id", "received_at", "received_by"]
RECEIPT_LINE_COLUMNS = [
    "id",
    "receipt_id",
    "line_no",
    "product_id",
    "lot_id",
    "supplier_lot_code",
    "entered_qty",
    "entered_unit",
    "base_qty",
]
MOVEMENT_COLUMNS = [
    "id",
    "txn_id",
    "kind",
    "lot_id",
    "product_id",
    "site_id",
    "from_location_id",
    "from_status",
    "from_sscc",
    "to_location_id",
    "to_status",
    "to_sscc",
    "entered_qty",
    "entered_unit",
    "base_qty",
    "occurred_at",
    "recorded_at",
    "actor_name",
    "reference_type",
    "reference_id",
]
SHIPMENT_COLUMNS = ["id", "number", "order_id", "site_id", "customer_id", "shipped_at", "shipped_by"]
SHIPMENT_LINE_COLUMNS = [
    "id",
    "shipment_id",
    "order_line_id",
    "lot_id",
    "location_id",
    "sscc",
    "qty_base",
    "movement_id",
]
BULK_TABLES = (
    "product",
    "partner",
    "lot",
    "transformation",
    "genealogy_edge",
    "receipt",
    "receipt_line",
    "stock_on_hand",
    "sales_order",
    "sales_order_line",
    "stock_movement",
    "shipment",
    "shipment_line",
)


def check_scale(name: str) -> TraceScale:
    if name not in SCALES:
        raise BenchError(f"unknown scale {name!r} for trace (use one of: {', '.join(SCALES)})")
    return SCALES[name]


def create_reference(db: Database, scale: TraceScale) -> Plant:
    """Site, lot type and bins through the services (audited), like a real installation."""
    with db.transaction(actor=BENCH_ACTOR) as uow:
        site = sites.create_site(uow, code="W1", name_zh="追溯", name_en="Trace", time_zone=TIME_ZONE)
        lot_type = catalog.create_lot_type(
            uow, code="TR", name_zh="批次", name_en="Lot", code_template="{site}{yy}{doy:03}{seq:06}"
        )
        store = places.create_location(
            uow, site_id=site.id, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )
        bins = [
            places.create_location(
                uow,
                site_id=site.id,
                code=f"B-{n:03}",
                name_zh=f"库位 {n}",
                name_en=f"Bin {n}",
                kind="BIN",
                parent_id=store.id,
            ).id
            for n in range(scale.bins)
        ]
        today = local_today(uow.now(), TIME_ZONE)
        return Plant(site_id=site.id, lot_type_id=lot_type.id, bins=bins, today=today)


def _product(pid: int, cluster: int, level: int, lot_type_id: int, now: datetime) -> tuple[object, ...]:
    return (
        pid,
        f"T{cluster:03d}-{level}",
        f"追溯{cluster}-{level}",
        f"Trace {cluster}-{level}",
        "RAW" if level == 0 else "TRACE",
        "EA",
        False,
        lot_type_id,
        24,
        "MONTHS",
        "USE_BY",
        False,
        False,
        1,
        None,
        None,
        False,
        True,
        now,
        now,
    )


def _partner(pid: int, code: str, name: str, *, supplier: bool, now: datetime) -> tuple[object, ...]:
    return (
        pid,
        code,
        f"{name}（基准）",
        name,
        supplier,
        not supplier,
        False,
        "{}",
        "[]",
        TIME_ZONE,
        1,
        None,
        None,
        True,
        now,
        now,
    )


def _master(
    plant: Plant, scale: TraceScale, ids: dict[str, int], now: datetime
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[list[int]]]:
    """Products (one per cluster and level, returned as ids by cluster) and partners."""
    products: list[tuple[object, ...]] = []
    by_cluster: list[list[int]] = []
    for cluster in range(scale.clusters):
        mine = []
        for level in range(len(scale.levels)):
            pid = ids["product"]
            ids["product"] += 1
            products.append(_product(pid, cluster, level, plant.lot_type_id, now))
            mine.append(pid)
        by_cluster.append(mine)
    partners = []
    plant.supplier_id = ids["partner"]
    ids["partner"] += 1
    partners.append(_partner(plant.supplier_id, "S00001", "Supplier", supplier=True, now=now))
    for n in range(scale.customers):
        cid = ids["partner"]
        ids["partner"] += 1
        plant.customers.append(cid)
        partners.append(_partner(cid, f"C{n:05d}", f"Customer {n}", supplier=False, now=now))
    return products, partners, by_cluster


@dataclass
class _Rows:
    by_table: dict[str, list[tuple[object, ...]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, table: str, row: tuple[object, ...]) -> None:
        self.by_table[table].append(row)


COLUMNS: dict[str, list[str]] = {
    "lot": TRACE_LOT_COLUMNS,
    "transformation": TRANSFORMATION_COLUMNS,
    "genealogy_edge": EDGE_COLUMNS,
    "receipt": RECEIPT_COLUMNS,
    "receipt_line": RECEIPT_LINE_COLUMNS,
    "stock_on_hand": ON_HAND_COLUMNS,
    "sales_order": ORDER_COLUMNS,
    "sales_order_line": LINE_COLUMNS,
    "stock_movement": MOVEMENT_COLUMNS,
    "shipment": SHIPMENT_COLUMNS,
    "shipment_line": SHIPMENT_LINE_COLUMNS,
}


def _pick_parents(level_size: int, fanout: list[int], rng: random.Random) -> list[int]:
    """1–3 distinct parents (positions in the level above), none already at ``MAX_FANOUT``."""
    wanted = min(rng.randint(1, 3), level_size)
    chosen = [p for p in rng.sample(range(level_size), wanted) if fanout[p] < MAX_FANOUT]
    if not chosen:  # every one drawn is full: the first one that is not, from a random start
        start = rng.randrange(level_size)
        chosen = [
            next(
                (start + k) % level_size
                for k in range(level_size)
                if fanout[(start + k) % level_size] < MAX_FANOUT
            )
        ]
    for p in chosen:
        fanout[p] += 1
    return chosen


def _cluster(
    plant: Plant,
    scale: TraceScale,
    cluster: int,
    products: list[int],
    ids: dict[str, int],
    counts: Counts,
    now: datetime,
    rng: random.Random,
    out: _Rows,
) -> list[list[int]]:
    """The lots of one cluster, its transformations, edges, receipts and stock; lot ids by level."""
    made_on = plant.today - timedelta(days=90)
    levels: list[list[int]] = []
    parents_of: dict[int, list[int]] = {}
    for level, size in enumerate(scale.levels):
        day = made_on + timedelta(days=level)
        moment = datetime.combine(day, time(3, 0), UTC)
        expiry = day + timedelta(days=729)
        lot_ids = []
        fanout = [0] * len(levels[-1]) if levels else []
        for n in range(size):
            lot_id = ids["lot"]
            ids["lot"] += 1
            lot_ids.append(lot_id)
            raw = level == 0
            code = f"T{cluster:03d}{level}{n:07d}"
            out.add(
                "lot",
                (
                    lot_id,
                    products[level],
                    code,
                    plant.site_id,
                    plant.lot_type_id,
                    "RELEASED",
                    "SUPPLIER" if raw else "PRODUCTION",
                    day,
                    expiry,
                    '{"bench": true}',
                    "{}",
                    moment,
                    now,
                    plant.supplier_id if raw else None,
                    f"SUP-{cluster:03d}-{n:05d}" if raw else None,
                ),
            )
            counts.lots += 1
            if raw:
                receipt_id = ids["receipt"]
                ids["receipt"] += 1
                out.add(
                    "receipt",
                    (
                        receipt_id,
                        f"R-{receipt_id:07d}",
                        plant.site_id,
                        plant.supplier_id,
                        plant.bins[0],
                        moment,
                        "bench",
                    ),
                )
                out.add(
                    "receipt_line",
                    (
                        ids["receipt_line"],
                        receipt_id,
                        1,
                        products[level],
                        lot_id,
                        f"SUP-{cluster:03d}-{n:05d}",
                        Decimal(1000),
                        "EA",
                        Decimal(1000),
                    ),
                )
                ids["receipt_line"] += 1
                counts.receipts += 1
            else:
                above = levels[-1]
                chosen = [above[p] for p in _pick_parents(len(above), fanout, rng)]
                parents_of[lot_id] = chosen
                grand = [g for p in chosen for g in parents_of.get(p, ())]
                counts.diamonds += len(grand) != len(set(grand))
                tid = ids["transformation"]
                ids["transformation"] += 1
                out.add(
                    "transformation",
                    (
                        tid,
                        f"T-W1-{tid:09d}",
                        "production",
                        plant.site_id,
                        str(uuid.UUID(int=tid)),
                        moment,
                        now,
                        "bench",
                    ),
                )
                counts.transformations += 1
                for parent in chosen:
                    out.add(
                        "genealogy_edge",
                        (
                            ids["genealogy_edge"],
                            parent,
                            lot_id,
                            tid,
                            Decimal(rng.randint(5, 50)),
                            "EA",
                            moment,
                        ),
                    )
                    ids["genealogy_edge"] += 1
                    counts.edges += 1
            if rng.random() < ON_HAND_SHARE:
                out.add(
                    "stock_on_hand",
                    (
                        ids["stock_on_hand"],
                        lot_id,
                        products[level],
                        plant.site_id,
                        rng.choice(plant.bins),
                        "AVAILABLE",
                        "",
                        Decimal(rng.randint(10, 200)),
                        Decimal(0),
                        now,
                    ),
                )
                ids["stock_on_hand"] += 1
                counts.stock_rows += 1
        if fanout:
            counts.max_fanout = max(counts.max_fanout, max(fanout))
        levels.append(lot_ids)
    return levels


def _shipments(
    plant: Plant,
    scale: TraceScale,
    levels: list[list[int]],
    products: list[int],
    ids: dict[str, int],
    counts: Counts,
    now: datetime,
    rng: random.Random,
    out: _Rows,
) -> None:
    """``shipment_lines`` lines of the cluster's last two levels, in shipments of ``SHIPMENT_SIZE``."""
    units: list[tuple[int, int]] = []  # (lot, product), one per shipment line
    last, before = levels[-1], levels[-2]
    shipped_before = [lot for lot in before if rng.random() < SHIPPED_BEFORE_LAST] or before[:1]
    for lots, product, share in (
        (last, products[-1], LAST_LEVEL_SHARE),
        (shipped_before, products[-2], 1 - LAST_LEVEL_SHARE),
    ):
        per_lot = scale.shipment_lines * share / len(lots)
        whole, fraction = int(per_lot), per_lot - int(per_lot)
        for lot in lots:
            units += [(lot, product)] * (whole + (rng.random() < fraction))
    rng.shuffle(units)
    shipped_on = plant.today - timedelta(days=60)
    for start in range(0, len(units), SHIPMENT_SIZE):
        batch = units[start : start + SHIPMENT_SIZE]
        order_id, shipment_id = ids["sales_order"], ids["shipment"]
        ids["sales_order"] += 1
        ids["shipment"] += 1
        customer = rng.choice(plant.customers)
        day = shipped_on + timedelta(days=rng.randint(0, 50))
        shipped_at = datetime.combine(day, time(8, rng.randint(0, 59)), UTC)
        txn = str(uuid.UUID(int=shipment_id))
        out.add(
            "sales_order",
            (order_id, f"TS-{order_id:07d}", customer, plant.site_id, day, "shipped", now, "bench", now),
        )
        out.add(
            "shipment",
            (shipment_id, f"SH-{shipment_id:07d}", order_id, plant.site_id, customer, shipped_at, "bench"),
        )
        counts.shipments += 1
        order_lines: dict[int, int] = {}
        for product in sorted({p for _lot, p in batch}):
            order_lines[product] = ids["sales_order_line"]
            qty = Decimal(sum(10 for _lot, p in batch if p == product))
            out.add(
                "sales_order_line",
                (
                    ids["sales_order_line"],
                    order_id,
                    len(order_lines),
                    product,
                    qty,
                    "EA",
                    qty,
                    day,
                    None,
                    None,
                    "shipped",
                ),
            )
            ids["sales_order_line"] += 1
            counts.order_lines += 1
        for lot, product in batch:
            movement_id = ids["stock_movement"]
            ids["stock_movement"] += 1
            location = rng.choice(plant.bins)
            qty = Decimal(10)
            out.add(
                "stock_movement",
                (
                    movement_id,
                    txn,
                    "ship",
                    lot,
                    product,
                    plant.site_id,
                    location,
                    "AVAILABLE",
                    "",
                    None,
                    None,
                    "",
                    qty,
                    "EA",
                    qty,
                    shipped_at,
                    now,
                    "bench",
                    "shipment",
                    str(shipment_id),
                ),
            )
            out.add(
                "shipment_line",
                (
                    ids["shipment_line"],
                    shipment_id,
                    order_lines[product],
                    lot,
                    location,
                    "",
                    qty,
                    movement_id,
                ),
            )
            ids["shipment_line"] += 1
            counts.shipment_lines += 1


def load_genealogy(
    db: Database, plant: Plant, scale: TraceScale, rng: random.Random
) -> tuple[Counts, Genealogy]:
    """Every row of the dataset, one transaction per cluster (parents before children)."""
    ids = next_ids(db.engine, BULK_TABLES)
    now = datetime.now(UTC)
    counts = Counts()
    genealogy = Genealogy()
    loader = Loader(db.engine)
    try:
        products, partners, by_cluster = _master(plant, scale, ids, now)
        loader.add("product", PRODUCT_COLUMNS, products)
        loader.add("partner", PARTNER_COLUMNS, partners)
        loader.flush()
        for cluster, mine in enumerate(by_cluster):
            out = _Rows()
            levels = _cluster(plant, scale, cluster, mine, ids, counts, now, rng, out)
            _shipments(plant, scale, levels, mine, ids, counts, now, rng, out)
            genealogy.clusters.append(levels)
            for table, columns in COLUMNS.items():
                loader.add(table, columns, out.by_table.get(table, []))
            loader.flush()
        loader.finish(BULK_TABLES)
    finally:
        loader.close()
    return counts, genealogy
