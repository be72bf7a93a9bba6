"""GS1 keys, EPC class URIs and barcode scans (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import unquote

import biip
import pytest
from biip.gtin import Gtin
from hypothesis import given, settings
from hypothesis import strategies as st

from lotline.domain.errors import InvalidInput
from lotline.domain.gs1 import (
    CHARSET_82,
    ScanResult,
    epc_escape,
    gs1_date,
    gs1_year,
    gtin_check_digit,
    gtin_company_prefix,
    lgtin_epc_class,
    outside_charset_82,
    parse_scan,
    validate_gln,
    validate_gs1_lot,
    validate_gtin,
    validate_sscc,
)

quick = settings(max_examples=60, deadline=None)
TODAY = date(2026, 3, 1)
GTIN = "07032069804988"
SSCC = "376104250021234569"
GS = "\x1d"


def digits(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=length, max_size=length)


def with_check_digit(body: str) -> str:
    return body + str(gtin_check_digit(body))


def wrong_last_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


# --- check digits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [("950110153100", 0), ("9501234", 6), ("0703206980498", 8), ("37610425002123456", 9)],
)
def test_check_digit_matches_published_examples(body: str, expected: int) -> None:
    assert gtin_check_digit(body) == expected


@pytest.mark.parametrize("body", ["", "12a4", "١٢٣"])
def test_check_digit_is_computed_over_ascii_digits_only(body: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        gtin_check_digit(body)


@quick
@given(body=st.sampled_from([7, 11, 12, 13]).flatmap(digits))
def test_every_gtin_with_its_check_digit_validates_as_its_14_digit_form(body: str) -> None:
    gtin = with_check_digit(body)
    assert validate_gtin(gtin) == gtin.zfill(14)
    assert validate_gtin(gtin.zfill(14)) == gtin.zfill(14)


@quick
@given(body=st.sampled_from([7, 11, 12, 13]).flatmap(digits))
def test_a_wrong_check_digit_is_refused_naming_the_right_one(body: str) -> None:
    gtin = wrong_last_digit(with_check_digit(body))
    with pytest.raises(InvalidInput) as caught:
        validate_gtin(gtin)
    assert caught.value.code == "gs1.bad_check_digit"
    assert caught.value.params["expected"] == gtin_check_digit(body)
    assert f"expected {gtin_check_digit(body)}" in str(caught.value)


@quick
@given(value=st.sampled_from([8, 12, 13, 14]).flatmap(digits))
def test_gtin_validation_agrees_with_biip(value: str) -> None:
    try:
        Gtin.parse(value)
        biip_accepts = True
    except biip.ParseError:
        biip_accepts = False
    try:
        validate_gtin(value)
        we_accept = True
    except InvalidInput:
        we_accept = False
    assert we_accept == biip_accepts


@pytest.mark.parametrize("value", ["", "1234567", "1234567890", "123456789012345"])
def test_gtin_of_a_wrong_length_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_gtin(value, field="product_gtin")
    assert caught.value.code == "gs1.bad_gtin_length"
    assert caught.value.field == "product_gtin"
    assert caught.value.params == {"length": len(value)}


@pytest.mark.parametrize("value", ["0703206980498X", "07032069-04988", "٠٧٠٣٢٠٦٩٨٠٤٩٨٨"])
def test_gtin_with_anything_but_ascii_digits_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_gtin(value)
    assert caught.value.code == "gs1.bad_gtin_digits"


def test_gtin_keeps_no_surrounding_whitespace() -> None:
    assert validate_gtin(f" {GTIN}\n") == GTIN


def test_gtin_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        validate_gtin(7032069804988)  # type: ignore[arg-type]


def test_sscc_and_gln_are_checked_the_same_way() -> None:
    assert validate_sscc(SSCC) == SSCC
    assert validate_gln("5790000000005") == "5790000000005"
    cases = [
        (validate_sscc, wrong_last_digit(SSCC), "gs1.bad_check_digit"),
        (validate_sscc, SSCC[:-1], "gs1.bad_sscc_length"),
        (validate_sscc, SSCC[:-1] + "x", "gs1.bad_sscc_digits"),
        (validate_gln, "5790000000006", "gs1.bad_check_digit"),
        (validate_gln, "579000000000", "gs1.bad_gln_length"),
        (validate_gln, "57900000000O5", "gs1.bad_gln_digits"),
    ]
    for validate, value, code in cases:
        with pytest.raises(InvalidInput) as caught:
            validate(value)
        assert caught.value.code == code, value
        assert "{" not in str(caught.value)


@quick
@given(body=digits(17))
def test_every_sscc_with_its_check_digit_validates(body: str) -> None:
    assert validate_sscc(with_check_digit(body)) == with_check_digit(body)


# --- company prefix and EPC class ---------------------------------------------------------------


def test_company_prefix_split_puts_the_indicator_in_front_of_the_item_reference() -> None:
    assert gtin_company_prefix(GTIN, 7) == ("7032069", "080498")
    assert gtin_company_prefix("10614141000415", 7) == ("0614141", "100041")
    assert gtin_company_prefix(GTIN, 12) == ("703206980498", "0")
    assert gtin_company_prefix(GTIN, 6) == ("703206", "0980498")


@quick
@given(body=digits(13), length=st.integers(6, 12))
def test_company_prefix_and_item_reference_make_up_the_gtin(body: str, length: int) -> None:
    gtin = with_check_digit(body)
    company, item = gtin_company_prefix(gtin, length)
    assert len(company) == length
    assert len(company) + len(item) == 13
    assert with_check_digit(item[0] + company + item[1:]) == gtin


@pytest.mark.parametrize("length", [5, 13, 0, -1, True])
def test_company_prefix_length_is_6_to_12(length: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        gtin_company_prefix(GTIN, length)
    assert caught.value.code == "gs1.bad_company_prefix_length"
    assert caught.value.field == "company_prefix_length"


def test_lgtin_epc_class_names_company_item_and_lot() -> None:
    assert lgtin_epc_class(GTIN, 7, "0329") == "urn:epc:class:lgtin:7032069.080498.0329"
    assert lgtin_epc_class("7032069804988", 7, "L-1") == "urn:epc:class:lgtin:7032069.080498.L-1"


def test_lgtin_lot_escapes_the_characters_epc_uris_reserve() -> None:
    assert lgtin_epc_class(GTIN, 7, 'A/B"C%D&E<F>G?H').endswith(".A%2FB%22C%25D%26E%3CF%3EG%3FH")
    assert epc_escape("!'()*+,-.:;=_") == "!'()*+,-.:;=_"


@pytest.mark.parametrize("lot", ["", "A B", "批次1", "X" * 21, "A#1"])
def test_lgtin_refuses_a_lot_gs1_cannot_carry(lot: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        lgtin_epc_class(GTIN, 7, lot)
    assert caught.value.code == "gs1.bad_lot"


@quick
@given(lot=st.text(alphabet=sorted(CHARSET_82), min_size=1, max_size=20))
def test_every_charset_82_lot_escapes_into_the_uri_alphabet_and_back(lot: str) -> None:
    escaped = epc_escape(validate_gs1_lot(lot))
    assert set(escaped) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!'()*+,-.:;=_%")
    assert unquote(escaped) == lot


def test_characters_outside_charset_82_are_shown_visibly() -> None:
    assert outside_charset_82("A B\t批#批") == "U+0020 U+0009 批 #"
    assert outside_charset_82("ABC-1/2") == ""


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yy", "today", "year"),
    [
        (76, date(2026, 3, 1), 2076),  # 50 years ahead
        (77, date(2026, 3, 1), 1977),  # 49 years back
        (26, date(2026, 3, 1), 2026),
        (10, date(2060, 1, 1), 2110),
        (11, date(2060, 1, 1), 2011),
        (49, date(1999, 12, 31), 2049),
        (50, date(1999, 12, 31), 1950),
        (50, date(2000, 1, 1), 2050),
    ],
)
def test_two_digit_year_lies_49_years_back_to_50_ahead_of_today(yy: int, today: date, year: int) -> None:
    assert gs1_year(yy, today=today) == year


@quick
@given(yy=st.integers(0, 99), today=st.dates(min_value=date(1900, 1, 1), max_value=date(9899, 12, 31)))
def test_two_digit_year_window_holds_for_any_today(yy: int, today: date) -> None:
    year = gs1_year(yy, today=today)
    assert year % 100 == yy
    assert -49 <= year - today.year <= 50


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("210526", date(2021, 5, 26)),
        ("160200", date(2016, 2, 29)),
        ("170200", date(2017, 2, 28)),
        ("261200", date(2026, 12, 31)),
        ("260400", date(2026, 4, 30)),
    ],
)
def test_gs1_dates_with_day_00_mean_the_last_day_of_the_month(raw: str, expected: date) -> None:
    assert gs1_date(raw, today=TODAY) == expected


@pytest.mark.parametrize("raw", ["261301", "260231", "260000", "2603", "26O301"])
def test_impossible_gs1_dates_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        gs1_date(raw, today=TODAY)


# --- scans ------------------------------------------------------------------------------------


def test_known_vector_reads_gtin_best_before_and_lot() -> None:
    scan = parse_scan("010703206980498815210526100329", today=TODAY)
    assert scan.gtin == GTIN
    assert scan.best_before == date(2021, 5, 26)
    assert scan.lot == "0329"
    assert (scan.expiry, scan.sscc, scan.serial, scan.count, scan.net_weight_kg) == (None,) * 5


def test_group_separator_ends_a_lot_followed_by_an_expiry() -> None:
    scan = parse_scan(f"01{GTIN}10LOT-7/A{GS}17260300{GS}21SN0001", today=TODAY)
    assert (scan.gtin, scan.lot, scan.expiry, scan.serial) == (GTIN, "LOT-7/A", date(2026, 3, 31), "SN0001")


def test_digital_link_uri_reads_path_and_query_ais() -> None:
    scan = parse_scan("https://id.gs1.org/01/07032069804988/10/0329?17=260301", today=TODAY)
    assert (scan.gtin, scan.lot, scan.expiry) == (GTIN, "0329", date(2026, 3, 1))


def test_digital_link_lot_is_percent_decoded() -> None:
    assert parse_scan("https://example.com/01/07032069804988/10/AB%2FC", today=TODAY).lot == "AB/C"


def test_sscc_only_scan_reads_the_pallet() -> None:
    scan = parse_scan(f"00{SSCC}", today=TODAY)
    assert scan == ScanResult(sscc=SSCC, elements=(("00", SSCC),))


def test_pallet_label_reads_content_gtin_and_count() -> None:
    scan = parse_scan(f"00{SSCC}02{GTIN}3748{GS}10L1{GS}15270131", today=TODAY)
    assert (scan.sscc, scan.content_gtin, scan.count, scan.lot) == (SSCC, GTIN, 48, "L1")
    assert scan.gtin is None
    assert scan.best_before == date(2027, 1, 31)


def test_catch_weight_scan_reads_kilograms_exactly() -> None:
    scan = parse_scan(f"01{GTIN}3103001250{GS}10B7", today=TODAY)
    assert scan.net_weight_kg == Decimal("1.250")
    assert isinstance(scan.net_weight_kg, Decimal)
    assert str(scan.net_weight_kg) == "1.250"
    assert parse_scan(f"01{GTIN}3100000042", today=TODAY).net_weight_kg == Decimal(42)


def test_variable_count_and_production_date() -> None:
    scan = parse_scan(f"01{GTIN}11260215307{GS}10X", today=TODAY)
    assert (scan.production_date, scan.count, scan.lot) == (date(2026, 2, 15), 7, "X")


def test_plain_ean_13_is_a_gtin_not_a_gs1_message() -> None:
    # 7032069804988 would also read as AI 7032 with the data 069804988.
    assert parse_scan("7032069804988", today=TODAY).gtin == GTIN
    assert parse_scan(GTIN, today=TODAY).gtin == GTIN
    assert parse_scan("96385074", today=TODAY).gtin == "00000096385074"


@pytest.mark.parametrize(
    "text",
    [f"{symbology}010703206980498815210526100329" for symbology in ("]C1", "]d2", "]Q3")],
)
def test_symbology_identifier_is_understood(text: str) -> None:
    scan = parse_scan(text, today=TODAY)
    assert (scan.gtin, scan.lot, scan.best_before) == (GTIN, "0329", date(2021, 5, 26))


def test_dates_are_placed_around_the_given_today_not_the_wall_clock() -> None:
    # biip alone would read 15 as 2015 (its wall clock); in 2080, 15 lies 35 years ahead.
    assert parse_scan(f"01{GTIN}15150101", today=date(2080, 6, 1)).best_before == date(2115, 1, 1)
    assert parse_scan(f"01{GTIN}17760101", today=TODAY).expiry == date(2076, 1, 1)
    assert parse_scan(f"01{GTIN}17770101", today=TODAY).expiry == date(1977, 1, 1)


def test_ais_lotline_does_not_use_are_kept_but_not_read() -> None:
    scan = parse_scan(f"01{GTIN}240ABC", today=TODAY)
    assert scan.gtin == GTIN
    assert scan.elements == (("01", GTIN), ("240", "ABC"))


def test_a_repeated_ai_with_the_same_value_is_harmless() -> None:
    assert parse_scan(f"01{GTIN}10A{GS}10A", today=TODAY).lot == "A"


def scan_error(text: str, today: date = TODAY) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_scan(text, today=today)
    assert caught.value.code == "gs1.bad_scan"
    assert caught.value.field == "scan"
    assert "{" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        "0107032069804987100329",  # biip only sets element.gtin_error for this
        "https://id.gs1.org/01/07032069804987/10/0329",
        "7032069804987",
    ],
)
def test_wrong_gtin_check_digit_in_a_scan_names_ai_01_and_the_right_digit(text: str) -> None:
    error = scan_error(text)
    assert error.params == {"ai": "01", "expected": 8}
    assert "(01)" in str(error)
    assert "expected 8" in str(error)


def test_wrong_sscc_check_digit_names_ai_00() -> None:
    assert scan_error(f"00{wrong_last_digit(SSCC)}").params == {"ai": "00", "expected": 9}


@pytest.mark.parametrize(
    ("text", "ai"),
    [
        (f"01{GTIN}17260231", "17"),  # 31 February
        (f"01{GTIN}15261300", "15"),  # month 13
        (f"01{GTIN}11000000", "11"),  # all zeros
        (f"10abc{GS}1726130", "17"),  # too short
        ("https://id.gs1.org/01/07032069804988/10/A%20B", "10"),  # space: not in set 82
        (f"01{GTIN}30{GS}10A", "30"),  # empty count
    ],
)
def test_an_invalid_element_names_its_ai(text: str, ai: str) -> None:
    assert scan_error(text).params["ai"] == ai


def test_one_ai_with_two_values_is_refused() -> None:
    assert scan_error(f"01{GTIN}10A{GS}10B").params == {"ai": "10"}
    assert scan_error(f"01{GTIN}3102000125{GS}3103001300").params == {"ai": "3103"}


@pytest.mark.parametrize("text", ["hello", "", "https://example.com/products/42", "9612345"])
def test_nothing_recognisable_is_refused_without_an_ai(text: str) -> None:
    error = scan_error(text)
    assert error.params == {}
    assert str(error) == "The scan was not recognised as a GS1 barcode or a GS1 Digital Link."
