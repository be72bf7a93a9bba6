"""Receiving (收货): a supplier's delivery lands, line by line, as lots in quarantine.

Each line names a product (or a GTIN), the supplier's lot, a quantity — count and net weight
for catch-weight products — and the supplier's dates, or carries a GS1 scan that fills them.
By default each line creates its own internal lot keeping the supplier's lot code and declared
expiry; a product may ask to reuse the lot it already has for that supplier lot. The product's
minimum remaining shelf life at receipt is checked: a short delivery is refused unless the line
carries a signed override. Stock is posted as a RECEIPT into QUARANTINE at the receiving
location. Everything is checked before anything is written, and all of it is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, tuple_

from lotline.audit.service import record
from lotline.catalog.service import shelf_life_rule
from lotline.db import next_in_sequence
from lotline.domain import units
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.expiry import (
    MinimumShelfLife,
    compute_expiry,
    gs1_date,
    minimum_shortfall,
    remaining_shelf_life,
)
from lotline.domain.gs1 import validate_gtin, validate_sscc
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import StockStatus
from lotline.inbound.scan import line_from_scan
from lotline.lots import service as lots
from lotline.models.catalog import Location, Partner, Product, ProductPackaging
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.paging import Page, keyset_page
from lotline.quality import policies
from lotline.signatures import service as signatures
from lotline.stock import service as stock
from lotline.uow import UnitOfWork

MAX_LINES = 500
MAX_TLC_SOURCE = 200  # receipt_line.tlc_source's length
OVERRIDE_RECORD_TYPE = "receipt_line_override"
# Accepting goods short of the minimum shelf life is a quality decision, signed by someone who
# may make one at the receiving site.
OVERRIDE_PERMISSION = Permission.QUALITY_DECIDE
_SCANNED = (
    "gtin",
    "supplier_lot_code",
    "production_date",
    "supplier_expiry",
    "count",
    "net_weight_kg",
    "sscc",
)
# Errors raised by the services we call name their own parameters; on a line they name ours.
_FIELD_NAMES = {
    "produced_on": "production_date",
    "from_unit": "unit",
    "to_unit": "unit",
    "signing_grant": "override_signing_grant",
}


class ShortShelfLife(InvalidInput):
    code = "receipt.short_shelf_life"
    message = N_(
        "Lot {lot} of {product} expires on {expiry}: short of the minimum shelf life at receipt "
        "({required} {measure}, {remaining} left). Refuse it, or accept it with a signed override."
    )


@dataclass(frozen=True)
class LineInput:
    """One line as entered or scanned; dates may be ISO dates or GS1 ``YYMMDD`` text."""

    product_id: int | None = None
    gtin: str | None = None
    supplier_lot_code: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    count: Decimal | None = None
    net_weight_kg: Decimal | None = None
    production_date: date | str | None = None
    supplier_expiry: date | str | None = None
    sscc: str | None = None
    scan: str | None = None
    tlc_source: str | None = None  # FSMA 204: where the supplier's lot code was assigned
    override_signing_grant: str | None = None
    override_reason: str | None = None


@dataclass
class _Line:
    """A line resolved and checked, ready to be written."""

    number: int
    product: Product
    entered: LineInput
    supplier_lot_code: str
    production_date: date | None
    supplier_expiry: date | None
    entered_qty: Decimal
    entered_unit: str
    quantity: Quantity
    sscc: str | None
    tlc_source: str | None = None
    reuse: Lot | None = None
    shortfall: dict[str, object] | None = None
    expiry_date: date | None = None
    extra: dict[str, object] = field(default_factory=dict)


@contextmanager
def _on_line(number: int) -> Iterator[None]:
    """Errors raised while handling line ``number`` name the line's field (``lines.0.unit``)."""
    try:
        yield
    except LotlineError as error:
        name = error.field or "scan"
        if not name.startswith("lines."):
            error.field = f"lines.{number}.{_FIELD_NAMES.get(name, name)}"
        raise


