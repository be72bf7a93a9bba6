"""Lot-code templates, their sequence scopes, and codes from outside (no database)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lotline.domain.errors import InvalidInput
from lotline.domain.gs1 import CHARSET_82
from lotline.domain.lotcode import compile_code_pattern, parse_template, validate_external_code

quick = settings(max_examples=80, deadline=None)
DAY = date(2026, 3, 1)

site_codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=4)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


# --- rendering --------------------------------------------------------------------------------


def test_the_usual_template_renders_site_year_day_of_year_and_sequence() -> None:
    template = parse_template("{site}{yy}{doy:03}{seq:04}")
    assert template.render(site="SH1", on=DAY, seq=1) == "SH1260600001"
    assert template.sequence_width == 4
    assert template.placeholders == {"site", "yy", "doy", "seq"}


def test_every_placeholder_renders() -> None:
    template = parse_template("{product}-{line}-{yyyy}{mm}{dd}-{seq:03}")
    assert template.render(site="SH1", on=DAY, seq=7, product="P1", line="L2") == "P1-L2-20260301-007"


def test_date_parts_have_natural_widths_and_may_be_widened() -> None:
    assert (
        parse_template("{yy}{mm}{dd}{doy}{seq}").render(site="S", on=date(2009, 1, 2), seq=5) == "0901020025"
    )
    assert parse_template("{doy:04}{seq:02}").render(site="S", on=date(2024, 12, 31), seq=0) == "036600"


def test_an_unpadded_sequence_grows_as_it_counts() -> None:
    template = parse_template("B{seq}")
    assert template.sequence_width is None
    assert [template.render(site="S", on=DAY, seq=n) for n in (0, 9, 10, 12345)] == [
        "B0",
        "B9",
        "B10",
        "B12345",
    ]


def test_a_sequence_that_outgrows_its_width_is_exhausted() -> None:
    template = parse_template("{yy}{seq:02}")
    assert template.render(site="S", on=DAY, seq=99) == "2699"
    with pytest.raises(InvalidInput) as caught:
        template.render(site="S", on=DAY, seq=100)
    assert caught.value.code == "lotcode.sequence_exhausted"
    assert caught.value.params == {"seq": 100, "width": 2}
    assert str(caught.value) == "The lot-code sequence is exhausted: 100 does not fit in 2 digits."


@pytest.mark.parametrize("seq", [-1, True, 1.0])
def test_a_sequence_number_is_a_non_negative_int(seq: int) -> None:
    with pytest.raises(ValueError):
        parse_template("{seq:04}").render(site="S", on=DAY, seq=seq)


def test_a_code_longer_than_gs1_allows_is_refused_when_rendered() -> None:
    template = parse_template("{site}{yy}{doy:03}{seq:04}")
    with pytest.raises(InvalidInput) as caught:
        template.render(site="ABCDEFGHIJKL", on=DAY, seq=1)
    assert caught.value.code == "lotcode.too_long"
    assert caught.value.params == {"value": "ABCDEFGHIJKL260600001", "length": 21}


def test_a_missing_product_or_line_is_named() -> None:
    for template, name in (("{product}{seq}", "product"), ("{line}{seq}", "line"), ("{site}{seq}", "site")):
        with pytest.raises(InvalidInput) as caught:
            parse_template(template).render(site="", on=DAY, seq=1)
        assert caught.value.code == "lotcode.missing_value"
        assert caught.value.field == name
        assert str(caught.value) == f"The lot-code template needs a value for {{{name}}}."


def test_a_site_code_gs1_cannot_carry_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_template("{site}{seq:03}").render(site="上海 1", on=DAY, seq=1)
    assert caught.value.code == "lotcode.bad_code"
    assert caught.value.field == "site"
    assert caught.value.params == {"characters": "上 海 U+0020"}


# --- template checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("{yy}{doy:03}", {"placeholder": "{seq}"}),  # no sequence
        ("{seq}{seq:02}", {"placeholder": "{seq}"}),  # two sequences
        ("", {"placeholder": "{seq}"}),
        ("{lot}{seq}", {"placeholder": "{lot}"}),
        ("{}{seq}", {"placeholder": "{}"}),
        ("{0}{seq}", {"placeholder": "{0}"}),
        ("{seq.real}", {"placeholder": "{seq.real}"}),
        ("{site[0]}{seq}", {"placeholder": "{site[0]}"}),
        ("{seq:4}", {"placeholder": "{seq:4}", "example": "{seq:04}"}),
        ("{seq:04d}", {"placeholder": "{seq:04d}", "example": "{seq:04}"}),
        ("{seq:>4}", {"placeholder": "{seq:>4}", "example": "{seq:04}"}),
        ("{seq!r}", {"placeholder": "{seq!r}", "example": "{seq:04}"}),
        ("{site:03}{seq}", {"placeholder": "{site:03}", "example": "{seq:04}"}),
        ("{doy:02}{seq}", {"placeholder": "{doy:02}", "example": "{seq:04}"}),  # narrower than a day
        ("{seq:{width}}", {"placeholder": "{seq:{width}}", "example": "{seq:04}"}),
        ("{seq", {}),
        ("seq}", {}),
        ("LOT {seq}", {"characters": "U+0020"}),
        ("{{{seq}}}", {"characters": "{ }"}),
        ("批{seq}", {"characters": "批"}),
        ("ABCDEFGHIJKLMNOP{yy}{seq:03}", {"length": 21}),
    ],
)
def test_a_bad_template_is_refused_with_what_is_wrong(template: str, params: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_template(template)
    assert caught.value.code == "lotcode.bad_template"
    assert caught.value.field == "code_template"
    assert caught.value.params == params
    assert all(str(value) in str(caught.value) for value in params.values())


def test_a_template_must_be_text() -> None:
    with pytest.raises(TypeError):
        parse_template(None)  # type: ignore[arg-type]


# --- sequence scope ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "scope"),
    [
        ("{site}{yy}{doy:03}{seq:04}", "RAW/SH1/2026-03-01"),  # per day
        ("{site}{yyyy}{mm}{dd}{seq:03}", "RAW/SH1/2026-03-01"),
        ("{site}{yy}{mm}{seq:04}", "RAW/SH1/2026-03"),  # per month
        ("{site}{yy}{seq:05}", "RAW/SH1/2026"),  # per year
        ("{site}{seq:08}", "RAW/SH1/*"),  # forever
        ("{yy}{doy:03}{seq:04}", "RAW/*/2026-03-01"),  # no {site}: one counter for all sites
        ("{site}{mm}{dd}{seq:03}", "RAW/SH1/*-03-01"),  # no year: every 1 March shares
        ("{site}{yy}{dd}{seq:03}", "RAW/SH1/2026-*-01"),  # no month: every 1st of 2026 shares
        ("{site}{doy:03}{seq:03}", "RAW/SH1/*-*-*-D060"),  # no year: day 60 of any year
        ("{site}{mm}{seq:03}", "RAW/SH1/*-03"),
    ],
)
def test_the_sequence_scope_follows_what_the_template_prints(template: str, scope: str) -> None:
    assert parse_template(template).sequence_scope(lot_type="RAW", site="SH1", on=DAY) == scope


def test_scope_keys_cannot_be_forged_with_a_slash() -> None:
    template = parse_template("{site}{seq:04}")
    assert template.sequence_scope(lot_type="A/B", site="C", on=DAY) == "A%2FB/C/*"
    assert template.sequence_scope(lot_type="A", site="B/C", on=DAY) == "A/B%2FC/*"
    assert template.sequence_scope(lot_type="A", site="*", on=DAY) == "A/%2A/*"


TEMPLATE_PIECES = ["{site}", "{yy}", "{yyyy}", "{mm}", "{dd}", "{doy:03}", "-", "L"]


def _shifted(on: date, shift: str) -> date:
    """Dates that may print like ``on``: same day next year, same day-of-month next month …"""
    match shift:
        case "year":
            return on.replace(year=on.year + 1, day=min(on.day, 28) if on.month == 2 else on.day)
        case "month":
            return on.replace(month=on.month % 12 + 1, day=min(on.day, 28))
        case "day-of-year":
            following = date(on.year + 1, 1, 1).toordinal() - 1 + on.timetuple().tm_yday
            return date.fromordinal(min(following, date(on.year + 1, 12, 31).toordinal()))
        case _:
            return on


@quick
@given(
    pieces=st.lists(st.sampled_from(TEMPLATE_PIECES), max_size=4),
    seq_at=st.integers(0, 4),
    first=dates,
    shift=st.sampled_from(["year", "month", "day-of-year", "same"]),
    sites=st.sampled_from([("SH1", "SH1"), ("SH1", "BJ2")]),
    seq=st.integers(0, 999),
)
def test_dates_and_sites_that_print_alike_count_under_one_scope(
    pieces: list[str], seq_at: int, first: date, shift: str, sites: tuple[str, str], seq: int
) -> None:
    """The safety rule: the same printed code means the same counter, so a code never repeats."""
    pieces.insert(min(seq_at, len(pieces)), "{seq:03}")
    template = parse_template("".join(pieces))
    second = _shifted(first, shift)
    one = template.render(site=sites[0], on=first, seq=seq)
    other = template.render(site=sites[1], on=second, seq=seq)
    assume(one == other)
    assert template.sequence_scope(lot_type="T", site=sites[0], on=first) == template.sequence_scope(
        lot_type="T", site=sites[1], on=second
    )


@quick
@given(site=site_codes, on=dates, seq=st.integers(0, 9999))
def test_rendered_codes_pass_the_lot_types_own_pattern(site: str, on: date, seq: int) -> None:
    template = parse_template("{site}{yy}{doy:03}{seq:04}")
    code = template.render(site=site, on=on, seq=seq)
    assert validate_external_code(code, r"[A-Z0-9]{1,4}\d{2}\d{3}\d{4}") == code
    assert validate_external_code(code, None) == code
    assert code.endswith(f"{seq:04d}")


# --- codes from outside -----------------------------------------------------------------------


def test_an_external_code_matching_the_pattern_is_accepted_as_is() -> None:
    assert validate_external_code("SUP-2026/001", r"SUP-\d{4}/\d{3}") == "SUP-2026/001"
    assert validate_external_code("anything_goes", None) == "anything_goes"


def test_the_pattern_must_match_the_whole_code() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_external_code("AB123X", r"[A-Z]+\d+", field="supplier_lot")
    error = caught.value
    assert error.code == "lotcode.bad_code"
    assert error.field == "supplier_lot"
    assert error.params == {"value": "AB123X", "pattern": r"[A-Z]+\d+"}
    assert str(error) == r"supplier_lot AB123X does not match the lot type's pattern [A-Z]+\d+."


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("", {"length": 0, "pattern": None}),
        ("X" * 21, {"length": 21, "pattern": None}),
        ("LOT 1", {"characters": "U+0020", "pattern": None}),
        ("批次1", {"characters": "批 次", "pattern": None}),
        ("A#1", {"characters": "#", "pattern": None}),
    ],
)
def test_an_external_code_gs1_cannot_carry_is_refused(code: str, params: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_external_code(code, None)
    assert caught.value.code == "lotcode.bad_code"
    assert caught.value.params == params


@quick
@given(code=st.text(alphabet=sorted(CHARSET_82), min_size=1, max_size=20))
def test_every_charset_82_code_up_to_20_characters_is_accepted_without_a_pattern(code: str) -> None:
    assert validate_external_code(code, None) == code
    assert validate_external_code(code, re.escape(code)) == code


def test_a_broken_pattern_is_reported_as_the_lot_types_fault() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_external_code("ABC", "[A-Z")
    assert caught.value.code == "lotcode.bad_pattern"
    assert caught.value.field == "code_pattern"
    with pytest.raises(InvalidInput):
        compile_code_pattern("(", field="pattern")
