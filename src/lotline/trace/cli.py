"""``lotline trace LOT --forward|--backward``: the trace summary at the console, as a table or JSON,
or the trace's events as a GS1 EPCIS 2.0 document.

The same answer as ``GET /api/v1/lots/{id}/trace``: every lot reached at any depth; forward,
what each customer got of each product (and sent back) and where the rest of the stock is;
backward, the receipts the material came in by. ``--format epcis`` prints what
``GET /api/v1/lots/{id}/trace/epcis`` answers.
"""

from __future__ import annotations

import sys
from enum import StrEnum

import typer
from rich.table import Table

from lotline.clidisplay import cell, print_json
from lotline.clikit import console, open_db, reports_errors, settings, t
from lotline.domain.errors import N_, InvalidInput
from lotline.i18n import normalize
from lotline.production.cli_specs import instant, lot_by_code
from lotline.trace import fsma
from lotline.trace.engine import Direction, Summary, closure, summarize
from lotline.trace.epcis import build_document, dumps


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    EPCIS = "epcis"  # GS1 EPCIS 2.0 JSON-LD: the trace's events, not its summary
    CSV = "csv"  # the line-level detail: the FSMA 204 rows of every lot reached


def _json(lot_code: str, summary: Summary) -> dict[str, object]:
    return {
        "lot": lot_code,
        "direction": summary.direction.value,
        "as_of": summary.as_of.isoformat() if summary.as_of else None,
        "lots_reached": len(summary.lots),
        "lots": [
            {
                "lot": lot.code,
                "product": lot.product_code,
                "quality_status": lot.quality_status,
                "expiry_date": lot.expiry_date.isoformat(),
                "supplier_lot_code": lot.supplier_lot_code,
                "active_holds": lot.active_holds,
            }
            for lot in summary.lots
        ],
        "shipped": [
            {
                "customer": s.customer_code,
                "product": s.product_code,
                "qty_base": str(s.qty_base),
                "returned_qty_base": str(s.returned_qty_base),
                "lines": s.lines,
                "first_shipped_at": s.first_shipped_at.isoformat(),
                "last_shipped_at": s.last_shipped_at.isoformat(),
            }
            for s in summary.shipped
        ],
        "on_hand": [
            {
                "lot_id": h.lot_id,
                "location": h.location_code,
                "stock_status": h.stock_status,
                "qty_base": str(h.qty_base),
            }
            for h in summary.on_hand
        ],
        "received": [
            {
                "lot_id": r.lot_id,
                "supplier_lot_code": r.supplier_lot_code,
                "receipt": r.receipt_number,
                "qty_base": str(r.qty_base),
            }
            for r in summary.received
        ],
    }


def _tables(summary: Summary, chinese: bool) -> list[Table]:
    codes = {lot.lot_id: lot.code for lot in summary.lots}
    lots = Table(title=t("{count} lots reached", count=len(summary.lots)))
    for heading in (t("lot"), t("product"), t("quality status"), t("expiry date"), t("holds")):
        lots.add_column(heading)
    for lot in summary.lots:
        lots.add_row(
            cell(lot.code),
            cell(lot.product_code),
            cell(lot.quality_status),
            cell(lot.expiry_date),
            cell(lot.active_holds),
        )
    found = [lots]
    if summary.direction is Direction.FORWARD:
        shipped = Table(title=t("shipped to customers"))
        for heading in (t("customer"), t("product"), t("quantity"), t("returned"), t("shipment lines")):
            shipped.add_column(heading)
        for s in summary.shipped:
            name = s.customer_name_zh if chinese else s.customer_name_en
            shipped.add_row(
                f"{s.customer_code} {name}",
                cell(s.product_code),
                cell(s.qty_base),
                cell(s.returned_qty_base),
                cell(s.lines),
            )
        found.append(shipped)
    else:
        received = Table(title=t("received from suppliers"))
        for heading in (t("lot"), t("supplier lot"), t("receipt"), t("quantity")):
            received.add_column(heading)
        for r in summary.received:
            received.add_row(
                cell(codes.get(r.lot_id)), cell(r.supplier_lot_code), cell(r.receipt_number), cell(r.qty_base)
            )
        found.append(received)
    held = Table(title=t("stock of the reached lots"))
    for heading in (t("lot"), t("location"), t("stock status"), t("quantity")):
        held.add_column(heading)
    for h in summary.on_hand:
        held.add_row(cell(codes.get(h.lot_id)), cell(h.location_code), cell(h.stock_status), cell(h.qty_base))
    found.append(held)
    return found


@reports_errors
def trace(
    lot_code: str = typer.Argument(..., help="Lot code"),
    product: str | None = typer.Option(
        None, "--product", help="Product code, where the lot code is not unique"
    ),
    forward: bool = typer.Option(False, "--forward", help="What the lot went into, and to whom (default)"),
    backward: bool = typer.Option(False, "--backward", help="What the lot was made from, and from whom"),
    as_of: str | None = typer.Option(None, "--as-of", help="Trace the state at this ISO time (with offset)"),
    output: Format = typer.Option(
        Format.TABLE,
        "--format",
        help="table, json, epcis (GS1 EPCIS 2.0) or csv (FSMA 204 rows of the lots reached)",
    ),
) -> None:
    """Trace a lot at any depth: forward to customers and stock, or backward to suppliers."""
    if forward and backward:
        raise InvalidInput(
            N_("{field}: trace forward or backward, not both."), field="--backward", code="cli.one_direction"
        )
    direction = Direction.BACKWARD if backward else Direction.FORWARD
    moment = instant(as_of, "--as-of") if as_of else None
    db = open_db()
    if output in (Format.EPCIS, Format.CSV):  # the line-level detail of every lot reached
        with db.transaction(read_only=True) as uow:
            lot, _product_code = lot_by_code(uow, lot_code, product)
            scope = closure(uow, lot_ids=[lot.id], direction=direction, as_of=moment)
            if output is Format.CSV:
                fsma.write_csv(
                    fsma.spreadsheet_rows(uow, fsma.resolve_filters(uow, lot_ids=scope)), sys.stdout
                )
                return
            document = build_document(uow, lot_ids=scope, created_at=uow.now(), as_of=moment)
        typer.echo(dumps(document, indent=2))
        return
    with db.transaction(read_only=True) as uow:
        lot, _product_code = lot_by_code(uow, lot_code, product)
        summary = summarize(uow, lot_ids=[lot.id], direction=direction, as_of=moment)
    if output is Format.JSON:
        print_json(_json(lot.code, summary))
        return
    chinese = normalize(settings().default_language) == "zh_CN"
    for table in _tables(summary, chinese):
        console.print(table)
