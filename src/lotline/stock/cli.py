"""``lotline stock …``: what is on hand, the operations on it, and the ledger check.

Locations are named by code, or ``SITE:CODE`` where a code is used at more than one site.
Scrap, return and a large count adjustment are signed: the signer types their password.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

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
from lotline.domain.status import StockStatus
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.stock import check as ledger_check
from lotline.stock import disposal, operations, queries, transfers
from lotline.stock.operations import Amount, Outcome, Source
from lotline.uow import UnitOfWork

app = typer.Typer(
    help="Stock: on hand, moves, transfers, samples, counts, scrap, returns, the check", no_args_is_help=True
)


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


# --- helpers ----------------------------------------------------------------------------------


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(N_("{field} must be a number."), field=field, code="stock.not_a_number") from exc
    if not value.is_finite():
        raise InvalidInput(N_("{field} must be a number."), field=field, code="stock.not_a_number")
    return value


def _optional(text: str | None, field: str) -> Decimal | None:
    return None if text is None else _decimal(text, field)


def _lot(uow: UnitOfWork, code: str) -> Lot:
    found = list(uow.session.execute(select(Lot).where(Lot.code == code).limit(2)).scalars())
    if len(found) != 1:
        raise NotFound(entity=N_("lot"), key=code, field="lot")
    return found[0]


def _place(uow: UnitOfWork, spec: str, field: str) -> Location:
    """A location by ``CODE`` (unique across sites) or ``SITE:CODE``."""
    query = select(Location).where(Location.code == spec.rsplit(":", 1)[-1])
    if ":" in spec:
        query = query.join(Site, Site.id == Location.site_id).where(
            Site.code == spec.split(":", 1)[0].upper()
        )
    found = list(uow.session.execute(query.limit(2)).scalars())
    if len(found) != 1:
        raise NotFound(entity=N_("location"), key=spec, field=field)
    return found[0]


def _report(outcome: Outcome) -> None:
    for m in outcome.movements:
        console.print(
            t(
                "{kind}: {qty} {unit} ({base}) {source} → {target}",
                kind=m.kind,
                qty=_fmt(m.entered_qty),
                unit=m.entered_unit,
                base=_fmt(m.base_qty),
                source=f"{m.from_location_id}/{m.from_status}" if m.from_location_id else "—",
                target=f"{m.to_location_id}/{m.to_status}" if m.to_location_id else "—",
            )
        )
    console.print(t("transaction {txn}", txn=outcome.txn_id))


_STATUS = typer.Option(None, "--status", help="Stock status taken from; left out: the only one there")
_SSCC = typer.Option("", "--sscc", help="SSCC of the pallet; left out: none")
_UNIT = typer.Option(..., "--unit", help="Unit of the quantity: a unit code or a packaging level")


# --- reading ----------------------------------------------------------------------------------


@app.command("list")
@reports_errors
def list_stock(
    lot: str | None = typer.Option(None, "--lot", help="Lot code"),
    product: str | None = typer.Option(None, "--product", help="Product code"),
    site: str | None = typer.Option(None, "--site", help="Site code"),
    location: str | None = typer.Option(None, "--location", help="Location (and everything under it)"),
    status: StockStatus | None = typer.Option(None, "--status"),
    limit: int = typer.Option(200, "--limit", min=1, max=500),
) -> None:
    """On hand per lot, location, stock status and SSCC."""
    db = open_db()
    table = Table(
        t("lot"),
        t("product"),
        t("location"),
        t("status"),
        "SSCC",
        t("quantity"),
        t("unit"),
        t("count"),
        t("weight (kg)"),
        title=t("stock on hand"),
    )
    with db.transaction(read_only=True) as uow:
        criteria = queries.StockFilter(
            lot_id=_lot(uow, lot).id if lot else None,
            product_id=_by_code(uow, Product, product, N_("product"), "product") if product else None,
            site_id=_by_code(uow, Site, site.upper(), N_("site"), "site") if site else None,
            location_id=_place(uow, location, "location").id if location else None,
            stock_status=status,
        )
        page = queries.on_hand(uow, criteria=criteria, cursor=None, limit=limit)
    for line in page.items:
        table.add_row(
            line.lot_code,
            line.product_code,
            line.location_code,
            line.stock_status,
            line.sscc,
            _fmt(line.qty_base),
            line.base_unit,
            _fmt(line.count),
            _fmt(line.weight_kg),
        )
    console.print(table)


def _by_code(uow: UnitOfWork, model: type[Product] | type[Site], code: str, entity: str, field: str) -> int:
    found = uow.session.execute(select(model.id).where(model.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(entity=entity, key=code, field=field)
    return int(found)


# --- operations -------------------------------------------------------------------------------


@app.command("move")
@reports_errors
def move(
    lot: str,
    source: str = typer.Option(..., "--from", help="Location taken from"),
    target: str = typer.Option(..., "--to", help="Location put into (a QA bin for quarantined stock)"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = _UNIT,
    status: StockStatus | None = _STATUS,
    sscc: str = _SSCC,
    putaway: bool = typer.Option(False, "--putaway", help="A putaway from receiving"),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Put away or move stock within its site."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        found = _lot(uow, lot)
        outcome = operations.move(
            uow,
            principal=None,
            lot_id=found.id,
            source=Source(_place(uow, source, "from").id, status, sscc),
            to_location_id=_place(uow, target, "to").id,
            amount=Amount(_decimal(qty, "qty"), unit),
            putaway=putaway,
            reason=reason,
        )
    seal(db)
    _report(outcome)


@app.command("transfer")
@reports_errors
def transfer(
    lot: str,
    source: str = typer.Option(..., "--from", help="Location taken from"),
    target: str = typer.Option(..., "--to", help="Location at the other site, e.g. B:FZ-01"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = _UNIT,
    status: StockStatus | None = _STATUS,
    sscc: str = _SSCC,
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Send stock to another site; it is in transit there until received."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        found = _lot(uow, lot)
        outcome = transfers.transfer_out(
            uow,
            principal=None,
            lot_id=found.id,
            source=Source(_place(uow, source, "from").id, status, sscc),
            to_location_id=_place(uow, target, "to").id,
            amount=Amount(_decimal(qty, "qty"), unit),
            reason=reason,
        )
    seal(db)
    _report(outcome)


@app.command("receive-transfer")
@reports_errors
def receive_transfer(
    txn_id: str,
    qty: str | None = typer.Option(None, "--qty", help="What arrived; left out: everything sent"),
    unit: str | None = typer.Option(None, "--unit"),
    target: str | None = typer.Option(None, "--to", help="Where it is received; left out: where it was sent"),
    reason: str | None = typer.Option(None, "--reason", help="Required when less arrived"),
) -> None:
    """Receive a transfer; a shortage is booked as lost in transit."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        received = None
        if qty is not None:
            received = Amount(
                _decimal(qty, "qty"), unit or transfers.transfer_sent(uow, txn_id=txn_id).entered_unit
            )
        outcome = transfers.receive_transfer(
            uow,
            principal=None,
            txn_id=txn_id,
            received=received,
            to_location_id=_place(uow, target, "to").id if target else None,
            reason=reason,
        )
    seal(db)
    _report(outcome)


