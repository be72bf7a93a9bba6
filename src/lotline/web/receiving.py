"""Receiving pages: recent receipts, the receiving form with a scan field, one receipt.

The form keeps its draft lines in hidden fields and re-renders on every scan or added line, so a
hand scanner (which types the barcode and presses Enter) works without any script. Posting calls
:func:`lotline.inbound.service.create_receipt`; a line short of its minimum shelf life may be
accepted by a user who may decide quality, signing an override with their password.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.i18n import gettext_for
from lotline.inbound import service
from lotline.models.catalog import Location, Partner, Product
from lotline.models.site import Site
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int, readable_sites
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50
MAX_DRAFT_LINES = service.MAX_LINES
# The fields of a draft line, as the hidden field keeps them (text) and LineInput takes them.
LINE_FIELDS = (
    "product_id",
    "gtin",
    "supplier_lot_code",
    "quantity",
    "unit",
    "count",
    "net_weight_kg",
    "production_date",
    "supplier_expiry",
    "sscc",
)
_DECIMALS = ("quantity", "count", "net_weight_kg")


# --- the list and one receipt -----------------------------------------------------------------


@router.get("/receipts")
def receipt_list(
    request: Request,
    site_id: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = principal.site_ids_with(Permission.STOCK_READ)
    chosen = optional_int(site_id, "site_id")
    page = service.list_receipts(
        uow,
        criteria=service.ReceiptFilter(
            site_ids=frozenset(sites) if sites is not None else None, site_id=chosen
        ),
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    receipts = list(page.items)
    lines = service.receipt_lines(uow, receipt_ids=[r.id for r in receipts])
    site_rows = readable_sites(uow, principal, Permission.STOCK_READ)
    suppliers = _by_id(uow, Partner, {r.supplier_id for r in receipts})
    locations = _by_id(uow, Location, {r.location_id for r in receipts})
    next_url = None
    if page.next_cursor:
        next_url = f"/receipts?cursor={page.next_cursor}" + (f"&site_id={chosen}" if chosen else "")
    return render(
        request,
        "receiving/list.html",
        active="receiving",
        rows=[
            {
                "receipt": r,
                "supplier": suppliers.get(r.supplier_id),
                "location": locations.get(r.location_id),
                "lines": len(lines[r.id]),
            }
            for r in receipts
        ],
        sites=site_rows,
        site_by_id={s.id: s for s in site_rows},
        chosen_site=chosen,
        can_receive=principal.site_ids_with(Permission.STOCK_MOVE) != set(),
        next_url=next_url,
    )


@router.get("/receipts/new")
def receipt_form(
    request: Request,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return _form_page(request, uow, principal, header={}, draft=[])


@router.get("/receipts/{receipt_id}")
def receipt_page(
    request: Request,
    receipt_id: int,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    receipt = service.visible_receipt(uow, principal, receipt_id)
    lines = service.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id]
    codes = service.lot_codes(uow, [line.lot_id for line in lines])
    products = _by_id(uow, Product, {line.product_id for line in lines})
    return render(
        request,
        "receiving/receipt.html",
        active="receiving",
        receipt=receipt,
        lines=[
            {"line": line, "lot_code": codes[line.lot_id], "product": products[line.product_id]}
            for line in lines
        ],
        site=uow.session.get_one(Site, receipt.site_id),
        supplier=uow.session.get(Partner, receipt.supplier_id),
        location=uow.session.get(Location, receipt.location_id),
    )


def _by_id(uow: UnitOfWork, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(select(model).where(model.id.in_(ids)))}


# --- the receiving form -----------------------------------------------------------------------


def _form_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    header: dict[str, str],
    draft: list[dict[str, str]],
    typed: dict[str, str] | None = None,
    override_reason: str = "",
    error: str | None = None,
    error_line: int | None = None,
    short: bool = False,
    status_code: int = 200,
) -> Response:
    site_rows = readable_sites(uow, principal, Permission.STOCK_MOVE)
    locations = list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id.in_([s.id for s in site_rows]), Location.active.is_(True))
            .order_by(Location.site_id, Location.code)
        )
    )
    suppliers = list(
        uow.session.scalars(
            select(Partner)
            .where(Partner.is_supplier.is_(True), Partner.active.is_(True))
            .order_by(Partner.code)
        )
    )
    products = list(
        uow.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code))
    )
    product_by_id = {p.id: p for p in products}
    location_id = optional_int_or_none(header.get("location_id"))
    site_of_location = next((loc.site_id for loc in locations if loc.id == location_id), None)
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "receiving/new.html",
        status_code=status_code,
        active="receiving",
        header=header,
        draft=[
            {
                "fields": line,
                "encoded": json.dumps(line, sort_keys=True),
                "product": _draft_product(line, product_by_id),
            }
            for line in draft
        ],
        typed=typed or {},
        override_reason=override_reason,
        error=error,
        error_line=error_line,
        short=short,
        can_override=short
        and site_of_location is not None
        and principal.can(service.OVERRIDE_PERMISSION, site_of_location),
        needs_username=session is None or session.first_signed_at is None,
        site_by_id={s.id: s for s in site_rows},
        locations=locations,
        suppliers=suppliers,
        products=products,
    )


def optional_int_or_none(value: str | None) -> int | None:
    try:
        return optional_int(value, "location_id")
    except LotlineError:
        return None


def _draft_product(line: dict[str, str], products: dict[int, Product]) -> Product | None:
    product_id = optional_int_or_none(line.get("product_id"))
    return products.get(product_id) if product_id is not None else None


def _decoded(raw: list[str]) -> list[dict[str, str]]:
    """Draft lines from their hidden fields; anything malformed is dropped (it was never shown)."""
    found: list[dict[str, str]] = []
    for text in raw[:MAX_DRAFT_LINES]:
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append({str(k): str(v) for k, v in value.items() if v is not None and str(v) != ""})
    return found


def _decimal(text: str | None, field: str) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal") from None
    if not value.is_finite():
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal")
    return value


def _line_input(line: dict[str, str]) -> service.LineInput:
    """What the service takes for a draft line: a scanned line is its scan, a typed one its fields."""
    if line.get("scan"):
        return service.LineInput(scan=line["scan"])
    values: dict[str, Any] = {}
    for name in LINE_FIELDS:
        text = (line.get(name) or "").strip()
        if not text:
            continue
        if name in _DECIMALS:
            values[name] = _decimal(text, name)
        elif name == "product_id":
            values[name] = optional_int(text, name)
        elif name == "unit":
            values[name] = text.upper()
        else:
            values[name] = text
    return service.LineInput(**values)


def _scanned(uow: UnitOfWork, principal: Principal, site_id: int | None, scan: str) -> dict[str, str]:
    """The draft line a scan fills (the scan kept with it); a bad scan names its problem."""
    if site_id is None or not principal.can(Permission.STOCK_MOVE, site_id):
        raise InvalidInput(
            N_("{field} is required: choose where the goods are received before scanning."),
            field="location_id",
            code="receipt.location_required",
        )
    text = scan.strip()
    if len(text) > 1000:
        raise InvalidInput(N_("{field} is too long."), field="scan", code="web.too_long")
    fields = service.preview_scan(uow, site_id=site_id, scan=text)
    if fields["product_id"] is None:
        raise NotFound(entity=N_("product"), key=fields.get("gtin") or text, field="gtin")
    line = {name: str(value) for name, value in fields.items() if value is not None}
    line["scan"] = text
    return line


def _typed_line(form: dict[str, str]) -> dict[str, str]:
    line = {name: form[name].strip() for name in LINE_FIELDS if form.get(name, "").strip()}
    if not line.get("product_id") and not line.get("gtin"):
        raise InvalidInput(N_("{field} is required."), field="product_id", code="receipt.product_required")
    _line_input(line)  # numbers that are not numbers are named now, not at posting
    return line


def _site_of(uow: UnitOfWork, location_id: int | None) -> int | None:
    if location_id is None:
        return None
    location = uow.session.get(Location, location_id)
    return location.site_id if location is not None else None


def _line_of(error: LotlineError) -> int | None:
    """The line a service error names (``lines.2.unit`` → 2)."""
    parts = (error.field or "").split(".")
    if len(parts) > 1 and parts[0] == "lines" and parts[1].isdigit():
        return int(parts[1])
    return None


@router.post("/receipts/new")
def receipt_submit(
    request: Request,
    action: str = Form(default="scan"),
    product_id: str = Form(default=""),
    gtin: str = Form(default=""),
    supplier_lot_code: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    count: str = Form(default=""),
    net_weight_kg: str = Form(default=""),
    production_date: str = Form(default=""),
    supplier_expiry: str = Form(default=""),
    sscc: str = Form(default=""),
    location_id: str = Form(default=""),
    supplier_id: str = Form(default=""),
    purchase_order: str = Form(default=""),
    delivery_note: str = Form(default=""),
    scan: str = Form(default=""),
    line: list[str] = Form(default=[]),
    override_reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    header = {
        "location_id": location_id,
        "supplier_id": supplier_id,
        "purchase_order": purchase_order,
        "delivery_note": delivery_note,
    }
    draft = _decoded(line)
    typed = {
        "product_id": product_id,
        "gtin": gtin,
        "supplier_lot_code": supplier_lot_code,
        "quantity": quantity,
        "unit": unit,
        "count": count,
        "net_weight_kg": net_weight_kg,
        "production_date": production_date,
        "supplier_expiry": supplier_expiry,
        "sscc": sscc,
    }
    page: dict[str, Any] = {
        "header": header,
        "draft": draft,
        "typed": typed,
        "override_reason": override_reason,
    }
    try:
        site_id = _site_of(uow, optional_int(location_id, "location_id"))
        if action.startswith("remove:"):
            index = optional_int(action.removeprefix("remove:"), "action")
            page["draft"] = [d for number, d in enumerate(draft) if number != index]
        elif action == "add":
            page["draft"] = [*draft, _typed_line(typed)]
            page["typed"] = {}
        elif action == "post":
            return _post(
                request,
                uow,
                principal,
                site_id=site_id,
                page=page,
                override_reason=override_reason,
                username=username,
                password=password,
            )
        elif scan.strip():
            page["draft"] = [*draft, _scanned(uow, principal, site_id, scan)]
        elif any(value.strip() for value in typed.values()):  # Enter in a typed line adds it
            page["draft"] = [*draft, _typed_line(typed)]
            page["typed"] = {}
    except LotlineError as error:
        uow.rollback()
        return _form_page(
            request,
            uow,
            principal,
            status_code=STATUS_BY_KIND[error.kind],
            error=error.render(_),
            error_line=_line_of(error),
            short=isinstance(error, service.ShortShelfLife)
            or (action == "post" and bool(override_reason.strip())),
            **page,
        )
    if len(page["draft"]) > MAX_DRAFT_LINES:
        page["draft"] = page["draft"][:MAX_DRAFT_LINES]
    return _form_page(request, uow, principal, **page)


def _post(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    site_id: int | None,
    page: dict[str, Any],
    override_reason: str,
    username: str,
    password: str,
) -> Response:
    _ = gettext_for(request.state.language)
    header, draft = page["header"], page["draft"]
    if site_id is None:
        raise InvalidInput(N_("{field} is required."), field="location_id", code="receipt.location_required")
    supplier = optional_int(header["supplier_id"], "supplier_id")
    if supplier is None:
        raise InvalidInput(N_("{field} is required."), field="supplier_id", code="receipt.supplier_required")
    lines = []
    for number, entered in enumerate(draft):
        try:
            lines.append(_line_input(entered))
        except LotlineError as error:
            error.field = f"lines.{number}.{error.field}"
            raise
    receipt = None
    for _attempt in range(len(lines) + 1):
        try:
            receipt = service.create_receipt(
                uow,
                site_id=site_id,
                supplier_id=supplier,
                location_id=int(header["location_id"]),
                purchase_order=header["purchase_order"].strip() or None,
                delivery_note=header["delivery_note"].strip() or None,
                lines=lines,
                principal=principal,
            )
            break
        except service.ShortShelfLife as short:
            short_line = _line_of(short)
            signing = bool(override_reason.strip() and password)
            if not signing or short_line is None or not principal.can(service.OVERRIDE_PERMISSION, site_id):
                raise
            # Nothing was written: the user signs the override for this line, and it is posted again.
            grant = authorize(
                request,
                uow,
                principal,
                username=username,
                password=password,
                meaning=Meaning.OVERRIDE,
                record_type=service.OVERRIDE_RECORD_TYPE,
                record_id=service.override_record_id(
                    int(str(short.params["product_id"])), str(short.params["lot"])
                ),
            )
            lines[short_line] = replace(
                lines[short_line], override_signing_grant=grant, override_reason=override_reason.strip()
            )
    if receipt is None:  # pragma: no cover - every line was signed and it still came back short
        raise InvalidInput(N_("{field} is required."), field="override_reason", code="receipt.override")
    return redirect(
        f"/receipts/{receipt.id}",
        flash=_("Receipt %(number)s posted: the goods are in quarantine.") % {"number": receipt.number},
    )
