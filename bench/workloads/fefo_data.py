"""The ``fefo`` workload's dataset: generated per run (never committed), loaded in bulk.

One site, a warehouse of bins and a QA bin, products whose numbers of lots follow a Zipf-like
curve (the hottest few have ``hot_lots`` lots each), each lot in one to three bins. Expiry
dates spread over two years (a few already past), a few per cent of lots quarantined or
rejected, some with a retained sample (留样) bucket, some released lots on hold (whole lot or
one bin). Customers have a minimum remaining shelf life at delivery (days or per cent) and
transit days; some products ship FIFO and some have their own minimum at shipment.

Rows go in with COPY on PostgreSQL and ``executemany`` on SQLite, through the raw driver
connection: no ORM, no audit records, no ledger movements (TRAPS.md: fine for benchmark
data only). The on-hand rows are therefore not backed by movements; the workload does not run
the ledger check.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from bench.harness import BenchError
from lotline.catalog import service as catalog
from lotline.domain.expiry import local_today
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.uow import Actor, Database

BENCH_ACTOR = Actor(kind="system", user_id=None, name="bench")
TIME_ZONE = "Asia/Shanghai"
SHELF_LIFE_DAYS = 730  # every product: 24 months, so no lot was made in the future
CHUNK_PRODUCTS = 500  # products generated and loaded per transaction


@dataclass(frozen=True)
class FefoScale:
    products: int
    hot_products: int
    hot_lots: int  # lots of each hot product
    stock_rows: int  # lot × location buckets aimed at (the dataset reports the exact count)
    bins: int
    customers: int
    wave_lines: int
    single_lines: int
    ops_per_allocator: int  # allocations + releases per concurrent allocator process
    allocators: int = 4
    lines_per_order: int = 10


SCALES: dict[str, FefoScale] = {
    "smoke": FefoScale(
        products=40,
        hot_products=2,
        hot_lots=60,
        stock_rows=1_000,
        bins=10,
        customers=5,
        wave_lines=100,
        single_lines=20,
        ops_per_allocator=10,
    ),
    "ci": FefoScale(
        products=200,
        hot_products=3,
        hot_lots=300,
        stock_rows=10_000,
        bins=20,
        customers=20,
        wave_lines=1_000,
        single_lines=100,
        ops_per_allocator=30,
    ),
    "full": FefoScale(
        products=20_000,
        hot_products=10,
        hot_lots=5_000,
        stock_rows=1_000_000,
        bins=200,
        customers=200,
        wave_lines=10_000,
        single_lines=2_000,
        ops_per_allocator=300,
    ),
}


@dataclass
class Plant:
    """What the reference data created: ids the generator and the orders refer to."""

    site_id: int
    lot_type_id: int
    qa_bin: int
    bins: list[int]
    today: date
    products: list[int] = field(default_factory=list)  # by popularity: hottest first
    customers: list[tuple[int, int, int | None, Decimal | None]] = field(default_factory=list)


@dataclass
class Counts:
    lots: int = 0
    stock_rows: int = 0
    quarantined_lots: int = 0
    rejected_lots: int = 0
    retained_samples: int = 0
    holds: int = 0
    expired_lots: int = 0
    orders: int = 0
    order_lines: int = 0


# --- bulk loading ---------------------------------------------------------------------------


def _pg_text(value: object) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # int, Decimal, and str without tabs, newlines or backslashes


def _sqlite_value(value: object) -> object:
    if isinstance(value, Decimal):  # ExactDecimal: an INTEGER count of millionths on SQLite
        return int(value.scaleb(6))
    if isinstance(value, datetime):  # UTCDateTime: naive UTC, SQLAlchemy's storage format
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class Loader:
    """Writes generated rows with the backend's fast path, one transaction per ``batch``."""

    def __init__(self, engine: Engine) -> None:
        self.backend = engine.dialect.name
        self.raw = engine.raw_connection()
        self.driver: Any = self.raw.driver_connection
        self._pending: list[tuple[str, Sequence[str], list[tuple[object, ...]]]] = []

    def add(self, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
        if rows:
            self._pending.append((table, columns, rows))

    def flush(self) -> None:
        """Write everything added, in order (parents before children), in one transaction."""
        if self.backend == "postgresql":
            with self.driver.cursor() as cursor:
                for table, columns, rows in self._pending:
                    data = "".join("\t".join(map(_pg_text, row)) + "\n" for row in rows)
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write(data)
            self.driver.commit()
        else:
            cursor = self.driver.cursor()
            cursor.execute("BEGIN")
            for table, columns, rows in self._pending:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    ([_sqlite_value(v) for v in row] for row in rows),
                )
            cursor.execute("COMMIT")
            cursor.close()
        self._pending.clear()

    def finish(self, tables: Sequence[str]) -> None:
        """Move the id sequences past the ids given explicitly, and refresh planner statistics."""
        cursor = self.driver.cursor()
        if self.backend == "postgresql":
            for table in tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            self.driver.commit()
            self.driver.autocommit = True
            cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")
            self.driver.autocommit = False
        else:
            cursor.execute("ANALYZE")
        cursor.close()

    def close(self) -> None:
        self.raw.close()


