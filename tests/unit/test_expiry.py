"""Expiry math users rely on: last day of use, site-local expiry, GS1 dates, minimum shelf life.

Every date here is computed by hand from the conventions in lotline.domain.expiry; no clock
and no database.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lotline.domain.errors import InvalidInput
from lotline.domain.expiry import (
    ExpiryDecision,
    ExpiryKind,
    InputLot,
    MinimumShelfLife,
    RedateKind,
    RemainingShelfLife,
    ShelfLifeRule,
    ShelfLifeUnit,
    compute_expiry,
    expires_at_local,
    gs1_date,
    is_expired,
    meets_minimum,
    minimum_shortfall,
    redate,
    remaining_shelf_life,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 6, 15)
# Zones with unusual offsets and DST changes at or near midnight (Santiago, Havana, Lord Howe).
ZONES = [
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/Los_Angeles",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "UTC",
]


def days_rule(amount: int, **options: object) -> ShelfLifeRule:
    return ShelfLifeRule(amount, ShelfLifeUnit.DAYS, ExpiryKind.USE_BY, None, **options)


def months_rule(amount: int, **options: object) -> ShelfLifeRule:
    return ShelfLifeRule(amount, ShelfLifeUnit.MONTHS, ExpiryKind.BEST_BEFORE, None, **options)


def hours_rule(amount: int) -> ShelfLifeRule:
    return ShelfLifeRule(amount, ShelfLifeUnit.HOURS, ExpiryKind.USE_BY, None)


def field_of(error: pytest.ExceptionInfo[InvalidInput]) -> str | None:
    return error.value.field


@pytest.fixture(params=["UTC", "America/Los_Angeles"])
def process_time_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test with the process's TZ set, as a server in another zone would have it."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is Unix-only")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


# --- rules -----------------------------------------------------------------------------------


def test_rule_read_from_catalog_strings_holds_enums() -> None:
    rule = ShelfLifeRule(12, "MONTHS", "BEST_BEFORE", 90, version=3)
    assert rule.unit is ShelfLifeUnit.MONTHS
    assert rule.kind is ExpiryKind.BEST_BEFORE
    assert rule.as_provenance()["version"] == 3


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"amount": 0}, "shelf_life_amount"),
        ({"amount": -5}, "shelf_life_amount"),
        ({"amount": True}, "shelf_life_amount"),
        ({"amount": 2.5}, "shelf_life_amount"),
        ({"amount": 36_601}, "shelf_life_amount"),
        ({"unit": "WEEKS"}, "shelf_life_unit"),
        ({"kind": "FRESH"}, "expiry_kind"),
        ({"retest_days": 0}, "retest_days"),
        ({"version": 0}, "shelf_life_version"),
        ({"unit": ShelfLifeUnit.HOURS, "round_to_month_end": True}, "round_to_month_end"),
    ],
)
def test_invalid_rule_is_refused_naming_the_field(arguments: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "amount": 10,
        "unit": ShelfLifeUnit.DAYS,
        "kind": ExpiryKind.USE_BY,
        "retest_days": None,
        **arguments,
    }
    with pytest.raises(InvalidInput) as error:
        ShelfLifeRule(**values)
    assert field_of(error) == field
    assert error.value.code == "expiry.rule_invalid"


# --- days and months -------------------------------------------------------------------------


def test_ten_day_shelf_life_produced_on_1_march_is_usable_through_10_march() -> None:
    decision = compute_expiry(days_rule(10), produced_on=date(2026, 3, 1), site_zone="Asia/Shanghai")
    assert decision.expiry_date == date(2026, 3, 10)
    assert decision.expiry_at is None
    assert decision.provenance["decided_by"] == "shelf_life"


def test_one_day_shelf_life_expires_on_the_production_day() -> None:
    decision = compute_expiry(days_rule(1), produced_on=date(2026, 3, 1), site_zone="UTC")
    assert decision.expiry_date == date(2026, 3, 1)


def test_days_rule_counts_the_leap_day() -> None:
    assert compute_expiry(days_rule(10), produced_on=date(2024, 2, 20), site_zone="UTC").expiry_date == date(
        2024, 2, 29
    )
    assert compute_expiry(days_rule(10), produced_on=date(2026, 2, 20), site_zone="UTC").expiry_date == date(
        2026, 3, 1
    )


def test_one_month_from_1_january_is_usable_through_31_january() -> None:
    decision = compute_expiry(months_rule(1), produced_on=date(2026, 1, 1), site_zone="UTC")
    assert decision.expiry_date == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("produced_on", "expected"),
    [
        (date(2026, 1, 31), date(2026, 2, 27)),  # 31 Jan + 1 month = 28 Feb, last day of use 27 Feb
        (date(2024, 1, 31), date(2024, 2, 28)),  # leap year: 29 Feb, last day of use 28 Feb
        (date(2026, 1, 28), date(2026, 2, 27)),
        (date(2026, 3, 31), date(2026, 4, 29)),  # 31 Mar + 1 month = 30 Apr
    ],
)
def test_one_month_from_a_late_day_clamps_to_the_month_end_then_steps_back(
    produced_on: date, expected: date
) -> None:
    assert compute_expiry(months_rule(1), produced_on=produced_on, site_zone="UTC").expiry_date == expected


def test_months_from_a_leap_day_land_on_february_28_or_29() -> None:
    assert compute_expiry(
        months_rule(12), produced_on=date(2024, 2, 29), site_zone="UTC"
    ).expiry_date == date(2025, 2, 27)
    assert compute_expiry(
        months_rule(48), produced_on=date(2024, 2, 29), site_zone="UTC"
    ).expiry_date == date(2028, 2, 28)


def test_month_end_rounding_moves_the_expiry_to_the_last_day_of_its_month() -> None:
    decision = compute_expiry(
        months_rule(6, round_to_month_end=True), produced_on=date(2026, 1, 15), site_zone="UTC"
    )
    assert decision.expiry_date == date(2026, 7, 31)
    assert decision.provenance["rounded_to_month_end"] is True
    assert decision.provenance["unrounded_expiry_date"] == "2026-07-14"
    leap = compute_expiry(
        months_rule(1, round_to_month_end=True), produced_on=date(2024, 1, 31), site_zone="UTC"
    )
    assert leap.expiry_date == date(2024, 2, 29)


def test_month_end_rounding_also_applies_to_a_days_rule() -> None:
    decision = compute_expiry(
        days_rule(10, round_to_month_end=True), produced_on=date(2026, 3, 5), site_zone="UTC"
    )
    assert decision.expiry_date == date(2026, 3, 31)


# --- hours -----------------------------------------------------------------------------------


def test_hours_rule_counts_real_hours_across_the_berlin_spring_forward() -> None:
    # 28 March 2026 12:00 CET (11:00 UTC); clocks go 02:00 → 03:00 on 29 March.
    produced_at = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    decision = compute_expiry(hours_rule(24), produced_at=produced_at, site_zone="Europe/Berlin")
    assert decision.expiry_at == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert decision.expiry_at.utcoffset() == timedelta(0)
    assert decision.expiry_at.astimezone(BERLIN).hour == 13  # 24 real hours, 25 on the wall clock
    assert decision.expiry_date == date(2026, 3, 29)


def test_hours_rule_counts_real_hours_across_the_berlin_fall_back() -> None:
    # 24 October 2026 23:00 CEST (21:00 UTC); clocks go 03:00 → 02:00 on 25 October.
    produced_at = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)
    decision = compute_expiry(hours_rule(4), produced_at=produced_at, site_zone="Europe/Berlin")
    assert decision.expiry_at == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert decision.expiry_at.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 25, 2, 0)
    assert decision.expiry_date == date(2026, 10, 25)


def test_hours_expiry_is_dated_in_the_site_zone_not_in_utc() -> None:
    # 1 March 20:00 Shanghai + 6 h = 2 March 02:00 Shanghai, still 1 March in UTC.
    produced_at = datetime(2026, 3, 1, 20, 0, tzinfo=SHANGHAI)
    decision = compute_expiry(hours_rule(6), produced_at=produced_at, site_zone="Asia/Shanghai")
    assert decision.expiry_at == datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    assert decision.expiry_date == date(2026, 3, 2)
    assert decision.provenance["production_day"] == "2026-03-01"


def test_hours_lot_is_usable_at_its_last_instant_and_expired_just_after() -> None:
    expiry_at = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    common = {"expiry_date": date(2026, 3, 2), "expiry_at": expiry_at, "site_zone": "Asia/Shanghai"}
    assert not is_expired(**common, now=expiry_at)
    assert is_expired(**common, now=expiry_at + timedelta(microseconds=1))


def test_days_rule_without_production_date_is_refused_naming_produced_on() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(days_rule(10), produced_at=datetime(2026, 3, 1, tzinfo=UTC), site_zone="UTC")
    assert field_of(error) == "produced_on"
    assert error.value.code == "expiry.production_required"


def test_hours_rule_without_production_time_is_refused_naming_produced_at() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(hours_rule(24), produced_on=date(2026, 3, 1), site_zone="UTC")
    assert field_of(error) == "produced_at"


def test_production_time_without_a_zone_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(hours_rule(24), produced_at=datetime(2026, 3, 1, 8, 0), site_zone="UTC")
    assert field_of(error) == "produced_at"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Asia"])
def test_unknown_site_zone_is_refused_naming_site_zone(zone: str) -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(days_rule(10), produced_on=date(2026, 3, 1), site_zone=zone)
    assert field_of(error) == "site_zone"


@pytest.mark.parametrize("rule", [months_rule(1200), days_rule(36_600)])
def test_dates_beyond_the_calendar_are_refused(rule: ShelfLifeRule) -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(rule, produced_on=date(9950, 1, 1), site_zone="UTC")
    assert field_of(error) == "produced_on"
    assert error.value.code == "expiry.date_out_of_range"


def test_hours_beyond_the_calendar_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(hours_rule(24 * 366), produced_at=datetime(9999, 1, 1, tzinfo=UTC), site_zone="UTC")
    assert field_of(error) == "produced_at"


# --- supplier dates, inputs, retest -----------------------------------------------------------


def test_supplier_date_wins_when_the_rule_says_so_even_if_later() -> None:
    rule = days_rule(10, supplier_date_wins=True)
    decision = compute_expiry(
        rule, produced_on=date(2026, 3, 1), supplier_expiry=date(2026, 3, 20), site_zone="UTC"
    )
    assert decision.expiry_date == date(2026, 3, 20)
    assert decision.provenance["supplier_date_won"] is True
    assert decision.provenance["supplier_date_earlier"] is False
    assert decision.provenance["computed_expiry_date"] == "2026-03-10"
    assert decision.provenance["decided_by"] == "supplier_date"


def test_earlier_supplier_date_wins_even_when_the_rule_computes_the_date() -> None:
    decision = compute_expiry(
        days_rule(10), produced_on=date(2026, 3, 1), supplier_expiry=date(2026, 3, 7), site_zone="UTC"
    )
    assert decision.expiry_date == date(2026, 3, 7)
    assert decision.provenance["supplier_date_earlier"] is True
    assert decision.provenance["supplier_date_won"] is True


def test_later_supplier_date_never_extends_the_computed_date() -> None:
    decision = compute_expiry(
        days_rule(10), produced_on=date(2026, 3, 1), supplier_expiry=date(2026, 4, 1), site_zone="UTC"
    )
    assert decision.expiry_date == date(2026, 3, 10)
    assert decision.provenance["supplier_date_won"] is False
    assert decision.provenance["supplier_expiry"] == "2026-04-01"


def test_supplier_date_alone_is_the_expiry() -> None:
    decision = compute_expiry(days_rule(10), supplier_expiry=date(2026, 9, 30), site_zone="UTC")
    assert decision.expiry_date == date(2026, 9, 30)
    assert decision.provenance["decided_by"] == "supplier_date"
    assert decision.provenance["produced_on"] is None


def test_earlier_supplier_date_replaces_the_instant_of_an_hours_rule() -> None:
    decision = compute_expiry(
        hours_rule(72),
        produced_at=datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI),
        supplier_expiry=date(2026, 3, 2),
        site_zone="Asia/Shanghai",
    )
    assert decision.expiry_date == date(2026, 3, 2)
    assert decision.expiry_at is None


def test_supplier_date_before_production_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(
            days_rule(10), produced_on=date(2026, 3, 1), supplier_expiry=date(2026, 2, 28), site_zone="UTC"
        )
    assert field_of(error) == "supplier_expiry"


def test_gs1_day_00_resolution_is_recorded_in_the_provenance() -> None:
    supplier_expiry = gs1_date("260200", today=TODAY)
    decision = compute_expiry(
        days_rule(10, supplier_date_wins=True),
        supplier_expiry=supplier_expiry,
        supplier_expiry_gs1="260200",
        site_zone="UTC",
    )
    assert decision.expiry_date == date(2026, 2, 28)
    assert decision.provenance["supplier_expiry_gs1"] == "260200"
    assert decision.provenance["gs1_day_00"] is True


def test_gs1_text_that_does_not_match_the_supplier_date_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(
            days_rule(10), supplier_expiry=date(2026, 2, 27), supplier_expiry_gs1="260200", site_zone="UTC"
        )
    assert field_of(error) == "supplier_expiry_gs1"


def test_produced_lot_never_outlives_its_earliest_input() -> None:
    inputs = [InputLot("MILK-7", date(2026, 3, 20)), InputLot("CREAM-2", date(2026, 3, 6))]
    decision = compute_expiry(days_rule(10), produced_on=date(2026, 3, 1), inputs=inputs, site_zone="UTC")
    assert decision.expiry_date == date(2026, 3, 6)
    assert decision.provenance["earliest_input"] == {
        "lot": "CREAM-2",
        "expiry_date": "2026-03-06",
        "expiry_at": None,
    }
    assert decision.provenance["input_limited"] is True
    assert decision.provenance["decided_by"] == "input_lot"


def test_later_inputs_are_recorded_but_do_not_move_the_expiry() -> None:
    inputs = [InputLot("MILK-7", date(2026, 4, 20))]
    decision = compute_expiry(days_rule(10), produced_on=date(2026, 3, 1), inputs=inputs, site_zone="UTC")
    assert decision.expiry_date == date(2026, 3, 10)
    assert decision.provenance["earliest_input"] == {
        "lot": "MILK-7",
        "expiry_date": "2026-04-20",
        "expiry_at": None,
    }
    assert decision.provenance["input_limited"] is False


def test_input_expired_before_production_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_expiry(
            days_rule(10),
            produced_on=date(2026, 3, 1),
            inputs=[InputLot("MILK-7", date(2026, 2, 27))],
            site_zone="UTC",
        )
    assert field_of(error) == "inputs"
    assert error.value.params["lot"] == "MILK-7"


def test_retest_date_is_production_plus_retest_days() -> None:
    rule = ShelfLifeRule(24, ShelfLifeUnit.MONTHS, ExpiryKind.USE_BY, 180)
    decision = compute_expiry(rule, produced_on=date(2026, 1, 1), site_zone="UTC")
    assert decision.expiry_date == date(2027, 12, 31)
    assert decision.retest_date == date(2026, 6, 30)


def test_retest_date_never_falls_after_the_expiry() -> None:
    rule = ShelfLifeRule(30, ShelfLifeUnit.DAYS, ExpiryKind.USE_BY, 60)
    decision = compute_expiry(rule, produced_on=date(2026, 1, 1), site_zone="UTC")
    assert decision.retest_date == decision.expiry_date == date(2026, 1, 30)
    assert decision.provenance["retest_capped"] is True


def test_provenance_survives_a_json_round_trip() -> None:
    decision = compute_expiry(
        ShelfLifeRule(24, ShelfLifeUnit.HOURS, ExpiryKind.USE_BY, 1, version=4),
        produced_at=datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI),
        supplier_expiry=date(2026, 3, 5),
        inputs=[InputLot("A-1", date(2026, 3, 9))],
        site_zone="Asia/Shanghai",
    )
    assert json.loads(json.dumps(decision.provenance)) == decision.provenance
    assert decision.provenance["rule"] == {
        "version": 4,
        "amount": 24,
        "unit": "HOURS",
        "kind": "USE_BY",
        "retest_days": 1,
        "round_to_month_end": False,
        "supplier_date_wins": False,
    }
    assert decision.provenance["expiry_at"] == "2026-03-02T00:00:00+00:00"


# --- GS1 dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("160200", date(2016, 2, 29)),  # day 00 = end of month, leap year
        ("230200", date(2023, 2, 28)),
        ("241200", date(2024, 12, 31)),
        ("210526", date(2021, 5, 26)),  # the standards README vector (AI 15 of …15210526…)
        ("991231", date(1999, 12, 31)),  # 73 years ahead would be too far: previous century
        ("750101", date(2075, 1, 1)),
        ("760101", date(2076, 1, 1)),  # 50 years ahead: still this century
        ("770101", date(1977, 1, 1)),  # 51 ahead is too far: 49 years back
    ],
)
def test_gs1_dates_follow_day_00_and_the_century_window(text: str, expected: date) -> None:
    assert gs1_date(text, today=TODAY) == expected


def test_gs1_century_comes_from_the_given_today_not_the_clock() -> None:
    assert gs1_date("200101", today=date(2090, 1, 1)) == date(2120, 1, 1)
    assert gs1_date("990101", today=date(1990, 1, 1)) == date(1999, 1, 1)
    assert gs1_date("400101", today=date(1990, 1, 1)) == date(2040, 1, 1)


@pytest.mark.parametrize(
    "text",
    ["161300", "160000", "160132", "160230", "230229", "16020", "1602000", "16O200", "", "１６０２００"],
)
def test_invalid_gs1_date_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        gs1_date(text, today=TODAY)
    assert error.value.code == "gs1.bad_date"
    assert field_of(error) == "expiry"
    with pytest.raises(InvalidInput) as named:
        gs1_date(text, today=TODAY, field="best_before")
    assert field_of(named) == "best_before"


@given(
    st.integers(min_value=0, max_value=99), st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
)
def test_gs1_year_lies_within_49_years_back_and_50_ahead(yy: int, today: date) -> None:
    year = gs1_date(f"{yy:02d}0115", today=today).year
    assert year % 100 == yy
    assert today.year - 49 <= year <= today.year + 50


# --- when a lot expires ----------------------------------------------------------------------


def test_shanghai_lot_is_usable_until_midnight_local_whatever_the_process_zone(
    process_time_zone: str,
) -> None:
    # The process zone really changed: the epoch is 16:00 the day before in Los Angeles.
    assert time.localtime(0).tm_hour == (0 if process_time_zone == "UTC" else 16)
    lot = {"expiry_date": date(2026, 3, 1), "expiry_at": None, "site_zone": "Asia/Shanghai"}
    assert not is_expired(**lot, now=datetime(2026, 3, 1, 23, 59, tzinfo=SHANGHAI))
    assert not is_expired(**lot, now=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=SHANGHAI))
    assert is_expired(**lot, now=datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI))
    # The same instants given in UTC, as stored.
    assert not is_expired(**lot, now=datetime(2026, 3, 1, 15, 59, tzinfo=UTC))
    assert is_expired(**lot, now=datetime(2026, 3, 1, 16, 0, tzinfo=UTC))
    assert expires_at_local(date(2026, 3, 1), "Asia/Shanghai") == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


def test_expiry_instant_follows_berlin_daylight_saving() -> None:
    # 29 March 2026 starts in CET (+01:00); 30 March in CEST (+02:00).
    assert expires_at_local(date(2026, 3, 28), "Europe/Berlin") == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert expires_at_local(date(2026, 3, 29), "Europe/Berlin") == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_expiry_instant_where_dst_skips_midnight_is_the_first_instant_of_the_next_day() -> None:
    # Santiago jumps from 00:00 to 01:00 on 6 September 2026: the day starts at 01:00 -03.
    assert expires_at_local(date(2026, 9, 5), "America/Santiago") == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        is_expired(expiry_date=date(2026, 3, 1), expiry_at=None, site_zone="UTC", now=datetime(2026, 3, 1))


# --- remaining shelf life --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_day", "days", "fraction"),
    [
        (date(2026, 3, 1), 9, Decimal("1.0000")),  # production day: all 10 days of use left
        (date(2026, 3, 4), 6, Decimal("0.7000")),
        (date(2026, 3, 10), 0, Decimal("0.1000")),  # expiry day: usable today, 0 days after
        (date(2026, 3, 11), -1, Decimal("0.0000")),
        (date(2026, 3, 20), -10, Decimal("0.0000")),
        (date(2026, 2, 20), 18, Decimal("1.0000")),  # before production: never above 1
    ],
)
def test_remaining_shelf_life_counts_site_local_days(local_day: date, days: int, fraction: Decimal) -> None:
    now = datetime.combine(local_day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=9)
    remaining = remaining_shelf_life(
        expiry_date=date(2026, 3, 10),
        expiry_at=None,
        produced_on=date(2026, 3, 1),
        site_zone="Asia/Shanghai",
        now=now,
    )
    assert remaining == RemainingShelfLife(days, fraction)


def test_remaining_days_use_the_site_date_not_the_utc_date() -> None:
    # 9 March 17:00 UTC is already 10 March 01:00 in Shanghai.
    remaining = remaining_shelf_life(
        expiry_date=date(2026, 3, 10),
        expiry_at=None,
        produced_on=date(2026, 3, 1),
        site_zone="Asia/Shanghai",
        now=datetime(2026, 3, 9, 17, 0, tzinfo=UTC),
    )
    assert remaining.days == 0


def test_remaining_fraction_is_truncated_never_rounded_up() -> None:
    remaining = remaining_shelf_life(
        expiry_date=date(2026, 3, 3),
        expiry_at=None,
        produced_on=date(2026, 3, 1),
        site_zone="UTC",
        now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    )
    assert remaining.fraction == Decimal("0.6666")


def test_remaining_fraction_of_an_hours_lot_counts_hours() -> None:
    produced_at = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    remaining = remaining_shelf_life(
        expiry_date=date(2026, 3, 2),
        expiry_at=produced_at + timedelta(hours=24),
        produced_on=date(2026, 3, 1),
        produced_at=produced_at,
        site_zone="UTC",
        now=produced_at + timedelta(hours=6),
    )
    assert remaining == RemainingShelfLife(1, Decimal("0.7500"))


def test_remaining_fraction_is_unknown_without_a_production_date() -> None:
    remaining = remaining_shelf_life(
        expiry_date=date(2026, 3, 10),
        expiry_at=None,
        produced_on=None,
        site_zone="UTC",
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert remaining == RemainingShelfLife(9, None)


# --- minimum shelf life ----------------------------------------------------------------------


def test_minimum_in_days_is_met_with_exactly_that_many_days_left() -> None:
    minimum = MinimumShelfLife(days=30)
    assert meets_minimum(minimum, RemainingShelfLife(30, Decimal("0.5")))
    assert not meets_minimum(minimum, RemainingShelfLife(29, Decimal("0.9")))
    assert minimum_shortfall(minimum, RemainingShelfLife(29, Decimal("0.9"))) == {
        "measure": "days",
        "required": 30,
        "remaining": 29,
        "short_by": 1,
    }
    assert minimum_shortfall(minimum, RemainingShelfLife(30, None)) is None


def test_minimum_as_percent_of_shelf_life() -> None:
    minimum = MinimumShelfLife(percent=Decimal("66.67"))
    assert meets_minimum(minimum, RemainingShelfLife(10, Decimal("0.7000")))
    assert meets_minimum(minimum, RemainingShelfLife(10, Decimal("0.6667")))
    assert not meets_minimum(minimum, RemainingShelfLife(10, Decimal("0.6666")))
    assert minimum_shortfall(minimum, RemainingShelfLife(10, Decimal("0.6666"))) == {
        "measure": "percent",
        "required": "66.67",
        "remaining": "66.66",
        "short_by": "0.01",
    }


def test_minimum_percent_is_never_met_when_the_total_shelf_life_is_unknown() -> None:
    minimum = MinimumShelfLife(percent=Decimal(50))
    assert not meets_minimum(minimum, RemainingShelfLife(400, None))
    assert minimum_shortfall(minimum, RemainingShelfLife(400, None)) == {
        "measure": "percent",
        "required": "50",
        "remaining": None,
        "short_by": None,
    }


def test_minimum_percent_given_as_a_whole_number_becomes_decimal() -> None:
    assert MinimumShelfLife(percent=75).percent == Decimal(75)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "minimum_shelf_life"),
        ({"days": 10, "percent": Decimal(50)}, "minimum_shelf_life"),
        ({"days": -1}, "min_days"),
        ({"days": True}, "min_days"),
        ({"percent": Decimal("100.01")}, "min_percent"),
        ({"percent": Decimal(-1)}, "min_percent"),
        ({"percent": Decimal("NaN")}, "min_percent"),
        ({"percent": 50.0}, "min_percent"),  # never float
    ],
)
def test_invalid_minimum_is_refused_naming_the_field(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        MinimumShelfLife(**arguments)
    assert field_of(error) == field


# --- re-dating -------------------------------------------------------------------------------


def test_extension_moves_the_expiry_later_and_records_old_and_new() -> None:
    redating = redate(date(2026, 3, 10), new_expiry=date(2026, 4, 10), reason_kind=RedateKind.EXTENSION)
    assert redating.expiry_date == date(2026, 4, 10)
    assert redating.entry == {"kind": "EXTENSION", "old": "2026-03-10", "new": "2026-04-10"}


@pytest.mark.parametrize("kind", [RedateKind.EXTENSION, RedateKind.RETEST_PASSED])
def test_extension_or_passed_retest_cannot_move_the_expiry_earlier(kind: RedateKind) -> None:
    with pytest.raises(InvalidInput) as error:
        redate(date(2026, 3, 10), new_expiry=date(2026, 3, 9), reason_kind=kind)
    assert field_of(error) == "new_expiry"
    assert error.value.code == "expiry.redate_direction"


def test_shortening_must_move_the_expiry_earlier() -> None:
    assert redate(
        date(2026, 3, 10), new_expiry=date(2026, 3, 5), reason_kind=RedateKind.SHORTEN
    ).expiry_date == (date(2026, 3, 5))
    with pytest.raises(InvalidInput) as error:
        redate(date(2026, 3, 10), new_expiry=date(2026, 3, 11), reason_kind=RedateKind.SHORTEN)
    assert field_of(error) == "new_expiry"


def test_thawing_may_move_the_expiry_either_way() -> None:
    frozen = date(2027, 1, 31)
    assert redate(frozen, new_expiry=date(2026, 3, 5), reason_kind=RedateKind.THAW).expiry_date == date(
        2026, 3, 5
    )
    assert redate(frozen, new_expiry=date(2027, 2, 5), reason_kind="THAW").expiry_date == date(2027, 2, 5)


@pytest.mark.parametrize("kind", list(RedateKind))
def test_redating_to_the_same_date_is_refused(kind: RedateKind) -> None:
    with pytest.raises(InvalidInput) as error:
        redate(date(2026, 3, 10), new_expiry=date(2026, 3, 10), reason_kind=kind)
    assert error.value.code == "expiry.redate_unchanged"


def test_redating_an_hours_decision_records_the_old_instant() -> None:
    decision = ExpiryDecision(date(2026, 3, 2), datetime(2026, 3, 1, 18, 0, tzinfo=UTC), None, {})
    redating = redate(decision, new_expiry=date(2026, 3, 1), reason_kind=RedateKind.SHORTEN)
    assert redating.entry["old_expiry_at"] == "2026-03-01T18:00:00+00:00"


def test_unknown_redate_kind_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        redate(date(2026, 3, 10), new_expiry=date(2026, 3, 11), reason_kind="FREEZE")
    assert field_of(error) == "reason_kind"


# --- properties ------------------------------------------------------------------------------

production_days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
zones = st.sampled_from(ZONES)


@given(
    amount=st.integers(min_value=1, max_value=600),
    unit=st.sampled_from([ShelfLifeUnit.DAYS, ShelfLifeUnit.MONTHS]),
    rounding=st.booleans(),
    produced_on=production_days,
    zone=zones,
)
def test_expiry_is_never_before_production(
    amount: int, unit: ShelfLifeUnit, rounding: bool, produced_on: date, zone: str
) -> None:
    rule = ShelfLifeRule(amount, unit, ExpiryKind.USE_BY, None, round_to_month_end=rounding)
    assert compute_expiry(rule, produced_on=produced_on, site_zone=zone).expiry_date >= produced_on


@given(
    amount=st.integers(min_value=1, max_value=24 * 400),
    produced_at=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
    ),
    zone=zones,
)
def test_hours_expiry_is_never_before_production(amount: int, produced_at: datetime, zone: str) -> None:
    decision = compute_expiry(hours_rule(amount), produced_at=produced_at, site_zone=zone)
    assert decision.expiry_at is not None
    assert decision.expiry_at - produced_at == timedelta(hours=amount)
    assert decision.expiry_date >= produced_at.astimezone(ZoneInfo(zone)).date()


@given(amount=st.integers(min_value=1, max_value=3650), produced_on=production_days, zone=zones)
def test_days_lot_is_usable_at_23_59_local_on_its_expiry_date_and_expired_at_00_00_next_day(
    amount: int, produced_on: date, zone: str
) -> None:
    decision = compute_expiry(days_rule(amount), produced_on=produced_on, site_zone=zone)
    local = ZoneInfo(zone)
    last_minute = datetime.combine(decision.expiry_date, datetime.min.time(), tzinfo=local).replace(
        hour=23, minute=59
    )
    next_midnight = datetime.combine(
        decision.expiry_date + timedelta(days=1), datetime.min.time(), tzinfo=local
    )
    lot = {"expiry_date": decision.expiry_date, "expiry_at": None, "site_zone": zone}
    assert not is_expired(**lot, now=last_minute)
    assert is_expired(**lot, now=next_midnight)
    boundary = expires_at_local(decision.expiry_date, zone)
    assert not is_expired(**lot, now=boundary - timedelta(microseconds=1))
    assert is_expired(**lot, now=boundary)
    assert boundary.astimezone(local).date() == decision.expiry_date + timedelta(days=1)


def test_an_input_dated_in_hours_caps_to_its_instant() -> None:
    sandwich = ShelfLifeRule(amount=48, unit="HOURS", kind="USE_BY", retest_days=None)
    made = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    ham = InputLot("HAM-1", date(2026, 3, 2), datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    decision = compute_expiry(sandwich, produced_at=made, inputs=[ham], site_zone="Asia/Shanghai")
    # 48 h would run to 3 March 02:00 UTC; the ham is good only until 2 March 06:00 UTC.
    assert (decision.expiry_date, decision.expiry_at) == (date(2026, 3, 2), ham.expiry_at)
    assert decision.provenance["decided_by"] == "input_lot"
    # A whole-day input of the same date lasts until local midnight: later than 06:00 UTC.
    bread = InputLot("BREAD-1", date(2026, 3, 2))
    decision = compute_expiry(sandwich, produced_at=made, inputs=[ham, bread], site_zone="Asia/Shanghai")
    assert decision.provenance["earliest_input"]["lot"] == "HAM-1"


def test_an_hours_lot_split_without_a_production_time_keeps_its_parents_instant() -> None:
    rule = ShelfLifeRule(amount=24, unit="HOURS", kind="USE_BY", retest_days=None)
    parent = InputLot("SAL-1", date(2026, 3, 2), datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    decision = compute_expiry(rule, inputs=[parent], site_zone="Asia/Shanghai")
    assert (decision.expiry_date, decision.expiry_at) == (parent.expiry_date, parent.expiry_at)
