"""``lotline production …``: production orders and their completions, the other transformations
(repack, relabel, rework — signed at the prompt —, split, merge) and one step of genealogy each way.

Stock is named by specs, every one resolved and checked before anything is written::

    --input  [PRODUCT/]LOT@LOCATION=QTYUNIT[#SSCC][:STATUS]        PORK/L26060001@RM-1=100KGM
    --loss   [PRODUCT/]LOT@LOCATION=QTYUNIT[#SSCC][:STATUS][:KIND] CABBAGE/L26060002@RM-1=10KGM:drip
    --output PRODUCT[/LOT]@LOCATION=QTYUNIT[#SSCC]                 DUMPLING@QA-1=300KGM

Locations are the site's; the product may be left out of an input when its lot code is unique;
a loss KIND is drip, cooking, trim or other. A refusal names the option and its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table
from sqlalchemy import select

from lotline.catalog.packaging import convert_for_product
from lotline.clidisplay import JSON_OPTION, LIMIT_OPTION, cell, note_more, print_attributes, print_json
from lotline.clikit import (
    cli_actor,
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
from lotline.domain.signature import Meaning
from lotline.domain.transformation import TransformationKind
from lotline.i18n import normalize
from lotline.models.catalog import Location, Product
from lotline.models.production import ProductionOrder
from lotline.models.site import Site
from lotline.production import genealogy, orders
from lotline.production import service as production
from lotline.production.cli_specs import OtherKind, Specs, lot_by_code, naming, request_of
from lotline.production.orders import OrderStatus
from lotline.production.service import Outcome, Request
from lotline.uow import UnitOfWork

app = typer.Typer(help="Production: orders, completions, transformations, genealogy", no_args_is_help=True)
order_app = typer.Typer(help="Production orders: create, list, show, close, cancel", no_args_is_help=True)
app.add_typer(order_app, name="order")

INPUT_HELP = "PRODUCT/LOT@LOCATION=QTYUNIT, optionally #SSCC and :STATUS; once per input lot"
OUTPUT_HELP = "PRODUCT@LOCATION=QTYUNIT (PRODUCT/LOT@… to give the code), optionally #SSCC; once per lot"
LOSS_HELP = "As --input, optionally :drip, :cooking, :trim or :other; what an input lot lost"
STATUS_TEXT = {"OPEN": N_("open"), "CLOSED": N_("closed"), "CANCELLED": N_("cancelled")}
KIND_TEXT = {
    "production": N_("production"),
    "rework": N_("rework"),
    "repack": N_("repack"),
    "relabel": N_("relabel"),
    "split": N_("split"),
    "merge": N_("merge"),
}
FLOW_TEXT = {"consume": N_("Consumed"), "produce": N_("Produced"), "loss": N_("Production loss")}


# --- lookups and wording ------------------------------------------------------------------------


def _by_code(uow: UnitOfWork, model: type[Site] | type[Product], code: str, entity: str, field: str) -> int:
    found = uow.session.scalar(select(model.id).where(model.code == code))
    if found is None:
        raise NotFound(entity=entity, key=code, field=field)
    return int(found)


def _order(uow: UnitOfWork, number: str) -> ProductionOrder:
    found = uow.session.scalar(select(ProductionOrder).where(ProductionOrder.number == number))
    if found is None:
        raise NotFound(entity=N_("production order"), key=number, field="number")
    return found


def _name(product: Product) -> str:
    """The product's name in the operator's language (the other one if it has none)."""
    zh, en = product.name_zh, product.name_en
    return str((zh or en) if normalize(settings().default_language) == "zh_CN" else (en or zh))


def _quantity(value: Decimal, unit: str) -> str:
    return f"{cell(value)} {unit}"


def _against_plan(uow: UnitOfWork, order: ProductionOrder, base_qty: Decimal, base_unit: str) -> str:
    """A base quantity in the order's planned unit too, where it has an exact value there: 25 CS (300 EA)."""
    shown = _quantity(base_qty, base_unit)
    if order.planned_unit == base_unit:
        return shown
    try:
        planned = convert_for_product(
            uow,
            product_id=order.product_id,
            quantity=base_qty,
            from_unit=base_unit,
            to_unit=order.planned_unit,
        )
    except InvalidInput:
        return shown
    return f"{_quantity(planned, order.planned_unit)} ({shown})"


