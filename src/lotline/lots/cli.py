"""``lotline lot …``: find lots, hold them, lift holds and re-date — signing at the prompt."""

from __future__ import annotations

from datetime import date

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
from lotline.domain.errors import N_, NotFound
from lotline.domain.expiry import RedateKind
from lotline.domain.permissions import Permission
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType, QualityStatus
from lotline.lots import decisions, queries, service
from lotline.models.catalog import Product
from lotline.models.lot import Hold, Lot
from lotline.models.site import Site
from lotline.uow import UnitOfWork

app = typer.Typer(help="Lots: list, show, hold, lift a hold, re-date", no_args_is_help=True)


def _lot_by_code(uow: UnitOfWork, code: str) -> Lot:
    found = list(uow.session.execute(select(Lot).where(Lot.code == code).limit(2)).scalars())
    if len(found) != 1:
        raise NotFound(entity=N_("lot"), key=code, field="lot")
    return found[0]


@app.command("list")
@reports_errors
def list_lots(
    product: str | None = typer.Option(None, "--product", help="Product code"),
    site: str | None = typer.Option(None, "--site", help="Site code"),
    status: QualityStatus | None = typer.Option(None, "--status"),
    on_hold: bool | None = typer.Option(None, "--on-hold/--not-on-hold"),
    hold_type: HoldType | None = typer.Option(None, "--hold-type"),
    expiring_within: int | None = typer.Option(
        None, "--expiring-within", min=0, max=3650, help="Days, counted from each site's local date"
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
) -> None:
    """Lots, oldest first, with their product, site, status, expiry and active holds."""
    db = open_db()
    table = Table(t("lot"), t("product"), t("site"), t("status"), t("expiry"), t("holds"), title=t("lots"))
    with db.transaction(read_only=True) as uow:
        product_id = _id_by_code(uow, Product, product, N_("product"), "product") if product else None
        site_id = _id_by_code(uow, Site, site, N_("site"), "site") if site else None
        expiry = None
        if expiring_within is not None:
            todays = queries.site_todays(uow, None, uow.now())
            expiry = queries.ExpiryWindow(low=None, high=expiring_within, today_by_site=todays)
        criteria = queries.LotFilter(
            product_id=product_id,
            site_id=site_id,
            quality_status=status.value if status else None,
            on_hold=on_hold,
            hold_type=hold_type.value if hold_type else None,
            expiry=expiry,
        )
        page = queries.list_lots(uow, criteria=criteria, cursor=None, limit=limit)
        # One lookup each for the whole page, not one per row.
        product_codes = dict(
            uow.session.execute(
                select(Product.id, Product.code).where(Product.id.in_({lot.product_id for lot in page.items}))
            )
            .tuples()
            .all()
        )
        site_codes = dict(uow.session.execute(select(Site.id, Site.code)).tuples().all())
        holds = queries.active_holds_of(uow, [lot.id for lot in page.items])
        for lot in page.items:
            table.add_row(
                lot.code,
                product_codes[lot.product_id],
                site_codes[lot.site_id],
                lot.quality_status,
                lot.expiry_date.isoformat(),
                ", ".join(h.hold_type for h in holds[lot.id]),
            )
    console.print(table)


def _id_by_code(
    uow: UnitOfWork, model: type[Product] | type[Site], code: str, entity: str, field: str
) -> int:
    """The id of the product or site with ``code``; ``entity`` is its translatable name."""
    found = uow.session.execute(select(model.id).where(model.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(entity=entity, key=code, field=field)
    return int(found)


@app.command("hold")
@reports_errors
def hold(
    code: str,
    hold_type: HoldType = typer.Option(..., "--type"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Put a typed hold on a lot."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        placed = service.place_hold(
            uow, lot_id=_lot_by_code(uow, code).id, hold_type=hold_type, reason=reason
        )
        hold_id = placed.id
    seal(db)
    console.print(t("hold {id} placed on lot {code}", id=hold_id, code=code))


@app.command("lift-hold")
@reports_errors
def lift_hold(
    hold_id: int,
    reason: str = typer.Option(..., "--reason"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Lift one hold; the signer types their password."""
    db = open_db()
    with db.transaction() as uow:
        found = uow.session.get(Hold, hold_id)
        if found is None:
            raise NotFound(entity=N_("active hold"), key=hold_id, field="hold_id")
        principal = console_signer(uow, username, Permission.HOLD_LIFT, found.site_id)
        secret = sign_at_console(uow, principal, password, Meaning.LIFT_HOLD, "hold", hold_id)
        service.lift_hold(uow, hold_id=hold_id, reason=reason, principal=principal, signing_grant=secret)
    seal(db)
    console.print(t("hold {id} lifted", id=hold_id))


@app.command("redate")
@reports_errors
def redate(
    code: str,
    new_expiry: str = typer.Option(..., "--to", help="YYYY-MM-DD, the new last day of use"),
    kind: RedateKind = typer.Option(..., "--kind"),
    reason: str = typer.Option(..., "--reason"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Move a lot's expiry; the signer types their password."""
    db = open_db()
    with db.transaction() as uow:
        lot = _lot_by_code(uow, code)
        principal = console_signer(uow, username, Permission.QUALITY_DECIDE, lot.site_id)
        secret = sign_at_console(uow, principal, password, Meaning.REDATE, "lot", lot.id)
        service.redate_lot(
            uow,
            lot_id=lot.id,
            new_expiry=date.fromisoformat(new_expiry),
            kind=kind,
            reason=reason,
            principal=principal,
            signing_grant=secret,
        )
    seal(db)
    console.print(t("lot {code} now expires {date}", code=code, date=new_expiry))


def _decide(
    code: str, decision: QualityStatus, reason: str, username: str, password: str, cite: list[int]
) -> None:
    db = open_db()
    with db.transaction() as uow:
        lot = _lot_by_code(uow, code)
        principal = console_signer(uow, username, Permission.QUALITY_DECIDE, lot.site_id)
        secret = sign_at_console(uow, principal, password, decisions.MEANINGS[decision], "lot", lot.id)
        decisions.decide(
            uow,
            lot_id=lot.id,
            decision=decision,
            reason=reason,
            principal=principal,
            signing_grant=secret,
            inspection_ids=tuple(cite),
        )
    seal(db)


@app.command("release")
@reports_errors
def release(
    code: str,
    reason: str = typer.Option(..., "--reason"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    cite: list[int] = typer.Option([], "--cite", help="An inspection record it rests on (repeatable)"),
) -> None:
    """Release a lot (QA decision, signed); the signer types their password."""
    _decide(code, QualityStatus.RELEASED, reason, username, password, cite)
    console.print(t("lot {code} released", code=code))


@app.command("reject")
@reports_errors
def reject(
    code: str,
    reason: str = typer.Option(..., "--reason"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    cite: list[int] = typer.Option([], "--cite", help="An inspection record it rests on (repeatable)"),
) -> None:
    """Reject a lot (QA decision, signed); the signer types their password."""
    _decide(code, QualityStatus.REJECTED, reason, username, password, cite)
    console.print(t("lot {code} rejected", code=code))
