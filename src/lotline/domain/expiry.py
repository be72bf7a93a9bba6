"""Expiry math: shelf-life rules, GS1 dates, "is it expired here, now", minimum shelf life.

Pure functions; "today" and "now" are always passed in and nothing reads the process's time
zone. The expiry date is the LAST DAY OF USE (DESIGN.md "Expiry is data"): a 10-day shelf life
produced on 1 March is usable through 10 March, and a lot expires at 00:00 local time on the
day after its expiry date, in the zone of the site where the stock is.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lotline.domain.errors import N_, InvalidInput

# Bounds keep every date far from year 9999; a century covers any real shelf life.
MAX_AMOUNT = {"HOURS": 24 * 36_600, "DAYS": 36_600, "MONTHS": 1_200}
MAX_DAYS = 36_600
_WHOLE_NUMBER = N_("{field} must be a whole number from {minimum} to {maximum}.")
_ONE_OF = N_("{field} must be one of: {choices}.")
_BAD_GS1 = N_("{field} is not a valid GS1 date (YYMMDD, day 00 for the end of the month): {value}.")
_FOURPLACES = Decimal("0.0001")
_E = TypeVar("_E", bound=StrEnum)


class ShelfLifeUnit(StrEnum):
    HOURS = "HOURS"
    DAYS = "DAYS"
    MONTHS = "MONTHS"


class ExpiryKind(StrEnum):
    USE_BY = "USE_BY"
    BEST_BEFORE = "BEST_BEFORE"


class RedateKind(StrEnum):
    RETEST_PASSED = "RETEST_PASSED"
    EXTENSION = "EXTENSION"
    THAW = "THAW"
    SHORTEN = "SHORTEN"


def _enum(enum: type[_E], value: object, *, field_name: str, code: str) -> _E:
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    choices = ", ".join(member.value for member in enum)
    raise InvalidInput(_ONE_OF, field=field_name, code=code, choices=choices)


def _whole_number(value: object, *, field_name: str, minimum: int, maximum: int, code: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(_WHOLE_NUMBER, field=field_name, code=code, minimum=minimum, maximum=maximum)


@dataclass(frozen=True, slots=True)
class ShelfLifeRule:
    """A product's shelf-life rule, as of one ``version``; field names follow the catalog."""

    amount: int
    unit: ShelfLifeUnit
    kind: ExpiryKind
    retest_days: int | None
    round_to_month_end: bool = False
    supplier_date_wins: bool = False
    version: int = 1

    def __post_init__(self) -> None:
        code = "expiry.rule_invalid"
        # Catalog rows hold plain strings: accept them, store the enum.
        unit = _enum(ShelfLifeUnit, self.unit, field_name="shelf_life_unit", code=code)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "kind", _enum(ExpiryKind, self.kind, field_name="expiry_kind", code=code))
        maximum = MAX_AMOUNT[unit.value]
        _whole_number(self.amount, field_name="shelf_life_amount", minimum=1, maximum=maximum, code=code)
        if self.retest_days is not None:
            _whole_number(self.retest_days, field_name="retest_days", minimum=1, maximum=MAX_DAYS, code=code)
        _whole_number(self.version, field_name="shelf_life_version", minimum=1, maximum=2**31 - 1, code=code)
        if self.round_to_month_end and unit is ShelfLifeUnit.HOURS:
            raise InvalidInput(
                N_("Rounding to the end of the month does not apply to a shelf life counted in hours."),
                field="round_to_month_end",
                code=code,
            )

    def as_provenance(self) -> dict[str, object]:
        return {
            "version": self.version,
            "amount": self.amount,
            "unit": self.unit.value,
            "kind": self.kind.value,
            "retest_days": self.retest_days,
            "round_to_month_end": self.round_to_month_end,
            "supplier_date_wins": self.supplier_date_wins,
        }


