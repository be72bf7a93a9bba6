"""``lotline order …``: enter orders, allocate them by FEFO/FIFO and read why each line got the
lots it got — the same services, matrix and reasons as the API and the web pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table
from sqlalchemy import select

from lotline.clikit import cli_actor, console, open_db, reports_errors, seal, t
from lotline.domain.allocation import Passed
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.reason_text import REASON_TEXT
from lotline.domain.units import plain
from lotline.models.catalog import Location, Partner, Product
from lotline.models.outbound import SalesOrder, SalesOrderLine
from lotline.models.site import Site
from lotline.outbound import allocation, orders
from lotline.outbound.status_text import ORDER_STATUS
from lotline.uow import UnitOfWork

app = typer.Typer(help="Orders: enter, allocate (FEFO/FIFO) and explain", no_args_is_help=True)

LINE_HELP = (
    "PRODUCT:QTY:UNIT[:delivery=YYYY-MM-DD][:min-days=N][:min-percent=P][:ship-to=TEXT], once per line"
)


def _by_code(
    uow: UnitOfWork, model: type[Partner] | type[Product] | type[Site], code: str, entity: str
) -> int:
    found = uow.session.scalar(select(model.id).where(model.code == code))
    if found is None:
        raise NotFound(entity=entity, key=code, field=entity.replace(" ", "_"))
    return int(found)


def parse_decimal(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInput(N_("{field} must be a number."), field=field, code="cli.not_a_number") from None


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a date (YYYY-MM-DD)."), field=field, code="cli.not_a_date"
        ) from None


def _line(uow: UnitOfWork, spec: str, position: int) -> orders.LineInput:
    field = f"line[{position}]"
    parts = spec.split(":")
    if len(parts) < 3:
        raise InvalidInput(N_("{field} must be PRODUCT:QTY:UNIT."), field=field, code="cli.bad_line")
    product = _by_code(uow, Product, parts[0].strip(), N_("product"))
    options: dict[str, str] = {}
    for extra in parts[3:]:
        key, sep, value = extra.partition("=")
        if not sep or key not in ("delivery", "min-days", "min-percent", "ship-to"):
            raise InvalidInput(
                N_("{field} has an unknown option {option}."), field=field, code="cli.bad_line", option=extra
            )
        options[key] = value.strip()
    min_days = options.get("min-days")
    min_percent = options.get("min-percent")
    return orders.LineInput(
        product_id=product,
        quantity=parse_decimal(parts[1].strip(), f"{field}.quantity"),
        unit=parts[2].strip(),
        delivery_date=_day(options["delivery"], f"{field}.delivery") if "delivery" in options else None,
        min_days=int(parse_decimal(min_days, f"{field}.min_days")) if min_days is not None else None,
        min_percent=parse_decimal(min_percent, f"{field}.min_percent") if min_percent is not None else None,
        ship_to=options.get("ship-to"),
    )


def order_by_number(uow: UnitOfWork, number: str) -> SalesOrder:
    found = uow.session.scalar(select(SalesOrder).where(SalesOrder.number == number))
    if found is None:
        raise NotFound(entity=N_("order"), key=number, field="order")
    return found


def _reasons(passed: Passed) -> str:
    return "; ".join(t(REASON_TEXT.get(code, code)) for code in passed.reasons)


def _show_line(
    line: SalesOrderLine,
    chosen: Sequence[tuple[str, str, str, Decimal]],
    passed: Sequence[Passed],
    short: Decimal,
    places: dict[int, str],
) -> None:
    table = Table(
        title=t(
            "line {line}: {qty} (base unit), delivery {delivery}",
            line=line.line_no,
            qty=plain(line.qty_base),
            delivery=line.delivery_date.isoformat(),
        )
    )
    table.add_column(t("lot"))
    table.add_column(t("location"))
    table.add_column("SSCC")
    table.add_column(t("quantity"), justify="right")
    table.add_column(t("why"))
    for code, place, sscc, qty in chosen:
        table.add_row(code, place, sscc, plain(qty), t("allocated"))
    for p in passed:
        place = places.get(p.candidate.location_id, "")
        table.add_row(p.candidate.lot_code, place, p.candidate.sscc, plain(p.candidate.free), _reasons(p))
    console.print(table)
    if short > 0:
        console.print(t("short by {qty}", qty=plain(short)))


@app.command("create")
@reports_errors
def create(
    customer: str = typer.Option(..., "--customer", help="Customer code"),
    site: str = typer.Option(..., "--site", help="Shipping site code"),
    ship_date: str = typer.Option(..., "--ship-date", help="YYYY-MM-DD"),
    line: list[str] = typer.Option(..., "--line", help=LINE_HELP),
    customer_ref: str | None = typer.Option(None, "--ref", help="The customer's order reference"),
) -> None:
    """Enter an order; nothing is written unless every line is right."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        made = orders.create_order(
            uow,
            order=orders.OrderInput(
                customer_id=_by_code(uow, Partner, customer, N_("customer")),
                site_id=_by_code(uow, Site, site, N_("site")),
                ship_date=_day(ship_date, "ship_date"),
                lines=[_line(uow, spec, position) for position, spec in enumerate(line)],
                customer_ref=customer_ref,
            ),
        )
        number = made.number
    seal(db)
    console.print(t("order {number} entered", number=number))


