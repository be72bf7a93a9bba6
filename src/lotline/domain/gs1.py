"""GS1 keys and scans: check digits, company prefixes, EPC class URIs, barcode text.

Scans are read with biip, but biip is not trusted on two points (TRAPS.md): it never raises
for a bad GTIN/SSCC check digit inside a GS1 string (it only sets ``gtin_error``), and it
places two-digit years with the wall clock. So every key found in a scan is re-validated here
and every date is re-derived from its raw ``YYMMDD`` with the ``today`` the caller passes in.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

import biip
from biip.checksums import gs1_standard_check_digit

from lotline.domain.errors import N_, InvalidInput

# GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1): what AI 10
# (lot) and AI 21 (serial) may contain.
CHARSET_82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
MAX_LOT_LENGTH: Final = 20
GTIN_LENGTHS: Final = (8, 12, 13, 14)
SSCC_LENGTH: Final = 18
GLN_LENGTH: Final = 13
COMPANY_PREFIX_LENGTHS: Final = range(6, 13)

_ASCII_DIGITS = re.compile(r"[0-9]*")
# EPC TDS: in the URI form of an alphanumeric component these characters of set 82 are
# percent-encoded; the rest of set 82 stands for itself.
_EPC_ESCAPES: Final = {c: f"%{ord(c):02X}" for c in '"%&/<>?'}
# Only the group separator (what scanners send for FNC1) separates fields; biip's own date
# check is off because it places the century with the wall clock: dates are checked here.
_BIIP_CONFIG: Final = biip.ParseConfig(separator_chars=["\x1d"], gs1_element_strings_verify_date=False)
_BIIP_AI = re.compile(r"\((\d{2,4})\)")

_MSG_DIGITS = N_("{field} must contain only the digits 0 to 9.")
_MSG_CHECK_DIGIT = N_("{field} has a wrong check digit: expected {expected}, got {actual}.")
_MSG_SCAN_UNRECOGNISED = N_("The scan was not recognised as a GS1 barcode or a GS1 Digital Link.")
_MSG_SCAN_BAD_VALUE = N_("The scan has an invalid value in AI ({ai}): {value}.")
_MSG_SCAN_CHECK_DIGIT = N_("The scan has a wrong check digit in AI ({ai}): expected {expected}.")
_MSG_SCAN_REPEATED = N_("The scan contains AI ({ai}) twice with different values.")


def is_charset_82(text: str) -> bool:
    """Whether every character of ``text`` belongs to the GS1 AI encodable character set 82."""
    return all(character in CHARSET_82 for character in text)


def outside_charset_82(text: str) -> str:
    """The distinct characters of ``text`` outside character set 82, shown for a message.

    In order of appearance, space-separated; a space or an invisible character is shown as
    its code point (``U+0020``), so the reader sees what to remove. Empty when all are allowed.
    """
    bad = dict.fromkeys(c for c in text if c not in CHARSET_82)
    return " ".join(c if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in bad)


# --- keys with a mod-10 check digit -----------------------------------------------------------


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body``, the digits that precede it (GTIN, SSCC, GLN).

    Raises ValueError when ``body`` is empty or holds anything but ASCII digits.
    """
    if not body or not _ASCII_DIGITS.fullmatch(body):
        raise ValueError(f"a GS1 check digit is computed over ASCII digits, not {body!r}")
    return gs1_standard_check_digit(body)