def next_ids(engine: Engine, tables: Sequence[str]) -> dict[str, int]:
    """The first free id of each table (reference rows made through the services come first)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        found = {}
        for table in tables:
            cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
            (first,) = cursor.fetchone() or (1,)
            found[table] = int(first)
        cursor.close()
        raw.commit()
        return found
    finally:
        raw.close()


# --- generation -----------------------------------------------------------------------------

PRODUCT_COLUMNS = [
    "id",
    "code",
    "name_zh",
    "name_en",
    "category",
    "base_unit",
    "catch_weight",
    "lot_type_id",
    "shelf_life_amount",
    "shelf_life_unit",
    "expiry_kind",
    "round_to_month_end",
    "supplier_date_wins",
    "shelf_life_version",
    "min_ship_days",
    "allocation_strategy",
    "reuse_supplier_lot",
    "active",
    "created_at",
    "updated_at",
]
PARTNER_COLUMNS = [
    "id",
    "code",
    "name_zh",
    "name_en",
    "is_supplier",
    "is_customer",
    "is_carrier",
    "address",
    "contacts",
    "time_zone",
    "default_transit_days",
    "min_delivery_days",
    "min_delivery_percent",
    "active",
    "created_at",
    "updated_at",
]
LOT_COLUMNS = [
    "id",
    "product_id",
    "code",
    "site_id",
    "lot_type_id",
    "quality_status",
    "source",
    "production_date",
    "expiry_date",
    "expiry_provenance",
    "attributes",
    "created_at",
    "updated_at",
]
ON_HAND_COLUMNS = [
    "id",
    "lot_id",
    "product_id",
    "site_id",
    "location_id",
    "stock_status",
    "sscc",
    "qty_base",
    "qty_allocated",
    "updated_at",
]
HOLD_COLUMNS = ["id", "lot_id", "site_id", "hold_type", "reason", "location_id", "placed_at", "placed_by"]
ORDER_COLUMNS = [
    "id",
    "number",
    "customer_id",
    "site_id",
    "ship_date",
    "status",
    "created_at",
    "created_by",
    "updated_at",
]
LINE_COLUMNS = [
    "id",
    "order_id",
    "line_no",
    "product_id",
    "entered_qty",
    "entered_unit",
    "qty_base",
    "delivery_date",
    "min_days",
    "min_percent",
    "status",
]
BULK_TABLES = ("product", "partner", "lot", "stock_on_hand", "hold", "sales_order", "sales_order_line")


def lots_per_product(scale: FefoScale, rng: random.Random) -> list[int]:
    """How many lots each product has, hottest first: ``hot_lots`` each, then a Zipf-like tail."""
    buckets_per_lot = 1.985  # one to three bins, plus the odd retained sample (measured)
    total_lots = round(scale.stock_rows / buckets_per_lot)
    tail = scale.products - scale.hot_products
    remaining = max(total_lots - scale.hot_products * scale.hot_lots, tail)
    weights = [1 / (rank + 1) ** 0.6 for rank in range(tail)]
    total_weight = sum(weights)
    counts = [max(1, round(remaining * w / total_weight)) for w in weights]
    rng.shuffle(counts[len(counts) // 2 :])  # the long tail is not sorted in real life either
    return [scale.hot_lots] * scale.hot_products + counts


def create_reference(db: Database, scale: FefoScale) -> Plant:
    """Site, lot type and bins through the services (audited), like a real installation."""
    with db.transaction(actor=BENCH_ACTOR) as uow:
        site = sites.create_site(uow, code="W2", name_zh="基准", name_en="Bench", time_zone=TIME_ZONE)
        lot_type = catalog.create_lot_type(
            uow, code="FG", name_zh="成品", name_en="Finished", code_template="{site}{yy}{doy:03}{seq:06}"
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
        ).id
        bins = [
            places.create_location(
                uow,
                site_id=site.id,
                code=f"A-{n:03}",
                name_zh=f"常温 {n}",
                name_en=f"Ambient {n}",
                kind="BIN",
                parent_id=store.id,
            ).id
            for n in range(scale.bins)
        ]
        today = local_today(uow.now(), TIME_ZONE)
        return Plant(site_id=site.id, lot_type_id=lot_type.id, qa_bin=qa_bin, bins=bins, today=today)


def _master_rows(
    plant: Plant, scale: FefoScale, first: dict[str, int], now: datetime, rng: random.Random
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    products: list[tuple[object, ...]] = []
    for n in range(scale.products):
        pid = first["product"] + n
        plant.products.append(pid)
        fifo = n % 10 == 7  # one product in ten ships first in, first out
        min_ship = 30 if n % 5 == 3 else None
        products.append(
            (
                pid,
                f"P{n:06d}",
                f"产品{n}",
                f"Product {n}",
                f"CAT{n % 20:02d}",
                "EA",
                False,
                plant.lot_type_id,
                24,
                "MONTHS",
                "USE_BY",
                False,
                False,
                1,
                min_ship,
                "fifo" if fifo else None,
                False,
                True,
                now,
                now,
            )
        )
    customers: list[tuple[object, ...]] = []
    for n in range(scale.customers):
        cid = first["partner"] + n
        transit = 1 + n % 3
        kind = n % 10
        days = (30, 60, 90, 180)[n % 4] if kind < 4 else None
        percent = (Decimal(50), Decimal(70))[n % 2] if 4 <= kind < 7 else None
        plant.customers.append((cid, transit, days, percent))
        customers.append(
            (
                cid,
                f"C{n:05d}",
                f"客户{n}",
                f"Customer {n}",
                False,
                True,
                False,
                "{}",
                "[]",
                TIME_ZONE,
                transit,
                days,
                percent,
                True,
                now,
                now,
            )
        )
    return products, customers


@dataclass
class _StockRows:
    lots: list[tuple[object, ...]] = field(default_factory=list)
    on_hand: list[tuple[object, ...]] = field(default_factory=list)
    holds: list[tuple[object, ...]] = field(default_factory=list)


def _product_stock(
    plant: Plant,
    pid: int,
    lot_count: int,
    ids: dict[str, int],
    counts: Counts,
    now: datetime,
    rng: random.Random,
    out: _StockRows,
) -> None:
    for n in range(lot_count):
        lot_id = ids["lot"]
        ids["lot"] += 1
        expiry = plant.today + timedelta(days=rng.randint(-30, 700))
        made = expiry - timedelta(days=SHELF_LIFE_DAYS - 1)
        received = datetime.combine(made + timedelta(days=1), time(2, rng.randint(0, 59)), UTC)
        draw = rng.random()
        quality = "QUARANTINE" if draw < 0.03 else "REJECTED" if draw < 0.035 else "RELEASED"
        counts.lots += 1
        counts.expired_lots += expiry < plant.today
        out.lots.append(
            (
                lot_id,
                pid,
                f"L{pid:06d}-{n:05d}",
                plant.site_id,
                plant.lot_type_id,
                quality,
                "PRODUCTION",
                made,
                expiry,
                '{"bench": true}',
                "{}",
                received,
                now,
            )
        )
        if quality != "RELEASED":
            places_of = [(plant.qa_bin, quality)]
            counts.quarantined_lots += quality == "QUARANTINE"
            counts.rejected_lots += quality == "REJECTED"
        else:
            places_of = [(b, "AVAILABLE") for b in rng.sample(plant.bins, rng.randint(1, 3))]
            if rng.random() < 0.02:
                places_of.append((places_of[0][0], "RETAINED_SAMPLE"))
                counts.retained_samples += 1
            if rng.random() < 0.02:
                hold_at = places_of[0][0] if rng.random() < 0.5 else None
                out.holds.append(
                    (
                        ids["hold"],
                        lot_id,
                        plant.site_id,
                        rng.choice(("QA", "EXCURSION", "DEVIATION")),
                        "bench hold",
                        hold_at,
                        now,
                        "bench",
                    )
                )
                ids["hold"] += 1
                counts.holds += 1
        for location_id, status in places_of:
            qty = Decimal(rng.randint(2, 6) if status == "RETAINED_SAMPLE" else rng.randint(10, 200))
            out.on_hand.append(
                (
                    ids["stock_on_hand"],
                    lot_id,
                    pid,
                    plant.site_id,
                    location_id,
                    status,
                    "",
                    qty,
                    Decimal(0),
                    now,
                )
            )
            ids["stock_on_hand"] += 1
            counts.stock_rows += 1


def load_stock(
    db: Database, plant: Plant, scale: FefoScale, rng: random.Random
) -> tuple[Counts, dict[str, int]]:
    """Products, customers, lots, buckets and holds, in transactions of ``CHUNK_PRODUCTS`` products."""
    ids = next_ids(db.engine, BULK_TABLES)
    now = datetime.now(UTC)
    counts = Counts()
    loader = Loader(db.engine)
    try:
        products, customers = _master_rows(plant, scale, ids, now, rng)
        loader.add("product", PRODUCT_COLUMNS, products)
        loader.add("partner", PARTNER_COLUMNS, customers)
        loader.flush()
        plan = lots_per_product(scale, rng)
        for start in range(0, len(plant.products), CHUNK_PRODUCTS):
            out = _StockRows()
            for pid, lot_count in zip(
                plant.products[start : start + CHUNK_PRODUCTS],
                plan[start : start + CHUNK_PRODUCTS],
                strict=True,
            ):
                _product_stock(plant, pid, lot_count, ids, counts, now, rng, out)
            loader.add("lot", LOT_COLUMNS, out.lots)
            loader.add("stock_on_hand", ON_HAND_COLUMNS, out.on_hand)
            loader.add("hold", HOLD_COLUMNS, out.holds)
            loader.flush()
        loader.finish(BULK_TABLES)
    finally:
        loader.close()
    return counts, ids


def _popular_product(plant: Plant, rng: random.Random) -> int:
    """A product drawn by popularity, P(rank ≥ r) = (r + 1)^-¼: the hot products get about half the lines."""
    count = len(plant.products)
    while True:
        rank = int(rng.paretovariate(0.25)) - 1  # heavy tail; rejection keeps it in range
        if rank < count:
            return plant.products[rank]


@dataclass
class OrderSet:
    """Orders of one phase: each entry is the line ids of one order."""

    name: str
    lines: list[list[int]] = field(default_factory=list)

    @property
    def line_ids(self) -> list[int]:
        return [line for order in self.lines for line in order]


def load_orders(
    db: Database,
    plant: Plant,
    ids: dict[str, int],
    plan: Sequence[tuple[str, int, int, Sequence[int] | None]],
    counts: Counts,
    rng: random.Random,
) -> dict[str, OrderSet]:
    """Orders per phase: (name, orders, lines per order, products to draw from — None: by popularity)."""
    now = datetime.now(UTC)
    ship = plant.today + timedelta(days=1)
    orders: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    found: dict[str, OrderSet] = {}
    for name, order_count, per_order, products in plan:
        phase = found.setdefault(name, OrderSet(name))
        for _ in range(order_count):
            order_id = ids["sales_order"]
            ids["sales_order"] += 1
            customer, transit, days, percent = rng.choice(plant.customers)
            orders.append(
                (order_id, f"BW-{order_id:07d}", customer, plant.site_id, ship, "open", now, "bench", now)
            )
            mine = []
            for line_no in range(1, per_order + 1):
                pid = rng.choice(products) if products else _popular_product(plant, rng)
                qty = Decimal(rng.randint(5, 80))
                delivery = ship + timedelta(days=transit)
                lines.append(
                    (
                        ids["sales_order_line"],
                        order_id,
                        line_no,
                        pid,
                        qty,
                        "EA",
                        qty,
                        delivery,
                        days,
                        percent,
                        "open",
                    )
                )
                mine.append(ids["sales_order_line"])
                ids["sales_order_line"] += 1
            phase.lines.append(mine)
    counts.orders += len(orders)
    counts.order_lines += len(lines)
    loader = Loader(db.engine)
    try:
        for start in range(0, len(orders), 2_000):
            loader.add("sales_order", ORDER_COLUMNS, orders[start : start + 2_000])
            loader.flush()
        for start in range(0, len(lines), 20_000):
            loader.add("sales_order_line", LINE_COLUMNS, lines[start : start + 20_000])
            loader.flush()
        loader.finish(("sales_order", "sales_order_line"))
    finally:
        loader.close()
    return found


def chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_scale(name: str) -> FefoScale:
    if name not in SCALES:
        raise BenchError(f"unknown scale {name!r} for fefo (use one of: {', '.join(SCALES)})")
    return SCALES[name]
