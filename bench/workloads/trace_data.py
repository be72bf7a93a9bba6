"""The ``trace`` workload's dataset: a layered genealogy and its stock ledger, generated per run,
loaded in bulk.

The lots form ``clusters`` independent families (a raw material's world: its intermediates and
finished goods), each a DAG of ``depth`` + 1 levels: raw lots at level 0 (received from a
supplier), every lot of a further level made by its own transformation from 1–3 parents of the
level above (so diamonds — one raw lot reaching a lot by two paths — are everywhere), no parent
used more than ``MAX_FANOUT`` times. One product per cluster and level. The last two levels are
shipped: ``shipment_lines`` per cluster, most on the last level, some on the level before; each
shipment line has its ``ship`` movement, its order line and its shipment.

The ledger (``stock_movement``) tells every lot's whole life, ``movements_per_lot`` rows per
lot on average (10: the issue's 10M movements for 1M lots). On the day it is made, a lot is
received (raw: a ``receipt`` citing its receipt line) or produced (a ``produce`` sharing its
transformation's ``txn_id``, as ``production.service`` writes it) into quarantine at the dock,
released (``status``) and put away; the next day every child's transformation consumes from it
(one ``consume`` per genealogy edge, the edge's quantity, the child's ``txn_id``); later it is
shipped. Spread over the lots, enough ``qc_sample``, ``move``, ``adjust_up`` and
``adjust_down`` movements fill the ledger to its size; a lot nothing used up is ``scrap``-ped.
Quantities are worked out backwards from what leaves the lot, so every bucket's movements add
up to its ``stock_on_hand`` row (a fifth of the lots keep some stock, where they were put away
or last moved; ``stock.check.differences`` finds nothing), every lot's mass balance closes and
no bucket is ever negative at any instant: a trace ``as_of`` any moment reads a consistent
ledger.

At ``full``: 20 clusters × 50,000 lots = 1,000,000 lots, about 2,000,000 edges, 4,000,000
shipment lines, 10,000,000 movements; a forward trace from a raw lot reaches most of its cluster
(~50k lots, ~200k shipment lines). ``ci`` is the same shape at 1/50 (20,000 lots, 200,000
movements; ~1k lots and ~4k shipment lines per forward trace). ``add_families`` appends
families to a database already loaded (the series mode grows one database from 1k to 1M lots).

Rows go in through ``fefo_data.Loader`` (COPY on PostgreSQL, ``executemany`` on SQLite), one
transaction per family: no ORM, no audit records (TRAPS.md: fine for benchmark data only).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
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
SHIP_QTY = Decimal(10)  # per shipment line
# The movements that fill the ledger up to ``movements_per_lot``, and their shares.
EXTRA_KINDS = ("move", "qc_sample", "adjust_down", "adjust_up")
EXTRA_WEIGHTS = (0.55, 0.2, 0.15, 0.1)
# The first digits of the generated txn ids: one namespace per kind of business transaction.
TXN_TRANSFORMATION, TXN_SHIPMENT, TXN_RECEIPT, TXN_SINGLE = 1, 2, 3, 4


@dataclass(frozen=True)
class TraceScale:
    clusters: int
    levels: tuple[int, ...]  # lots per level of one cluster, raw first (depth = len - 1)
    shipment_lines: int  # per cluster
    customers: int
    bins: int
    seeds: int  # raw lots (forward) and finished lots (backward) traced
    repeats: int  # timed runs per seed
    movements_per_lot: int = 10  # the ledger's size, on average

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


@dataclass(frozen=True)
class SeriesScale:
    """One database grown by appending families of one shape: ``steps`` are the families it
    holds at each measurement (the trace's result stays the same size, the database grows)."""

    family: TraceScale  # the shape of every family (its ``clusters`` is not used)
    steps: tuple[int, ...]

    @property
    def family_lots(self) -> int:
        return sum(self.family.levels)


# ``series``: 1,000-lot families (the ci shape) — 1k, 10k, 100k and 1M lots.
SERIES: dict[str, SeriesScale] = {"series": SeriesScale(family=SCALES["ci"], steps=(1, 10, 100, 1_000))}


@dataclass
class Plant:
    site_id: int
    lot_type_id: int
    bins: list[int]
    today: date
    supplier_id: int = 0
    customers: list[int] = field(default_factory=list)

    @property
    def dock(self) -> int:
        """Where lots are received and produced (in quarantine until released)."""
        return self.bins[0]

    @property
    def storage(self) -> list[int]:
        return self.bins[1:]


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
    movements: int = 0
    movement_kinds: dict[str, int] = field(default_factory=dict)


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
            for n in range(max(scale.bins, 2))  # the dock and at least one storage bin
        ]
        today = local_today(uow.now(), TIME_ZONE)
        return Plant(site_id=site.id, lot_type_id=lot_type.id, bins=bins, today=today)


