"""A wave allocated fast: read the head of each product's ranked stock, step over what is gone.

The same lots, quantities and shortfalls as ``domain.allocation.allocate_wave`` over every
eligible bucket (the service's wave path before), for a fraction of the work:

- One query per strategy reads, per product, only the eligible buckets ranked before the point
  where stock that every line of the product could use covers the product's whole demand (a
  window SUM over the ranked free quantity), and none expiring before the earliest date any of
  its lines could take.
- ``domain.allocation.allocate`` fills each line from an iterator that steps over the buckets
  earlier lines emptied (path-halving "next live bucket" pointers, so in O(1) on average) and
  the buckets expiring before the earliest date the line's own minimums allow — buckets it
  would only have passed over.
- A product where a line came up short while some of its stock was not read is read in full
  and filled again, so the outcome never depends on where the read stopped.

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
    BigInteger,
    Date,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, Select
from sqlalchemy.types import TypeEngine

from lotline.db import days_between
from lotline.domain.allocation import Candidate, Chosen, Demand, Proposal, Strategy, allocate, rank
from lotline.domain.expiry import MinimumShelfLife, local_today
from lotline.domain.matrix import StockSituation
from lotline.domain.status import QualityStatus, StockStatus
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.models.types import ExactDecimal, UTCDateTime
from lotline.outbound.candidates import COVERING_HOLD
from lotline.uow import UnitOfWork

# Products per query: one UNION ALL branch each, and SQLite allows 500 (SQLITE_MAX_COMPOUND_SELECT);
# eight parameters each also stays far below SQLite's 32,766 and PostgreSQL's 65,535.
PRODUCTS_PER_QUERY = 400
# Buckets a single product's first read takes (a line rarely needs more; if it does, all are read).
HEAD_ROWS = 64


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
    """What one product's lines need, for the query: which stock to skip, and how much to read.

    A percentage of 0 stands for "no minimum in per cent" (parameters are never NULL, so that
    PostgreSQL need not guess their types).
    """

    lowest: date  # no line can take a lot expiring earlier (minimums in days)
    loosest: float  # every line needs at least this per cent left on ``loosest_day`` (0: not all do)
    loosest_day: date
    highest: date  # every line can take a lot expiring then or later, as far as days go …
    strictest: float  # … that also has this per cent left on ``strictest_day`` (0: no line asks)
    strictest_day: date
    need: Decimal  # the product's whole demand in the wave

    @classmethod
    def of(cls, demands: Sequence[Demand], today: date) -> _Want:
        bounds = [earliest_expiry(d) for d in demands]
        # One minimum in per cent per line (a line failing it is passed over), None if it has none.
        percents = [
            next(
                (
                    (float(minimum.percent), day)
                    for minimum, day in ((d.at_delivery, d.delivery_date), (d.at_shipment, d.ship_date))
                    if minimum is not None and minimum.percent is not None
                ),
                None,
            )
            for d in demands
        ]
        given = [p for p in percents if p is not None]
        every_line = len(given) == len(percents)
        return cls(
            lowest=max(min(bounds), today),
            loosest=min(p for p, _day in given) if every_line else 0.0,
            loosest_day=min(day for _p, day in given) if every_line else today,
            highest=max(bounds),
            strictest=max((p for p, _day in given), default=0.0),
            strictest_day=max((day for _p, day in given), default=today),
            need=sum((d.quantity for d in demands), Decimal(0)),
        )


_WANTED: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("product_id", BigInteger()),
    ("lowest", Date()),
    ("loosest", Float()),
    ("loosest_day", Date()),
    ("highest", Date()),
    ("strictest", Float()),
    ("strictest_day", Date()),
    ("need", ExactDecimal()),
)


def _wanted(count: int) -> CTE:
    """A CTE of ``count`` rows of bound parameters (``values()`` would defeat the statement cache)."""
    rows = [
        select(*(bindparam(f"w{n}_{name}", type_=kind).label(name) for name, kind in _WANTED))
        for n in range(count)
    ]
    return (rows[0] if count == 1 else union_all(*rows)).cte("wanted")


def _bind(wants: Sequence[tuple[int, _Want]]) -> dict[str, object]:
    found: dict[str, object] = {}
    for n, (pid, want) in enumerate(wants):
        found[f"w{n}_product_id"] = pid
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


@lru_cache(maxsize=8)
def _head_query(strategy: Strategy, percent: bool) -> Select[Any]:
    """One product's first ``head`` eligible buckets in rank order (an ORDER BY … LIMIT, no window);
    ``percent``: only lots with ``loosest`` per cent of their shelf life left on ``loosest_day``."""
    key = Lot.expiry_date if strategy is Strategy.FEFO else Lot.created_at
    return (
        select(*_COLUMNS)
        .join(Lot, Lot.id == StockOnHand.lot_id)
        .where(
            # Said of the lot (a bucket's product is its lot's): given an index on lot
            # (product_id, expiry_date), the database walks the lots in FEFO order and stops.
            Lot.product_id == bindparam("product_id", type_=BigInteger()),
            *_eligible(
                bindparam("lowest", type_=Date()),
                bindparam("loosest", type_=Float()) if percent else None,
                bindparam("loosest_day", type_=Date()),
            ),
        )
        .order_by(key, StockOnHand.id)
        .limit(bindparam("head", type_=Integer()))
    )


@lru_cache(maxsize=32)
def _query(strategy: Strategy, count: int, cut: bool) -> Select[Any]:
    """The eligible buckets of ``count`` products, ranked; with ``cut``, only each one's head.

    Built once per shape: constructing a statement this size costs more than running it.
    """
    wanted = _wanted(count)
    row = StockOnHand
    free = (row.qty_base - row.qty_allocated).label("free")
    key = Lot.expiry_date if strategy is Strategy.FEFO else Lot.created_at
    # Free stock every line of the product could take, summed over the buckets ranked before this
    # one's rank group (ties on the first rank key stay together: SQL and Python order the rest
    # of the key alike only up to collation, so the cut never splits a tie).
    usable = case(
        (
            and_(
                Lot.expiry_date >= wanted.c.highest,
                _keeps(wanted.c.strictest, wanted.c.strictest_day),
            ),
            free,
        ),
        else_=0,
    )
    upto = func.sum(usable).over(partition_by=row.product_id, order_by=key)
    same = func.sum(usable).over(partition_by=(row.product_id, key))
    inner = (
        select(
            *_COLUMNS,
            (upto - same).label("before"),
            func.count().over(partition_by=row.product_id).label("among"),
            wanted.c.need,
        )
        .join(Lot, Lot.id == row.lot_id)
        .join(wanted, wanted.c.product_id == row.product_id)
        .where(*_eligible(wanted.c.lowest, wanted.c.loosest, wanted.c.loosest_day))
        .subquery()
    )
    query = select(inner)
    return query.where(inner.c.before < inner.c.need) if cut else query


def _candidates(rows: Iterable[Any]) -> Iterator[Candidate]:
    # Every bucket read is released, available, unheld and not expired: the query let no other
    # through (expiry on or after the site's today, ``expiry_at`` after now).
    situation = StockSituation(
        quality=QualityStatus.RELEASED, stock=StockStatus.AVAILABLE, holds=frozenset(), expired=False
    )
    for r in rows:
        yield Candidate(
            on_hand_id=r.id,
            lot_id=r.lot_id,
            lot_code=r.code,
            location_id=r.location_id,
            sscc=r.sscc,
            free=r.free,
            expiry_date=r.expiry_date,
            production_date=r.production_date,
            received_at=r.created_at,
            situation=situation,
        )


def _head(
    uow: UnitOfWork, site: Site, pid: int, want: _Want, strategy: Strategy, now: datetime
) -> tuple[list[Candidate], bool] | None:
    """One product's head by ORDER BY … LIMIT, and whether stock was left unread; None when
    the head was one single rank group (read everything instead)."""
    params: dict[str, object] = {"site_id": site.id, "now": now, "product_id": pid, "lowest": want.lowest}
    params["head"] = HEAD_ROWS
    percent = want.loosest > 0
    if percent:
        params.update(loosest=want.loosest, loosest_day=want.loosest_day)
    query = _head_query(strategy, percent)
    rows = list(_candidates(uow.session.execute(query, params)))
    if len(rows) < HEAD_ROWS:
        return rows, False
    # Keep whole rank groups only: SQL may order ties on the first key apart from Python.
    last = _first_key(rows[-1], strategy)
    kept = [c for c in rows if _first_key(c, strategy) < last]
    return (kept, True) if kept else None


def _first_key(candidate: Candidate, strategy: Strategy) -> date | datetime:
    return candidate.expiry_date if strategy is Strategy.FEFO else candidate.received_at


def _read(
    uow: UnitOfWork,
    site: Site,
    wants: Mapping[int, _Want],
    strategy: Strategy,
    now: datetime,
    *,
    cut: bool,
) -> tuple[dict[int, list[Candidate]], set[int]]:
    """The products' eligible buckets, ranked; with ``cut``, only the head. And which were cut."""
    found: dict[int, list[Candidate]] = defaultdict(list)
    truncated: set[int] = set()
    ids = sorted(wants)
    if cut and len(ids) == 1:
        head = _head(uow, site, ids[0], wants[ids[0]], strategy, now)
        if head is not None:
            found[ids[0]] = sorted(head[0], key=rank(strategy))
            return found, ({ids[0]} if head[1] else set())
    for start in range(0, len(ids), PRODUCTS_PER_QUERY):
        chunk = ids[start : start + PRODUCTS_PER_QUERY]
        params = {"site_id": site.id, "now": now, **_bind([(pid, wants[pid]) for pid in chunk])}
        returned: dict[int, int] = defaultdict(int)
        among: dict[int, int] = {}
        rows = uow.session.execute(_query(strategy, len(chunk), cut), params).all()
        for r in rows:
            returned[r.product_id] += 1
            among[r.product_id] = r.among
        for candidate, r in zip(_candidates(rows), rows, strict=True):
            found[r.product_id].append(candidate)
        truncated.update(pid for pid, count in returned.items() if count < among[pid])
    order = rank(strategy)
    for candidates in found.values():
        candidates.sort(key=order)
    return found, truncated


