"""A wave allocated fast: read the head of each product's ranked stock, step over what is gone.

The same lots, quantities and shortfalls as ``domain.allocation.allocate_wave`` over every
eligible bucket (the service's wave path before), for a fraction of the work:

- The lines of a product are grouped in classes that may take the same stock (the same
  earliest expiry, the same minimum in per cent; a minimum in per cent also bounds the expiry
  from below, by the product's shortest lot shelf life). Each class reads only the first eligible
  buckets from its earliest expiry on, in exactly ``rank``'s order — three, and two more per
  line — by an ORDER BY … LIMIT that walks the lot (product_id, expiry_date) or (product_id,
  created_at) index and stops: every class in one LATERAL query on PostgreSQL, in UNION ALL
  chunks of 384 on SQLite. A line walks the product's buckets only up to where its class's
  read stopped.
- ``domain.allocation.allocate`` fills each line from an iterator that steps over the buckets
  earlier lines emptied (path-halving "next live bucket" pointers, so in O(1) on average) and
  the buckets expiring before the earliest date the line's own minimums allow — buckets it
  would only have passed over.
- A product where a line came up short where its class's read stopped is read in full and
  filled again, so the outcome never depends on where a read stopped.

What a wave's proposals no longer carry: the buckets stepped over are not named among those
passed over. Explanations (``allocate_order``, ``explain_line``) do not come this way.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Date,
    Float,
    Integer,
    bindparam,
    column,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, Select
from sqlalchemy.types import TypeEngine

from lotline.db import days_between, in_code_point_order, joins_laterally
from lotline.domain.allocation import Candidate, Chosen, Demand, Proposal, Strategy, allocate, rank
from lotline.domain.expiry import MinimumShelfLife, local_today
from lotline.domain.matrix import StockSituation
from lotline.domain.status import QualityStatus, StockStatus
from lotline.models.lot import Lot
from lotline.models.stock import StockOnHand
from lotline.models.types import UTCDateTime
from lotline.outbound.candidates import COVERING_HOLD
from lotline.uow import UnitOfWork

# Products per query: one UNION ALL branch each, and SQLite allows 500 (SQLITE_MAX_COMPOUND_SELECT);
# nine parameters each also stays far below SQLite's 32,766 and PostgreSQL's 65,535.
PRODUCTS_PER_QUERY = 384
# Buckets a product's first read takes: a few, and a few more per line (a line takes one or two
# buckets as a rule; if the lines come up short while stock was left unread, all of it is read).
HEAD_ROWS = 3
HEAD_ROWS_PER_LINE = 2


def earliest_expiry(demand: Demand, shortest_life: int | None = None) -> date:
    """The first expiry date that can serve the line: ``allocate`` passes over every earlier one.

    A lot expiring before the delivery date, or leaving fewer days than a minimum in days, is
    passed over. A minimum in per cent needs ``days left + 1 ≥ percent × shelf life / 100``; with
    ``shortest_life`` the shortest shelf life (days, as ``remaining_on`` counts them) among the
    buckets considered, that bounds the days left from below for all of them.
    """
    bound = demand.delivery_date
    checks: tuple[tuple[MinimumShelfLife | None, date], ...] = (
        (demand.at_delivery, demand.delivery_date),
        (demand.at_shipment, demand.ship_date),
    )
    for minimum, day in checks:
        if minimum is None:
            continue
        if minimum.days is not None:
            bound = max(bound, day + timedelta(days=minimum.days))
        elif minimum.percent is not None and shortest_life is not None:
            days_left = math.ceil(minimum.percent * shortest_life / 100) - 1
            bound = max(bound, day + timedelta(days=days_left))
    return bound


@dataclass(frozen=True)
class _Want:
    """What one product's lines need, for the query: which stock to skip, and how much to read first.

    A percentage of 0 stands for "no minimum in per cent" (parameters are never NULL, so that
    PostgreSQL need not guess their types).
    """

    lowest: date  # no line can take a lot expiring earlier (minimums in days)
    loosest: float  # every line needs at least this per cent left on ``loosest_day`` (0: not all do)
    loosest_day: date
    head: int  # how many buckets the first read takes

    @classmethod
    def of(cls, demands: Sequence[Demand], today: date, shortest_life: int | None = None) -> _Want:
        bounds = [earliest_expiry(d, shortest_life) for d in demands]
        percents = [_percent(d) for d in demands]
        given = [p for p in percents if p is not None]
        every_line = len(given) == len(percents)
        return cls(
            lowest=max(min(bounds), today),
            loosest=min(p for p, _day in given) if every_line else 0.0,
            loosest_day=min(day for _p, day in given) if every_line else today,
            head=HEAD_ROWS + HEAD_ROWS_PER_LINE * len(demands),
        )


def _percent(demand: Demand) -> tuple[float, date] | None:
    """The line's minimum in per cent and the day it applies (the first, if two; a line failing
    it is passed over), or None."""
    return next(
        (
            (float(minimum.percent), day)
            for minimum, day in (
                (demand.at_delivery, demand.delivery_date),
                (demand.at_shipment, demand.ship_date),
            )
            if minimum is not None and minimum.percent is not None
        ),
        None,
    )


def _classes(demands: Sequence[Demand], shortest_life: int | None) -> list[list[Demand]]:
    """A product's lines grouped by the stock they may take: the same earliest expiry, the same
    minimum in per cent. Each class reads its own head, from where its own lines start.

    ``shortest_life``: the shortest shelf life (days, production day and expiry day counted) of
    any lot of the product; a minimum in per cent then bounds the expiry from below too, so a
    line asking for 90 % does not walk the lots with less left one by one."""
    found: dict[tuple[date, tuple[float, date] | None], list[Demand]] = defaultdict(list)
    for demand in demands:
        found[(earliest_expiry(demand, shortest_life), _percent(demand))].append(demand)
    return list(found.values())


_WANTED: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("product_id", BigInteger()),
    ("class_no", Integer()),
    ("lowest", Date()),
    ("loosest", Float()),
    ("loosest_day", Date()),
    ("head", Integer()),
)


def _wanted(count: int) -> CTE:
    """A CTE of ``count`` rows of bound parameters (``values()`` would defeat the statement cache)."""
    rows = [
        select(*(bindparam(f"w{n}_{name}", type_=kind).label(name) for name, kind in _WANTED))
        for n in range(count)
    ]
    return (rows[0] if count == 1 else union_all(*rows)).cte("wanted")


def _bind(wants: Sequence[tuple[int, _Want]]) -> dict[str, object]:
    """The wanted rows' parameters; a row's ``class_no`` is its position."""
    found: dict[str, object] = {}
    for n, (pid, want) in enumerate(wants):
        found[f"w{n}_product_id"] = pid
        found[f"w{n}_class_no"] = n
        found.update({f"w{n}_{name}": value for name, value in vars(want).items()})
    return found


def _keeps(percent: Any, day: Any) -> ColumnElement[bool]:
    """The lot has at least ``percent`` of its shelf life left on ``day`` (0: no minimum)."""
    return or_(
        percent <= 0,
        (days_between(Lot.expiry_date, day) + 1) * 100
        >= percent * (days_between(Lot.expiry_date, Lot.production_date) + 1),
    )


def _eligible(lowest: Any, loosest: Any | None, loosest_day: Any) -> list[ColumnElement[bool]]:
    """What the matrix lets ALLOCATE take (as the service's wave path always read it), from
    ``lowest`` on, with ``loosest`` per cent left on ``loosest_day``: no line takes other stock.

    ``loosest`` None: no per-cent condition at all (a plain query the planner estimates well)."""
    percent = [] if loosest is None else [_keeps(loosest, loosest_day)]
    return [
        StockOnHand.site_id == bindparam("site_id", type_=BigInteger()),
        StockOnHand.qty_base > StockOnHand.qty_allocated,
        StockOnHand.stock_status == StockStatus.AVAILABLE.value,
        Lot.quality_status == QualityStatus.RELEASED.value,
        Lot.expiry_date >= lowest,
        *percent,
        or_(Lot.expiry_at.is_(None), Lot.expiry_at > bindparam("now", type_=UTCDateTime())),
        ~COVERING_HOLD,
    ]


_COLUMNS = (
    StockOnHand.id,
    StockOnHand.product_id,
    StockOnHand.lot_id,
    Lot.code,
    StockOnHand.location_id,
    StockOnHand.sscc,
    (StockOnHand.qty_base - StockOnHand.qty_allocated).label("free"),
    Lot.expiry_date,
    Lot.production_date,
    Lot.created_at,
)


def _rank_order(strategy: Strategy) -> tuple[ColumnElement[Any], ...]:
    """``domain.allocation.rank`` in SQL, tie for tie: a head read in this order is exactly the
    start of the ranking Python gives the same buckets."""
    key = (Lot.expiry_date,) if strategy is Strategy.FEFO else ()
    return (*key, Lot.created_at, in_code_point_order(Lot.code), StockOnHand.id)


def _ranked_head(
    strategy: Strategy,
    product_id: Any,
    class_no: Any,
    lowest: Any,
    loosest: Any,
    loosest_day: Any,
    head: Any,
) -> Select[Any]:
    """One product's first ``head`` eligible buckets in rank order: an ORDER BY … LIMIT, said of
    the lot (a bucket's product is its lot's), so that with the index on lot (product_id,
    expiry_date) the database walks the lots in FEFO order and stops."""
    return (
        select(class_no.label("class_no"), *_COLUMNS)
        .join(Lot, Lot.id == StockOnHand.lot_id)
        .where(Lot.product_id == product_id, *_eligible(lowest, loosest, loosest_day))
        .order_by(*_rank_order(strategy))
        .limit(head)
    )


@lru_cache(maxsize=4)
def _lateral_heads(strategy: Strategy) -> Select[Any]:
    """The heads of any number of classes in one query: a LATERAL join over the wanted rows,
    passed as one array per column (one statement, planned in a blink, whatever the count)."""
    arrays = (bindparam(f"w_{name}", type_=ARRAY(kind)) for name, kind in _WANTED)
    wanted = (
        func.unnest(*arrays)
        .table_valued(*(column(name, kind) for name, kind in _WANTED))
        .render_derived(name="wanted")
    )
    head = _ranked_head(
        strategy,
        wanted.c.product_id,
        wanted.c.class_no,
        wanted.c.lowest,
        wanted.c.loosest,
        wanted.c.loosest_day,
        wanted.c.head,
    ).lateral("head")
    return select(head).select_from(wanted).join(head, true())


@lru_cache(maxsize=32)
def _union_heads(strategy: Strategy, count: int) -> Select[Any]:
    """The heads of ``count`` classes where there is no LATERAL (SQLite): one UNION ALL branch
    each. Built once per shape."""
    branches = [
        select(
            _ranked_head(
                strategy,
                *(bindparam(f"w{n}_{name}", type_=kind) for name, kind in _WANTED),
            ).subquery()
        )
        for n in range(count)
    ]
    return branches[0] if count == 1 else union_all(*branches)  # type: ignore[return-value]


def _shape(count: int) -> int:
    """A few statement shapes for any number of products (each shape is compiled once)."""
    return 1 << (count - 1).bit_length() if count <= 64 else -(-count // 64) * 64


def _heads(
    connection: Connection, classes: Sequence[tuple[int, _Want]], strategy: Strategy, params: dict[str, Any]
) -> Iterator[tuple[int, Sequence[Any]]]:
    """The heads' rows, by chunk: (the chunk's first class, its rows; ``class_no`` counts from it)."""
    if joins_laterally(connection):
        columns: dict[str, list[Any]] = {f"w_{name}": [] for name, _kind in _WANTED}
        for n, (pid, want) in enumerate(classes):
            columns["w_product_id"].append(pid)
            columns["w_class_no"].append(n)
            for name, value in vars(want).items():
                columns[f"w_{name}"].append(value)
        yield 0, connection.execute(_lateral_heads(strategy), {**params, **columns}).all()
        return
    for start in range(0, len(classes), PRODUCTS_PER_QUERY):
        chunk = classes[start : start + PRODUCTS_PER_QUERY]
        count = _shape(len(chunk))
        filler = chunk[0][1]  # product 0 does not exist: padding rows read nothing
        padded = [*chunk, *[(0, filler)] * (count - len(chunk))]
        yield start, connection.execute(_union_heads(strategy, count), {**params, **_bind(padded)}).all()


def _read_heads(
    uow: UnitOfWork, site_id: int, classes: Sequence[tuple[int, _Want]], strategy: Strategy, now: datetime
) -> tuple[dict[int, list[Candidate]], list[tuple[Any, ...] | None]]:
    """Each product's buckets read by the heads of its classes, ranked (a bucket once), and per
    class where its head stopped: the rank key of its last bucket, None if it read all its stock."""
    connection = uow.session.connection()
    order = rank(strategy)
    found: dict[int, dict[int, Candidate]] = defaultdict(dict)
    read: list[list[Candidate]] = [[] for _ in classes]
    for start, rows in _heads(connection, classes, strategy, {"site_id": site_id, "now": now}):
        for r in rows:  # classes of a product read the same buckets: each becomes one Candidate
            mine = found[r.product_id]
            candidate = mine.get(r.id)
            if candidate is None:
                candidate = mine[r.id] = _candidate(r)
            read[start + r.class_no].append(candidate)
    ends = [
        max(map(order, mine)) if len(mine) >= want.head else None
        for mine, (_pid, want) in zip(read, classes, strict=True)
    ]
    return {pid: sorted(buckets.values(), key=order) for pid, buckets in found.items()}, ends


@lru_cache(maxsize=32)
def _query(strategy: Strategy, count: int) -> Select[Any]:
    """Every eligible bucket of ``count`` products (ranked in Python). Built once per shape:
    constructing a statement this size costs more than running it."""
    wanted = _wanted(count)
    return (
        select(*_COLUMNS)
        .join(Lot, Lot.id == StockOnHand.lot_id)
        .join(wanted, wanted.c.product_id == StockOnHand.product_id)
        .where(*_eligible(wanted.c.lowest, wanted.c.loosest, wanted.c.loosest_day))
    )


# Every bucket read is released, available, unheld and not expired: the queries let no other
# through (expiry on or after the site's today, ``expiry_at`` after now).
_ELIGIBLE = StockSituation(
    quality=QualityStatus.RELEASED, stock=StockStatus.AVAILABLE, holds=frozenset(), expired=False
)


def _candidate(r: Any) -> Candidate:
    return Candidate(
        on_hand_id=r.id,
        lot_id=r.lot_id,
        lot_code=r.code,
        location_id=r.location_id,
        sscc=r.sscc,
        free=r.free,
        expiry_date=r.expiry_date,
        production_date=r.production_date,
        received_at=r.created_at,
        situation=_ELIGIBLE,
    )


def _read(
    uow: UnitOfWork, site_id: int, wants: Mapping[int, _Want], strategy: Strategy, now: datetime
) -> dict[int, list[Candidate]]:
    """The products' eligible buckets, all of them, ranked."""
    found: dict[int, list[Candidate]] = defaultdict(list)
    ids = sorted(wants)
    connection = uow.session.connection()
    for start in range(0, len(ids), PRODUCTS_PER_QUERY):
        chunk = ids[start : start + PRODUCTS_PER_QUERY]
        params = {"site_id": site_id, "now": now, **_bind([(pid, wants[pid]) for pid in chunk])}
        rows = connection.execute(_query(strategy, len(chunk)), params).all()
        for r in rows:
            found[r.product_id].append(_candidate(r))
    order = rank(strategy)
    for candidates in found.values():
        candidates.sort(key=order)
    return found