@app.command("sample")
@reports_errors
def sample(
    lot: str,
    source: str = typer.Option(..., "--from", help="Location taken from"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = _UNIT,
    status: StockStatus | None = _STATUS,
    sscc: str = _SSCC,
    retain_in: str | None = typer.Option(None, "--retain-in", help="Keep as a retained sample (留样) there"),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Take a QC sample for testing, or keep a retained sample with --retain-in."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        found = _lot(uow, lot)
        taken = Source(_place(uow, source, "from").id, status, sscc)
        amount = Amount(_decimal(qty, "qty"), unit)
        if retain_in:
            outcome = operations.retain_sample(
                uow,
                principal=None,
                lot_id=found.id,
                source=taken,
                to_location_id=_place(uow, retain_in, "retain_in").id,
                amount=amount,
                reason=reason,
            )
        else:
            outcome = operations.take_sample(
                uow, principal=None, lot_id=found.id, source=taken, amount=amount, reason=reason
            )
    seal(db)
    _report(outcome)


@app.command("count")
@reports_errors
def count(
    lot: str,
    location: str = typer.Option(..., "--at", help="Location counted"),
    counted: str = typer.Option(..., "--counted", help="What was found"),
    unit: str = _UNIT,
    status: StockStatus | None = typer.Option(None, "--status"),
    sscc: str = _SSCC,
    reason: str | None = typer.Option(None, "--reason", help="Required when the count differs"),
    username: str | None = typer.Option(None, "--user", help="Who signs a large adjustment"),
    password: str | None = typer.Option(None, "--password", hide_input=True, help="Asked for when needed"),
) -> None:
    """Book a count; a large adjustment is signed (--user, then the password at the prompt)."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        found = _lot(uow, lot)
        place = _place(uow, location, "at")
        source = Source(place.id, status, sscc)
        amount = Amount(_decimal(counted, "counted"), unit)
        plan = disposal.plan_count(uow, principal=None, lot_id=found.id, source=source, counted=amount)
        principal, secret = None, None
        if plan.needs_signature:
            if username is None:
                raise InvalidInput(
                    N_("{field}: this adjustment is large and must be signed; name the signer."),
                    field="user",
                    code="stock.signature_required",
                )
            principal = console_signer(uow, username, Permission.STOCK_MOVE, place.site_id)
            typed = password if password is not None else typer.prompt(t("Password"), hide_input=True)
            secret = sign_at_console(uow, principal, typed, Meaning.APPROVE, "lot", found.id)
        outcome = disposal.count(
            uow,
            principal=principal,
            lot_id=found.id,
            source=source,
            counted=amount,
            reason=reason,
            signing_grant=secret,
        )
    seal(db)
    _report(outcome)


def _dispose(
    lot: str,
    source: str,
    qty: str,
    unit: str,
    status: StockStatus | None,
    sscc: str,
    reason: str,
    reference: str | None,
    username: str,
    password: str,
    meaning: Meaning,
) -> None:
    db = open_db()
    with db.transaction() as uow:
        found = _lot(uow, lot)
        place = _place(uow, source, "from")
        principal = console_signer(uow, username, Permission.STOCK_MOVE, place.site_id)
        secret = sign_at_console(uow, principal, password, meaning, "lot", found.id)
        act = disposal.scrap if meaning is Meaning.SCRAP else disposal.return_to_supplier
        outcome = act(
            uow,
            principal=principal,
            lot_id=found.id,
            source=Source(place.id, status, sscc),
            amount=Amount(_decimal(qty, "qty"), unit),
            reason=reason,
            signing_grant=secret,
            reference=reference,
        )
    seal(db)
    _report(outcome)


@app.command("scrap")
@reports_errors
def scrap(
    lot: str,
    source: str = typer.Option(..., "--from", help="Location taken from"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = _UNIT,
    status: StockStatus | None = _STATUS,
    sscc: str = _SSCC,
    reason: str = typer.Option(..., "--reason"),
    reference: str | None = typer.Option(None, "--reference", help="Destruction certificate or the like"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Scrap or destroy stock (signed); the signer types their password."""
    _dispose(lot, source, qty, unit, status, sscc, reason, reference, username, password, Meaning.SCRAP)


@app.command("return")
@reports_errors
def return_to_supplier(
    lot: str,
    source: str = typer.Option(..., "--from", help="Location taken from"),
    qty: str = typer.Option(..., "--qty"),
    unit: str = _UNIT,
    status: StockStatus | None = _STATUS,
    sscc: str = _SSCC,
    reason: str = typer.Option(..., "--reason"),
    reference: str | None = typer.Option(None, "--reference", help="Return authorisation number"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Return stock to its supplier (signed); the signer types their password."""
    _dispose(
        lot,
        source,
        qty,
        unit,
        status,
        sscc,
        reason,
        reference,
        username,
        password,
        Meaning.RETURN_TO_SUPPLIER,
    )