def _txn(namespace: int, number: int) -> str:
    """A txn id (UUID-shaped, like ``stock.service.new_txn``'s) that is the same on every run."""
    return f"{namespace:08x}-0000-4000-8000-{number:012x}"


def _product(pid: int, cluster: int, level: int, lot_type_id: int, now: datetime) -> tuple[object, ...]:
    return (
        pid,
        f"T{cluster:04d}-{level}",
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


def _partners(
    plant: Plant, scale: TraceScale, ids: dict[str, int], now: datetime
) -> list[tuple[object, ...]]:
    """The supplier and the customers (once per database)."""
    partners = []
    plant.supplier_id = ids["partner"]
    ids["partner"] += 1
    partners.append(_partner(plant.supplier_id, "S00001", "Supplier", supplier=True, now=now))
    for n in range(scale.customers):
        cid = ids["partner"]
        ids["partner"] += 1
        plant.customers.append(cid)
        partners.append(_partner(cid, f"C{n:05d}", f"Customer {n}", supplier=False, now=now))
    return partners


def _products(
    plant: Plant, scale: TraceScale, clusters: range, ids: dict[str, int], now: datetime
) -> tuple[list[tuple[object, ...]], list[list[int]]]:
    """One product per cluster and level (returned as ids by cluster)."""
    products: list[tuple[object, ...]] = []
    by_cluster: list[list[int]] = []
    for cluster in clusters:
        mine = []
        for level in range(len(scale.levels)):
            pid = ids["product"]
            ids["product"] += 1
            products.append(_product(pid, cluster, level, plant.lot_type_id, now))
            mine.append(pid)
        by_cluster.append(mine)
    return products, by_cluster


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


@dataclass(slots=True)
class _Life:
    """What the ledger needs of one lot, gathered while its family is generated."""

    lot_id: int
    product_id: int
    made_at: datetime
    made_by: int | None  # its transformation; None: received (raw)
    receipt: tuple[int, str] | None  # (receipt id, supplier lot code) of a raw lot
    store: int  # the bin it ends up in: consumed, shipped and held from there
    consumed: list[tuple[int, Decimal, datetime]] = field(default_factory=list)  # (transformation, qty, at)
    shipped: Decimal = Decimal(0)
    ship_lines: int = 0


Bucket = tuple[int, str]  # (location, stock status): where a movement takes stock from or to
AVAILABLE, QUARANTINE = "AVAILABLE", "QUARANTINE"


@dataclass
class _Ledger:
    """Writes a family's movement rows (ids in order, one ``recorded_at``), counting their kinds."""

    out: _Rows
    ids: dict[str, int]
    site_id: int
    now: datetime
    kinds: Counter[str] = field(default_factory=Counter)

    def post(
        self,
        life: _Life,
        kind: str,
        qty: Decimal,
        at: datetime,
        source: Bucket | None = None,
        target: Bucket | None = None,
        *,
        txn: str | None = None,
        reference: tuple[str, int] | None = None,
    ) -> int:
        """One movement of ``life``'s lot (in a transaction of its own unless ``txn``); its id."""
        movement_id = self.ids["stock_movement"]
        self.ids["stock_movement"] += 1
        from_location, from_status = source or (None, None)
        to_location, to_status = target or (None, None)
        self.out.add(
            "stock_movement",
            (
                movement_id,
                txn or _txn(TXN_SINGLE, movement_id),
                kind,
                life.lot_id,
                life.product_id,
                self.site_id,
                from_location,
                from_status,
                "",
                to_location,
                to_status,
                "",
                qty,
                "EA",
                qty,
                at,
                self.now,
                "bench",
                reference[0] if reference else None,
                str(reference[1]) if reference else None,
            ),
        )
        self.kinds[kind] += 1
        return movement_id


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
    lives: dict[int, _Life],
) -> list[list[int]]:
    """The lots of one cluster, its transformations, edges and receipts; lot ids by level."""
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
            supplier_code = f"SUP-{cluster:04d}-{n:05d}" if raw else None
            out.add(
                "lot",
                (
                    lot_id,
                    products[level],
                    f"T{cluster:04d}{level}{n:07d}",
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
                    supplier_code,
                ),
            )
            counts.lots += 1
            life = _Life(lot_id, products[level], moment, None, None, rng.choice(plant.storage))
            lives[lot_id] = life
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
                        plant.dock,
                        moment,
                        "bench",
                    ),
                )
                life.receipt = (receipt_id, supplier_code or "")
                counts.receipts += 1
                continue
            above = levels[-1]
            chosen = [above[p] for p in _pick_parents(len(above), fanout, rng)]
            parents_of[lot_id] = chosen
            grand = [g for p in chosen for g in parents_of.get(p, ())]
            counts.diamonds += len(grand) != len(set(grand))
            tid = ids["transformation"]
            ids["transformation"] += 1
            life.made_by = tid
            out.add(
                "transformation",
                (
                    tid,
                    f"T-W1-{tid:09d}",
                    "production",
                    plant.site_id,
                    _txn(TXN_TRANSFORMATION, tid),
                    moment,
                    now,
                    "bench",
                ),
            )
            counts.transformations += 1
            for parent in chosen:
                qty = Decimal(rng.randint(5, 50))
                out.add(
                    "genealogy_edge",
                    (ids["genealogy_edge"], parent, lot_id, tid, qty, "EA", moment),
                )
                lives[parent].consumed.append((tid, qty, moment))
                ids["genealogy_edge"] += 1
                counts.edges += 1
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
    lives: dict[int, _Life],
    ledger: _Ledger,
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
        txn = _txn(TXN_SHIPMENT, shipment_id)
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
            qty = SHIP_QTY * sum(1 for _lot, p in batch if p == product)
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
            life = lives[lot]
            movement_id = ledger.post(
                life,
                "ship",
                SHIP_QTY,
                shipped_at,
                (life.store, AVAILABLE),
                txn=txn,
                reference=("shipment", shipment_id),
            )
            life.shipped += SHIP_QTY
            life.ship_lines += 1
            out.add(
                "shipment_line",
                (
                    ids["shipment_line"],
                    shipment_id,
                    order_lines[product],
                    lot,
                    life.store,
                    "",
                    SHIP_QTY,
                    movement_id,
                ),
            )
            ids["shipment_line"] += 1
            counts.shipment_lines += 1


