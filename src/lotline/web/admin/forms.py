"""Reading admin forms: every field as the person typed it, and typed values that name the field
when they are wrong. The services check the business rules; these check only the shape."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import cache
from zoneinfo import available_timezones

from fastapi import Request
from starlette.datastructures import UploadFile

from lotline.catalog.schemas import CODE_PATTERN
from lotline.domain.errors import N_, InvalidInput

FormValues = dict[str, str]

_CODE = re.compile(CODE_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")
_REQUIRED = N_("{field} is required.")
_TOO_LONG = N_("{field} must be at most {max_length} characters long.")
_NOT_VALID = N_("The value of {field} is not valid.")
_WHOLE = N_("{field} must be a whole number from {minimum} to {maximum}.")
_NUMBER = N_("{field} must be a number from {minimum} to {maximum}.")
_PLACES = N_("{field} allows at most {places} decimal places: {value} has more.")
_ONE_OF = N_("{field} must be one of: {choices}.")
_CODE_CHARACTERS = N_("{field} may hold letters, digits and . _ - / and must start with a letter or digit.")


async def form_values(request: Request) -> FormValues:
    """The posted form as field → text (the web route class has already read and cached it)."""
    form = await request.form()
    return {key: value for key, value in form.items() if not isinstance(value, UploadFile)}


def _invalid(message: str, field: str, **params: object) -> InvalidInput:
    return InvalidInput(message, field=field, code="web.bad_field", **params)


def text(
    values: FormValues, name: str, *, required: bool = False, max_length: int = 200, multiline: bool = False
) -> str | None:
    """Trimmed text; blank is None (refused when ``required``)."""
    value = values.get(name, "").strip()
    if not value:
        if required:
            raise _invalid(_REQUIRED, name)
        return None
    if len(value) > max_length:
        raise _invalid(_TOO_LONG, name, max_length=max_length)
    if _CONTROL.search(value) or (not multiline and _LINE_BREAK.search(value)):
        raise _invalid(_NOT_VALID, name)
    return value


def required_text(values: FormValues, name: str, *, max_length: int = 200) -> str:
    value = text(values, name, required=True, max_length=max_length)
    assert value is not None
    return value


def code(values: FormValues, name: str = "code", *, max_length: int = 40) -> str:
    """A code other records refer to: printable, no spaces (the API's rule)."""
    value = required_text(values, name, max_length=max_length)
    if not _CODE.fullmatch(value):
        raise _invalid(_CODE_CHARACTERS, name)
    return value


def whole(values: FormValues, name: str, *, minimum: int, maximum: int, required: bool = False) -> int | None:
    """A whole number within bounds; blank is None (refused when ``required``)."""
    raw = values.get(name, "").strip()
    if not raw:
        if required:
            raise _invalid(_REQUIRED, name)
        return None
    try:
        number = int(raw)
    except ValueError:
        raise _invalid(_WHOLE, name, minimum=minimum, maximum=maximum) from None
    if not minimum <= number <= maximum:
        raise _invalid(_WHOLE, name, minimum=minimum, maximum=maximum)
    return number


def required_whole(values: FormValues, name: str, *, minimum: int, maximum: int) -> int:
    number = whole(values, name, minimum=minimum, maximum=maximum, required=True)
    assert number is not None
    return number


def decimal(
    values: FormValues, name: str, *, minimum: Decimal, maximum: Decimal, places: int = 6
) -> Decimal | None:
    """An exact decimal within bounds, at most ``places`` decimals; blank is None."""
    raw = values.get(name, "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise _invalid(_NUMBER, name, minimum=minimum, maximum=maximum) from None
    if not number.is_finite() or not minimum <= number <= maximum:
        raise _invalid(_NUMBER, name, minimum=minimum, maximum=maximum)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise _invalid(_PLACES, name, places=places, value=raw)
    return number


def flag(values: FormValues, name: str) -> bool:
    """A checkbox: ticked when the form sent it at all."""
    return name in values


def choice(values: FormValues, name: str, allowed: Iterable[str], *, required: bool = True) -> str | None:
    """One of ``allowed``; blank is None (refused when ``required``)."""
    value = values.get(name, "").strip()
    options = list(allowed)
    if not value:
        if required:
            raise _invalid(_REQUIRED, name)
        return None
    if value not in options:
        raise _invalid(_ONE_OF, name, choices=", ".join(options))
    return value


def reference(values: FormValues, name: str, *, required: bool = False) -> int | None:
    """The id a select sent; the service says whether it exists."""
    return whole(values, name, minimum=1, maximum=2**53 - 1, required=required)


def minimum_shelf_life(values: FormValues, prefix: str) -> tuple[int | None, Decimal | None]:
    """(days, percent) from a "days or percent" pair of fields: ``{prefix}_mode`` and ``{prefix}_value``."""
    mode = choice(values, f"{prefix}_mode", ("days", "percent"), required=False)
    if mode is None:
        return None, None
    if mode == "days":
        return whole(values, f"{prefix}_value", minimum=0, maximum=36_600, required=True), None
    percent = decimal(values, f"{prefix}_value", minimum=Decimal(0), maximum=Decimal(100))
    if percent is None:
        raise _invalid(_REQUIRED, f"{prefix}_value")
    return None, percent


def minimum_fields(days: int | None, percent: Decimal | None, prefix: str) -> FormValues:
    """The form fields showing a stored minimum shelf life."""
    if days is not None:
        return {f"{prefix}_mode": "days", f"{prefix}_value": str(days)}
    if percent is not None:
        return {f"{prefix}_mode": "percent", f"{prefix}_value": plain_number(percent)}
    return {f"{prefix}_mode": "", f"{prefix}_value": ""}


def plain_number(value: Decimal | int | None) -> str:
    """A stored number as a person would type it: ``2.5`` for 2.500000, ``10`` for 10.000000."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return format(value.normalize(), "f")


def shown(value: object) -> str:
    """A stored value as a form field shows it."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return plain_number(value)
    return str(value)


@cache
def time_zones() -> tuple[str, ...]:
    """IANA time-zone names for the pickers, Asia/Shanghai first."""
    names = sorted(name for name in available_timezones() if "/" in name and not name.startswith("Etc/"))
    return ("Asia/Shanghai", *[name for name in names if name != "Asia/Shanghai"])
