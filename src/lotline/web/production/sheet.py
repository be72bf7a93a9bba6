"""The rows of a completion or transformation form: inputs by scan, outputs, losses.

Each group is parallel form fields (``in_scan``, ``in_quantity`` …), one row per index, blank
rows ignored; "add a row" re-renders with one more, so no script is needed. Reading a sheet
turns its filled rows into the service's ``Take``, ``Make`` and ``Loss`` lines, and a mistake —
ours or the service's, which names ``inputs.2.quantity`` by its position among the lines sent —
becomes a :class:`Problem` that the page shows beside the field of the row the person typed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from fastapi import Request
from sqlalchemy import select
from starlette.datastructures import UploadFile

from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, Translate
from lotline.domain.transformation import LossKind
from lotline.models.catalog import Location, Product
from lotline.production.service import MAX_LINES, Loss, Make, Take
from lotline.stock.operations import Amount
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int
from lotline.web.fulfilment.common import quantity_field, refusal, text_field, unit_field
from lotline.web.production.scans import Issued, issue

Row = dict[str, str]

# group → (form field prefix, columns); the columns are the form's own names.
COLUMNS = {
    "inputs": ("in", ("scan", "location", "quantity", "unit")),
    "outputs": ("out", ("product", "quantity", "unit", "location", "code")),
    "losses": ("loss", ("lot", "quantity", "unit", "kind", "note")),
}
GROUPS = tuple(COLUMNS)
# The columns whose text makes a row "filled" (the others may carry a default).
_FILLED_BY = {"inputs": ("scan", "quantity"), "outputs": ("quantity", "code"), "losses": ("lot", "quantity")}
BLANK_ROWS = {"inputs": 3, "outputs": 2, "losses": 2}
MAX_NOTE = 500
MAX_CODE = 20
# The service's field names (``inputs.0.lot_id``) → the column the person typed it in.
_COLUMN_OF = {
    "inputs": {"location_id": "location", "quantity": "quantity", "unit": "unit", "count": "quantity"},
    "outputs": {
        "product_id": "product",
        "quantity": "quantity",
        "unit": "unit",
        "location_id": "location",
        "sscc": "location",
        "code": "code",
    },
    "losses": {"quantity": "quantity", "unit": "unit", "kind": "kind", "note": "note"},
}
_FIRST_COLUMN = {"inputs": "scan", "outputs": "product", "losses": "lot"}
_LINE_FIELD = re.compile(r"^(inputs|outputs|losses)\.(\d+)(?:\.(.+))?$")
_PREFIX = {
    "inputs": N_("Input %(number)s: %(message)s"),
    "outputs": N_("Output %(number)s: %(message)s"),
    "losses": N_("Loss %(number)s: %(message)s"),
}


@dataclass
class Sheet:
    """A form as typed: header fields, and the rows of each group (blank ones included)."""

    header: Row
    rows: dict[str, list[Row]]
    action: str = "post"
    size: dict[str, int] = field(default_factory=lambda: dict(BLANK_ROWS))  # rows shown, at least

    def filled(self, group: str) -> list[int]:
        """The indexes of the rows of ``group`` that say something, in order."""
        columns = _FILLED_BY[group]
        return [i for i, row in enumerate(self.rows[group]) if any(row[name] for name in columns)]

    def grown(self) -> Sheet:
        """The sheet with one more blank row in the group ``action`` names (``add:inputs``)."""
        group = self.action.partition(":")[2]
        if group in COLUMNS:
            self.size[group] = min(max(len(self.rows[group]), self.size[group]) + 1, MAX_LINES)
        return self

    def shown(self, defaults: dict[str, Row] | None = None) -> dict[str, list[Row]]:
        """The rows to show: those typed, topped up with blank ones (with their defaults)."""
        shown: dict[str, list[Row]] = {}
        for group in GROUPS:
            rows = list(self.rows[group])
            extra = max(self.size[group] - len(rows), 0)
            base = (defaults or {}).get(group, {})
            shown[group] = rows + [{**blank_row(group), **base} for _ in range(extra)]
        return shown

    def hidden(self) -> list[tuple[str, str]]:
        """The filled rows as hidden fields (name, value), to be sent again after signing."""
        fields: list[tuple[str, str]] = []
        for group, (prefix, columns) in COLUMNS.items():
            for index in self.filled(group):
                fields.extend((f"{prefix}_{name}", self.rows[group][index][name]) for name in columns)
        return fields


def blank_row(group: str) -> Row:
    return {name: "" for name in COLUMNS[group][1]}


def read_sheet(values: dict[str, list[str]], header_fields: Sequence[str]) -> Sheet:
    """A sheet from the posted fields (``values``: name → every value sent, in order)."""
    rows: dict[str, list[Row]] = {}
    for group, (prefix, columns) in COLUMNS.items():
        lists = [values.get(f"{prefix}_{name}", []) for name in columns]
        count = min(max((len(column) for column in lists), default=0), MAX_LINES)
        rows[group] = [
            {
                name: (column[i] if i < len(column) else "").strip()
                for name, column in zip(columns, lists, strict=True)
            }
            for i in range(count)
        ]
    header = {name: (values.get(name) or [""])[0].strip() for name in header_fields}
    return Sheet(header, rows, (values.get("action") or ["post"])[0])


async def posted_values(request: Request) -> dict[str, list[str]]:
    """The posted form as name → values (the web route class has already read and cached it)."""
    form = await request.form()
    values: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if not isinstance(value, UploadFile):
            values.setdefault(name, []).append(value)
    return values


# --- reading the rows -------------------------------------------------------------------------


@dataclass
class Lines:
    """The service's lines read off a sheet, in the order of their rows."""

    inputs: list[Take] = field(default_factory=list)
    outputs: list[Make] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)  # per input: what its scan named