def _local_today(uow: UnitOfWork, site: Site) -> date:
    return uow.now().astimezone(ZoneInfo(site.time_zone)).date()


def _date(value: date | str | None, *, today: date, field_name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if len(text) == 6 and text.isascii() and text.isdigit():
        return gs1_date(text, today=today, field=field_name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a date (YYYY-MM-DD) or a GS1 date (YYMMDD), not {value}."),
            field=field_name,
            code="receipt.bad_date",
            value=value,
        ) from None


def merge_scan(line: LineInput, *, today: date) -> LineInput:
    """The line with the fields its scan carries filled in; a typed value must agree with it."""
    if not line.scan:
        return line
    scanned = line_from_scan(line.scan, today=today).as_fields()
    filled: dict[str, object] = {}
    for name, value in scanned.items():
        typed = getattr(line, name)
        if name in ("production_date", "supplier_expiry"):
            typed = _date(typed, today=today, field_name=name)
        if typed is not None and typed != value:
            raise InvalidInput(
                N_("{field} ({typed}) differs from the scanned value {scanned}."),
                field=name,
                code="receipt.scan_mismatch",
                typed=str(typed),
                scanned=str(value),
            )
        filled[name] = value
    return replace(line, **filled)  # type: ignore[arg-type]


def preview_scan(uow: UnitOfWork, *, site_id: int, scan: str) -> dict[str, object]:
    """The line fields a scan fills, with the product its GTIN names if known; writes nothing."""
    site = uow.session.get(Site, site_id)
    if site is None:
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    try:
        line = merge_scan(LineInput(scan=scan), today=_local_today(uow, site))
    except LotlineError as error:
        error.field = "scan" if error.field in (None, "scan") else error.field
        raise
    products, levels = _products(uow, [line])
    found = _product_for(line, products, levels)
    fields: dict[str, object] = {name: getattr(line, name) for name in _SCANNED}
    fields["product_id"] = found[0].id if found else None
    fields["unit"] = found[1] if found else None
    return fields


def _products(
    uow: UnitOfWork, lines: Sequence[LineInput]
) -> tuple[dict[object, Product], dict[str, tuple[int, str]]]:
    """Every product the lines name, by id and by GTIN, and packaging GTINs → (product, level)."""
    ids = {line.product_id for line in lines if line.product_id is not None}
    gtins = {line.gtin for line in lines if line.gtin}
    levels: dict[str, tuple[int, str]] = {}
    if gtins:
        for level in uow.session.scalars(select(ProductPackaging).where(ProductPackaging.gtin.in_(gtins))):
            assert level.gtin is not None
            levels[level.gtin] = (level.product_id, level.code)
            ids.add(level.product_id)
    products: dict[object, Product] = {}
    if ids or gtins:
        for product in uow.session.scalars(
            select(Product).where(or_(Product.id.in_(ids), Product.gtin.in_(gtins)))
        ):
            products[product.id] = product
            if product.gtin:
                products[product.gtin] = product
    return products, levels


def _product_for(
    line: LineInput, products: Mapping[object, Product], levels: Mapping[str, tuple[int, str]]
) -> tuple[Product, str | None] | None:
    """The line's product and the unit its GTIN implies (a case GTIN means cases)."""
    by_gtin: tuple[Product, str | None] | None = None
    if line.gtin:
        if line.gtin in levels:
            product_id, level = levels[line.gtin]
            by_gtin = (products[product_id], level)
        elif line.gtin in products:
            by_gtin = (products[line.gtin], None)
    if line.product_id is not None:
        product = products.get(line.product_id)
        if product is None:
            return None
        if by_gtin is not None and by_gtin[0].id != product.id:
            raise InvalidInput(
                N_("{field} names another product than the GTIN."),
                field="product_id",
                code="receipt.gtin_mismatch",
            )
        return product, by_gtin[1] if by_gtin else None
    return by_gtin


def _positive(value: Decimal | None, *, field_name: str, whole: bool = False) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite() or value <= 0 or (whole and value != value.to_integral_value()):
        raise InvalidInput(
            N_("{field} must be a whole number greater than zero.")
            if whole
            else N_("{field} must be greater than zero."),
            field=field_name,
            code="receipt.bad_quantity",
        )
    return value


def _quantity(
    product: Product, line: LineInput, implied_unit: str | None, packaging: Mapping[str, Decimal]
) -> tuple[Decimal, str, Quantity]:
    """(entered quantity, entered unit, ledger quantity) of one line, exactly in the base unit."""
    count = _positive(line.count, field_name="count", whole=True)
    weight = _positive(line.net_weight_kg, field_name="net_weight_kg")
    entered_qty = _positive(line.quantity, field_name="quantity")
    entered_unit = line.unit or implied_unit
    base_dimension = units.resolve_unit(product.base_unit).dimension
    if product.catch_weight:
        for name, value in (("count", count), ("net_weight_kg", weight)):
            if value is None:
                raise InvalidInput(
                    N_("{product} is sold by catch weight: a line needs its count and its net weight (kg)."),
                    field=name,
                    code="receipt.catch_weight_required",
                    product=product.code,
                )
        assert count is not None
        assert weight is not None
        if entered_qty is None:
            by_mass = base_dimension is units.Dimension.MASS
            entered_qty, entered_unit = (weight, "KGM") if by_mass else (count, entered_unit or "EA")
    elif entered_qty is None:
        if count is not None:
            entered_qty, entered_unit = count, entered_unit or "EA"
        elif weight is not None:
            entered_qty, entered_unit = weight, "KGM"
        else:
            raise InvalidInput(N_("{field} is required."), field="quantity", code="receipt.quantity_required")
    unit = entered_unit or product.base_unit
    base = units.convert(entered_qty, unit, product.base_unit, packaging=packaging)
    if not product.catch_weight:
        return entered_qty, unit, Quantity(base)
    assert count is not None
    assert weight is not None
    recorded = (
        units.convert(weight, "KGM", product.base_unit)
        if base_dimension is units.Dimension.MASS
        else units.convert(count, "EA", product.base_unit, packaging=packaging)
    )
    if recorded != base:
        raise InvalidInput(
            N_("{field} ({quantity} {unit}) does not agree with the count and net weight of the line."),
            field="quantity",
            code="receipt.catch_weight_mismatch",
            quantity=entered_qty,
            unit=unit,
        )
    return entered_qty, unit, Quantity(base, count, weight)


def _minimum(product: Product) -> MinimumShelfLife | None:
    if product.min_receipt_days is not None:
        return MinimumShelfLife(days=product.min_receipt_days)
    if product.min_receipt_percent is not None:
        return MinimumShelfLife(percent=product.min_receipt_percent)
    return None


def _check_site(uow: UnitOfWork, principal: Principal, site_id: int) -> Site:
    site = uow.session.get(Site, site_id)
    if site is None or not principal.can(Permission.STOCK_MOVE, site_id):
        if site is not None and principal.can(Permission.LOT_READ, site_id):
            raise PermissionDenied(permission=Permission.STOCK_MOVE.value, field="site_id")
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    return site


def _resolve_line(
    uow: UnitOfWork,
    number: int,
    entered: LineInput,
    *,
    site: Site,
    today: date,
    products: Mapping[object, Product],
    levels: Mapping[str, tuple[int, str]],
    packaging: Mapping[int, Mapping[str, Decimal]],
) -> _Line:
    line = entered
    if line.gtin:
        line = replace(line, gtin=validate_gtin(line.gtin, field="gtin"))
    found = _product_for(line, products, levels)
    if found is None:
        key = line.product_id if line.product_id is not None else line.gtin
        raise NotFound(
            entity=N_("product"), key=key, field="product_id" if line.product_id is not None else "gtin"
        )
    product, implied_unit = found
    if not product.active:
        raise NotFound(entity=N_("product"), key=product.code, field="product_id")
    if not line.supplier_lot_code:
        raise InvalidInput(
            N_("{field} is required for a supplier lot."),
            field="supplier_lot_code",
            code="lot.supplier_lot_required",
        )
    production = _date(line.production_date, today=today, field_name="production_date")
    expiry = _date(line.supplier_expiry, today=today, field_name="supplier_expiry")
    entered_qty, entered_unit, quantity = _quantity(
        product, line, implied_unit, packaging.get(product.id, {})
    )
    sscc = validate_sscc(line.sscc, field="sscc") if line.sscc else None
    tlc_source = (line.tlc_source or "").strip() or None
    if tlc_source is not None and (len(tlc_source) > MAX_TLC_SOURCE or not tlc_source.isprintable()):
        raise InvalidInput(field="tlc_source", code="receipt.bad_tlc_source")
    return _Line(
        number=number,
        product=product,
        entered=line,
        supplier_lot_code=line.supplier_lot_code,
        production_date=production,
        supplier_expiry=expiry,
        entered_qty=entered_qty,
        entered_unit=entered_unit,
        quantity=quantity,
        sscc=sscc,
        tlc_source=tlc_source,
    )


def _reusable_lots(
    uow: UnitOfWork, lines: Sequence[_Line], *, site_id: int, supplier_id: int
) -> dict[tuple[int, str], Lot]:
    """Existing lots the lines may reuse (their products ask for it), in one query."""
    keys = {(line.product.id, line.supplier_lot_code) for line in lines if line.product.reuse_supplier_lot}
    if not keys:
        return {}
    found: dict[tuple[int, str], Lot] = {}
    query = (
        select(Lot)
        .where(
            Lot.site_id == site_id,
            Lot.supplier_id == supplier_id,
            tuple_(Lot.product_id, Lot.supplier_lot_code).in_(sorted(keys)),
        )
        .order_by(Lot.id)
    )
    for lot in uow.session.scalars(query):
        assert lot.supplier_lot_code is not None
        found.setdefault((lot.product_id, lot.supplier_lot_code), lot)
    return found


def _check_shelf_life(uow: UnitOfWork, line: _Line, *, site: Site) -> None:
    """Date the lot the line will land in and compare its remaining shelf life with the minimum."""
    if line.reuse is not None:
        if line.supplier_expiry is not None and line.supplier_expiry != line.reuse.supplier_expiry_date:
            raise InvalidInput(
                N_("{field} differs from the expiry of the existing lot {lot} of this supplier lot."),
                field="supplier_expiry",
                code="receipt.reused_lot_differs",
                lot=line.reuse.code,
            )
        expiry_date, expiry_at = line.reuse.expiry_date, line.reuse.expiry_at
        produced_on, produced_at = line.reuse.production_date, line.reuse.produced_at
    else:
        decision = compute_expiry(
            shelf_life_rule(line.product),
            produced_on=line.production_date,
            supplier_expiry=line.supplier_expiry,
            site_zone=site.time_zone,
        )
        expiry_date, expiry_at = decision.expiry_date, decision.expiry_at
        produced_on, produced_at = line.production_date, None
    line.expiry_date = expiry_date
    minimum = _minimum(line.product)
    if minimum is None:
        return
    remaining = remaining_shelf_life(
        expiry_date=expiry_date,
        expiry_at=expiry_at,
        produced_on=produced_on,
        produced_at=produced_at,
        site_zone=site.time_zone,
        now=uow.now(),
    )
    line.shortfall = minimum_shortfall(minimum, remaining)
    if line.shortfall is not None and line.shortfall["remaining"] is None:
        raise InvalidInput(
            N_("The minimum shelf life of {product} at receipt is a percentage: {field} is needed."),
            field="production_date",
            code="receipt.production_date_required",
            product=line.product.code,
        )
    if line.shortfall is not None and not line.entered.override_signing_grant:
        raise ShortShelfLife(
            field="supplier_expiry",
            lot=line.supplier_lot_code,
            product=line.product.code,
            product_id=line.product.id,
            expiry=expiry_date.isoformat(),
            required=line.shortfall["required"],
            measure=line.shortfall["measure"],
            remaining=line.shortfall["remaining"],
        )
    if line.shortfall is not None and not (line.entered.override_reason or "").strip():
        raise InvalidInput(
            N_("{field} is required to accept a delivery short of its minimum shelf life."),
            field="override_reason",
            code="receipt.override_reason_required",
        )


def override_record_id(product_id: int, supplier_lot_code: str) -> str:
    """The record a shelf-life override is signed for: ``<product id>:<supplier lot code>``."""
    return f"{product_id}:{supplier_lot_code}"


def _sign_override(
    uow: UnitOfWork, line: _Line, *, principal: Principal, site: Site, supplier_id: int
) -> int:
    # The receiver may sign the exception themselves if they may decide quality, or a QA person
    # countersigns: they re-authenticated for this grant, so the signature is theirs.
    holder = signatures.grant_holder(uow, grant_secret=line.entered.override_signing_grant)
    signer = holder if holder is not None and holder.user_id != principal.user_id else principal
    if not signer.can(OVERRIDE_PERMISSION, site.id):
        raise PermissionDenied(permission=OVERRIDE_PERMISSION.value, field="override_signing_grant")
    assert line.shortfall is not None
    assert line.expiry_date is not None
    reason = (line.entered.override_reason or "").strip()
    content = {
        "product_id": line.product.id,
        "product": line.product.code,
        "supplier_id": supplier_id,
        "supplier_lot_code": line.supplier_lot_code,
        "supplier_expiry": None if line.supplier_expiry is None else line.supplier_expiry.isoformat(),
        "expiry_date": line.expiry_date.isoformat(),
        "shortfall": line.shortfall,
        "reason": reason,
    }
    signature = signatures.sign(
        uow,
        principal=signer,
        grant_secret=line.entered.override_signing_grant,
        meaning=Meaning.OVERRIDE,
        record_type=OVERRIDE_RECORD_TYPE,
        record_id=override_record_id(line.product.id, line.supplier_lot_code),
        content=content,
        comment=reason,
    )
    return signature.id


def _receiving_location(uow: UnitOfWork, location_id: int, site: Site) -> Location:
    location = uow.session.get(Location, location_id)
    if location is None or not location.active:
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    if location.site_id != site.id:
        raise InvalidInput(
            N_("{field} must be a location of the receiving site {site}."),
            field="location_id",
            code="receipt.location_other_site",
            site=site.code,
        )
    return location


def create_receipt(
    uow: UnitOfWork,
    *,
    site_id: int,
    supplier_id: int,
    location_id: int,
    lines: Sequence[LineInput],
    principal: Principal,
    purchase_order: str | None = None,
    delivery_note: str | None = None,
    note: str | None = None,
) -> Receipt:
    """Receive a supplier's delivery: one lot per line, into quarantine at ``location_id``."""
    site = _check_site(uow, principal, site_id)
    supplier = uow.session.get(Partner, supplier_id)
    if supplier is None or not supplier.is_supplier or not supplier.active:
        raise NotFound(entity=N_("supplier"), key=supplier_id, field="supplier_id")
    location = _receiving_location(uow, location_id, site)
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidInput(
            N_("A receipt has 1 to {maximum} lines."), field="lines", code="receipt.lines", maximum=MAX_LINES
        )
    today = _local_today(uow, site)
    merged = []
    for number, typed in enumerate(lines):
        with _on_line(number):
            merged.append(merge_scan(typed, today=today))
    products, levels = _products(uow, merged)
    packaging: dict[int, dict[str, Decimal]] = {}
    for level in uow.session.scalars(
        select(ProductPackaging).where(ProductPackaging.product_id.in_({p.id for p in products.values()}))
    ):
        packaging.setdefault(level.product_id, {})[level.code] = level.base_per_unit
    resolved: list[_Line] = []
    for number, entered in enumerate(merged):
        with _on_line(number):
            resolved.append(
                _resolve_line(
                    uow,
                    number,
                    entered,
                    site=site,
                    today=today,
                    products=products,
                    levels=levels,
                    packaging=packaging,
                )
            )
    reusable = _reusable_lots(uow, resolved, site_id=site.id, supplier_id=supplier.id)
    for line in resolved:
        line.reuse = reusable.get((line.product.id, line.supplier_lot_code))
        with _on_line(line.number):
            _check_shelf_life(uow, line, site=site)

    # Everything is checked: write.
    seq = next_in_sequence(uow.session, f"receipt:{site.id}:{today.year}")
    now = uow.now()
    receipt = Receipt(
        number=f"R-{site.code}-{today.year}-{seq:06}",
        site_id=site.id,
        supplier_id=supplier.id,
        location_id=location.id,
        purchase_order=purchase_order,
        delivery_note=delivery_note,
        received_at=now,
        received_by=uow.actor.name,
        note=note,
    )
    uow.session.add(receipt)
    uow.session.flush()
    created_lots: dict[tuple[int, str], Lot] = dict(reusable)
    written: list[ReceiptLine] = []
    for line in resolved:
        with _on_line(line.number):
            signature_id = None
            if line.shortfall is not None:
                signature_id = _sign_override(
                    uow, line, principal=principal, site=site, supplier_id=supplier.id
                )
            key = (line.product.id, line.supplier_lot_code)
            lot = created_lots.get(key) if line.product.reuse_supplier_lot else None
            if lot is None:
                lot = lots.register_lot(
                    uow,
                    product_id=line.product.id,
                    site_id=site.id,
                    source="SUPPLIER",
                    production_date=line.production_date,
                    supplier_id=supplier.id,
                    supplier_lot_code=line.supplier_lot_code,
                    supplier_expiry=line.supplier_expiry,
                )
                created_lots.setdefault(key, lot)
            receipt_line = ReceiptLine(
                receipt_id=receipt.id,
                line_no=line.number + 1,
                product_id=line.product.id,
                lot_id=lot.id,
                supplier_lot_code=line.supplier_lot_code,
                tlc_source=line.tlc_source,
                production_date=line.production_date,
                supplier_expiry=line.supplier_expiry,
                entered_qty=line.entered_qty,
                entered_unit=line.entered_unit,
                base_qty=line.quantity.base,
                count=line.quantity.count,
                weight_kg=line.quantity.weight_kg,
                sscc=line.sscc,
                scan=line.entered.scan,
                override_signature_id=signature_id,
            )
            uow.session.add(receipt_line)
            uow.session.flush()
            stock.post(
                uow,
                kind=MovementKind.RECEIPT,
                lot=lot,
                quantity=line.quantity,
                entered_qty=line.entered_qty,
                entered_unit=line.entered_unit,
                target=stock.Bucket(location.id, StockStatus.QUARANTINE, line.sscc or ""),
                reference=("receipt_line", receipt_line.id),
            )
            written.append(receipt_line)
    summary = [_line_summary(line, lot_code=created_code) for line, created_code in _with_codes(written, uow)]
    record(
        uow,
        action="create",
        entity_type="receipt",
        entity_id=receipt.id,
        site_id=site.id,
        changes={
            "number": [None, receipt.number],
            "supplier_id": [None, supplier.id],
            "location_id": [None, location.id],
            "purchase_order": [None, purchase_order],
            "delivery_note": [None, delivery_note],
            "lines": [None, summary],
        },
    )
    emit(
        uow,
        events.RECEIPT_POSTED,
        subject_type="receipt",
        subject_id=receipt.id,
        site_id=site.id,
        payload={
            "number": receipt.number,
            "supplier_id": supplier.id,
            "location_id": location.id,
            "purchase_order": purchase_order,
            "delivery_note": delivery_note,
            "lines": summary,
        },
    )
    # A trusted product's signed release policy may release what just arrived (quality/policies);
    # only the lots of products that carry one are looked at (one query for the whole receipt).
    trusted = policies.products_with_policy(uow, {line.product_id for line in written})
    for lot_id in sorted({line.lot_id for line in written if line.product_id in trusted}):
        policies.apply_auto_release(uow, uow.session.get_one(Lot, lot_id))
    return receipt


def _with_codes(written: Sequence[ReceiptLine], uow: UnitOfWork) -> list[tuple[ReceiptLine, str]]:
    codes = lot_codes(uow, [line.lot_id for line in written])
    return [(line, codes[line.lot_id]) for line in written]


def _line_summary(line: ReceiptLine, *, lot_code: str) -> dict[str, object]:
    return {
        "line_no": line.line_no,
        "product_id": line.product_id,
        "lot_id": line.lot_id,
        "lot": lot_code,
        "supplier_lot_code": line.supplier_lot_code,
        "tlc_source": line.tlc_source,
        "entered_qty": str(line.entered_qty),
        "entered_unit": line.entered_unit,
        "base_qty": str(line.base_qty),
        "count": None if line.count is None else str(line.count),
        "weight_kg": None if line.weight_kg is None else str(line.weight_kg),
        "sscc": line.sscc,
        "override_signature_id": line.override_signature_id,
    }


def lot_codes(uow: UnitOfWork, lot_ids: Sequence[int]) -> dict[int, str]:
    """Lot codes by id, in one query."""
    if not lot_ids:
        return {}
    return dict(uow.session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(set(lot_ids)))).tuples().all())


