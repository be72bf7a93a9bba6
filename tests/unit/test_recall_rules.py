"""Recall rules users rely on: the legal clock of China's recall levels (hours to start, working
days to finish, counted in the site's zone), deadlines a company may only bring forward, where a
deadline stands, how effective a recall is, the FDA check level its notices reached, and which
status changes a case may make.

Every instant here is worked out by hand from a calendar (March 2026: the 1st is a Sunday, the
6th a Friday; Europe/Berlin moves to summer time on the 29th); no clock and no database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import Conflict, InvalidInput
from lotline.domain.recall import (
    CaseStatus,
    CheckLevel,
    Deadlines,
    DeadlineState,
    RecallKind,
    RecallLevel,
    add_working_days,
    check_level,
    check_transition,
    deadline_state,
    deadlines,
    effectiveness,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
# Friday 6 March 2026, 20:30 in Shanghai (12:30 UTC): the supplier's call comes after hours.
FRIDAY_EVENING = datetime(2026, 3, 6, 12, 30, tzinfo=UTC)


def end_of(day: date, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=zone)


# -- the China levels' clocks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "start", "last_day"),
    [
        # Start: hours, weekend or not. Finish: Mon 9 … Fri 13 are days 1–5, Mon 16 … Fri 20 are 6–10.
        (RecallLevel.CN_1, datetime(2026, 3, 7, 20, 30, tzinfo=SHANGHAI), date(2026, 3, 20)),
        # … Mon 23 … Fri 27 are 11–15, Mon 30 … Fri 3 April are 16–20.
        (RecallLevel.CN_2, datetime(2026, 3, 8, 20, 30, tzinfo=SHANGHAI), date(2026, 4, 3)),
        # … Mon 6 … Fri 10 April are 21–25, Mon 13 … Fri 17 April are 26–30.
        (RecallLevel.CN_3, datetime(2026, 3, 9, 20, 30, tzinfo=SHANGHAI), date(2026, 4, 17)),
    ],
)
def test_china_levels_start_within_hours_and_finish_at_the_end_of_the_nth_working_day(
    level: RecallLevel, start: datetime, last_day: date
) -> None:
    due = deadlines(level, discovered_at=FRIDAY_EVENING, zone="Asia/Shanghai")
    assert due.start_due_at == start
    assert due.complete_due_at == end_of(last_day)
    local_end = due.complete_due_at.astimezone(SHANGHAI) if due.complete_due_at else None
    assert local_end is not None
    assert (local_end.weekday(), local_end.time().isoformat()) == (4, "23:59:59")  # a Friday, day's end
    # Given in UTC, answered in UTC: the same instants, in the zone the caller used.
    assert due.start_due_at is not None
    assert due.start_due_at.utcoffset() == timedelta(0)
    assert due.start_due_at - FRIDAY_EVENING == timedelta(hours={"cn-1": 24, "cn-2": 48, "cn-3": 72}[level])


def test_working_days_are_counted_from_the_local_date_of_the_discovery() -> None:
    # 01:00 on Monday 9 March in Shanghai is still Sunday 8 March in UTC.
    discovered = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    in_shanghai = deadlines(RecallLevel.CN_1, discovered_at=discovered, zone="Asia/Shanghai")
    in_utc = deadlines(RecallLevel.CN_1, discovered_at=discovered, zone="UTC")
    # From Monday: Tue 10 … Fri 13 are 1–4, Mon 16 … Fri 20 are 5–9, Mon 23 is the 10th.
    assert in_shanghai.complete_due_at == end_of(date(2026, 3, 23))
    # From Sunday: Mon 9 … Fri 20 are the ten.
    assert in_utc.complete_due_at == datetime(2026, 3, 20, 23, 59, 59, tzinfo=UTC)
    assert in_shanghai.start_due_at == in_utc.start_due_at == discovered + timedelta(hours=24)


def test_the_end_of_the_last_day_follows_the_zones_summer_time() -> None:
    # Friday 6 March, 18:00 in Berlin (UTC+1); thirty working days on is Friday 17 April (UTC+2).
    discovered = datetime(2026, 3, 6, 18, 0, tzinfo=BERLIN)
    due = deadlines(RecallLevel.CN_3, discovered_at=discovered, zone="Europe/Berlin")
    assert due.complete_due_at == end_of(date(2026, 4, 17), BERLIN)
    assert due.complete_due_at == datetime(2026, 4, 17, 21, 59, 59, tzinfo=UTC)


def test_a_company_may_set_earlier_deadlines_than_the_level_and_they_are_kept() -> None:
    start = FRIDAY_EVENING + timedelta(hours=6)
    complete = datetime(2026, 3, 25, 17, 0, tzinfo=SHANGHAI)
    due = deadlines(
        RecallLevel.CN_2,
        discovered_at=FRIDAY_EVENING,
        zone="Asia/Shanghai",
        start_due_at=start,
        complete_due_at=complete,
    )
    assert due == Deadlines(start, complete)
    # Exactly the legal deadline is not later than it.
    legal = deadlines(RecallLevel.CN_1, discovered_at=FRIDAY_EVENING, zone="Asia/Shanghai")
    again = deadlines(
        RecallLevel.CN_1,
        discovered_at=FRIDAY_EVENING,
        zone="Asia/Shanghai",
        start_due_at=legal.start_due_at,
        complete_due_at=legal.complete_due_at,
    )
    assert again == legal
    # Only one given: the other is the level's.
    only_start = deadlines(
        RecallLevel.CN_1, discovered_at=FRIDAY_EVENING, zone="Asia/Shanghai", start_due_at=start
    )
    assert only_start == Deadlines(start, legal.complete_due_at)


@pytest.mark.parametrize("field", ["start_due_at", "complete_due_at"])
def test_a_deadline_later_than_the_levels_is_refused(field: str) -> None:
    legal = deadlines(RecallLevel.CN_1, discovered_at=FRIDAY_EVENING, zone="Asia/Shanghai")
    later = getattr(legal, field) + timedelta(seconds=1)
    with pytest.raises(InvalidInput) as refused:
        deadlines(
            RecallLevel.CN_1,
            discovered_at=FRIDAY_EVENING,
            zone="Asia/Shanghai",
            **{field: later},
        )
    assert (refused.value.code, refused.value.field) == ("recall.deadline_beyond_level", field)
    assert refused.value.params["deadline"] == getattr(legal, field).isoformat()
    assert STATUS_BY_KIND[refused.value.kind] == 422


@pytest.mark.parametrize("level", [RecallLevel.US_I, RecallLevel.US_II, RecallLevel.US_III])
def test_us_classes_have_no_clock_of_their_own(level: RecallLevel) -> None:
    assert deadlines(level, discovered_at=FRIDAY_EVENING, zone="America/Chicago") == Deadlines(None, None)
    # What the company gives is what it gets, however far off.
    start = FRIDAY_EVENING + timedelta(days=30)
    complete = FRIDAY_EVENING + timedelta(days=365)
    given_ = deadlines(
        level,
        discovered_at=FRIDAY_EVENING,
        zone="America/Chicago",
        start_due_at=start,
        complete_due_at=complete,
    )
    assert given_ == Deadlines(start, complete)
    assert deadlines(level, discovered_at=FRIDAY_EVENING, zone="UTC", complete_due_at=complete) == Deadlines(
        None, complete
    )


@pytest.mark.parametrize("level", [RecallLevel.US_II, RecallLevel.CN_3])
def test_a_completion_deadline_before_the_start_deadline_is_refused(level: RecallLevel) -> None:
    # For level 3 the start is due 72 hours on: finishing within 24 hours cannot come first.
    start = FRIDAY_EVENING + timedelta(hours=48) if level is RecallLevel.US_II else None
    with pytest.raises(InvalidInput) as refused:
        deadlines(
            level,
            discovered_at=FRIDAY_EVENING,
            zone="Asia/Shanghai",
            start_due_at=start,
            complete_due_at=FRIDAY_EVENING + timedelta(hours=24),
        )
    assert (refused.value.code, refused.value.field) == ("recall.deadline_order", "complete_due_at")


def test_a_discovery_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadlines(RecallLevel.CN_1, discovered_at=datetime(2026, 3, 6, 20, 30), zone="Asia/Shanghai")


# -- working days ------------------------------------------------------------------------------


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    n=st.integers(min_value=1, max_value=400),
)
def test_the_nth_working_day_is_a_weekday_after_the_day_with_n_weekdays_up_to_it(day: date, n: int) -> None:
    result = add_working_days(day, n)
    assert result.weekday() < 5
    assert result > day
    between = [day + timedelta(days=i) for i in range(1, (result - day).days + 1)]
    assert sum(1 for d in between if d.weekday() < 5) == n
    # A week of five working days never takes more than seven calendar days.
    assert (result - day).days <= 7 * ((n + 4) // 5) + 2


def test_working_days_from_a_weekend_and_none_at_all() -> None:
    saturday = date(2026, 3, 7)
    assert add_working_days(saturday, 1) == date(2026, 3, 9)  # Monday
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    assert add_working_days(date(2026, 3, 9), 5) == date(2026, 3, 16)  # Monday → next Monday
    assert add_working_days(saturday, 0) == saturday
    with pytest.raises(ValueError, match="negative"):
        add_working_days(saturday, -1)


# -- where a deadline stands -------------------------------------------------------------------

SINCE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due_after", "done_after", "now_after", "state"),
    [
        (None, None, timedelta(days=1), DeadlineState.NONE),
        (None, timedelta(hours=1), timedelta(days=1), DeadlineState.NONE),
        (timedelta(days=10), timedelta(days=3), timedelta(days=20), DeadlineState.MET),
        (timedelta(days=10), timedelta(days=10), timedelta(days=20), DeadlineState.MET),  # on the dot
        (timedelta(days=10), timedelta(days=10, seconds=1), timedelta(days=11), DeadlineState.MISSED),
        # Done late is missed, whenever it is read.
        (timedelta(days=10), timedelta(days=11), timedelta(days=2), DeadlineState.MISSED),
        (timedelta(days=10), None, timedelta(days=10, seconds=1), DeadlineState.OVERDUE),
        # Under 24 hours left.
        (timedelta(days=10), None, timedelta(days=9, hours=1), DeadlineState.DUE_SOON),
        (timedelta(days=10), None, timedelta(days=10), DeadlineState.DUE_SOON),  # due this instant
        # Under a quarter of the time left (9 of 40 days) though more than a day.
        (timedelta(days=40), None, timedelta(days=31), DeadlineState.DUE_SOON),
        # Exactly a quarter left, and exactly 24 hours of 48: not yet due soon.
        (timedelta(days=40), None, timedelta(days=30), DeadlineState.ON_TRACK),
        (timedelta(hours=48), None, timedelta(hours=24), DeadlineState.ON_TRACK),
        (timedelta(days=10), None, timedelta(days=5), DeadlineState.ON_TRACK),
        (timedelta(days=10), None, timedelta(0), DeadlineState.ON_TRACK),
    ],
)
def test_deadline_state(
    due_after: timedelta | None, done_after: timedelta | None, now_after: timedelta, state: DeadlineState
) -> None:
    due = SINCE + due_after if due_after is not None else None
    done = SINCE + done_after if done_after is not None else None
    assert deadline_state(due, done_at=done, now=SINCE + now_after, since=SINCE) is state


# -- effectiveness and the check level ---------------------------------------------------------


@pytest.mark.parametrize(
    ("recovered", "shipped", "expected"),
    [
        ("0", "0", None),  # nothing shipped: no ratio, not 0 and not 100 %
        ("5", "0", None),
        ("0", "180", "0.0000"),
        ("36", "180", "0.2000"),  # the demo recall: Hema's 2 cases back, Lianhua's 1 destroyed
        ("1", "3", "0.3333"),
        ("2", "3", "0.6667"),
        ("0.000001", "3", "0.0000"),
        ("179.99", "180", "0.9999"),
        ("180", "180", "1"),
        ("30", "20", "1"),  # stock shipped before the scope's lots came back too: capped
    ],
)
def test_effectiveness_is_recovered_over_shipped_to_four_places_capped_at_one(
    recovered: str, shipped: str, expected: str | None
) -> None:
    result = effectiveness(Decimal(recovered), Decimal(shipped))
    if expected is None:
        assert result is None
        return
    assert result == Decimal(expected)
    assert result is not None
    assert result <= 1
    if result < 1:
        assert result.as_tuple().exponent == -4  # four places, as shown and exported


@pytest.mark.parametrize(
    ("notified", "customers", "level"),
    [
        (0, 0, None),
        (3, 3, CheckLevel.A),
        (4, 3, CheckLevel.A),  # counted twice somewhere: still every consignee, no more
        (99, 100, CheckLevel.B),
        (11, 100, CheckLevel.B),
        (1, 2, CheckLevel.B),
        (10, 100, CheckLevel.C),
        (1, 10, CheckLevel.C),
        (9, 100, CheckLevel.D),
        (2, 100, CheckLevel.D),
        (1, 50, CheckLevel.D),
        (1, 51, CheckLevel.E),
        (1, 100, CheckLevel.E),
        (0, 5, CheckLevel.E),
    ],
)
def test_check_level_by_the_share_of_customers_notified(
    notified: int, customers: int, level: CheckLevel | None
) -> None:
    assert check_level(notified, customers) is level


# -- status changes ----------------------------------------------------------------------------


def test_a_recall_goes_from_draft_to_active_to_closed() -> None:
    check_transition(RecallKind.RECALL, CaseStatus.DRAFT, CaseStatus.ACTIVE)
    check_transition(RecallKind.RECALL, CaseStatus.ACTIVE, CaseStatus.CLOSED)


@pytest.mark.parametrize(
    ("kind", "current", "to"),
    [
        (RecallKind.RECALL, CaseStatus.DRAFT, CaseStatus.CLOSED),  # never started
        (RecallKind.RECALL, CaseStatus.ACTIVE, CaseStatus.ACTIVE),  # started twice
        (RecallKind.RECALL, CaseStatus.CLOSED, CaseStatus.ACTIVE),  # reopened
        (RecallKind.RECALL, CaseStatus.CLOSED, CaseStatus.CLOSED),
        (RecallKind.RECALL, CaseStatus.DRAFT, CaseStatus.COMPLETED),
        (RecallKind.DRILL, CaseStatus.COMPLETED, CaseStatus.ACTIVE),  # a drill blocks nothing, ever
        (RecallKind.DRILL, CaseStatus.COMPLETED, CaseStatus.CLOSED),
        (RecallKind.DRILL, CaseStatus.DRAFT, CaseStatus.ACTIVE),
    ],
)
def test_other_status_changes_are_refused_as_conflicts(
    kind: RecallKind, current: CaseStatus, to: CaseStatus
) -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(kind, current, to)
    assert (refused.value.code, refused.value.field) == ("recall.bad_transition", "status")
    assert STATUS_BY_KIND[refused.value.kind] == 409
    assert refused.value.params == {"kind": kind.value, "status": current.value, "to": to.value}