def _on_row(group: str, number: int, error: LotlineError) -> LotlineError:
    name = error.field or _FIRST_COLUMN[group]
    if not name.startswith(f"{group}."):
        error.field = f"{group}.{number}.{name}"
    return error


def _location(text: str, field_name: str, places: dict[int, Location]) -> int | None:
    location_id = optional_int(text, field_name)
    if location_id is not None and location_id not in places:
        raise NotFound(entity=N_("location"), key=location_id, field=field_name)
    return location_id


@dataclass(frozen=True)
class Context:
    """What rows are read against: the site, its locations, the products and the site's today."""

    site_id: int
    places: dict[int, Location]
    products: dict[int, Product]
    today: date


def _read_input(uow: UnitOfWork, row: Row, context: Context) -> tuple[Take, Issued]:
    location_id = _location(row["location"], "location", context.places)
    scanned = row["scan"]
    if not scanned:
        raise InvalidInput(N_("{field} is required."), field="scan", code="web.required")
    issued = issue(
        uow, site_id=context.site_id, scanned=scanned, location_id=location_id, today=context.today
    )
    qty = quantity_field(row["quantity"])
    unit = unit_field(row["unit"], issued.product.base_unit)
    return Take(issued.lot.id, issued.source, Amount(qty, unit)), issued


def _read_output(row: Row, context: Context, default_product: int | None) -> Make:
    product_id = optional_int(row["product"], "product") or default_product
    if product_id is None:
        raise InvalidInput(N_("{field} is required."), field="product", code="web.required")
    product = context.products.get(product_id)
    if product is None:
        raise NotFound(entity=N_("product"), key=product_id, field="product")
    qty = quantity_field(row["quantity"])
    unit = unit_field(row["unit"], product.base_unit)
    location_id = _location(row["location"], "location", context.places)
    if location_id is None:
        raise InvalidInput(N_("{field} is required."), field="location", code="web.required")
    code = text_field(row["code"], "code", max_length=MAX_CODE)
    return Make(product_id, Amount(qty, unit), location_id, code=code)