class _Shelf:
    """One product's ranked buckets during a wave: emptied ones are stepped over, not walked."""

    def __init__(self, ranked: list[Candidate], strategy: Strategy) -> None:
        self.ranked = ranked
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

    def walk(self, earliest: date) -> Iterator[Candidate]:
        """The live buckets in rank order, without those expiring before ``earliest``."""
        start = bisect_left(self.expiries, earliest) if self.expiries is not None else 0
        index = self._live(start)
        while index < len(self.ranked):
            candidate = self.ranked[index]
            if candidate.expiry_date >= earliest:
                yield candidate
            index = self._live(index + 1)

    def take(self, chosen: Iterable[Chosen], used: Mapping[int, Decimal]) -> None:
        for c in chosen:
            if used[c.candidate.on_hand_id] >= c.candidate.free:
                index = self.position[c.candidate.on_hand_id]
                self.after[index] = index + 1


def _fill(demands: Sequence[Demand], ranked: list[Candidate], strategy: Strategy) -> list[Proposal]:
    shelf = _Shelf(ranked, strategy)
    used: dict[int, Decimal] = {}
    proposals = []
    for demand in demands:
        proposal = allocate(demand, shelf.walk(earliest_expiry(demand, shelf.shortest_life)), used)
        shelf.take(proposal.chosen, used)
        proposals.append(proposal)
    return proposals