def _validate_key(value: str, *, field: str, lengths: tuple[int, ...], length_message: str, kind: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    text = value.strip()
    if not _ASCII_DIGITS.fullmatch(text):
        raise InvalidInput(_MSG_DIGITS, field=field, code=f"gs1.bad_{kind}_digits", value=value)
    if len(text) not in lengths:
        raise InvalidInput(length_message, field=field, code=f"gs1.bad_{kind}_length", length=len(text))
    expected = gtin_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise InvalidInput(
            _MSG_CHECK_DIGIT, field=field, code="gs1.bad_check_digit", expected=expected, actual=text[-1]
        )
    return text


def validate_gtin(value: str, *, field: str = "gtin") -> str:
    """A GTIN-8, -12, -13 or -14, checked, as its 14-digit form (left-padded with zeros)."""
    text = _validate_key(
        value,
        field=field,
        lengths=GTIN_LENGTHS,
        length_message=N_("A GTIN has 8, 12, 13 or 14 digits; {field} has {length}."),
        kind="gtin",
    )
    return text.zfill(14)


def validate_sscc(value: str, *, field: str = "sscc") -> str:
    """An 18-digit SSCC, checked."""
    return _validate_key(
        value,
        field=field,
        lengths=(SSCC_LENGTH,),
        length_message=N_("An SSCC has 18 digits; {field} has {length}."),
        kind="sscc",
    )


def validate_gln(value: str, *, field: str = "gln") -> str:
    """A 13-digit GLN, checked."""
    return _validate_key(
        value,
        field=field,
        lengths=(GLN_LENGTH,),
        length_message=N_("A GLN has 13 digits; {field} has {length}."),
        kind="gln",
    )


def validate_company_prefix_length(value: int, *, field: str = "company_prefix_length") -> int:
    """A GS1 company prefix is 6 to 12 digits long."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in COMPANY_PREFIX_LENGTHS:
        raise InvalidInput(
            N_("{field} must be a whole number from 6 to 12, not {value}."),
            field=field,
            code="gs1.bad_company_prefix_length",
            value=value,
        )
    return value


def gtin_company_prefix(gtin14: str, prefix_length: int) -> tuple[str, str]:
    """(company prefix, indicator digit + item reference): the two middle parts of an SGTIN/LGTIN.

    The check digit is dropped, as EPC URIs do: ``07032069804988`` with a 7-digit prefix gives
    ``("7032069", "080498")``.
    """
    gtin = validate_gtin(gtin14)
    length = validate_company_prefix_length(prefix_length)
    return gtin[1 : 1 + length], gtin[0] + gtin[1 + length : 13]


def validate_gs1_lot(value: str, *, field: str = "lot") -> str:
    """A lot (or serial) as GS1 AI 10/21 allow it: 1 to 20 characters of character set 82."""
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    if not 1 <= len(value) <= MAX_LOT_LENGTH or not is_charset_82(value):
        raise InvalidInput(
            N_("{field} must be 1 to 20 characters of the GS1 character set 82: {value} is not."),
            field=field,
            code="gs1.bad_lot",
            value=value,
        )
    return value


def epc_escape(component: str) -> str:
    """The URI form of a character-set-82 component, per the EPC Tag Data Standard."""
    return "".join(_EPC_ESCAPES.get(character, character) for character in component)


def lgtin_epc_class(gtin14: str, prefix_length: int, lot: str) -> str:
    """The EPC class URI of a lot of a trade item: ``urn:epc:class:lgtin:<company>.<item>.<lot>``."""
    company, item = gtin_company_prefix(gtin14, prefix_length)
    return f"urn:epc:class:lgtin:{company}.{item}.{epc_escape(validate_gs1_lot(lot))}"


# --- dates ------------------------------------------------------------------------------------


def gs1_year(two_digit_year: int, *, today: date) -> int:
    """The full year of a GS1 ``YY``: within 49 years before and 50 years after ``today``.

    GS1 General Specifications 7.12, with ``today`` passed in rather than read from a clock.
    """
    if not 0 <= two_digit_year <= 99:
        raise ValueError(f"a two-digit year is 0..99, not {two_digit_year}")
    century = today.year - today.year % 100
    difference = two_digit_year - today.year % 100
    if difference >= 51:
        return century - 100 + two_digit_year
    if difference <= -50:
        return century + 100 + two_digit_year
    return century + two_digit_year


def gs1_date(yymmdd: str, *, today: date) -> date:
    """A GS1 ``YYMMDD`` date; day ``00`` is the last day of the month. ValueError when impossible."""
    if len(yymmdd) != 6 or not _ASCII_DIGITS.fullmatch(yymmdd):
        raise ValueError(f"a GS1 date is YYMMDD, not {yymmdd!r}")
    year = gs1_year(int(yymmdd[:2]), today=today)
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= month <= 12:
        raise ValueError(f"no month {month} in {yymmdd!r}")
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    return date(year, month, day)


# --- scans ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one barcode scan says; a field is None when the scan does not carry it.

    ``elements`` keeps every (AI, raw value) pair of the scan in order, recognised or not.
    """

    gtin: str | None = None  # AI 01, or a plain GTIN barcode; always the 14-digit form
    content_gtin: str | None = None  # AI 02: the trade items inside a logistic unit
    lot: str | None = None  # AI 10
    serial: str | None = None  # AI 21
    sscc: str | None = None  # AI 00
    production_date: date | None = None  # AI 11
    best_before: date | None = None  # AI 15
    expiry: date | None = None  # AI 17
    count: int | None = None  # AI 30 (variable count) or 37 (count of trade items)
    net_weight_kg: Decimal | None = None  # AI 310n
    elements: tuple[tuple[str, str], ...] = ()


_DATE_FIELDS: Final = {"11": "production_date", "15": "best_before", "17": "expiry"}
_TEXT_FIELDS: Final = {"10": "lot", "21": "serial"}
_COUNT_AIS: Final = ("30", "37")


def _scan_error(message: str, **params: object) -> InvalidInput:
    return InvalidInput(message, field="scan", code="gs1.bad_scan", **params)


def _scan_key(ai: str, value: str, validate: Callable[..., str]) -> str:
    try:
        return validate(value, field=f"({ai})")
    except InvalidInput as error:
        if error.code == "gs1.bad_check_digit":
            raise _scan_error(_MSG_SCAN_CHECK_DIGIT, ai=ai, expected=error.params["expected"]) from error
        raise _scan_error(_MSG_SCAN_BAD_VALUE, ai=ai, value=value) from error


def _is_net_weight_kg(ai: str) -> bool:
    return len(ai) == 4 and ai.startswith("310")


def _is_used(ai: str) -> bool:
    """Whether lotline reads this AI (the others are kept in ``elements`` only)."""
    return ai in ("00", "01", "02", *_TEXT_FIELDS, *_DATE_FIELDS, *_COUNT_AIS) or _is_net_weight_kg(ai)


def _read_element(ai: str, value: str, *, today: date) -> tuple[str, object]:
    """(ScanResult field, value) for one element string of an AI lotline uses."""
    if ai == "00":
        return "sscc", _scan_key(ai, value, validate_sscc)
    if ai in ("01", "02"):
        return ("gtin" if ai == "01" else "content_gtin"), _scan_key(ai, value, validate_gtin)
    if ai in _TEXT_FIELDS:
        if not 1 <= len(value) <= MAX_LOT_LENGTH or not is_charset_82(value):
            raise _scan_error(_MSG_SCAN_BAD_VALUE, ai=ai, value=value)
        return _TEXT_FIELDS[ai], value
    if ai in _DATE_FIELDS:
        try:
            return _DATE_FIELDS[ai], gs1_date(value, today=today)
        except ValueError as error:
            raise _scan_error(_MSG_SCAN_BAD_VALUE, ai=ai, value=value) from error
    if ai in _COUNT_AIS:
        if not 1 <= len(value) <= 8 or not _ASCII_DIGITS.fullmatch(value):
            raise _scan_error(_MSG_SCAN_BAD_VALUE, ai=ai, value=value)
        return "count", int(value)
    if _is_net_weight_kg(ai):
        if len(value) != 6 or not _ASCII_DIGITS.fullmatch(value):
            raise _scan_error(_MSG_SCAN_BAD_VALUE, ai=ai, value=value)
        return "net_weight_kg", Decimal(value).scaleb(-int(ai[3]))
    raise AssertionError(f"AI {ai} is not read")  # pragma: no cover - _is_used guards


def _interpret(elements: list[tuple[str, str]], *, today: date) -> ScanResult:
    """The result from raw (AI, value) pairs, every value we use checked.

    An AI may repeat only with the same meaning: (10)A with (10)B, or (3102)001250 with
    (3103)001300, is two different things in one scan and is refused.
    """
    fields: dict[str, object] = {}
    for ai, value in elements:
        if not _is_used(ai):
            continue
        name, meaning = _read_element(ai, value, today=today)
        if fields.setdefault(name, meaning) != meaning:
            raise _scan_error(_MSG_SCAN_REPEATED, ai=ai)
    if not fields:
        raise _scan_error(_MSG_SCAN_UNRECOGNISED)
    return ScanResult(**fields, elements=tuple(elements))  # type: ignore[arg-type]


def _biip_failure(error: str | None) -> InvalidInput:
    """A biip parse error as ours: it names the AI it stopped at, when it says which."""
    found = _BIIP_AI.search(error or "")
    if found is None:
        return _scan_error(_MSG_SCAN_UNRECOGNISED)
    ai = found.group(1)
    quoted = re.search(r"'([^']*)'", error or "")
    value = quoted.group(1) if quoted else ""
    return _scan_error(_MSG_SCAN_BAD_VALUE, ai=ai, value=value.removeprefix(ai))


def _is_plain_gtin(text: str) -> bool:
    return len(text) in GTIN_LENGTHS and bool(_ASCII_DIGITS.fullmatch(text))


def parse_scan(text: str, *, today: date) -> ScanResult:
    """Reads a GS1-128 / GS1 DataMatrix / GS1 QR text, a GS1 Digital Link URI, or a plain GTIN.

    Fields are separated by the group separator ``\\x1d`` (what scanners send for FNC1); a
    symbology identifier (``]C1``, ``]d2``, ``]Q3``, ``]E0`` …) may lead. Dates are placed
    around ``today``. A bare string of 8, 12, 13 or 14 digits with a valid check digit is read
    as a GTIN (an EAN/UPC/ITF-14 barcode) before it is tried as AIs: ``7032069804988`` is an
    EAN-13, not AI 7032. Raises InvalidInput ``gs1.bad_scan`` naming the AI that failed.
    """
    if not isinstance(text, str):
        raise TypeError(f"a scan is a str, not {type(text).__name__}")
    stripped = text.strip()
    result = biip.parse(stripped, config=_BIIP_CONFIG)
    message = [(e.ai.ai, e.value) for e in result.gs1_message.element_strings] if result.gs1_message else []
    elements: list[tuple[str, str]]
    if result.gs1_digital_link_uri is not None:
        elements = [(e.ai.ai, e.value) for e in result.gs1_digital_link_uri.element_strings]
    elif result.symbology_identifier is None and _is_plain_gtin(stripped):
        if result.gtin is None and any(_is_used(ai) for ai, _value in message):
            elements = message
        else:  # a GTIN, or one with a wrong check digit, which _interpret reports
            elements = [("01", stripped.zfill(14))]
    elif result.gs1_message is not None:
        elements = message
    elif result.gtin is not None:  # a symbology identifier said "EAN/UPC"
        elements = [("01", result.gtin.value.zfill(14))]
    else:  # a symbology identifier may have asked for either reading: report the one tried
        raise _biip_failure(result.gs1_message_error or result.gs1_digital_link_uri_error)
    return _interpret(elements, today=today)