def _read_loss(uow: UnitOfWork, row: Row, context: Context, inputs: Lines, input_rows: list[Row]) -> Loss:
    scanned = row["lot"]
    if not scanned:
        raise InvalidInput(N_("{field} is required."), field="lot", code="web.required")
    # The lot of an input of this sheet, by its code or by the scan that issued it: its bucket.
    for take, issued, input_row in zip(inputs.inputs, inputs.issued, input_rows, strict=True):
        if scanned in (issued.lot.code, input_row["scan"]):
            lot_id, source, product = take.lot_id, take.source, issued.product
            break
    else:
        other = issue(uow, site_id=context.site_id, scanned=scanned, location_id=None, today=context.today)
        lot_id, source, product = other.lot.id, other.source, other.product
        for take in inputs.inputs:
            if take.lot_id == lot_id:
                source = take.source
    try:
        kind = LossKind(row["kind"] or LossKind.OTHER.value)
    except ValueError:
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="kind", code="web.bad_choice"
        ) from None
    qty = quantity_field(row["quantity"])
    unit = unit_field(row["unit"], product.base_unit)
    note = text_field(row["note"], "note", max_length=MAX_NOTE)
    return Loss(lot_id, source, Amount(qty, unit), kind, note)


def read_lines(
    uow: UnitOfWork, sheet: Sheet, context: Context, *, default_product: int | None = None
) -> Lines:
    """The service's lines from the filled rows; an error names ``group.number.column``.

    ``default_product``: an output row's product when none is chosen (else the first input's)."""
    lines = Lines()
    input_rows = []
    for number, index in enumerate(sheet.filled("inputs")):
        try:
            take, issued = _read_input(uow, sheet.rows["inputs"][index], context)
        except LotlineError as error:
            raise _on_row("inputs", number, error) from None
        lines.inputs.append(take)
        lines.issued.append(issued)
        input_rows.append(sheet.rows["inputs"][index])
    fallback = default_product or (lines.issued[0].product.id if lines.issued else None)
    for number, index in enumerate(sheet.filled("outputs")):
        try:
            lines.outputs.append(_read_output(sheet.rows["outputs"][index], context, fallback))
        except LotlineError as error:
            raise _on_row("outputs", number, error) from None
    for number, index in enumerate(sheet.filled("losses")):
        try:
            lines.losses.append(_read_loss(uow, sheet.rows["losses"][index], context, lines, input_rows))
        except LotlineError as error:
            raise _on_row("losses", number, error) from None
    return lines


# --- showing a mistake ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A refusal as the form shows it: beside a row's column, above a group, or at the top."""

    message: str
    reasons: list[str]
    group: str | None = None
    row: int | None = None  # the row's index in the form
    column: str | None = None

    @property
    def field(self) -> str:
        """Where it is shown, as ``inputs.1.quantity`` (the form's rows, from 0)."""
        parts = [self.group, None if self.row is None else str(self.row), self.column]
        return ".".join(part for part in parts if part is not None)

    def at(self, group: str, row: int | None = None, column: str | None = None) -> bool:
        return self.group == group and self.row == row and self.column == column


def problem(_: Translate, error: LotlineError, sheet: Sheet) -> Problem:
    """Where a refusal belongs on the form (a line's position among those sent → its form row)."""
    rows = {group: sheet.filled(group) for group in GROUPS}
    match = _LINE_FIELD.match(error.field or "")
    if match is None:
        shown = refusal(_, error)
        return Problem(
            shown["message"], shown["reasons"], group=error.field if error.field in GROUPS else None
        )
    group, number, name = match.group(1), int(match.group(2)), match.group(3)
    if number >= len(rows[group]):
        shown = refusal(_, error)
        return Problem(shown["message"], shown["reasons"], group=group)
    column = _COLUMN_OF[group].get(name or "", name if name in COLUMNS[group][1] else _FIRST_COLUMN[group])
    error.field = name
    shown = refusal(_, error)
    message = _(_PREFIX[group]) % {"number": rows[group][number] + 1, "message": shown["message"]}
    return Problem(message, shown["reasons"], group=group, row=rows[group][number], column=column)


def site_places(uow: UnitOfWork, site_id: int) -> dict[int, Location]:
    """The active locations of a site, by id, in code order."""
    query = (
        select(Location).where(Location.site_id == site_id, Location.active.is_(True)).order_by(Location.code)
    )
    return {place.id: place for place in uow.session.scalars(query)}
