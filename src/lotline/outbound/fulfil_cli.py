"""``lotline order pick|ship|return|deviations``: picking by scan (a FEFO deviation signed at the
prompt), shipping with a transport leg, customer returns and the deviation log — the same
services, matrix and refusals as the API and the web pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.table import Table
from sqlalchemy import select

from lotline.clikit import (
    cli_actor,
    console,
    console_signer,
    open_db,
    reports_errors,
    seal,
    sign_at_console,
    t,
)
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.permissions import Permission
from lotline.domain.signature import Meaning
from lotline.domain.units import plain
from lotline.models.catalog import Location, Partner
from lotline.models.lot import Lot
from lotline.models.outbound import SalesOrderLine, Shipment, ShipmentLine
from lotline.outbound import picking, returns, shipping
from lotline.outbound.cli import app, order_by_number, parse_decimal
from lotline.outbound.fulfilment import HeldSinceAllocation
from lotline.uow import Database, UnitOfWork

__all__ = ["app"]


@contextmanager
def _keeping_flags(db: Database) -> Iterator[UnitOfWork]:
    """A transaction that, when stock is refused for a hold placed since allocation, still commits
    the flags it put on the allocations before reporting the refusal (as the API does)."""
    held: HeldSinceAllocation | None = None
    with db.transaction(actor=cli_actor()) as uow:
        try:
            yield uow
        except HeldSinceAllocation as error:
            held = error
    if held is not None:
        seal(db)
        raise held


def _line(uow: UnitOfWork, order_id: int, line_no: int) -> SalesOrderLine:
    line = uow.session.scalar(
        select(SalesOrderLine).where(SalesOrderLine.order_id == order_id, SalesOrderLine.line_no == line_no)
    )
    if line is None:
        raise NotFound(entity=N_("order line"), key=line_no, field="line_no")
    return line


@app.command("pick")
@reports_errors
def pick(
    number: str,
    line_no: int = typer.Argument(..., help="Line number on the order"),
    scan: str = typer.Option(..., "--scan", help="Lot code, SSCC or GS1 string"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = typer.Option(..., "--unit"),
    deviation_reason: str | None = typer.Option(
        None, "--deviation-reason", help="Taking a lot other than proposed: why (signed)"
    ),
    username: str | None = typer.Option(None, "--user", help="Who signs a FEFO deviation"),
    password: str | None = typer.Option(None, "--password", help="Prompted for when left out"),
) -> None:
    """Confirm stock for an order line by scanning it; another lot than proposed is a signed deviation."""
    db = open_db()
    with _keeping_flags(db) as uow:
        order = order_by_number(uow, number)
        line = _line(uow, order.id, line_no)
        principal, secret = None, None
        if deviation_reason is not None:
            if not username:
                raise InvalidInput(
                    N_("{field} is required to sign a FEFO deviation."),
                    field="user",
                    code="pick.signer_required",
                )
            principal = console_signer(uow, username, Permission.STOCK_MOVE, order.site_id)
            typed = password if password is not None else typer.prompt(t("Password"), hide_input=True)
            secret = sign_at_console(uow, principal, typed, Meaning.OVERRIDE, picking.SIGNED_RECORD, line.id)
        picked = picking.pick(
            uow,
            line_id=line.id,
            scanned=scan,
            quantity=parse_decimal(qty, "qty"),
            unit=unit,
            principal=principal,
            deviation_reason=deviation_reason,
            signing_grant=secret,
        )
        codes = {
            lot.id: lot.code
            for lot in uow.session.scalars(select(Lot).where(Lot.id.in_({p.lot_id for p in picked.picks})))
        }
        done = [(codes[p.lot_id], plain(p.qty_base)) for p in picked.picks]
        deviation = picked.deviation
    seal(db)
    for code, amount in done:
        console.print(t("picked {qty} of lot {lot}", qty=amount, lot=code))
    if deviation:
        console.print(t("recorded as a FEFO deviation"))


@app.command("ship")
@reports_errors
def ship(
    number: str,
    carrier: str | None = typer.Option(None, "--carrier", help="Carrier code"),
    vehicle: str | None = typer.Option(None, "--vehicle"),
    origin: str | None = typer.Option(None, "--from", help="Where the first leg starts"),
    destination: str | None = typer.Option(None, "--to", help="Where it goes"),
    departed: str | None = typer.Option(None, "--departed", help="ISO time with offset; default now"),
) -> None:
    """Ship everything picked for the order, on one transport leg."""
    db = open_db()
    with _keeping_flags(db) as uow:
        order = order_by_number(uow, number)
        carrier_id = None
        if carrier:
            carrier_id = uow.session.scalar(select(Partner.id).where(Partner.code == carrier))
            if carrier_id is None:
                raise NotFound(entity=N_("carrier"), key=carrier, field="carrier")
        leg = shipping.LegInput(
            carrier_id=carrier_id,
            vehicle=vehicle,
            origin=origin,
            destination=destination,
            departed_at=_instant(departed) if departed else None,
        )
        shipment = shipping.ship(
            uow, order_id=order.id, carrier_id=carrier_id, vehicle=vehicle, legs=[leg], principal=None
        )
        shipped, lines = shipment.number, len(shipping.shipment_lines(uow, shipment_id=shipment.id))
    seal(db)
    console.print(t("shipment {number}: {lines} lines shipped", number=shipped, lines=lines))


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            N_("{field} must be an ISO time with its UTC offset."),
            field="departed",
            code="cli.not_an_instant",
        )
    return moment


@app.command("return")
@reports_errors
def customer_return(
    shipment: str = typer.Argument(..., help="Shipment number"),
    lot: str = typer.Argument(..., help="Lot code shipped on it"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = typer.Option(..., "--unit"),
    location: str = typer.Option(..., "--location", help="Where it lands (in quarantine)"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Take back stock a customer returns, citing the shipment; it lands in quarantine."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        found = uow.session.scalar(select(Shipment).where(Shipment.number == shipment))
        if found is None:
            raise NotFound(entity=N_("shipment"), key=shipment, field="shipment")
        line_id = uow.session.scalar(
            select(ShipmentLine.id)
            .join(Lot, Lot.id == ShipmentLine.lot_id)
            .where(ShipmentLine.shipment_id == found.id, Lot.code == lot)
            .order_by(ShipmentLine.id)
        )
        if line_id is None:
            raise NotFound(entity=N_("shipment line"), key=lot, field="lot")
        place = uow.session.scalar(
            select(Location.id).where(Location.site_id == found.site_id, Location.code == location)
        )
        if place is None:
            raise NotFound(entity=N_("location"), key=location, field="location")
        returns.receive_return(
            uow,
            shipment_line_id=line_id,
            quantity=parse_decimal(qty, "qty"),
            unit=unit,
            location_id=place,
            reason=reason,
        )
    seal(db)
    console.print(t("return of lot {lot} received into quarantine", lot=lot))


@app.command("deviations")
@reports_errors
def deviations(limit: int = typer.Option(50, "--limit")) -> None:
    """The FEFO-deviation log, newest first."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        page = picking.deviations(uow, site_ids=None, cursor=None, limit=limit)
        ids = {p.lot_id for p in page.items} | {p.proposed_lot_id for p in page.items if p.proposed_lot_id}
        codes = {lot.id: lot.code for lot in uow.session.scalars(select(Lot).where(Lot.id.in_(ids)))}
        table = Table()
        for heading in (
            t("when"),
            t("line"),
            t("proposed"),
            t("picked"),
            t("quantity"),
            t("reason"),
            t("by"),
        ):
            table.add_column(heading)
        for p in page.items:
            table.add_row(
                p.picked_at.isoformat(timespec="minutes"),
                str(p.line_id),
                codes.get(p.proposed_lot_id or 0, ""),
                codes[p.lot_id],
                plain(p.qty_base),
                p.deviation_reason or "",
                p.picked_by,
            )
    console.print(table)
