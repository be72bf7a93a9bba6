"""``lotline recall …``: run a mock-recall drill, open, start and close recalls (signing at the
prompt), list them and show one — the same service as the API and the recall pages."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from lotline.clidisplay import cell, print_json
from lotline.clikit import (
    console,
    console_signer,
    open_db,
    reports_errors,
    seal,
    settings,
    sign_at_console,
    t,
)
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.permissions import Permission
from lotline.domain.recall import RecallKind, RecallLevel, TriggerKind
from lotline.domain.signature import Meaning
from lotline.models.recall import RecallCase
from lotline.production.cli_specs import instant
from lotline.recall import documents, queries, service
from lotline.recall.queries import CaseView
from lotline.uow import UnitOfWork

app = typer.Typer(help="Recalls and mock-recall drills", no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _case_by_number(uow: UnitOfWork, number: str) -> RecallCase:
    case = uow.session.scalar(select(RecallCase).where(RecallCase.number == number.strip().upper()))
    if case is None:
        raise NotFound(entity=N_("recall"), key=number, field="number")
    return case


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(N_("{field} must be a date (YYYY-MM-DD)."), field=name, code="cli.date") from None


def _trigger(
    lots: list[str],
    product: str | None,
    supplier: str | None,
    supplier_lot: str | None,
    since: str | None,
    until: str | None,
) -> service.Trigger:
    if supplier_lot:
        return service.Trigger(
            TriggerKind.SUPPLIER_LOT, supplier_code=supplier, supplier_lot_code=supplier_lot
        )
    if lots:
        return service.Trigger(TriggerKind.LOTS, lot_codes=tuple(lots), product_code=product)
    if product:
        return service.Trigger(
            TriggerKind.PRODUCT_RANGE,
            product_code=product,
            date_from=_day(since, "--from"),
            date_to=_day(until, "--to"),
        )
    raise InvalidInput(
        N_("{field}: name lots, a supplier lot (--supplier and --supplier-lot) or a product and dates."),
        field="--lot",
        code="cli.recall_trigger",
    )


def _summary(view: CaseView) -> dict[str, object]:
    case = view.case
    return {
        "number": case.number,
        "kind": case.kind,
        "status": case.status,
        "level": case.level,
        "reason": case.reason,
        "lots_in_scope": case.lots_in_scope,
        "time_to_trace_ms": case.scope_ms,
        "start_due_at": case.start_due_at.isoformat() if case.start_due_at else None,
        "complete_due_at": case.complete_due_at.isoformat() if case.complete_due_at else None,
        "start_state": view.start_state.value,
        "complete_state": view.complete_state.value,
        "holds_placed": len(view.holds),
        "stock_not_held": [
            {"lot": r.lot_code, "location": r.location_code, "qty_base": str(r.qty_base)}
            for r in view.unheld_stock
        ],
        "unit": view.unit,
        "shipped_base": None if view.shipped is None else str(view.shipped),
        "recovered_base": None if view.recovered is None else str(view.recovered),
        "effectiveness": str(view.effectiveness) if view.effectiveness is not None else None,
        "customers": [
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "contacts": c.contacts,
                "shipments": sorted(c.shipments),
                "products": [
                    {
                        "product": p.product_code,
                        "unit": p.base_unit,
                        "lots": sorted(p.lots),
                        "shipped": str(p.shipped),
                        "recovered": str(p.recovered),
                    }
                    for p in c.products.values()
                ],
                "notified_at": c.notified_at.isoformat() if c.notified_at else None,
            }
            for c in view.customers
        ],
        "drill": case.drill_result,
    }


def _print(view: CaseView) -> None:
    case = view.case
    console.print(
        t(
            "{number} ({kind}, {level}, {status}): {lots} lots in scope, traced in {ms} ms",
            number=case.number,
            kind=case.kind,
            level=case.level,
            status=case.status,
            lots=case.lots_in_scope,
            ms=case.scope_ms,
        )
    )
    customers = Table(title=t("customers reached"))
    for heading in (t("customer"), t("contacts"), t("product"), t("lots"), t("shipped"), t("recovered")):
        customers.add_column(heading)
    for c in view.customers:
        contacts = "; ".join(
            " ".join(str(v) for v in (x.get("name"), x.get("phone"), x.get("email")) if v) for x in c.contacts
        )
        for p in c.products.values():
            customers.add_row(
                f"{c.code} {c.name_zh}",
                contacts,
                p.product_code,
                ", ".join(sorted(p.lots)),
                f"{cell(p.shipped)} {p.base_unit}",
                cell(p.recovered),
            )
    console.print(customers)
    if case.drill_result is not None:
        result = case.drill_result
        console.print(
            t(
                "mass balance: {balanced} of {lots} lots balance",
                balanced=result.get("balanced"),
                lots=result.get("lots"),
            )
        )
        for row in result.get("unbalanced", []):
            console.print(
                t(
                    "lot {code}: the mass balance does not close (difference {difference})",
                    code=row["lot"],
                    difference=row["difference"],
                )
            )


@app.command("drill")
@reports_errors
def drill(
    lots: list[str] = typer.Argument(None, help="Lot codes to start from"),
    product: str | None = typer.Option(
        None, "--product", help="Product code (with --from/--to, or to narrow lots)"
    ),
    supplier: str | None = typer.Option(None, "--supplier", help="Supplier code, with --supplier-lot"),
    supplier_lot: str | None = typer.Option(None, "--supplier-lot", help="The supplier's lot code"),
    since: str | None = typer.Option(None, "--from", help="First production/receipt day (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, "--to", help="Last production/receipt day (YYYY-MM-DD)"),
    level: RecallLevel = typer.Option(RecallLevel.CN_1, "--level"),
    reason: str = typer.Option("mock recall drill", "--reason"),
    output: Format = typer.Option(Format.TABLE, "--format", help="table or json"),
) -> None:
    """A mock recall: trace the scope, time it and check every lot's mass balance; blocks nothing."""
    trigger = _trigger(lots or [], product, supplier, supplier_lot, since, until)
    db = open_db()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        progress.add_task(t("tracing the scope and balancing every lot"), total=None)
        with db.transaction() as uow:
            case = service.open_case(uow, service.OpenRequest(RecallKind.DRILL, trigger, level, reason))
            view = queries.case_view(uow, case, now=uow.now())
            summary = _summary(view)
    seal(db)
    if output is Format.JSON:
        print_json(summary)
        return
    _print(view)


