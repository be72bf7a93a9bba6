"""The ``lotline`` command line. Each command owns its transaction, like a request does."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from lotline.catalog.cli import lot_type_app, product_app, storage_condition_app, unit_app
from lotline.clikit import (
    cli_actor,
    console,
    errors,
    open_db,
    reports_errors,
    seal,
    settings,
    t,
)
from lotline.domain.errors import N_, LotlineError, NotFound
from lotline.i18n import gettext_for
from lotline.inbound.cli import app as receive_app
from lotline.lots.cli import app as lot_app
from lotline.outbound.fulfil_cli import app as order_app
from lotline.places.cli import location_app, partner_app
from lotline.production.cli import app as production_app
from lotline.quality.cli import app as quality_app
from lotline.recall.cli import app as recall_app
from lotline.stock.cli import app as stock_app
from lotline.trace.cli import trace as trace_command
from lotline.trace.fsma_cli import app as fsma_app
from lotline.uow import Actor

app = typer.Typer(
    help="lotline — batch (lot) and expiry management (批次效期管理)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
config_app = typer.Typer(help="Configuration", no_args_is_help=True)
user_app = typer.Typer(help="Users and role grants", no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
site_app = typer.Typer(help="Sites", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trail", no_args_is_help=True)
for sub, name in (
    (lot_app, "lot"),
    (stock_app, "stock"),
    (receive_app, "receipt"),
    (quality_app, "quality"),
    (order_app, "order"),
    (production_app, "production"),
    (recall_app, "recall"),
    (fsma_app, "fsma"),
    (product_app, "product"),
    (lot_type_app, "lot-type"),
    (storage_condition_app, "storage-condition"),
    (unit_app, "unit"),
    (location_app, "location"),
    (partner_app, "partner"),
    (db_app, "db"),
    (config_app, "config"),
    (user_app, "user"),
    (token_app, "token"),
    (site_app, "site"),
    (audit_app, "audit"),
):
    app.add_typer(sub, name=name)
app.command("trace")(trace_command)


# --- db ------------------------------------------------------------------------------------


@db_app.command("upgrade")
@reports_errors
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from lotline import migrate

    db = open_db()
    migrate.upgrade(db.engine, revision)
    console.print(
        t(
            "database at revision {revision} ({backend})",
            revision=migrate.current_revision(db.engine),
            backend=db.backend,
        )
    )


@db_app.command("current")
@reports_errors
def db_current() -> None:
    """Show the database's migration revision and the newest one available."""
    from lotline import migrate

    db = open_db()
    console.print(
        t(
            "current: {current}  head: {head}",
            current=migrate.current_revision(db.engine),
            head=migrate.head_revision(),
        )
    )


# --- config --------------------------------------------------------------------------------


