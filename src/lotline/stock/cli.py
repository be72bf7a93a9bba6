"""``lotline stock …``: what is on hand, and the ledger check."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from lotline.clikit import console, open_db, reports_errors, t
from lotline.models.catalog import Location
from lotline.models.lot import Lot
from lotline.stock import check as ledger_check

app = typer.Typer(help="Stock: on hand, the ledger check", no_args_is_help=True)


def _fmt(value: object) -> str:
    return "" if value is None else format(value, "f") if hasattr(value, "as_tuple") else str(value)


@app.command("check")
@reports_errors
def check() -> None:
    """Rebuild on-hand from the ledger and check every lot's mass balance; exit 1 on any difference."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        differences = ledger_check.differences(uow)
        balances = ledger_check.mass_balances(uow)
        open_balances = {lot: b for lot, b in balances.items() if not b.closes}
        lot_ids = {d.lot_id for d in differences} | set(open_balances)
        location_ids = {d.location_id for d in differences}
        codes = dict(uow.session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(lot_ids))).tuples().all())
        places = dict(
            uow.session.execute(select(Location.id, Location.code).where(Location.id.in_(location_ids)))
            .tuples()
            .all()
        )
    if differences:
        table = Table(
            t("lot"), t("location"), t("status"), "SSCC", t("ledger"), t("on hand"), title=t("differences")
        )
        for d in differences:
            table.add_row(
                codes.get(d.lot_id, str(d.lot_id)),
                places.get(d.location_id, str(d.location_id)),
                d.stock_status,
                d.sscc,
                _fmt(d.ledger.base),
                _fmt(d.projection.base),
            )
        console.print(table)
    for lot_id, unbalanced in sorted(open_balances.items()):
        console.print(
            t(
                "lot {code}: the mass balance does not close (difference {difference})",
                code=codes.get(lot_id, str(lot_id)),
                difference=_fmt(unbalanced.difference.base),
            )
        )
    console.print(
        t(
            "{lots} lots checked: {differences} on-hand differences, {open} mass balances not closing",
            lots=len(balances),
            differences=len(differences),
            open=len(open_balances),
        )
    )
    if differences or open_balances:
        raise typer.Exit(1)