@app.command("open")
@reports_errors
def open_recall(
    lots: list[str] = typer.Argument(None, help="Lot codes to start from"),
    product: str | None = typer.Option(None, "--product"),
    supplier: str | None = typer.Option(None, "--supplier"),
    supplier_lot: str | None = typer.Option(None, "--supplier-lot"),
    since: str | None = typer.Option(None, "--from"),
    until: str | None = typer.Option(None, "--to"),
    level: RecallLevel = typer.Option(..., "--level"),
    reason: str = typer.Option(..., "--reason"),
    discovered: str | None = typer.Option(
        None, "--discovered-at", help="ISO time with offset; now if left out"
    ),
) -> None:
    """Open a recall as a draft: its scope is traced; nothing is held until it is started."""
    trigger = _trigger(lots or [], product, supplier, supplier_lot, since, until)
    moment = instant(discovered, "--discovered-at") if discovered else None
    db = open_db()
    with db.transaction() as uow:
        case = service.open_case(uow, service.OpenRequest(RecallKind.RECALL, trigger, level, reason, moment))
        number, count = case.number, case.lots_in_scope
    seal(db)
    console.print(t("recall {number} opened: {lots} lots in scope", number=number, lots=count))


@app.command("start")
@reports_errors
def start(
    number: str,
    username: str = typer.Option(..., "--user", help="Who signs (a QA manager)"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Start a drafted recall: every lot in scope with stock is held; the signer types their password."""
    db = open_db()
    with db.transaction() as uow:
        case = _case_by_number(uow, number)
        principal = console_signer(uow, username, Permission.RECALL_MANAGE, case.site_id)
        secret = sign_at_console(uow, principal, password, Meaning.RECALL, service.RECORD_TYPE, case.id)
        service.start_case(uow, case_id=case.id, principal=principal, signing_grant=secret)
        view = queries.case_view(uow, case, now=uow.now())
    seal(db)
    console.print(t("recall {number} started: {holds} lots held", number=case.number, holds=len(view.holds)))


@app.command("close")
@reports_errors
def close(
    number: str,
    note: str = typer.Option(..., "--note"),
    username: str = typer.Option(..., "--user", help="Who signs (a QA manager)"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Close an active recall with a note; the signer types their password."""
    db = open_db()
    with db.transaction() as uow:
        case = _case_by_number(uow, number)
        principal = console_signer(uow, username, Permission.RECALL_MANAGE, case.site_id)
        secret = sign_at_console(uow, principal, password, Meaning.CLOSE, service.RECORD_TYPE, case.id)
        service.close_case(uow, case_id=case.id, note=note, principal=principal, signing_grant=secret)
    seal(db)
    console.print(t("recall {number} closed", number=case.number))


@app.command("list")
@reports_errors
def list_cases() -> None:
    """Recalls and drills, newest first."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        rows = queries.board(uow, now=uow.now(), include_closed=True)
    table = Table()
    for heading in (
        t("recall"),
        t("kind"),
        t("level"),
        t("status"),
        t("lots"),
        t("complete by"),
        t("deadline"),
    ):
        table.add_column(heading)
    for row in rows:
        c = row.case
        table.add_row(
            c.number,
            c.kind,
            c.level,
            c.status,
            cell(c.lots_in_scope),
            cell(c.complete_due_at),
            row.complete_state.value,
        )
    console.print(table)


@app.command("show")
@reports_errors
def show(number: str, output: Format = typer.Option(Format.TABLE, "--format", help="table or json")) -> None:
    """One case: its scope, the customers it reaches with quantities and contacts, recovery."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        view = queries.case_view(uow, _case_by_number(uow, number), now=uow.now())
        summary = _summary(view)
    if output is Format.JSON:
        print_json(summary)
        return
    _print(view)


class Document(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"
    CSV = "csv"  # the customer list for notices


@app.command("report")
@reports_errors
def report(
    number: str,
    out: Path = typer.Option(..., "--out", help="File to write"),
    kind: Document = typer.Option(Document.PDF, "--format", help="pdf or xlsx (the report), csv (customers)"),
) -> None:
    """Write a case's report (PDF or Excel) or its customer list for notices (CSV)."""
    db = open_db()
    language = settings().default_language
    with db.transaction(read_only=True) as uow:
        view = queries.case_view(uow, _case_by_number(uow, number), now=uow.now())
        if kind is Document.PDF:
            content = documents.report_pdf(view, language, issued_at=uow.now())
        elif kind is Document.XLSX:
            content = documents.report_xlsx(view, language, issued_at=uow.now())
        else:
            content = documents.notices_csv(view)
    try:
        out.write_bytes(content)
    except OSError as error:
        raise InvalidInput(
            N_("{field}: cannot write {path}: {problem}"),
            field="--out",
            code="cli.write",
            path=str(out),
            problem=error.strerror or str(error),
        ) from None
    console.print(t("{path} written", path=str(out)))