@dataclass(frozen=True, slots=True)
class InputLot:
    """An input consumed to produce a lot: a produced lot never outlives its earliest input.

    ``expiry_at``: the last instant of use of an input dated in hours (None: the whole day)."""

    code: str
    expiry_date: date
    expiry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExpiryDecision:
    """A lot's expiry as fixed at creation; ``provenance`` is JSON-safe and says why."""

    expiry_date: date
    expiry_at: datetime | None  # HOURS rules only: the last instant of use, aware UTC
    retest_date: date | None
    provenance: dict[str, object] = field(hash=False)


# --- zones and instants -----------------------------------------------------------------------


def _zone(name: str, *, field_name: str = "site_zone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:  # OSError: "Asia" with tzdata
        raise InvalidInput(
            N_("{zone} is not a known time zone (use an IANA name such as Asia/Shanghai)."),
            field=field_name,
            code="site.unknown_time_zone",
            zone=name,
        ) from exc


def _is_naive(moment: datetime) -> bool:
    return moment.tzinfo is None or moment.utcoffset() is None


def _require_aware(moment: datetime, *, field_name: str) -> None:
    """A naive instant in user input is an input error (naive ``now`` is a bug: ValueError)."""
    if _is_naive(moment):
        raise InvalidInput(
            N_("{field} must include a time zone."), field=field_name, code="expiry.naive_time"
        )


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    if _is_naive(moment):
        raise ValueError(f"naive datetime {moment!r}: pass an aware instant")
    return moment.astimezone(zone).date()


def local_today(now: datetime, site_zone: str) -> date:
    """The calendar date at a site (its time zone) at the instant ``now``."""
    return _local_date(now, _zone(site_zone))


def expires_at_local(expiry_date: date, site_zone: str) -> datetime:
    """The first instant (aware UTC) the lot is expired: 00:00 local on the day after expiry.

    Where a DST change skips local midnight, fold=0 resolves it to the first instant that
    exists on that day (e.g. 01:00 in America/Santiago on the spring-forward day).
    """
    next_day = datetime.combine(expiry_date + timedelta(days=1), time(0), tzinfo=_zone(site_zone))
    return next_day.astimezone(UTC)


def is_expired(*, expiry_date: date, expiry_at: datetime | None, site_zone: str, now: datetime) -> bool:
    """Expired from local midnight after the expiry date, or after ``expiry_at`` (hours rules)."""
    zone = _zone(site_zone)
    today = _local_date(now, zone)  # also rejects a naive ``now``
    if expiry_at is not None:
        if _is_naive(expiry_at):
            raise ValueError(f"naive datetime {expiry_at!r}: pass an aware instant")
        return now > expiry_at
    return today > expiry_date


# --- computing the expiry ---------------------------------------------------------------------


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if year > date.max.year:
        raise OverflowError("date out of range")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _gs1_matches(text: str, day: date) -> bool:
    if len(text) != 6 or not all(c in "0123456789" for c in text):
        return False
    same_month = int(text[:2]) == day.year % 100 and int(text[2:4]) == day.month
    return same_month and (int(text[4:]) == day.day or (text[4:] == "00" and day == _end_of_month(day)))


def compute_expiry(
    rule: ShelfLifeRule,
    *,
    produced_on: date | None = None,
    produced_at: datetime | None = None,
    supplier_expiry: date | None = None,
    supplier_expiry_gs1: str | None = None,
    inputs: Sequence[InputLot] = (),
    site_zone: str,
) -> ExpiryDecision:
    """The expiry (last day of use) a new lot gets, with the provenance of that decision.

    DAYS: produced_on + amount − 1 day. MONTHS: the same day ``amount`` months later (clamped
    to the month end) − 1 day, then the month end if the rule rounds. HOURS: produced_at +
    amount hours, dated in ``site_zone``. A supplier date wins when the rule says so, and an
    earlier one always wins (we never extend what the supplier declared); with no production
    date it is the expiry. An earlier-expiring input lot caps a produced lot (the caller passes
    ``inputs`` only where the product or the kind of transformation says so); with no other
    date the earliest input's is the lot's.
    ``supplier_expiry_gs1`` is the AI 15/17 text the supplier date was read from, if any.
    """
    zone = _zone(site_zone)
    hours = rule.unit is ShelfLifeUnit.HOURS
    if produced_at is not None:
        _require_aware(produced_at, field_name="produced_at")
        produced_at = produced_at.astimezone(UTC)
    if produced_at is not None and hours:
        production_day: date | None = produced_at.astimezone(zone).date()
    else:
        production_day = produced_on
    has_production = produced_at is not None if hours else produced_on is not None
    if not has_production and supplier_expiry is None and not inputs:
        raise InvalidInput(
            N_("{field} is required to date this lot."),
            field="produced_at" if hours else "produced_on",
            code="expiry.production_required",
        )
    if supplier_expiry_gs1 is not None and (
        supplier_expiry is None or not _gs1_matches(supplier_expiry_gs1, supplier_expiry)
    ):
        raise InvalidInput(
            N_("{field} does not match the supplier's expiry date {date}."),
            field="supplier_expiry_gs1",
            code="gs1.date_mismatch",
            date=_iso(supplier_expiry),
        )

    computed_date: date | None = None
    computed_at: datetime | None = None
    unrounded: date | None = None
    try:
        if hours and produced_at is not None:
            computed_at = produced_at + timedelta(hours=rule.amount)  # in UTC: real elapsed hours
            computed_date = computed_at.astimezone(zone).date()
        elif produced_on is not None and rule.unit is ShelfLifeUnit.DAYS:
            computed_date = produced_on + timedelta(days=rule.amount - 1)
        elif produced_on is not None:
            computed_date = _add_months(produced_on, rule.amount) - timedelta(days=1)
        if computed_date is not None and rule.round_to_month_end:
            unrounded, computed_date = computed_date, _end_of_month(computed_date)
    except OverflowError:
        raise InvalidInput(
            N_("{field} is outside the supported range of dates."),
            field="produced_at" if hours else "produced_on",
            code="expiry.date_out_of_range",
        ) from None

    expiry_date, expiry_at, decided_by = computed_date, computed_at, "shelf_life"
    supplier_won = supplier_earlier = False
    if supplier_expiry is not None:
        if production_day is not None and supplier_expiry < production_day:
            raise InvalidInput(
                N_("{field} ({date}) is earlier than the production date."),
                field="supplier_expiry",
                code="expiry.supplier_before_production",
                date=supplier_expiry.isoformat(),
            )
        supplier_earlier = computed_date is not None and supplier_expiry < computed_date
        if computed_date is None or rule.supplier_date_wins or supplier_earlier:
            supplier_won = True
            expiry_date, expiry_at, decided_by = supplier_expiry, None, "supplier_date"

    def usable_until(day: date, instant: datetime | None) -> datetime:
        return instant if instant is not None else expires_at_local(day, site_zone)

    earliest = (
        min(inputs, key=lambda lot: (usable_until(lot.expiry_date, lot.expiry_at), lot.code))
        if inputs
        else None
    )
    input_limited = False
    if earliest is not None:
        if production_day is not None and earliest.expiry_date < production_day:
            raise InvalidInput(
                N_("Input lot {lot} expired on {date}, before this lot was produced."),
                field="inputs",
                code="expiry.input_expired",
                lot=earliest.code,
                date=earliest.expiry_date.isoformat(),
            )
        # With neither a production nor a supplier date (a repack of an undated supplier lot)
        # the input's date is the lot's.
        if expiry_date is None or usable_until(earliest.expiry_date, earliest.expiry_at) < usable_until(
            expiry_date, expiry_at
        ):
            input_limited = True
            expiry_date, expiry_at, decided_by = earliest.expiry_date, earliest.expiry_at, "input_lot"
    assert expiry_date is not None  # production, supplier or input date, checked above

    retest_date: date | None = None
    retest_capped = False
    if rule.retest_days is not None and production_day is not None:
        retest_capped = rule.retest_days > (expiry_date - production_day).days
        retest_date = expiry_date if retest_capped else production_day + timedelta(days=rule.retest_days)

    provenance: dict[str, object] = {
        "rule": rule.as_provenance(),
        "site_zone": site_zone,
        "produced_on": _iso(produced_on),
        "produced_at": _iso(produced_at),
        "production_day": _iso(production_day),
        "computed_expiry_date": _iso(computed_date),
        "computed_expiry_at": _iso(computed_at),
        "rounded_to_month_end": unrounded is not None,
        "unrounded_expiry_date": _iso(unrounded),
        "supplier_expiry": _iso(supplier_expiry),
        "supplier_expiry_gs1": supplier_expiry_gs1,
        "gs1_day_00": None if supplier_expiry_gs1 is None else supplier_expiry_gs1.endswith("00"),
        "supplier_date_won": supplier_won,
        "supplier_date_earlier": supplier_earlier,
        "earliest_input": None
        if earliest is None
        else {
            "lot": earliest.code,
            "expiry_date": earliest.expiry_date.isoformat(),
            "expiry_at": _iso(earliest.expiry_at),
        },
        "input_limited": input_limited,
        **(
            {
                "inputs": [
                    {"lot": i.code, "expiry_date": i.expiry_date.isoformat(), "expiry_at": _iso(i.expiry_at)}
                    for i in inputs
                ]
            }
            if inputs
            else {}
        ),
        "decided_by": decided_by,
        "expiry_date": expiry_date.isoformat(),
        "expiry_at": _iso(expiry_at),
        "retest_date": _iso(retest_date),
        "retest_capped": retest_capped,
    }
    return ExpiryDecision(expiry_date, expiry_at, retest_date, provenance)


# --- GS1 dates --------------------------------------------------------------------------------


def gs1_date(yymmdd: str, *, today: date, field: str = "expiry") -> date:
    """A GS1 YYMMDD date (AI 11/15/17): day 00 is the month's last day; the century is the
    one that puts the year within 49 years back / 50 years ahead of ``today`` (GenSpecs 7.12).
    """
    if not isinstance(yymmdd, str) or len(yymmdd) != 6 or not all(c in "0123456789" for c in yymmdd):
        raise InvalidInput(_BAD_GS1, field=field, code="gs1.bad_date", value=yymmdd)
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    century, current = divmod(today.year, 100)
    difference = yy - current
    if 51 <= difference <= 99:
        century -= 1
    elif -99 <= difference <= -50:
        century += 1
    year = century * 100 + yy
    if not 1 <= month <= 12 or not date.min.year <= year <= date.max.year:
        raise InvalidInput(_BAD_GS1, field=field, code="gs1.bad_date", value=yymmdd)
    last = calendar.monthrange(year, month)[1]
    if day > last:
        raise InvalidInput(_BAD_GS1, field=field, code="gs1.bad_date", value=yymmdd)
    return date(year, month, day or last)


# --- remaining and minimum shelf life ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemainingShelfLife:
    """Derived at the point of use, never stored.

    ``days``: site-local days after today until the expiry date (0 on the expiry day, negative
    after). ``fraction``: days of use left, today included, over the days of use the lot had
    (by the hour for hours rules given ``produced_at``), in [0, 1], truncated to 4 places so
    it never overstates; None when the production date is unknown.
    """

    days: int
    fraction: Decimal | None


def remaining_shelf_life(
    *,
    expiry_date: date,
    expiry_at: datetime | None,
    produced_on: date | None,
    site_zone: str,
    now: datetime,
    produced_at: datetime | None = None,
) -> RemainingShelfLife:
    """How much shelf life a lot has left at ``now``, counted in the site's local dates."""
    today = _local_date(now, _zone(site_zone))
    days = (expiry_date - today).days
    if expiry_at is not None and produced_at is not None:
        if _is_naive(expiry_at) or _is_naive(produced_at):
            raise ValueError("expiry_at and produced_at must be aware")
        left = Decimal((expiry_at - now) // timedelta(microseconds=1))
        total = Decimal((expiry_at - produced_at) // timedelta(microseconds=1))
    elif produced_on is not None:
        left = Decimal(days + 1)
        total = Decimal((expiry_date - produced_on).days + 1)
    else:
        return RemainingShelfLife(days, None)
    if total <= 0:
        return RemainingShelfLife(days, None)
    fraction = min(max(left / total, Decimal(0)), Decimal(1))
    return RemainingShelfLife(days, fraction.quantize(_FOURPLACES, rounding=ROUND_DOWN))


@dataclass(frozen=True, slots=True)
class MinimumShelfLife:
    """The one minimum-remaining-shelf-life model (receipt, shipment, customer delivery).

    Exactly one of ``days`` (days after today until expiry) or ``percent`` (0–100, of the
    lot's shelf life, as :class:`RemainingShelfLife` counts it).
    """

    days: int | None = None
    percent: Decimal | None = None

    def __post_init__(self) -> None:
        code = "expiry.minimum_invalid"
        if (self.days is None) == (self.percent is None):
            raise InvalidInput(
                N_("Give the minimum shelf life either in days or as a percentage, not both."),
                field="minimum_shelf_life",
                code=code,
            )
        if self.days is not None:
            _whole_number(self.days, field_name="min_days", minimum=0, maximum=MAX_DAYS, code=code)
        percent = self.percent
        if isinstance(percent, int) and not isinstance(percent, bool):
            percent = Decimal(percent)
            object.__setattr__(self, "percent", percent)
        if percent is not None and not (
            isinstance(percent, Decimal) and percent.is_finite() and 0 <= percent <= 100
        ):
            raise InvalidInput(
                N_("{field} must be a percentage from {minimum} to {maximum}."),
                field="min_percent",
                code=code,
                minimum=0,
                maximum=100,
            )


def meets_minimum(minimum: MinimumShelfLife, remaining: RemainingShelfLife) -> bool:
    """Whether a lot has at least the minimum left; an unknown percentage never passes."""
    return minimum_shortfall(minimum, remaining) is None


def minimum_shortfall(minimum: MinimumShelfLife, remaining: RemainingShelfLife) -> dict[str, object] | None:
    """None when the minimum is met, else a JSON-safe explanation (the params of a message)."""
    if minimum.days is not None:
        if remaining.days >= minimum.days:
            return None
        return {
            "measure": "days",
            "required": minimum.days,
            "remaining": remaining.days,
            "short_by": minimum.days - remaining.days,
        }
    assert minimum.percent is not None
    if remaining.fraction is None:
        return {"measure": "percent", "required": str(minimum.percent), "remaining": None, "short_by": None}
    percent = (remaining.fraction * 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    if percent >= minimum.percent:
        return None
    return {
        "measure": "percent",
        "required": str(minimum.percent),
        "remaining": str(percent),
        "short_by": str(minimum.percent - percent),
    }


# --- re-dating --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redating:
    """A new expiry date and the provenance entry recording the change (signing is elsewhere)."""

    expiry_date: date
    entry: dict[str, object] = field(hash=False)


def redate(current: ExpiryDecision | date, *, new_expiry: date, reason_kind: RedateKind) -> Redating:
    """Re-date a lot: SHORTEN moves earlier, EXTENSION/RETEST_PASSED later, THAW either way."""
    kind = _enum(RedateKind, reason_kind, field_name="reason_kind", code="expiry.redate_invalid")
    old = current.expiry_date if isinstance(current, ExpiryDecision) else current
    old_at = current.expiry_at if isinstance(current, ExpiryDecision) else None
    if new_expiry == old:
        raise InvalidInput(
            N_("The new expiry date is the same as the current one."),
            field="new_expiry",
            code="expiry.redate_unchanged",
        )
    if kind in (RedateKind.EXTENSION, RedateKind.RETEST_PASSED) and new_expiry < old:
        raise InvalidInput(
            N_("An extension or a passed retest must move the expiry date later than {current}."),
            field="new_expiry",
            code="expiry.redate_direction",
            current=old.isoformat(),
        )
    if kind is RedateKind.SHORTEN and new_expiry > old:
        raise InvalidInput(
            N_("Shortening must move the expiry date earlier than {current}."),
            field="new_expiry",
            code="expiry.redate_direction",
            current=old.isoformat(),
        )
    entry: dict[str, object] = {"kind": kind.value, "old": old.isoformat(), "new": new_expiry.isoformat()}
    if old_at is not None:
        entry["old_expiry_at"] = old_at.isoformat()
    return Redating(new_expiry, entry)