# --- reading ----------------------------------------------------------------------------------


def visible_receipt(uow: UnitOfWork, principal: Principal, receipt_id: int) -> Receipt:
    """The receipt, if the caller may read stock at its site (else "not found")."""
    receipt = uow.session.get(Receipt, receipt_id)
    if receipt is None or not principal.can(Permission.STOCK_READ, receipt.site_id):
        raise NotFound(entity=N_("receipt"), key=receipt_id, field="receipt_id")
    return receipt


def receipt_lines(uow: UnitOfWork, *, receipt_ids: Sequence[int]) -> dict[int, list[ReceiptLine]]:
    """The lines of the receipts, in order, in one query."""
    found: dict[int, list[ReceiptLine]] = {receipt_id: [] for receipt_id in receipt_ids}
    if receipt_ids:
        query = (
            select(ReceiptLine)
            .where(ReceiptLine.receipt_id.in_(set(receipt_ids)))
            .order_by(ReceiptLine.receipt_id, ReceiptLine.line_no)
        )
        for line in uow.session.scalars(query):
            found[line.receipt_id].append(line)
    return found


@dataclass(frozen=True)
class ReceiptFilter:
    site_ids: frozenset[int] | None = None  # the caller's sites (None: every site)
    site_id: int | None = None
    supplier_id: int | None = None
    since: datetime | None = None
    number: str | None = None


def list_receipts(
    uow: UnitOfWork, *, criteria: ReceiptFilter, cursor: str | None, limit: int
) -> Page[Receipt]:
    """Receipts matching every given filter, newest first."""
    query = select(Receipt)
    if criteria.site_ids is not None:
        query = query.where(Receipt.site_id.in_(criteria.site_ids))
    if criteria.site_id is not None:
        query = query.where(Receipt.site_id == criteria.site_id)
    if criteria.supplier_id is not None:
        query = query.where(Receipt.supplier_id == criteria.supplier_id)
    if criteria.since is not None:
        query = query.where(Receipt.received_at >= criteria.since)
    if criteria.number is not None:
        query = query.where(Receipt.number == criteria.number)
    return keyset_page(uow.session, query, Receipt.id, cursor=cursor, limit=limit, newest_first=True)
