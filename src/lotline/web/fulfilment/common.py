"""What the fulfilment pages share: reading typed fields (quantities, units, short texts, local
times), a refusal shown with each reason in the reader's language, and a few lookups."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lotline.domain.errors import N_, InvalidInput, LotlineError, Translate
from lotline.domain.matrix import TransactionNotAllowed
from lotline.models.lot import Lot
from lotline.outbound.picking import DeviationNotEligible
from lotline.uow import UnitOfWork
from lotline.web.outbound.labels import reason_text
from lotline.web.stock_pages.common import decimal_field

MAX_QUANTITY = Decimal("1e11")
MAX_DECIMALS = 6
_UNIT = re.compile(r"^[A-Za-z0-9_]{1,8}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _invalid(field: str) -> InvalidInput:
    return InvalidInput(N_("The value of {field} is not valid."), field=field, code="invalid")


def quantity_field(text: str | None, field: str = "quantity") -> Decimal:
    """A quantity typed into a form: required, at most six decimals, within what the API takes."""
    value = decimal_field(text, field, required=True)
    assert value is not None  # required
    exponent = value.as_tuple().exponent
    if value > MAX_QUANTITY or (isinstance(exponent, int) and -exponent > MAX_DECIMALS):
        raise _invalid(field)
    return value


def unit_field(text: str | None, default: str, field: str = "unit") -> str:
    """A unit code as typed (upper-cased); blank means the product's base unit."""
    unit = (text or "").strip().upper() or default
    if not _UNIT.match(unit):
        raise _invalid(field)
    return unit


def text_field(
    text: str | None, field: str, *, max_length: int, required: bool = False, lines: bool = False
) -> str | None:
    """A short text as typed, stripped; blank is None (or "required"). ``lines`` allows line breaks."""
    value = (text or "").strip()
    if not value:
        if required:
            raise InvalidInput(N_("{field} is required."), field=field, code="web.required")
        return None
    if len(value) > max_length:
        raise InvalidInput(N_("{field} is too long."), field=field, code="web.too_long")
    checked = value.replace("\r", "").replace("\n", "").replace("\t", "") if lines else value
    if _CONTROL.search(checked):
        raise _invalid(field)
    return value


def scan_field(text: str | None, field: str, *, max_length: int) -> str:
    """What a scanner typed: required; GS1's group separators kept, a NUL refused."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(N_("{field} is required."), field=field, code="web.required")
    if len(value) > max_length:
        raise InvalidInput(N_("{field} is too long."), field=field, code="web.too_long")
    if "\x00" in value:
        raise _invalid(field)
    return value


def local_moment(text: str | None, field: str, zone: str) -> datetime | None:
    """A date and time typed in the site's time zone (``datetime-local``); blank is None."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a date and time (YYYY-MM-DD HH:MM)."), field=field, code="web.bad_datetime"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def refusal(_: Translate, error: LotlineError) -> dict[str, Any]:
    """A refusal as a page shows it: the message, and each reason the stock was refused for."""
    codes: object = ()
    if isinstance(error, TransactionNotAllowed):
        codes = error.params.get("blocked_by", ())
    elif isinstance(error, DeviationNotEligible):
        codes = error.params.get("codes", ())
    reasons = [reason_text(_, str(code)) for code in codes] if isinstance(codes, tuple | list) else []
    # The refusal's own sentence names each reason as the reader reads it, not by its code.
    return {"message": error.render(_), "reasons": reasons, "code": error.code}


def lot_codes(uow: UnitOfWork, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(uow.session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(sorted(ids)))).tuples().all())