def _said(table: dict[str, str], value: str) -> str:
    return t(table[value]) if value in table else value


def _outputs_table(uow: UnitOfWork, outcome: Outcome) -> Table:
    """The lots a transformation made: quantity, where, status and an expiry saying what capped it."""
    made = {lot.id: lot for lot in outcome.output_lots}
    codes = dict(
        uow.session.execute(
            select(Product.id, Product.code).where(Product.id.in_({lot.product_id for lot in made.values()}))
        )
        .tuples()
        .all()
    )
    places = dict(
        uow.session.execute(
            select(Location.id, Location.code).where(
                Location.id.in_({m.to_location_id for m in outcome.movements if m.to_location_id})
            )
        )
        .tuples()
        .all()
    )
    table = Table(
        t("lot"), t("product"), t("quantity"), t("location"), t("status"), t("expiry"), title=t("output lots")
    )
    for movement in outcome.movements:
        if movement.kind != "produce":
            continue
        lot = made[movement.lot_id]
        expiry = lot.expiry_date.isoformat()
        provenance = lot.expiry_provenance or {}
        if provenance.get("decided_by") == "input_lot":
            expiry += " " + t("capped by {lot}", lot=(provenance.get("earliest_input") or {}).get("lot", "-"))
        table.add_row(
            cell(lot.code),
            cell(codes.get(lot.product_id)),
            cell(_quantity(movement.entered_qty, movement.entered_unit)),
            cell(places.get(movement.to_location_id or 0)),
            cell(movement.to_status),
            cell(expiry),
        )
    return table


def _post(uow: UnitOfWork, specs: Specs, request: Request) -> tuple[str, Table]:
    with naming(specs):
        outcome = production.transform(uow, principal=None, request=request)
    return outcome.transformation.number, _outputs_table(uow, outcome)


def _posted(number: str, kind: str, table: Table) -> None:
    console.print(t("transformation {number} ({kind}) posted", number=number, kind=_said(KIND_TEXT, kind)))
    console.print(table)


# --- orders -------------------------------------------------------------------------------------


