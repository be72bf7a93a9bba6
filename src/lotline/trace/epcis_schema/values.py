"""How EPCIS 2.0 writes lotline's values: identifiers, instants, quantities, lot master data,
and the document as JSON text. Pure functions, no database.

Identifiers: a lot of a product with a GTIN is its LGTIN ``urn:epc:class:lgtin:<company>.<item>.<lot>``
when the company prefix length is known, its GS1 Digital Link ``https://id.gs1.org/01/<GTIN>/10/<lot>``
when not (EPCIS 2.0 accepts both forms); sites are Digital Link ``/414/<GLN>`` (an SGLN URN
needs the company prefix length, which sites do not store), partners ``/417/<GLN>`` (CBV's
``owning_party`` is a party: AI 417, not a place). What has no GS1 key gets a private URI under
a base (``urn:lotline:`` unless the caller gives its own): stable within one lotline and built
from the codes people see, but not unique across companies — give a base of your own domain
when documents leave the company.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from lotline.domain import units
from lotline.domain.errors import InvalidInput
from lotline.domain.expiry import ExpiryKind
from lotline.domain.gs1 import (
    COMPANY_PREFIX_LENGTHS,
    MAX_LOT_LENGTH,
    is_charset_82,
    lgtin_epc_class,
    validate_gtin,
)
from lotline.domain.status import HoldType

DIGITAL_LINK: Final = "https://id.gs1.org"
PRIVATE_BASE: Final = "urn:lotline:"
PIECE: Final = "H87"  # Rec 20 "piece": a count of each that is not whole cannot go without a uom


def private_uri(base: str, *parts: str) -> str:
    """A private identifier under ``base``: each part percent-encoded, so none can run into another."""
    separator = "/" if base.endswith("/") else ":"
    return base + separator.join(quote(part, safe="") for part in parts)


def epc_class(
    *,
    gtin: str | None,
    prefix_length: int | None,
    product_code: str,
    lot_code: str,
    private_base: str = PRIVATE_BASE,
) -> str:
    """A lot's class: its LGTIN URN, else its GS1 Digital Link (GTIN without a known company
    prefix length), else a private URI of product and lot code (no GTIN, or a lot code GS1's
    AI 10 cannot carry)."""
    if gtin and 1 <= len(lot_code) <= MAX_LOT_LENGTH and is_charset_82(lot_code):
        try:
            gtin14 = validate_gtin(gtin)
        except InvalidInput:
            gtin14 = None
        if gtin14 is not None and prefix_length is not None and prefix_length in COMPANY_PREFIX_LENGTHS:
            return lgtin_epc_class(gtin14, prefix_length, lot_code)
        if gtin14 is not None:
            return f"{DIGITAL_LINK}/01/{gtin14}/10/{quote(lot_code, safe='')}"
    return private_uri(private_base, "class", product_code, lot_code)


def site_uri(*, gln: str | None, code: str, private_base: str = PRIVATE_BASE) -> str:
    """A site as a read point or business location: GS1 Digital Link of its GLN (AI 414)."""
    return f"{DIGITAL_LINK}/414/{gln.strip()}" if gln else private_uri(private_base, "site", code)


def party_uri(gln: str) -> str:
    """A trading partner as a source or destination party: GS1 Digital Link of its GLN (AI 417)."""
    return f"{DIGITAL_LINK}/417/{gln.strip()}"


def business_transaction_uri(
    issuer_gln: str | None, number: str, *private: str, base: str = PRIVATE_BASE
) -> str:
    """A document number as CBV writes it, ``urn:epcglobal:cbv:bt:<issuer GLN>:<number>``; a
    private URI of ``private`` parts when the issuer has no GLN."""
    if issuer_gln:
        return f"urn:epcglobal:cbv:bt:{issuer_gln.strip()}:{quote(number, safe='')}"
    return private_uri(base, "bt", *private)


def transformation_uri(site_gln: str | None, number: str, *, base: str = PRIVATE_BASE) -> str:
    """A transformation's ID, CBV's ``urn:epcglobal:cbv:xform:<GLN>:<number>`` or a private URI."""
    if site_gln:
        return f"urn:epcglobal:cbv:xform:{site_gln.strip()}:{quote(number, safe='')}"
    return private_uri(base, "xform", number)


def event_time(instant: datetime) -> str:
    """An instant in UTC, ISO 8601 with ``Z`` and milliseconds (``2026-03-01T08:00:00.000Z``)."""
    if instant.tzinfo is None:
        raise ValueError("EPCIS times are aware instants; got a naive datetime")
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_zone_offset(instant: datetime, time_zone: str) -> str:
    """The offset (``+08:00``, ``-03:30``) of ``time_zone`` at ``instant``: summer time counts."""
    offset = instant.astimezone(ZoneInfo(time_zone)).utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"


def epcis_uom(unit_code: str, quantity: Decimal) -> str | None:
    """The UN/ECE Rec 20 ``uom`` of ``quantity`` in lotline's ``unit_code``; None for a whole count
    of each (EPCIS reads a quantity without uom as a count of instances). lotline's units carry
    their Rec 20 codes already (KGM, GRM, LTR, MLT …); ``EA`` is not one and becomes H87."""
    unit = units.UNITS.get(unit_code)
    if unit is None:
        raise ValueError(f"unit {unit_code!r} has no UN/ECE Rec 20 code for EPCIS")
    if unit.dimension is units.Dimension.COUNT:
        if quantity == quantity.to_integral_value():
            return None
        return PIECE if unit.code == "EA" else unit.code
    return unit.code


def lot_master_data(lot_code: str, expiry: date, expiry_kind: str) -> dict[str, str]:
    """``ilmd``: the lot number and its date — a best-before date as such (AI 15), else expiry (AI 17)."""
    dated = (
        "cbvmda:bestBeforeDate"
        if expiry_kind == ExpiryKind.BEST_BEFORE.value
        else "cbvmda:itemExpirationDate"
    )
    return {"cbvmda:lotNumber": lot_code, dated: expiry.isoformat()}


def hold_disposition(hold_type: str) -> str:
    """A recall hold leaves the lot ``recalled``; any other hold ``non_sellable_other``."""
    return "recalled" if hold_type.upper() == HoldType.RECALL.value else "non_sellable_other"


# --- JSON text ---------------------------------------------------------------------------------


def dumps(document: Mapping[str, Any], *, indent: int | None = None) -> str:
    """The document as JSON text; a Decimal quantity is written as the exact JSON number it is
    (``json`` would refuse it, and a float could change it)."""
    return _encode(document, indent, 0)


def _encode(value: object, indent: int | None, depth: int) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return units.plain(value)
    if isinstance(value, Mapping):
        colon = ": " if indent is not None else ":"
        members = [
            json.dumps(str(key), ensure_ascii=False) + colon + _encode(item, indent, depth + 1)
            for key, item in value.items()
        ]
        return _join("{", members, "}", indent, depth)
    if isinstance(value, list | tuple):
        return _join("[", [_encode(item, indent, depth + 1) for item in value], "]", indent, depth)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _join(opening: str, parts: list[str], closing: str, indent: int | None, depth: int) -> str:
    if not parts:
        return opening + closing
    if indent is None:
        return opening + ",".join(parts) + closing
    inner = "\n" + " " * (indent * (depth + 1))
    return opening + inner + ("," + inner).join(parts) + "\n" + " " * (indent * depth) + closing


__all__ = [
    "DIGITAL_LINK",
    "PIECE",
    "PRIVATE_BASE",
    "business_transaction_uri",
    "dumps",
    "epc_class",
    "epcis_uom",
    "event_time",
    "hold_disposition",
    "lot_master_data",
    "party_uri",
    "private_uri",
    "site_uri",
    "time_zone_offset",
    "transformation_uri",
]