def fill_wave(
    uow: UnitOfWork,
    *,
    site_id: int,
    demands: Sequence[Demand],
    product_of: Mapping[int, int],
    strategies: Mapping[int, Strategy],
    now: datetime,
) -> list[Proposal]:
    """Proposals for the lines of one site, as ``allocate_wave`` over all eligible stock gives them."""
    site = uow.session.get_one(Site, site_id)
    ordered = sorted(demands, key=lambda d: (d.delivery_date, d.line_id))
    by_product: dict[int, list[Demand]] = defaultdict(list)
    for demand in ordered:
        by_product[product_of[demand.line_id]].append(demand)
    today = local_today(now, site.time_zone)
    filled: dict[int, Proposal] = {}
    for strategy in Strategy:
        wants = {
            pid: _Want.of(mine, today) for pid, mine in by_product.items() if strategies[pid] is strategy
        }
        if not wants:
            continue
        ranked, truncated = _read(uow, site, wants, strategy, now, cut=True)
        again: dict[int, _Want] = {}
        for pid in wants:
            proposals = _fill(by_product[pid], ranked.get(pid, []), strategy)
            if pid in truncated and any(p.short > 0 for p in proposals):
                again[pid] = wants[pid]  # short although stock was left unread: read it all
            else:
                filled.update((p.line_id, p) for p in proposals)
        if again:
            everything, _cut = _read(uow, site, again, strategy, now, cut=False)
            for pid in again:
                filled.update(
                    (p.line_id, p) for p in _fill(by_product[pid], everything.get(pid, []), strategy)
                )
    return [filled[d.line_id] for d in ordered]
