"""The receiving form's draft lines: kept as text in hidden fields, filled by a scan or typed, and
turned into what :func:`lotline.inbound.service.create_receipt` takes."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.inbound import service
from lotline.models.catalog import Product
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int

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


def optional_int_or_none(value: str | None) -> int | None:
    try:
        return optional_int(value, "location_id")
    except LotlineError:
        return None


def draft_product(line: dict[str, str], products: dict[int, Product]) -> Product | None:
    product_id = optional_int_or_none(line.get("product_id"))
    return products.get(product_id) if product_id is not None else None


def decoded(raw: list[str]) -> list[dict[str, str]]:
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


def line_input(line: dict[str, str]) -> service.LineInput:
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


def scanned(uow: UnitOfWork, principal: Principal, site_id: int | None, scan: str) -> dict[str, str]:
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


def typed_line(form: dict[str, str]) -> dict[str, str]:
    """The draft line a person typed; numbers that are not numbers are named now, not at posting."""
    line = {name: form[name].strip() for name in LINE_FIELDS if form.get(name, "").strip()}
    if not line.get("product_id") and not line.get("gtin"):
        raise InvalidInput(N_("{field} is required."), field="product_id", code="receipt.product_required")
    line_input(line)
    return line


def line_of(error: LotlineError) -> int | None:
    """The line a service error names (``lines.2.unit`` → 2)."""
    parts = (error.field or "").split(".")
    if len(parts) > 1 and parts[0] == "lines" and parts[1].isdigit():
        return int(parts[1])
    return None