class _Shelf:
    """One product's ranked buckets during a wave: emptied ones are stepped over, not walked."""

    def __init__(self, ranked: list[Candidate], strategy: Strategy) -> None:
        self.ranked = ranked
        self.key = rank(strategy)
        self.expiries = [c.expiry_date for c in ranked] if strategy is Strategy.FEFO else None
        self.after = list(range(len(ranked) + 1))  # after[i]: the first live bucket at or after i
        self.position = {c.on_hand_id: i for i, c in enumerate(ranked)}
        lives = (
            (c.expiry_date - c.production_date).days + 1 for c in ranked if c.production_date is not None
        )
        self.shortest_life = min((days for days in lives if days > 0), default=None)

    def _live(self, index: int) -> int:
        after = self.after
        while after[index] != index:
            after[index] = after[after[index]]
            index = after[index]
        return index

    def walk(self, earliest: date, until: tuple[Any, ...] | None = None) -> Iterator[Candidate]:
        """The live buckets in rank order, without those expiring before ``earliest``, up to the
        one ranked ``until`` (where the line's read stopped; None: to the end)."""
        start = bisect_left(self.expiries, earliest) if self.expiries is not None else 0
        index = self._live(start)
        while index < len(self.ranked):
            candidate = self.ranked[index]
            if until is not None and self.key(candidate) > until:
                return
            if candidate.expiry_date >= earliest:
                yield candidate
            index = self._live(index + 1)

    def take(self, chosen: Iterable[Chosen], used: Mapping[int, Decimal]) -> None:
        for c in chosen:
            if used[c.candidate.on_hand_id] >= c.candidate.free:
                index = self.position[c.candidate.on_hand_id]
                self.after[index] = index + 1


