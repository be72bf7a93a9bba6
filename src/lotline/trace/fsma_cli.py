"""``lotline fsma export``: the FDA FSMA 204 electronic sortable spreadsheet, to a CSV or XLSX file.

The same rows as ``GET /api/v1/fsma204``. A CSV export writes its companion list of the rows missing
KDEs next to it (``<name>-missing-kdes.csv``); an XLSX workbook holds that list as its second sheet.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lotline.clikit import console, errors, open_db, reports_errors, t
from lotline.domain.errors import N_, InvalidInput
from lotline.trace import fsma

app = typer.Typer(help="FDA FSMA 204 records: the electronic sortable spreadsheet", no_args_is_help=True)


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a date (YYYY-MM-DD)."), field=option, code="cli.bad_date"
        ) from None


def missing_kdes_path(out: Path) -> Path:
    """Where a CSV export's companion list of the rows missing KDEs goes."""
    return out.with_name(f"{out.stem}-missing-kdes.csv")


@app.command("export")
@reports_errors
def export(
    out: Path = typer.Option(..., "--out", help="The file to write (.csv or .xlsx)", dir_okay=False),
    export_format: ExportFormat = typer.Option(ExportFormat.CSV, "--format", help="csv or xlsx"),
    product: list[str] = typer.Option([], "--product", help="Product code (repeatable)"),
    start: str | None = typer.Option(None, "--from", help="First event date (YYYY-MM-DD, site-local)"),
    end: str | None = typer.Option(None, "--to", help="Last event date (YYYY-MM-DD, site-local)"),
    lot: list[str] = typer.Option([], "--lot", help="Lot code, a TLC or lotline's own (repeatable)"),
) -> None:
    """Write the FSMA 204 sortable spreadsheet of shipping, receiving and transformation events."""
    first, last = _day(start, "--from"), _day(end, "--to")
    db = open_db()
    with db.transaction(read_only=True) as uow:
        filters = fsma.resolve_filters(uow, product_codes=product, start=first, end=last, lot_codes=lot)
        total = fsma.count_rows(uow, filters)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            task = bar.add_task(t("writing the FSMA 204 spreadsheet"), total=total)

            def advance(done: int) -> None:
                bar.update(task, completed=done)

            rows = fsma.spreadsheet_rows(uow, filters)
            companion = missing_kdes_path(out)
            try:
                if export_format is ExportFormat.XLSX:
                    written = fsma.write_xlsx(rows, out, progress=advance)
                else:
                    with (
                        out.open("w", encoding="utf-8", newline="") as sheet,
                        companion.open("w", encoding="utf-8", newline="") as missing,
                    ):
                        written = fsma.write_csv(rows, sheet, missing, progress=advance)
            except OSError as error:
                raise InvalidInput(
                    N_("{field}: cannot write {path}: {problem}"),
                    field="--out",
                    code="cli.cannot_write",
                    path=str(error.filename or out),
                    problem=error.strerror or str(error),
                ) from None
    console.print(
        t(
            "{rows} rows written to {path}; {missing} of them miss a required KDE",
            rows=written.rows,
            path=str(out),
            missing=written.rows_missing_kdes,
        )
    )
    if export_format is ExportFormat.CSV:
        console.print(t("rows missing KDEs are listed in {path}", path=str(companion)))
