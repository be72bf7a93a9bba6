"""What a picker's scan names (拣货扫码): a lot code as printed, a bare SSCC, or a GS1 barcode /
Digital Link carrying AI 10 (lot) or AI 00 (SSCC), read with ``domain.gs1`` — every check digit
checked, dates placed around the site's today. A code that names no lot is tried once more as a
GS1 string sent without its symbology identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.gs1 import SSCC_LENGTH, parse_scan, validate_sscc
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.uow import UnitOfWork

MAX_SCAN_LENGTH = 1000


@dataclass(frozen=True)
class Scanned:
    """What a scan names: a lot code, an SSCC, or both (a GS1 label), and maybe the GTIN."""

    lot_code: str | None
    sscc: str | None
    gtin: str | None = None
    plain: bool = False  # read as a lot code as printed (it could still be a bare GS1 string)


def _looks_gs1(text: str) -> bool:
    return (
        text.startswith(("]", "http://", "https://"))
        or "\x1d" in text
        or (text.isdigit() and len(text) == SSCC_LENGTH + 2 and text.startswith("00"))
    )


def gs1_reading(text: str, *, today_at_site: date) -> Scanned:
    """A GS1 barcode or Digital Link that names a lot (AI 10) or a pallet (AI 00)."""
    try:
        result = parse_scan(text, today=today_at_site)
    except LotlineError as error:
        error.field = "scanned"
        raise
    if result.lot is None and result.sscc is None:
        raise InvalidInput(
            N_("The scan carries neither a lot (AI 10) nor an SSCC (AI 00)."),
            field="scanned",
            code="pick.scan_without_lot",
        )
    return Scanned(result.lot, result.sscc, result.gtin)


def read_scan(text: str, *, today_at_site: date) -> Scanned:
    """A bare SSCC, a GS1 barcode / Digital Link with AI 10 or AI 00, else a lot code as printed."""
    stripped = (text or "").strip()
    if not stripped:
        raise InvalidInput(N_("{field} is required."), field="scanned", code="pick.scan_required")
    if len(stripped) > MAX_SCAN_LENGTH:
        raise InvalidInput(
            N_("The value of {field} is not valid."), field="scanned", code="pick.scan_too_long"
        )
    if stripped.isdigit() and len(stripped) == SSCC_LENGTH:
        return Scanned(None, validate_sscc(stripped, field="scanned"))
    if _looks_gs1(stripped):
        return gs1_reading(stripped, today_at_site=today_at_site)
    return Scanned(stripped, None, plain=True)


def _lot_of_code(uow: UnitOfWork, product: Product, site_id: int, code: str) -> Lot | None:
    """The product's lot of that code (ours first, else a supplier's lot code at the site)."""
    lot = uow.session.execute(
        select(Lot).where(Lot.product_id == product.id, Lot.code == code)
    ).scalar_one_or_none()
    if lot is not None:
        return lot
    theirs = list(
        uow.session.scalars(
            select(Lot)
            .where(Lot.product_id == product.id, Lot.site_id == site_id, Lot.supplier_lot_code == code)
            .limit(2)
        )
    )
    return theirs[0] if len(theirs) == 1 else None


def resolve_scan(
    uow: UnitOfWork, product: Product, site_id: int, scan: Scanned, today: date
) -> tuple[Scanned, Lot | None]:
    """The scan's lot; a code that names no lot is tried as a GS1 string sent without its prefix."""
    if scan.lot_code is None:
        return scan, None
    lot = _lot_of_code(uow, product, site_id, scan.lot_code)
    if lot is None and scan.plain:
        try:
            scan = gs1_reading(scan.lot_code, today_at_site=today)
        except InvalidInput:
            raise NotFound(entity=N_("lot"), key=scan.lot_code, field="scanned") from None
        lot = _lot_of_code(uow, product, site_id, scan.lot_code) if scan.lot_code else None
    if scan.lot_code is not None and lot is None:
        raise NotFound(entity=N_("lot"), key=scan.lot_code, field="scanned")
    return scan, lot


__all__ = ["MAX_SCAN_LENGTH", "Scanned", "gs1_reading", "read_scan", "resolve_scan"]
