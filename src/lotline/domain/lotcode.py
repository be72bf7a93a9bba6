"""Lot-code rules: templates lotline numbers its own lots with, and checks on codes from outside.

A template such as ``{site}{yy}{doy:03}{seq:04}`` renders ``SH1260600001`` for the first lot
of 1 March 2026 at site SH1. Placeholders:

=============  ==============================================  =================
placeholder    value                                           default width
=============  ==============================================  =================
``{site}``     the site's code                                 as is
``{product}``  the product's code                              as is
``{line}``     the production line's code                      as is
``{yy}``       year, two digits                                2
``{yyyy}``     year                                            4
``{mm}``       month                                           2
``{dd}``       day of the month                                2
``{doy}``      day of the year                                 3
``{seq}``      the sequence number; exactly once               none (unpadded)
=============  ==============================================  =================

The numeric ones take a zero-padded width like ``{seq:04}`` and nothing else (no ``!r``, no
alignment, no precision); a date part may be widened, never narrowed. Everything else is
literal text, which, like every rendered code, must stay within GS1 AI 10: at most 20
characters of the GS1 character set 82.

**Sequence scope.** The sequence restarts in each *scope*: the key under which the
persistence layer keeps its counter (see ``LotCodeTemplate.sequence_scope``). Two lots must
never share a code, so the scope follows what the template prints: a template that prints
the day (``{doy}``, or ``{mm}`` with ``{dd}``) counts per day; one that prints the year but no
day (``{yy}{seq:05}``) counts per year, one with the month per month; one that prints no
date at all counts forever. Likewise the site is part of the scope only when ``{site}`` is
printed — otherwise two sites would hand out the same code on the same day. The lot type is
always part of it. ``{product}`` and ``{line}`` are not: lots of different products then
share one counter, which wastes numbers but never repeats a code. A two-digit year repeats
every century; the scope does not pretend otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from string import Formatter
from typing import Final
from urllib.parse import quote

from lotline.domain.errors import N_, InvalidInput
from lotline.domain.gs1 import MAX_LOT_LENGTH, outside_charset_82

# Numeric placeholders and their natural widths (None: as wide as the number is).
_NUMERIC: Final[dict[str, int | None]] = {"yy": 2, "yyyy": 4, "mm": 2, "dd": 2, "doy": 3, "seq": None}
_TEXT: Final = ("site", "product", "line")
_WIDTH = re.compile(r"0([1-9][0-9]?)")
_TEMPLATE_FIELD = "code_template"

_MSG_BAD_CHARACTERS = N_("{field} contains characters not allowed in a GS1 lot code: {characters}.")


def _bad_template(message: str, **params: object) -> InvalidInput:
    return InvalidInput(message, field=_TEMPLATE_FIELD, code="lotcode.bad_template", **params)


@dataclass(frozen=True, slots=True)
class _Placeholder:
    name: str
    width: int | None  # zero-padded to this many digits; None for text and an unpadded {seq}


@dataclass(frozen=True, slots=True)
class LotCodeTemplate:
    """A parsed, checked lot-code template; build it with ``parse_template``."""

    template: str
    parts: tuple[str | _Placeholder, ...]

    @property
    def placeholders(self) -> frozenset[str]:
        """The names the template uses."""
        return frozenset(part.name for part in self.parts if isinstance(part, _Placeholder))

    @property
    def sequence_width(self) -> int | None:
        """The digits ``{seq}`` is padded to, and may not outgrow; None when unpadded."""
        return next(p.width for p in self.parts if isinstance(p, _Placeholder) and p.name == "seq")

    def render(
        self, *, site: str, on: date, seq: int, product: str | None = None, line: str | None = None
    ) -> str:
        """The lot code for sequence number ``seq`` of the scope of ``on`` (the site's local date)."""
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError(f"a lot-code sequence number is an int >= 0, not {seq!r}")
        numbers = {"yy": on.year % 100, "yyyy": on.year, "mm": on.month, "dd": on.day}
        numbers |= {"doy": on.timetuple().tm_yday, "seq": seq}
        texts = {"site": site, "product": product, "line": line}
        pieces: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
            elif part.name in texts:
                pieces.append(_text_value(part.name, texts[part.name]))
            else:
                digits = f"{numbers[part.name]:0{part.width or 1}d}"
                if part.name == "seq" and part.width is not None and len(digits) > part.width:
                    raise InvalidInput(
                        N_("The lot-code sequence is exhausted: {seq} does not fit in {width} digits."),
                        field="seq",
                        code="lotcode.sequence_exhausted",
                        seq=seq,
                        width=part.width,
                    )
                pieces.append(digits)
        code = "".join(pieces)
        if len(code) > MAX_LOT_LENGTH:
            raise InvalidInput(
                N_("The lot code {value} would be {length} characters long; GS1 allows at most 20."),
                field="lot_code",
                code="lotcode.too_long",
                value=code,
                length=len(code),
            )
        return code

    def sequence_scope(self, *, lot_type: str, site: str, on: date) -> str:
        """The key the sequence counts under: lot type, site if printed, and the printed period.

        ``RAW/SH1/2026-03-01`` (per day), ``RAW/SH1/2026-03`` (per month), ``RAW/SH1/2026``
        (per year), ``RAW/SH1/*`` (forever), ``RAW/*/2026-03-01`` (no ``{site}``: all sites).
        Dates that print alike share a key: ``{mm}{dd}`` without a year gives ``*-03-01``,
        ``{yy}{dd}`` gives ``2026-*-01``, ``{doy}`` without a year ``*-*-*-D060``.
        Codes are percent-encoded, so a ``/`` in one cannot fake another key.
        """
        names = self.placeholders
        site_key = quote(site, safe="") if "site" in names else "*"
        return f"{quote(lot_type, safe='')}/{site_key}/{self._period(on)}"

    def _period(self, on: date) -> str:
        """The printed date parts as a key: equal whenever they print alike (the safety rule)."""
        names = self.placeholders
        has_year = bool(names & {"yy", "yyyy"})
        if has_year and ("doy" in names or {"mm", "dd"} <= names):
            return on.isoformat()
        tokens = [
            f"{on.year:04d}" if has_year else "*",
            f"{on.month:02d}" if "mm" in names else "*",
            f"{on.day:02d}" if "dd" in names else "*",
        ]
        if "doy" in names:  # without a year: day 060 is 1 March or 29 February
            tokens.append(f"D{on.timetuple().tm_yday:03d}")
        while len(tokens) > 1 and tokens[-1] == "*":
            tokens.pop()
        return "-".join(tokens)


def _text_value(name: str, value: str | None) -> str:
    if value is None or value == "":
        raise InvalidInput(
            N_("The lot-code template needs a value for {placeholder}."),
            field=name,
            code="lotcode.missing_value",
            placeholder=f"{{{name}}}",
        )
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    bad = outside_charset_82(value)
    if bad:
        raise InvalidInput(_MSG_BAD_CHARACTERS, field=name, code="lotcode.bad_code", characters=bad)
    return value


def parse_template(template: str) -> LotCodeTemplate:
    """Checks a lot-code template and compiles it; InvalidInput ``lotcode.bad_template`` if wrong."""
    if not isinstance(template, str):
        raise TypeError(f"a lot-code template is a str, not {type(template).__name__}")
    try:
        pieces = list(Formatter().parse(template))
    except ValueError as error:
        raise _bad_template(N_("The lot-code template has an unmatched brace.")) from error
    parts: list[str | _Placeholder] = []
    for literal, name, spec, conversion in pieces:
        if literal:
            parts.append(literal)
        if name is None:
            continue
        parts.append(_placeholder(name, spec or "", conversion))
    literals = "".join(part for part in parts if isinstance(part, str))
    bad = outside_charset_82(literals)
    if bad:
        raise _bad_template(_MSG_BAD_CHARACTERS, characters=bad)
    if sum(1 for p in parts if isinstance(p, _Placeholder) and p.name == "seq") != 1:
        raise _bad_template(
            N_("The lot-code template must contain the sequence placeholder {placeholder} exactly once."),
            placeholder="{seq}",
        )
    shortest = sum(len(p) if isinstance(p, str) else (p.width or 1) for p in parts)
    if shortest > MAX_LOT_LENGTH:
        raise _bad_template(
            N_("Codes from this template have at least {length} characters; GS1 allows at most 20."),
            length=shortest,
        )
    return LotCodeTemplate(template=template, parts=tuple(parts))


def _placeholder(name: str, spec: str, conversion: str | None) -> _Placeholder:
    shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    if name not in _NUMERIC and name not in _TEXT:
        raise _bad_template(
            N_("The lot-code template uses an unknown placeholder: {placeholder}."), placeholder=shown
        )
    natural = _NUMERIC.get(name)
    width = _WIDTH.fullmatch(spec) if spec else None
    if (
        conversion is not None
        or (spec and (name in _TEXT or width is None))
        or (width is not None and natural is not None and int(width.group(1)) < natural)
    ):
        raise _bad_template(
            N_("Unsupported placeholder format {placeholder}: use a zero-padded width such as {example}."),
            placeholder=shown,
            example="{seq:04}",
        )
    return _Placeholder(name=name, width=int(width.group(1)) if width else natural)


# --- codes from outside (suppliers, other systems) --------------------------------------------


@lru_cache(maxsize=256)
def compile_code_pattern(pattern: str, *, field: str = "code_pattern") -> re.Pattern[str]:
    """A lot type's code pattern as a regular expression; InvalidInput ``lotcode.bad_pattern``."""
    try:
        return re.compile(pattern)
    except re.error as error:
        raise InvalidInput(
            N_("{field} is not a valid regular expression: {pattern}."),
            field=field,
            code="lotcode.bad_pattern",
            pattern=pattern,
        ) from error


def validate_external_code(code: str, pattern: str | None, *, field: str = "lot_code") -> str:
    """A lot code lotline did not make: 1 to 20 characters of GS1 set 82, matching ``pattern``.

    ``pattern`` (the lot type's) must match the whole code. Errors: ``lotcode.bad_code``.
    """
    if not isinstance(code, str):
        raise TypeError(f"{field} must be a str, not {type(code).__name__}")
    if not 1 <= len(code) <= MAX_LOT_LENGTH:
        raise InvalidInput(
            N_("{field} must be 1 to 20 characters long, not {length}."),
            field=field,
            code="lotcode.bad_code",
            length=len(code),
            pattern=pattern,
        )
    bad = outside_charset_82(code)
    if bad:
        raise InvalidInput(
            _MSG_BAD_CHARACTERS, field=field, code="lotcode.bad_code", characters=bad, pattern=pattern
        )
    if pattern is not None and compile_code_pattern(pattern).fullmatch(code) is None:
        raise InvalidInput(
            N_("{field} {value} does not match the lot type's pattern {pattern}."),
            field=field,
            code="lotcode.bad_code",
            value=code,
            pattern=pattern,
        )
    return code
