"""Recall rules: levels and their deadlines, a case's states, and how effective a recall is.
Pure functions, no I/O.

China's 食品召回管理办法 (2015) sets deadlines by level, counted from when the company learns of
the hazard: level 1 (serious harm) starts within 24 hours and finishes within 10 working days,
level 2 within 48 hours and 20 working days, level 3 (labelling) within 72 hours and 30 working
days. The US FDA classes (I–III) carry no statutory clock: their deadlines are the company's, given
when the case is opened. Working days here are Monday to Friday in the site's time zone; public
holidays and make-up working days (调休) are not modelled, so the computed completion deadline can
fall on a holiday — the case shows it and QA may move it with a reason.

Effectiveness = what came back or was destroyed / what was shipped, per customer and overall; the
US effectiveness-check level (A: every consignee contacted … E: none) is the share of customers
who were notified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from lotline.domain.errors import N_, Conflict, InvalidInput


class RecallKind(StrEnum):
    RECALL = "recall"  # stock in scope is held, allocations released
    DRILL = "drill"  # a mock recall: the same scope and report, nothing blocked


class RecallLevel(StrEnum):
    CN_1 = "cn-1"
    CN_2 = "cn-2"
    CN_3 = "cn-3"
    US_I = "us-I"
    US_II = "us-II"
    US_III = "us-III"


class CaseStatus(StrEnum):
    DRAFT = "draft"  # opened and scoped; nothing held yet (a recall waits for the signed start)
    ACTIVE = "active"  # started: holds placed, notices going out, recovery being recorded
    CLOSED = "closed"  # signed off with its report
    COMPLETED = "completed"  # a drill, traced and balanced


class TriggerKind(StrEnum):
    LOTS = "lots"  # lotline lots named by code
    SUPPLIER_LOT = "supplier_lot"  # every lot received under a supplier's lot code
    PRODUCT_RANGE = "product_range"  # every lot of a product made or received in a date range


@dataclass(frozen=True, slots=True)
class Clock:
    start_hours: int
    complete_working_days: int


CHINA_CLOCKS: Final = {
    RecallLevel.CN_1: Clock(24, 10),
    RecallLevel.CN_2: Clock(48, 20),
    RecallLevel.CN_3: Clock(72, 30),
}


def add_working_days(day: date, days: int) -> date:
    """The ``days``-th working day (Monday–Friday) after ``day``."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = day
    left = days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


@dataclass(frozen=True, slots=True)
class Deadlines:
    start_due_at: datetime | None
    complete_due_at: datetime | None


def deadlines(
    level: RecallLevel,
    *,
    discovered_at: datetime,
    zone: str,
    start_due_at: datetime | None = None,
    complete_due_at: datetime | None = None,
) -> Deadlines:
    """When the recall must start and finish. China's levels set both (given ones may only be
    earlier); for US classes they are what the company gives, or none."""
    if discovered_at.tzinfo is None:
        raise ValueError("discovered_at must be timezone-aware")
    clock = CHINA_CLOCKS.get(level)
    if clock is None:
        _check_order(start_due_at, complete_due_at)
        return Deadlines(start_due_at, complete_due_at)
    start = discovered_at + timedelta(hours=clock.start_hours)
    local = discovered_at.astimezone(ZoneInfo(zone))
    last_day = add_working_days(local.date(), clock.complete_working_days)
    complete = datetime.combine(last_day, time(23, 59, 59), tzinfo=ZoneInfo(zone)).astimezone(
        discovered_at.tzinfo
    )
    for given, legal, field in (
        (start_due_at, start, "start_due_at"),
        (complete_due_at, complete, "complete_due_at"),
    ):
        if given is not None and given > legal:
            raise InvalidInput(
                N_("{field} is later than the level's legal deadline ({deadline})."),
                field=field,
                code="recall.deadline_beyond_level",
                deadline=legal.isoformat(),
            )
    result = Deadlines(start_due_at or start, complete_due_at or complete)
    _check_order(result.start_due_at, result.complete_due_at)
    return result


def _check_order(start: datetime | None, complete: datetime | None) -> None:
    if start is not None and complete is not None and complete < start:
        raise InvalidInput(
            N_("{field} is before the start deadline."), field="complete_due_at", code="recall.deadline_order"
        )


class DeadlineState(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"  # less than a quarter of the time left, or under 24 hours
    OVERDUE = "overdue"
    MISSED = "missed"  # done, but late
    NONE = "none"


def deadline_state(
    due_at: datetime | None, *, done_at: datetime | None, now: datetime, since: datetime
) -> DeadlineState:
    """Where a deadline stands at ``now`` for something begun at ``since``."""
    if due_at is None:
        return DeadlineState.NONE
    if done_at is not None:
        return DeadlineState.MET if done_at <= due_at else DeadlineState.MISSED
    if now > due_at:
        return DeadlineState.OVERDUE
    left = due_at - now
    if left < timedelta(hours=24) or left * 4 < (due_at - since):
        return DeadlineState.DUE_SOON
    return DeadlineState.ON_TRACK


TRANSITIONS: Final = {
    (RecallKind.RECALL, CaseStatus.DRAFT): frozenset({CaseStatus.ACTIVE}),
    (RecallKind.RECALL, CaseStatus.ACTIVE): frozenset({CaseStatus.CLOSED}),
}


def check_transition(kind: RecallKind, current: CaseStatus, to: CaseStatus) -> None:
    if to not in TRANSITIONS.get((kind, current), frozenset()):
        raise Conflict(
            N_("A {kind} case that is {status} cannot become {to}."),
            field="status",
            code="recall.bad_transition",
            kind=kind.value,
            status=current.value,
            to=to.value,
        )


def effectiveness(recovered: Decimal, shipped: Decimal) -> Decimal | None:
    """Recovered (returned + destroyed) / shipped, 0–1 to four places; None when nothing shipped.
    More recovered than shipped (a return of stock shipped before the scope's lots) counts as 1."""
    if shipped <= 0:
        return None
    return min(Decimal(1), (recovered / shipped).quantize(Decimal("0.0001")))


class CheckLevel(StrEnum):
    """FDA effectiveness-check level reached: the share of consignees contacted."""

    A = "A"  # 100 %
    B = "B"  # more than C, less than 100 %
    C = "C"  # 10 %
    D = "D"  # 2 %
    E = "E"  # none


def check_level(notified: int, customers: int) -> CheckLevel | None:
    """The level the notices reached: A all consignees, B more than 10 %, C 10 %, D 2 % or more,
    E fewer (none, in practice)."""
    if customers == 0:
        return None
    share = Decimal(min(notified, customers)) / Decimal(customers)
    if share == 1:
        return CheckLevel.A
    if share > Decimal("0.10"):
        return CheckLevel.B
    if share == Decimal("0.10"):
        return CheckLevel.C
    if share >= Decimal("0.02"):
        return CheckLevel.D
    return CheckLevel.E


def overall(pairs: Iterable[tuple[Decimal, Decimal]]) -> tuple[Decimal, Decimal]:
    """Sum (recovered, shipped) pairs; recovered per customer is capped at what it was shipped."""
    recovered = shipped = Decimal(0)
    for got_back, sent in pairs:
        recovered += min(got_back, sent)
        shipped += sent
    return recovered, shipped