@config_app.command("show")
@reports_errors
def config_show(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Show the effective configuration, secrets masked."""
    shown = settings().masked()
    if as_json:
        console.print_json(json.dumps(shown, default=str))
        return
    table = Table(t("setting"), t("value"), title=t("lotline configuration"))
    for name, value in shown.items():
        table.add_row(f"LOTLINE_{name.upper()}", str(value))
    console.print(table)


# --- sites ---------------------------------------------------------------------------------


@site_app.command("create")
@reports_errors
def site_create(
    code: str,
    name_zh: str = typer.Option(..., "--name-zh"),
    name_en: str = typer.Option(..., "--name-en"),
    time_zone: str = typer.Option("Asia/Shanghai", "--time-zone"),
) -> None:
    """Register a site."""
    from lotline.sites import service

    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        site = service.create_site(uow, code=code, name_zh=name_zh, name_en=name_en, time_zone=time_zone)
        site_id, stored_code = site.id, site.code
    seal(db)
    console.print(t("site {code} created (id {id})", code=stored_code, id=site_id))


# --- users and tokens ----------------------------------------------------------------------


def _site_id(uow: Any, code: str | None) -> int | None:
    from sqlalchemy import select

    from lotline.models.site import Site

    if code is None:
        return None
    site_id = uow.session.execute(select(Site.id).where(Site.code == code.upper())).scalar()
    if site_id is None:
        raise NotFound(entity=N_("site"), key=code, field="site")
    return int(site_id)


@user_app.command("create")
@reports_errors
def user_create(
    username: str,
    display_name: str = typer.Option(..., "--name", help="Printed name shown on signatures"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    role: list[str] = typer.Option([], "--role", help="Role to grant (repeatable)"),
    site: str | None = typer.Option(None, "--site", help="Site code for the roles; omit for every site"),
    language: str | None = typer.Option(None, "--language"),
    email: str | None = typer.Option(None, "--email"),
) -> None:
    """Create a user and grant roles."""
    from lotline.auth import service

    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        user = service.create_user(
            uow,
            username=username,
            display_name=display_name,
            password=password,
            language=language,
            email=email,
        )
        site_id = _site_id(uow, site)
        for name in role:
            service.grant_role(
                uow, user_id=user.id, role=name, site_id=site_id, reason="created from the CLI"
            )
        user_id = user.id
    seal(db)
    console.print(
        t(
            "user {username} created (id {id}), roles: {roles}",
            username=username,
            id=user_id,
            roles=", ".join(role) or "-",
        )
    )


@user_app.command("grant")
@reports_errors
def user_grant(
    username: str,
    role: str = typer.Option(..., "--role"),
    site: str | None = typer.Option(None, "--site"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Grant a role to an existing user."""
    from lotline.auth import service

    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        user = service.get_user_by_name(uow, username=username)
        service.grant_role(uow, user_id=user.id, role=role, site_id=_site_id(uow, site), reason=reason)
    seal(db)
    console.print(
        t("{username}: granted {role} at {site}", username=username, role=role, site=site or t("every site"))
    )


@token_app.command("create")
@reports_errors
def token_create(
    username: str = typer.Option(..., "--user"),
    name: str = typer.Option(..., "--name"),
    scope: list[str] = typer.Option([], "--scope", help="Permission (repeatable); default all the user's"),
    days: int = typer.Option(90, "--days"),
) -> None:
    """Issue an API token; the secret is printed once."""
    from lotline.auth import service

    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        user = service.get_user_by_name(uow, username=username, field="user")
        secret, token = service.create_token(uow, user_id=user.id, name=name, scopes=scope or None, days=days)
        expires, token_id = token.expires_at, token.id
    seal(db)
    errors.print(
        t(
            "token {id} for {username} expires {date}; store it now, it is not shown again:",
            id=token_id,
            username=username,
            date=f"{expires:%Y-%m-%d}",
        )
    )
    console.print(secret, highlight=False)


@token_app.command("list")
@reports_errors
def token_list(username: str | None = typer.Option(None, "--user", help="Only this user's tokens")) -> None:
    """List tokens (never their secrets)."""
    from lotline.auth import service

    db = open_db()
    table = Table("id", t("user"), t("name"), t("prefix"), t("expires"), t("revoked"), title=t("API tokens"))
    with db.transaction(read_only=True) as uow:
        user_id = None
        if username is not None:
            user_id = service.get_user_by_name(uow, username=username, field="user").id
        cursor = None
        while True:
            page = service.list_tokens(uow, user_id=user_id, cursor=cursor, limit=500)
            for token in page.items:
                revoked = f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "-"
                table.add_row(
                    str(token.id),
                    str(token.user_id),
                    token.name,
                    token.prefix + "…",
                    f"{token.expires_at:%Y-%m-%d}",
                    revoked,
                )
            cursor = page.next_cursor
            if cursor is None:
                break
    console.print(table)


@token_app.command("revoke")
@reports_errors
def token_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    from lotline.auth import service

    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        service.revoke_token(uow, token_id=token_id)
    seal(db)
    console.print(t("token {id} revoked", id=token_id))


# --- audit ---------------------------------------------------------------------------------


@audit_app.command("verify")
@reports_errors
def audit_verify(
    expect_head: str | None = typer.Option(
        None, "--expect-head", help="SEQ:LINK recorded earlier by `audit head`"
    ),
    seal_first: bool = typer.Option(True, "--seal/--no-seal", help="Seal pending records first"),
) -> None:
    """Walk the audit chain; exit 1 naming the first broken record."""
    from lotline.audit.verify import verify_chain

    db = open_db()
    if seal_first:
        seal(db)
    anchor = None
    if expect_head:
        seq, _, link = expect_head.partition(":")
        if not seq.isdigit() or len(link) != 64:
            raise LotlineError(
                N_("--expect-head takes SEQ:LINK as printed by `lotline audit head`."),
                field="expect-head",
                code="audit.bad_anchor",
            )
        anchor = (int(seq), link)
    with db.transaction(read_only=True) as uow:
        report = verify_chain(uow, expect_head=anchor)
    if report.ok:
        message = t(
            "audit chain verified: {links} links, head {head}, {pending} pending",
            links=report.links,
            head=f"{report.head_seq}:{report.head_link}",
            pending=report.pending,
        )
        console.print(message, highlight=False)
        return
    _ = gettext_for(settings().default_language)
    first = report.breaks[0]
    broken_at = _("Audit chain BROKEN at")
    errors.print(f"[red]{escape(broken_at)}[/red] {escape(first.describe(_))}", highlight=False)
    for other in report.breaks[1:10]:
        errors.print(f"  {escape(other.describe(_))}", highlight=False)
    raise typer.Exit(code=1)


@audit_app.command("head")
@reports_errors
def audit_head() -> None:
    """Print the chain head as SEQ:LINK, to keep outside the database."""
    from lotline.audit.sealer import chain_head

    db = open_db()
    seal(db)
    with db.transaction(read_only=True) as uow:
        seq, link = chain_head(uow.session)
    console.print(f"{seq}:{link}", highlight=False)


@audit_app.command("seal")
@reports_errors
def audit_seal() -> None:
    """Seal pending audit records into the chain now."""
    from lotline.audit.sealer import seal_pending

    outcome = seal_pending(open_db())
    console.print(
        t("sealed {sealed}; refused {refused}", sealed=outcome.sealed, refused=len(outcome.rejected))
    )
    if outcome.rejected:
        raise typer.Exit(code=1)


# --- demo and server -----------------------------------------------------------------------


@app.command("demo")
@reports_errors
def demo() -> None:
    """Load the demo company (idempotent) and print the logins."""
    from lotline import demo as demo_data

    db = open_db()
    with db.transaction(actor=Actor(kind="system", user_id=None, name="demo loader")) as uow:
        people = demo_data.load(uow)
    seal(db)
    table = Table(t("user"), t("password"), t("role"), t("site"), title=t("demo logins"))
    for person in people:
        table.add_row(person.username, demo_data.DEMO_PASSWORD, person.role, person.site_code or t("all"))
    console.print(table)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
) -> None:
    """Run the web server."""
    import uvicorn

    from lotline.app import create_app

    weak = settings().development_secrets()
    if weak and host not in ("127.0.0.1", "localhost", "::1"):
        refusal = t(
            "refusing to serve on {host}: {names} still at the development default.",
            host=host,
            names=", ".join(weak),
        )
        errors.print(f"[red]{escape(refusal)}[/red]")
        raise typer.Exit(code=1)
    if weak:
        warning = t(
            "{names} at the development default: fine for the demo, not for data.", names=", ".join(weak)
        )
        errors.print(f"[yellow]{escape(warning)}[/yellow]")
    console.print(t("lotline serving on {url}  (API docs: {url}docs)", url=f"http://{host}:{port}/"))
    uvicorn.run(create_app(), host=host, port=port, log_level="info")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="lotline")


if __name__ == "__main__":
    main()