def _extras(
    lives: list[_Life], keeps: list[Decimal], scale: TraceScale, rng: random.Random
) -> list[list[str]]:
    """The filler movements' kinds, per lot: as many as the ledger lacks of its size."""
    written = sum(
        3 + len(life.consumed) + life.ship_lines + (not (life.consumed or life.ship_lines or kept))
        for life, kept in zip(lives, keeps, strict=True)
    )  # made, released, put away; consumed, shipped; scrapped when nothing else took it
    wanted = max(0, scale.movements_per_lot * len(lives) - written)
    chosen: list[list[str]] = [[] for _ in lives]
    kinds = rng.choices(EXTRA_KINDS, EXTRA_WEIGHTS, k=wanted)
    for position, kind in zip(rng.choices(range(len(lives)), k=wanted), kinds, strict=True):
        chosen[position].append(kind)
    return chosen


def _life(
    plant: Plant, life: _Life, extras: list[str], kept: Decimal, ledger: _Ledger, rng: random.Random
) -> None:
    """Every movement of one lot but its shipments (written with them), and its stock bucket.

    Quantities are worked out backwards: what the lot ends the day it was made with is what its
    children consume, what is shipped and kept, or else scrapped; the counts of that day and the
    samples taken before its release come on top of that."""
    samples = [Decimal(rng.randint(1, 2)) for kind in extras if kind == "qc_sample"][:15]
    later = [kind for kind in extras if kind != "qc_sample"][:100]  # ten minutes apart, that day
    counted = [Decimal(rng.randint(1, 3)) if kind != "move" else Decimal(0) for kind in later]
    used = sum((qty for _tid, qty, _at in life.consumed), Decimal(0)) + life.shipped
    scrap = Decimal(0) if used or kept else Decimal(rng.randint(10, 100))
    # On hand before each of the day's counts and moves, walked back from the end of the day.
    before = [used + kept + scrap]
    for kind, qty in zip(reversed(later), reversed(counted), strict=True):
        before.append(before[-1] - qty if kind == "adjust_up" else before[-1] + qty)
    before.reverse()
    short = 1 - min(before)
    if short > 0:  # the counts found more than there would be: the surplus is scrapped
        scrap += short
        before = [qty + short for qty in before]
    made = before[0] + sum(samples, Decimal(0))
    at = life.made_at
    dock_quarantine, dock = (plant.dock, QUARANTINE), (plant.dock, AVAILABLE)
    if life.receipt is None:
        tid = life.made_by or 0
        ledger.post(
            life,
            "produce",
            made,
            at,
            None,
            dock_quarantine,
            txn=_txn(TXN_TRANSFORMATION, tid),
            reference=("transformation", tid),
        )
    else:
        receipt_id, supplier_code = life.receipt
        line_id = ledger.ids["receipt_line"]
        ledger.ids["receipt_line"] += 1
        ledger.out.add(
            "receipt_line",
            (line_id, receipt_id, 1, life.product_id, life.lot_id, supplier_code, made, "EA", made),
        )
        ledger.post(
            life,
            "receipt",
            made,
            at,
            None,
            dock_quarantine,
            txn=_txn(TXN_RECEIPT, receipt_id),
            reference=("receipt_line", line_id),
        )
    for n, qty in enumerate(samples):
        ledger.post(life, "qc_sample", qty, at + timedelta(minutes=10 + n), dock_quarantine)
    ledger.post(life, "status", before[0], at + timedelta(minutes=30), dock_quarantine, dock)
    path = [rng.choice(plant.storage) for _ in range(later.count("move"))] + [life.store]
    here = (path.pop(0), AVAILABLE)
    ledger.post(life, "putaway", before[0], at + timedelta(minutes=60), dock, here)
    for n, (kind, qty) in enumerate(zip(later, counted, strict=True)):
        when = at + timedelta(minutes=120 + 10 * n)
        if kind == "move":
            there = (path.pop(0), AVAILABLE)
            ledger.post(life, kind, before[n], when, here, there)
            here = there
        elif kind == "adjust_up":
            ledger.post(life, kind, qty, when, None, here, reference=("count", life.lot_id))
        else:
            ledger.post(life, kind, qty, when, here, reference=("count", life.lot_id))
    for tid, qty, when in life.consumed:
        ledger.post(
            life,
            "consume",
            qty,
            when,
            here,
            txn=_txn(TXN_TRANSFORMATION, tid),
            reference=("transformation", tid),
        )
    if scrap:
        ledger.post(
            life, "scrap", scrap, datetime.combine(at.date() + timedelta(days=1), time(12), UTC), here
        )
    if kept:
        ids = ledger.ids
        row = (
            ids["stock_on_hand"],
            life.lot_id,
            life.product_id,
            ledger.site_id,
            here[0],
            AVAILABLE,
            "",
            kept,
        )
        ledger.out.add("stock_on_hand", (*row, Decimal(0), ledger.now))
        ids["stock_on_hand"] += 1


