"""``lotline receipt …``: receive a supplier delivery from a lines file and/or scans, list, show."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import select

from lotline.auth import service as auth
from lotline.clikit import console, open_db, reports_errors, seal, sign_at_console, t
from lotline.domain.errors import N_, InvalidInput, NotFound, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.inbound import service
from lotline.inbound.schemas import ReceiptLineIn
from lotline.models.catalog import Location, Partner, Product
from lotline.models.inbound import Receipt
from lotline.models.site import Site
from lotline.uow import UnitOfWork

app = typer.Typer(help="Receipts from suppliers: create, list, show", no_args_is_help=True)


def _by_code(uow: UnitOfWork, model: Any, code: str, entity: str, field: str, **where: object) -> Any:
    query = select(model).where(model.code == code)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    found = uow.session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(entity=entity, key=code, field=field)
    return found


def _lines_from_file(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, ValueError) as error:
        raise InvalidInput(
            N_("{field} is not a readable JSON file: {problem}"),
            field="file",
            code="receipt.bad_file",
            problem=str(error),
        ) from None
    lines = document.get("lines") if isinstance(document, dict) else document
    if not isinstance(lines, list):
        raise InvalidInput(
            N_('{field} must hold a list of lines (or an object with one under "lines").'),
            field="file",
            code="receipt.bad_file",
        )
    return lines


def _line_inputs(raw: list[Any]) -> list[service.LineInput]:
    """Lines as the API takes them, checked by the same schema."""
    inputs = []
    for number, line in enumerate(raw):
        try:
            checked = ReceiptLineIn.model_validate(line)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InvalidInput(
                N_("{field}: {problem}"),
                field=f"lines.{number}" + (f".{where}" if where else ""),
                code="receipt.bad_line",
                problem=first["msg"],
            ) from None
        inputs.append(service.LineInput(**checked.model_dump()))
    return inputs


def _receiver(uow: UnitOfWork, username: str, site_id: int) -> Principal:
    principal = auth.principal_for(auth.get_user_by_name(uow, username=username, field="user"))
    if not principal.can(Permission.STOCK_MOVE, site_id):
        raise PermissionDenied(permission=Permission.STOCK_MOVE.value, field="user")
    uow.act_as(principal)
    return principal


@app.command("create")
@reports_errors
def create(
    site: str = typer.Option(..., "--site", help="Site code"),
    supplier: str = typer.Option(..., "--supplier", help="Supplier (partner) code"),
    location: str = typer.Option(..., "--location", help="Receiving location code at the site"),
    file: Path | None = typer.Option(
        None, "--file", help="JSON: the lines, as POST /api/v1/receipts takes them"
    ),
    scan: list[str] = typer.Option([], "--scan", help="A GS1 scan adding a line (repeatable)"),
    tlc_source: str | None = typer.Option(
        None,
        "--tlc-source",
        help="FSMA 204: where the supplier assigned its lot codes (place or reference), for the lines "
        "that name none",
    ),
    purchase_order: str | None = typer.Option(None, "--po", help="Purchase order"),
    delivery_note: str | None = typer.Option(None, "--delivery-note"),
    username: str = typer.Option(..., "--user", help="Who receives (and signs any override)"),
    override_reason: str | None = typer.Option(
        None,
        "--override-reason",
        help="Accept lines short of their minimum shelf life: the user signs, typing their password",
    ),
    password: str | None = typer.Option(
        None, "--password", hide_input=True, help="Asked for at the prompt when an override is signed"
    ),
) -> None:
    """Receive a supplier delivery into quarantine at the receiving location."""
    raw = _lines_from_file(file) + [{"scan": text} for text in scan]
    if tlc_source is not None:
        raw = [
            {**line, "tlc_source": line.get("tlc_source") or tlc_source} if isinstance(line, dict) else line
            for line in raw
        ]
    lines = _line_inputs(raw)
    db = open_db()
    with db.transaction() as uow:
        site_row = _by_code(uow, Site, site.upper(), N_("site"), "site")
        partner = _by_code(uow, Partner, supplier, N_("supplier"), "supplier")
        place = _by_code(uow, Location, location, N_("location"), "location", site_id=site_row.id)
        principal = _receiver(uow, username, site_row.id)
        for _attempt in range(len(lines) + 1):
            try:
                receipt = service.create_receipt(
                    uow,
                    site_id=site_row.id,
                    supplier_id=partner.id,
                    location_id=place.id,
                    purchase_order=purchase_order,
                    delivery_note=delivery_note,
                    lines=lines,
                    principal=principal,
                )
                break
            except service.ShortShelfLife as short:
                if override_reason is None or short.field is None:
                    raise
                # Nothing was written: sign the override for this line and post again.
                number = int(short.field.split(".")[1])
                if password is None:
                    password = typer.prompt(t("password for {user}", user=username), hide_input=True)
                grant = sign_at_console(
                    uow,
                    principal,
                    password,
                    Meaning.OVERRIDE,
                    service.OVERRIDE_RECORD_TYPE,
                    service.override_record_id(
                        int(str(short.params["product_id"])), str(short.params["lot"])
                    ),
                )
                lines[number] = replace(
                    lines[number], override_signing_grant=grant, override_reason=override_reason
                )
        number_text = receipt.number
        count = len(lines)
    seal(db)
    console.print(t("receipt {number} posted: {count} lines in quarantine", number=number_text, count=count))


@app.command("list")
@reports_errors
def list_receipts(
    site: str | None = typer.Option(None, "--site", help="Site code"),
    supplier: str | None = typer.Option(None, "--supplier", help="Supplier code"),
    limit: int = typer.Option(100, "--limit", min=1, max=500),
) -> None:
    """Receipts, newest first, with supplier, location and line count."""
    db = open_db()
    table = Table(
        t("receipt"), t("site"), t("supplier"), t("location"), t("received"), t("lines"), title=t("receipts")
    )
    with db.transaction(read_only=True) as uow:
        site_id = _by_code(uow, Site, site.upper(), N_("site"), "site").id if site else None
        supplier_id = _by_code(uow, Partner, supplier, N_("supplier"), "supplier").id if supplier else None
        page = service.list_receipts(
            uow,
            criteria=service.ReceiptFilter(site_id=site_id, supplier_id=supplier_id),
            cursor=None,
            limit=limit,
        )
        receipts = list(page.items)
        lines = service.receipt_lines(uow, receipt_ids=[r.id for r in receipts])
        sites = dict(uow.session.execute(select(Site.id, Site.code)).tuples().all())
        partners = dict(
            uow.session.execute(
                select(Partner.id, Partner.code).where(Partner.id.in_({r.supplier_id for r in receipts}))
            )
            .tuples()
            .all()
        )
        places = dict(
            uow.session.execute(
                select(Location.id, Location.code).where(Location.id.in_({r.location_id for r in receipts}))
            )
            .tuples()
            .all()
        )
        for receipt in receipts:
            table.add_row(
                receipt.number,
                sites[receipt.site_id],
                partners[receipt.supplier_id],
                places[receipt.location_id],
                f"{receipt.received_at:%Y-%m-%d %H:%M}",
                str(len(lines[receipt.id])),
            )
    console.print(table)


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


@app.command("show")
@reports_errors
def show(number: str) -> None:
    """One receipt: its header and lines with the lots they created."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        receipt = uow.session.execute(select(Receipt).where(Receipt.number == number)).scalar_one_or_none()
        if receipt is None:
            raise NotFound(entity=N_("receipt"), key=number, field="number")
        lines = service.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id]
        codes = service.lot_codes(uow, [line.lot_id for line in lines])
        products = dict(
            uow.session.execute(
                select(Product.id, Product.code).where(Product.id.in_({line.product_id for line in lines}))
            )
            .tuples()
            .all()
        )
        supplier = uow.session.get_one(Partner, receipt.supplier_id).code
        place = uow.session.get_one(Location, receipt.location_id).code
        table = Table(
            "#",
            t("product"),
            t("lot"),
            t("supplier lot"),
            t("expiry"),
            t("quantity"),
            t("count"),
            t("weight (kg)"),
            "SSCC",
            t("override"),
            title=t(
                "receipt {number} from {supplier} at {location}",
                number=receipt.number,
                supplier=supplier,
                location=place,
            ),
        )
        for line in lines:
            table.add_row(
                str(line.line_no),
                products[line.product_id],
                codes[line.lot_id],
                line.supplier_lot_code or "",
                line.supplier_expiry.isoformat() if line.supplier_expiry else "",
                f"{_fmt(line.entered_qty)} {line.entered_unit}",
                _fmt(line.count),
                _fmt(line.weight_kg),
                line.sscc or "",
                t("signed") if line.override_signature_id else "",
            )
    console.print(table)