def _fill(
    demands: Sequence[Demand],
    ranked: list[Candidate],
    strategy: Strategy,
    until: Mapping[int, tuple[Any, ...] | None] | None = None,
) -> list[Proposal]:
    """Fill the lines in turn; ``until``: per line, where the stock read for it stops."""
    shelf = _Shelf(ranked, strategy)
    used: dict[int, Decimal] = {}
    proposals = []
    for demand in demands:
        stop = until.get(demand.line_id) if until is not None else None
        proposal = allocate(demand, shelf.walk(earliest_expiry(demand, shelf.shortest_life), stop), used)
        shelf.take(proposal.chosen, used)
        proposals.append(proposal)
    return proposals


def fill_wave(
    uow: UnitOfWork,
    *,
    site_id: int,
    time_zone: str,
    demands: Sequence[Demand],
    product_of: Mapping[int, int],
    strategies: Mapping[int, Strategy],
    now: datetime,
    shortest_lives: Mapping[int, int | None] | None = None,
) -> list[Proposal]:
    """Proposals for the lines of one site, as ``allocate_wave`` over all eligible stock gives them.

    ``shortest_lives``: per product, the shortest shelf life of any of its lots (see ``_classes``).
    """
    lives = shortest_lives or {}
    ordered = sorted(demands, key=lambda d: (d.delivery_date, d.line_id))
    by_product: dict[int, list[Demand]] = defaultdict(list)
    for demand in ordered:
        by_product[product_of[demand.line_id]].append(demand)
    today = local_today(now, time_zone)
    filled: dict[int, Proposal] = {}
    for strategy in Strategy:
        mine = [pid for pid in by_product if strategies[pid] is strategy]
        classes = [
            (pid, _Want.of(c, today, lives.get(pid)), c)
            for pid in mine
            for c in _classes(by_product[pid], lives.get(pid))
        ]
        if not classes:
            continue
        ranked, ends = _read_heads(uow, site_id, [(pid, want) for pid, want, _c in classes], strategy, now)
        until = {d.line_id: end for (_pid, _w, c), end in zip(classes, ends, strict=True) for d in c}
        again: dict[int, _Want] = {}
        for pid in mine:
            proposals = _fill(by_product[pid], ranked.get(pid, []), strategy, until)
            if any(p.short > 0 and until[p.line_id] is not None for p in proposals):
                # Short where its read stopped: read all the product's stock and fill again.
                again[pid] = _Want.of(by_product[pid], today, lives.get(pid))
            else:
                filled.update((p.line_id, p) for p in proposals)
        if again:
            everything = _read(uow, site_id, again, strategy, now)
            for pid in again:
                filled.update(
                    (p.line_id, p) for p in _fill(by_product[pid], everything.get(pid, []), strategy)
                )
    return [filled[d.line_id] for d in ordered]
