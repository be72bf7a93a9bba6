"""Issuing an input by scan (投料扫码): what a scan names, resolved to one lot and one bucket.

A scan is a lot code as printed, a bare SSCC, a GS1 barcode or Digital Link (AI 01 + 10, or
AI 00), or a GS1 element string typed with its AIs in brackets, ``(01)…(10)…``. Unlike a pick
it has no order line to say which product is meant, so the GTIN (when scanned) narrows the
product and the stock at the site narrows the rest: the lot's bucket there with stock in it —
the one named by the SSCC or by the location chosen, else the only one, else its only available
one. Whether that stock may be consumed (quarantine, holds, expiry) is not asked here: the
transformation asks the status × transaction matrix, which refuses with every reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.status import StockStatus
from lotline.models.catalog import Product, ProductPackaging
from lotline.models.lot import Lot
from lotline.models.stock import StockOnHand
from lotline.outbound.scans import MAX_SCAN_LENGTH, Scanned, gs1_reading, read_scan
from lotline.stock.operations import Source
from lotline.uow import UnitOfWork

# "(01)09521234543213(10)ABC": the human-readable form printed under a GS1-128 barcode.
_BRACKETED = re.compile(r"(?:\(\d{2,4}\)[^()]+)+")
_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]+)")
_CANDIDATES = 50  # buckets looked at for one scan; a lot code in more is ambiguous anyway


class ScanAmbiguous(InvalidInput):
    code = "production.scan_ambiguous"
    message = N_("{scanned} names more than one lot; scan the GS1 barcode with its GTIN, or the SSCC.")


class ScanSeveralPlaces(InvalidInput):
    code = "production.scan_several_places"
    message = N_("Lot {lot} is in more than one place here; choose the location or scan the SSCC.")


class ScanNoStock(InvalidInput):
    code = "production.scan_no_stock"
    message = N_("There is no stock of {scanned} here.")


@dataclass(frozen=True)
class Issued:
    """What a scan resolved to: the lot, its product and the bucket to take from."""

    lot: Lot
    product: Product
    source: Source


def element_string(text: str) -> str:
    """A bracketed GS1 element string as a scanner sends it (``]C1``, FNC1 between fields)."""
    stripped = text.strip()
    if not _BRACKETED.fullmatch(stripped):
        return stripped
    return "]C1" + "\x1d".join(ai + value for ai, value in _ELEMENT.findall(stripped))


def _products_of_gtin(uow: UnitOfWork, gtin: str) -> set[int]:
    """The products a GTIN names: their own GTIN or one of their packaging levels'."""
    own = select(Product.id).where(Product.gtin == gtin)
    packed = select(ProductPackaging.product_id).where(ProductPackaging.gtin == gtin)
    return set(uow.session.scalars(own.union(packed)))


def _lots_of_code(uow: UnitOfWork, site_id: int, code: str, products: set[int] | None) -> list[int]:
    """Lots of that code (ours first, else a supplier's lot code at the site)."""
    ours = select(Lot.id).where(Lot.code == code)
    theirs = select(Lot.id).where(Lot.site_id == site_id, Lot.supplier_lot_code == code)
    if products is not None:
        ours = ours.where(Lot.product_id.in_(products))
        theirs = theirs.where(Lot.product_id.in_(products))
    found = list(uow.session.scalars(ours.limit(_CANDIDATES)))
    return found or list(uow.session.scalars(theirs.limit(_CANDIDATES)))


def _read(text: str, today: date) -> Scanned:
    return read_scan(element_string(text), today_at_site=today)


def _lots(uow: UnitOfWork, site_id: int, scan: Scanned, today: date) -> tuple[Scanned, list[int] | None]:
    """The scan (re-read as GS1 when a code names no lot) and the lots it may name."""
    if scan.lot_code is None:
        return scan, None
    products = _products_of_gtin(uow, scan.gtin) if scan.gtin else None
    if products is not None and not products:
        raise NotFound(entity=N_("GTIN"), key=scan.gtin, field="scan")
    found = _lots_of_code(uow, site_id, scan.lot_code, products)
    if not found and scan.plain:
        # A GS1 string sent without its symbology identifier reads like a lot code at first.
        try:
            scan = gs1_reading(scan.lot_code, today_at_site=today)
        except InvalidInput:
            raise NotFound(entity=N_("lot"), key=scan.lot_code, field="scan") from None
        return _lots(uow, site_id, scan, today)
    if not found:
        raise NotFound(entity=N_("lot"), key=scan.lot_code, field="scan")
    return scan, found


def _bucket(rows: list[StockOnHand], lot_code: str) -> StockOnHand:
    """The one bucket meant: the only one, else the only available one."""
    if len(rows) == 1:
        return rows[0]
    available = [row for row in rows if row.stock_status == StockStatus.AVAILABLE.value]
    if len(available) == 1:
        return available[0]
    raise ScanSeveralPlaces(field="scan", lot=lot_code)


def issue(uow: UnitOfWork, *, site_id: int, scanned: str, location_id: int | None, today: date) -> Issued:
    """The lot and bucket a scan names at a site (errors name the field ``scan``)."""
    if len(scanned) > MAX_SCAN_LENGTH:
        raise InvalidInput(N_("{field} is too long."), field="scan", code="web.too_long")
    if "\x00" in scanned:  # GS1's group separators are kept; a NUL no database takes
        raise InvalidInput(N_("The value of {field} is not valid."), field="scan", code="invalid")
    try:
        scan, lot_ids = _lots(uow, site_id, _read(scanned, today), today)
    except LotlineError as error:
        error.field = "scan"
        raise
    query = select(StockOnHand).where(StockOnHand.site_id == site_id, StockOnHand.qty_base > 0)
    if lot_ids is not None:
        query = query.where(StockOnHand.lot_id.in_(lot_ids))
    if scan.sscc is not None:
        query = query.where(StockOnHand.sscc == scan.sscc)
    if location_id is not None:
        query = query.where(StockOnHand.location_id == location_id)
    rows = list(
        uow.session.scalars(
            query.order_by(StockOnHand.lot_id, StockOnHand.location_id, StockOnHand.id).limit(_CANDIDATES)
        )
    )
    shown = scan.lot_code or scan.sscc or scanned.strip()
    if not rows:
        if lot_ids is None and location_id is None:
            raise NotFound(entity=N_("SSCC"), key=scan.sscc, field="scan")
        raise ScanNoStock(field="scan", scanned=shown)
    if len({row.lot_id for row in rows}) > 1:
        raise ScanAmbiguous(field="scan", scanned=shown)
    lot = uow.session.get_one(Lot, rows[0].lot_id)
    bucket = _bucket(rows, lot.code)
    return Issued(
        lot,
        uow.session.get_one(Product, lot.product_id),
        Source(bucket.location_id, StockStatus(bucket.stock_status), bucket.sscc),
    )
