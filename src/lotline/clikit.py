"""What every ``lotline`` command shares: consoles, translation, the database, error reporting."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lotline.config import Settings, get_settings
from lotline.domain.errors import LotlineError
from lotline.i18n import gettext_for
from lotline.uow import Actor, Database

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
            message = escape(f"{error.render(_)} [{error.code}]")
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