@order_app.command("create")
@reports_errors
def order_create(
    site: str = typer.Option(..., "--site", help="Site code"),
    product: str = typer.Option(..., "--product", help="Product code"),
    quantity: str = typer.Option(..., "--quantity", help="Planned quantity"),
    unit: str = typer.Option(..., "--unit", help="Unit of the quantity: a unit code or a packaging level"),
    line: str | None = typer.Option(None, "--line", help="Production line"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Open a production order for a product at a site."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        try:
            planned = Decimal(quantity)
        except InvalidOperation:
            raise InvalidInput(
                N_("{field} must be a number."), field="--quantity", code="cli.not_a_number"
            ) from None
        made = orders.create_order(
            uow,
            principal=None,
            order=orders.OrderInput(
                site_id=_by_code(uow, Site, site.upper(), N_("site"), "--site"),
                product_id=_by_code(uow, Product, product, N_("product"), "--product"),
                quantity=planned,
                unit=unit,
                line=line,
                note=note,
            ),
        )
        number = made.number
    seal(db)
    console.print(t("production order {number} opened", number=number))


@order_app.command("list")
@reports_errors
def order_list(
    site: str | None = typer.Option(None, "--site", help="Site code"),
    status: OrderStatus | None = typer.Option(None, "--status", case_sensitive=False),
    limit: int = LIMIT_OPTION,
) -> None:
    """Production orders, newest first."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        criteria = orders.OrderFilter(
            site_id=_by_code(uow, Site, site.upper(), N_("site"), "--site") if site else None,
            status=status.value if status else None,
        )
        page = orders.list_orders(uow, criteria=criteria, cursor=None, limit=limit)
        products = {
            p.id: p
            for p in uow.session.scalars(
                select(Product).where(Product.id.in_({o.product_id for o in page.items}))
            )
        }
        sites = dict(uow.session.execute(select(Site.id, Site.code)).tuples().all())
        table = Table(
            t("production order"),
            t("site"),
            t("product"),
            t("name"),
            t("production line"),
            t("planned"),
            t("status"),
            t("created"),
            title=t("production orders"),
        )
        for order in page.items:
            made = products[order.product_id]
            table.add_row(
                *map(cell, (order.number, sites.get(order.site_id), made.code, _name(made), order.line)),
                cell(_quantity(order.planned_qty, order.planned_unit)),
                cell(_said(STATUS_TEXT, order.status)),
                cell(order.created_at),
            )
    console.print(table)
    if page.next_cursor:
        note_more(len(page.items))


@order_app.command("show")
@reports_errors
def order_show(number: str) -> None:
    """An order: planned against produced, what each lot gave or got, and its completions."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        order = _order(uow, number)
        made = uow.session.get_one(Product, order.product_id)
        site = uow.session.get_one(Site, order.site_id)
        planned = _against_plan(uow, order, order.planned_base_qty, made.base_unit)
        produced = _against_plan(uow, order, orders.produced_of(uow, order), made.base_unit)
        flows = orders.flows(uow, order_id=order.id)
        completions = orders.transformations_of(uow, order_id=order.id)
        units = {
            product_id: (code, unit)
            for product_id, code, unit in uow.session.execute(
                select(Product.id, Product.code, Product.base_unit).where(
                    Product.id.in_({f.product_id for f in flows})
                )
            )
            .tuples()
            .all()
        }
    print_attributes(
        t("production order {number}", number=order.number),
        [
            (t("site"), site.code),
            (t("product"), f"{made.code} {_name(made)}"),
            (t("production line"), order.line),
            (t("status"), _said(STATUS_TEXT, order.status)),
            (t("planned"), planned),
            (t("produced"), produced),
            (t("note"), order.note),
            (t("created"), order.created_at),
            (t("by"), order.created_by),
            (t("closed at"), order.closed_at),
        ],
    )
    flow_table = Table(
        t("movement"), t("lot"), t("product"), t("quantity"), t("expiry"), title=t("lots of the order")
    )
    for flow in flows:
        code, unit = units.get(flow.product_id, ("-", ""))
        flow_table.add_row(
            cell(_said(FLOW_TEXT, flow.kind)),
            cell(flow.lot_code),
            cell(code),
            cell(_quantity(flow.qty_base, unit)),
            cell(flow.expiry_date),
        )
    console.print(flow_table)
    done = Table(t("transformation"), t("when"), t("production line"), t("by"), title=t("completions"))
    for completion in completions:
        done.add_row(
            *map(cell, (completion.number, completion.occurred_at, completion.line, completion.actor_name))
        )
    console.print(done)


def _finish(number: str, status: OrderStatus, reason: str | None) -> str:
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        order = _order(uow, number)
        done = orders.finish_order(uow, principal=None, order_id=order.id, status=status, reason=reason)
        shown = done.number
    seal(db)
    return shown


@order_app.command("close")
@reports_errors
def order_close(number: str, reason: str | None = typer.Option(None, "--reason")) -> None:
    """Close an open order: its completions are done."""
    console.print(t("production order {number} closed", number=_finish(number, OrderStatus.CLOSED, reason)))


@order_app.command("cancel")
@reports_errors
def order_cancel(number: str, reason: str | None = typer.Option(None, "--reason")) -> None:
    """Cancel an open order nothing was posted to."""
    console.print(
        t("production order {number} cancelled", number=_finish(number, OrderStatus.CANCELLED, reason))
    )


# --- completions and other transformations ------------------------------------------------------

_AT = typer.Option(None, "--at", help="When it happened: ISO time with offset; default now")
_ATTRIBUTE = typer.Option([], "--attribute", help="KEY=VALUE custom field of every output lot (repeatable)")


@app.command("complete")
@reports_errors
def complete(
    number: str = typer.Argument(..., help="Production order number"),
    inputs: list[str] = typer.Option(..., "--input", help=INPUT_HELP),
    outputs: list[str] = typer.Option(..., "--output", help=OUTPUT_HELP),
    losses: list[str] = typer.Option([], "--loss", help=LOSS_HELP),
    at: str | None = _AT,
    attributes: list[str] = _ATTRIBUTE,
) -> None:
    """Post a completion of an order: inputs consumed, losses booked, output lots made in quarantine."""
    specs = Specs.parse(inputs, outputs, losses)
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        order = _order(uow, number)
        request = request_of(
            uow,
            TransformationKind.PRODUCTION,
            order.site_id,
            specs,
            at=at,
            attributes=attributes,
            order_id=order.id,
        )
        posted, table = _post(uow, specs, request)
    seal(db)
    _posted(posted, TransformationKind.PRODUCTION.value, table)


@app.command("transform")
@reports_errors
def transform(
    kind: OtherKind = typer.Argument(..., case_sensitive=False),
    site: str = typer.Option(..., "--site", help="Site code"),
    inputs: list[str] = typer.Option(..., "--input", help=INPUT_HELP),
    outputs: list[str] = typer.Option(..., "--output", help=OUTPUT_HELP),
    losses: list[str] = typer.Option([], "--loss", help=LOSS_HELP),
    reason: str | None = typer.Option(None, "--reason", help="Why; required for a rework"),
    username: str | None = typer.Option(None, "--user", help="Who signs a rework"),
    password: str | None = typer.Option(None, "--password", hide_input=True, help="Asked for when left out"),
    at: str | None = _AT,
    attributes: list[str] = _ATTRIBUTE,
) -> None:
    """Repack, relabel, split or merge lots; or rework rejected stock, signed (--user, then the password)."""
    specs = Specs.parse(inputs, outputs, losses)
    chosen = TransformationKind(kind.value)
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        site_id = _by_code(uow, Site, site.upper(), N_("site"), "--site")
        request = request_of(uow, chosen, site_id, specs, at=at, attributes=attributes, reason=reason)
        if chosen is TransformationKind.REWORK:
            # Asked before the password, so a missing reason costs no signing attempt.
            for field, given in (("--reason", (reason or "").strip()), ("--user", username)):
                if not given:
                    raise InvalidInput(
                        N_("{field} is required."), field=field, code="cli.signing_input_required"
                    )
            assert username is not None
            principal = console_signer(uow, username, Permission.QUALITY_DECIDE, site_id)
            typed = password if password is not None else typer.prompt(t("Password"), hide_input=True)
            # The service signs a rework for its first input lot; the grant is asked for that lot.
            first = request.inputs[0].lot_id
            secret = sign_at_console(uow, principal, typed, Meaning.REWORK, "lot", first)
            request = replace(request, signing_grant=secret)
        # Posted from the console; the signer is whoever the grant was issued to (service._signer).
        posted, table = _post(uow, specs, request)
    seal(db)
    _posted(posted, chosen.value, table)


# --- genealogy ----------------------------------------------------------------------------------


def _neighbour_json(n: genealogy.Neighbour) -> dict[str, object]:
    return {
        "lot": n.lot_code,
        "product": n.product_code,
        "quality_status": n.quality_status,
        "expiry_date": n.expiry_date.isoformat(),
        "qty": str(n.qty),
        "unit": n.unit,
        "transformation": n.transformation_number,
        "kind": n.transformation_kind,
        "occurred_at": n.occurred_at.isoformat(),
    }


def _neighbours_table(title: str, rows: Sequence[genealogy.Neighbour], chinese: bool) -> Table:
    table = Table(
        t("lot"),
        t("product"),
        t("name"),
        t("status"),
        t("expiry"),
        t("quantity"),
        t("transformation"),
        t("kind"),
        t("when"),
        title=title,
    )
    for n in rows:
        table.add_row(
            *map(cell, (n.lot_code, n.product_code, n.product_name_zh if chinese else n.product_name_en)),
            *map(cell, (n.quality_status, n.expiry_date.isoformat(), _quantity(n.qty, n.unit))),
            *map(cell, (n.transformation_number, _said(KIND_TEXT, n.transformation_kind), n.occurred_at)),
        )
    return table


@app.command("genealogy")
@reports_errors
def genealogy_of(
    lot_code: str = typer.Argument(..., help="Lot code"),
    product: str | None = typer.Option(
        None, "--product", help="Product code, where the lot code is not unique"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """What a lot was made from and what it went into, one step each way."""
    db = open_db()
    with db.transaction(read_only=True) as uow:
        lot, product_code = lot_by_code(uow, lot_code, product)
        upstream = genealogy.made_from(uow, lot_id=lot.id)
        downstream = genealogy.used_in(uow, lot_id=lot.id)
    if as_json:
        print_json(
            {
                "lot": lot.code,
                "product": product_code,
                "made_from": [_neighbour_json(n) for n in upstream],
                "used_in": [_neighbour_json(n) for n in downstream],
            }
        )
        return
    chinese = normalize(settings().default_language) == "zh_CN"
    console.print(_neighbours_table(t("lot {code}: made from", code=lot.code), upstream, chinese))
    console.print(_neighbours_table(t("lot {code}: used in", code=lot.code), downstream, chinese))