def _ledger(
    plant: Plant, scale: TraceScale, lives: list[_Life], counts: Counts, ledger: _Ledger, rng: random.Random
) -> None:
    """The family's stock: a fifth of its lots keep a bucket; every lot's movements."""
    keeps = [Decimal(rng.randint(10, 200)) if rng.random() < ON_HAND_SHARE else Decimal(0) for _ in lives]
    for life, extras, kept in zip(lives, _extras(lives, keeps, scale, rng), keeps, strict=True):
        _life(plant, life, extras, kept, ledger, rng)
        counts.stock_rows += kept > 0


def add_families(
    db: Database,
    plant: Plant,
    scale: TraceScale,
    families: int,
    rng: random.Random,
    counts: Counts,
    genealogy: Genealogy,
) -> None:
    """Append ``families`` families of ``scale``'s shape (numbered on from those in ``genealogy``),
    one transaction each, then refresh the planner's statistics."""
    ids = next_ids(db.engine, BULK_TABLES)
    now = datetime.now(UTC)
    loader = Loader(db.engine)
    try:
        first = len(genealogy.clusters)
        products, by_cluster = _products(plant, scale, range(first, first + families), ids, now)
        loader.add("product", PRODUCT_COLUMNS, products)
        if not plant.customers:
            loader.add("partner", PARTNER_COLUMNS, _partners(plant, scale, ids, now))
        loader.flush()
        for cluster, mine in enumerate(by_cluster, start=first):
            out = _Rows()
            ledger = _Ledger(out, ids, plant.site_id, now)
            lives: dict[int, _Life] = {}
            levels = _cluster(plant, scale, cluster, mine, ids, counts, now, rng, out, lives)
            _shipments(plant, scale, levels, mine, ids, counts, now, rng, out, lives, ledger)
            _ledger(plant, scale, list(lives.values()), counts, ledger, rng)
            genealogy.clusters.append(levels)
            counts.movements += sum(ledger.kinds.values())
            counts.movement_kinds = dict(sorted((Counter(counts.movement_kinds) + ledger.kinds).items()))
            for table, columns in COLUMNS.items():
                loader.add(table, columns, out.by_table.get(table, []))
            loader.flush()
        loader.finish(BULK_TABLES)
    finally:
        loader.close()


def load_genealogy(
    db: Database, plant: Plant, scale: TraceScale, rng: random.Random
) -> tuple[Counts, Genealogy]:
    """Every row of the dataset, one transaction per cluster (parents before children)."""
    counts, genealogy = Counts(), Genealogy()
    add_families(db, plant, scale, scale.clusters, rng, counts, genealogy)
    return counts, genealogy
