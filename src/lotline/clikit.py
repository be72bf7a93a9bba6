"""What every ``lotline`` command shares: consoles, translation, the database, error reporting."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lotline.auth import service as auth
from lotline.config import Settings, get_settings
from lotline.domain.errors import LoginThrottled, LotlineError, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.i18n import gettext_for
from lotline.signatures import service as signatures
from lotline.uow import Actor, Database, UnitOfWork

console = Console()
errors = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def t(message: str, **params: object) -> str:
    """``message`` in the operator's language (LOTLINE_DEFAULT_LANGUAGE), placeholders filled."""
    return gettext_for(settings().default_language)(message).format(**params)


def cli_actor() -> Actor:
    """The operator at the console, as the audit trail names them."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(kind="system", user_id=None, name=f"cli:{who}")


def settings() -> Settings:
    return get_settings()


_opened: list[Database] = []


def open_db() -> Database:
    """The database for this command; its engine is disposed when the command ends."""
    db = Database(settings())
    _opened.append(db)
    return db


def reports_errors(command: F) -> F:
    """Print a lotline error in the operator's language and exit non-zero; write nothing.

    Also closes the command's database connections however it ends.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LotlineError as error:
            _ = gettext_for(settings().default_language)
            label = _("Error")
            field = f" ({error.field})" if error.field else ""
            # The sentence in words; the stable codes after it, for the record and for support.
            details = error.details()
            codes = details.get("blocked_by") or details.get("reasons")
            listed = f": {', '.join(map(str, codes))}" if isinstance(codes, list) and codes else ""
            message = escape(f"{error.render(_)} [{error.code}{listed}]")
            errors.print(f"[red]{escape(label + field)}:[/red] {message}", highlight=False)
            raise typer.Exit(code=1) from None
        finally:
            while _opened:
                _opened.pop().dispose()

    return wrapper  # type: ignore[return-value]


def seal(db: Database) -> None:
    """Seal what the command wrote into the audit chain before it exits."""
    from lotline.audit.sealer import seal_pending

    seal_pending(db)


def console_signer(uow: UnitOfWork, username: str, permission: Permission, site_id: int) -> Principal:
    """The person named by ``--user``, who must hold ``permission`` at the site; acts from now on."""
    principal = auth.principal_for(auth.get_user_by_name(uow, username=username, field="user"))
    if not principal.can(permission, site_id):
        raise PermissionDenied(permission=permission.value, field="user")
    uow.act_as(principal)
    return principal


def sign_at_console(
    uow: UnitOfWork,
    principal: Principal,
    password: str,
    meaning: Meaning,
    record_type: str,
    record_id: object,
) -> str:
    """Re-authenticate the signer at the console (both components, every time) for one record.

    A refused password is committed before the error is raised, so the failed attempt stays in
    the audit trail: call this before anything else is written in the transaction.
    """
    try:
        secret, _grant = signatures.authorize_signing(
            uow,
            principal=principal,
            web_session=None,
            username=principal.username,
            password=password,
            meaning=meaning,
            record_type=record_type,
            record_id=str(record_id),
            client_ip=None,
        )
    except (signatures.SignatureRejected, LoginThrottled):
        uow.commit()  # nothing else happened yet: keep the failed attempt on record
        raise
    return secret
