"""A scanned GS1 barcode (GS1-128, DataMatrix or Digital Link) as the fields of a receipt line.

The three forms carry the same element strings, so they fill the same line: GTIN (01), the
supplier's lot (10), production date (11), expiry (17, else best-before 15: day 00 is the
month's last day), count (30/37), net weight in kg (310n) and SSCC (00). The parsing itself,
and every check digit, is :func:`lotline.domain.gs1.parse_scan`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lotline.domain.gs1 import parse_scan

MAX_SCAN_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class ScannedLine:
    """What a scan says about one receipt line; None where the barcode does not carry it."""

    gtin: str | None
    supplier_lot_code: str | None
    production_date: date | None
    supplier_expiry: date | None
    count: Decimal | None
    net_weight_kg: Decimal | None
    sscc: str | None

    def as_fields(self) -> dict[str, object]:
        """The line fields the scan fills (those it carries)."""
        return {name: getattr(self, name) for name in self.__slots__ if getattr(self, name) is not None}


def line_from_scan(text: str, *, today: date) -> ScannedLine:
    """The receipt-line fields of one scan; InvalidInput ``gs1.bad_scan`` naming the AI if bad."""
    result = parse_scan(text, today=today)
    return ScannedLine(
        gtin=result.gtin or result.content_gtin,
        supplier_lot_code=result.lot,
        production_date=result.production_date,
        supplier_expiry=result.expiry or result.best_before,
        count=None if result.count is None else Decimal(result.count),
        net_weight_kg=result.net_weight_kg,
        sscc=result.sscc,
    )