@app.command("allocate")
@reports_errors
def allocate(
    number: str,
    as_json: bool = typer.Option(False, "--json", help="Print the proposal as JSON"),
) -> None:
    """Allocate an order by FEFO/FIFO and show, for every lot passed over, why."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        order = order_by_number(uow, number)
        wave = allocation.allocate_order(uow, order_id=order.id)
        lines = {line.id: line for line in orders.order_lines(uow, order_id=order.id)}
        codes = dict(
            uow.session.execute(select(Location.id, Location.code).where(Location.site_id == order.site_id))
            .tuples()
            .all()
        )
        if as_json:
            payload = [
                {
                    "line_no": lines[p.line_id].line_no,
                    "chosen": [
                        {
                            "lot": c.candidate.lot_code,
                            "location": codes.get(c.candidate.location_id),
                            "sscc": c.candidate.sscc,
                            "qty_base": str(c.quantity),
                        }
                        for c in p.chosen
                    ],
                    "passed": [{"lot": x.candidate.lot_code, "reasons": list(x.reasons)} for x in p.passed],
                    "short": str(p.short),
                }
                for p in wave.proposals
            ]
        else:
            for p in wave.proposals:
                chosen = [
                    (
                        c.candidate.lot_code,
                        codes.get(c.candidate.location_id, ""),
                        c.candidate.sscc,
                        c.quantity,
                    )
                    for c in p.chosen
                ]
                _show_line(lines[p.line_id], chosen, p.passed, p.short, codes)
    seal(db)
    if as_json:
        console.print_json(json.dumps(payload))
    elif not wave.proposals:
        console.print(t("nothing left to allocate on order {number}", number=number))


@app.command("explain")
@reports_errors
def explain(number: str, line_no: int = typer.Argument(..., help="Line number on the order")) -> None:
    """Show a line's allocated lots and why each lot ranked before them was passed over."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        order = order_by_number(uow, number)
        line = uow.session.scalar(
            select(SalesOrderLine).where(
                SalesOrderLine.order_id == order.id, SalesOrderLine.line_no == line_no
            )
        )
        if line is None:
            raise NotFound(entity=N_("order line"), key=line_no, field="line_no")
        explained = allocation.explain_line(uow, line_id=line.id)
        codes = dict(
            uow.session.execute(select(Location.id, Location.code).where(Location.site_id == order.site_id))
            .tuples()
            .all()
        )
        chosen = [
            (explained.lot_codes[a.lot_id], codes.get(a.location_id, ""), a.sscc, a.qty_base)
            for a in explained.allocations
        ]
        _show_line(line, chosen, explained.passed, explained.short, codes)


@app.command("release")
@reports_errors
def release(
    number: str,
    line_no: int = typer.Argument(..., help="Line number on the order"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Give back a line's open and flagged allocations."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        order = order_by_number(uow, number)
        line_id = uow.session.scalar(
            select(SalesOrderLine.id).where(
                SalesOrderLine.order_id == order.id, SalesOrderLine.line_no == line_no
            )
        )
        if line_id is None:
            raise NotFound(entity=N_("order line"), key=line_no, field="line_no")
        released = allocation.release_line(uow, line_id=line_id, reason=reason)
    seal(db)
    console.print(t("{count} allocations released", count=released))


@app.command("list")
@reports_errors
def list_orders(
    status: str | None = typer.Option(None, "--status"), limit: int = typer.Option(50, "--limit")
) -> None:
    """Orders, newest first."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        page = orders.list_orders(uow, site_ids=None, status=status, cursor=None, limit=limit)
        table = Table()
        for heading in (t("order"), t("customer"), t("ship date"), t("status")):
            table.add_column(heading)
        customers = dict(
            uow.session.execute(
                select(Partner.id, Partner.code).where(Partner.id.in_({o.customer_id for o in page.items}))
            )
            .tuples()
            .all()
        )
        for o in page.items:
            shown = t(ORDER_STATUS[o.status]) if o.status in ORDER_STATUS else o.status
            table.add_row(o.number, customers.get(o.customer_id, ""), o.ship_date.isoformat(), shown)
    console.print(table)
