"""One error hierarchy for lotline, with stable codes and translatable messages.

A message is an English gettext msgid with ``{placeholders}``; the interface translates it
for the reader and fills the placeholders from ``params``. HTTP status codes live in the API
layer (``lotline.api.problems``), keyed by ``kind``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

# Turns a msgid into the reader's language.
Translate = Callable[[str], str]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a msgid for extraction without translating it here."""
    return message


class ErrorKind(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"


class LotlineError(Exception):
    """Base of every error lotline reports to a user."""

    kind: ClassVar[ErrorKind] = ErrorKind.INVALID
    code: ClassVar[str] = "error"
    message: ClassVar[str] = N_("The request could not be completed.")
    translated_params: ClassVar[tuple[str, ...]] = ()  # params that are msgids themselves
    reason_codes: ClassVar[str | None] = None  # a param of reason codes that fills {reasons} in words

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        code: str | None = None,
        **params: object,
    ) -> None:
        self.msgid = message or self.message
        self.field = field
        self.params = params
        if code is not None:
            self.code = code  # type: ignore[misc]  # a finer code on one instance
        super().__init__(self.render(lambda text: text))

    def details(self) -> dict[str, object]:
        """Machine-readable extras for the problem document (e.g. every reason a move was refused)."""
        return {}

    def render(self, translate: Translate) -> str:
        """The message in the reader's language, placeholders filled.

        ``field`` fills ``{field}``; an ``entity`` parameter is itself a msgid (``N_("site")``)
        and is translated too, so "site 3 was not found" reads naturally in Chinese.
        """
        template = translate(self.msgid)
        try:
            return template.format(**self.values(translate))
        except (KeyError, IndexError, ValueError):
            return template

    def values(self, translate: Translate) -> dict[str, object]:
        """The placeholders' values in the reader's language."""
        values: dict[str, object] = {"field": self.field, **self.params}
        for name, value in values.items():
            if isinstance(value, Decimal) and value.is_finite():  # 20, never 2E+1
                values[name] = format(value.normalize(), "f")
        for name in ("entity", *self.translated_params):
            value = values.get(name)
            if isinstance(value, str):
                values[name] = translate(value)
        codes = values.get(self.reason_codes) if self.reason_codes else None
        if isinstance(codes, tuple | list) and codes:
            from lotline.domain.reason_text import reasons_text  # the table's msgids use N_ from here

            values["reasons"] = reasons_text(translate, codes)
        return values


class InvalidInput(LotlineError):
    kind = ErrorKind.INVALID
    code = "invalid"
    message = N_("The value of {field} is not valid.")


class NotFound(LotlineError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"
    message = N_("{entity} {key} was not found.")


class Conflict(LotlineError):
    kind = ErrorKind.CONFLICT
    code = "conflict"
    message = N_("The request conflicts with the current state.")


class AlreadyExists(Conflict):
    code = "already_exists"
    message = N_("{entity} {key} already exists.")


class AuthenticationRequired(LotlineError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "auth.required"
    message = N_("Sign in or send a valid API token.")


class AuthenticationFailed(LotlineError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "auth.failed"
    message = N_("Wrong user name or password.")


class LoginThrottled(LotlineError):
    kind = ErrorKind.THROTTLED
    code = "auth.throttled"
    message = N_("Too many failed sign-in attempts. Try again in {minutes} minutes.")


class PermissionDenied(LotlineError):
    kind = ErrorKind.FORBIDDEN
    code = "auth.forbidden"
    message = N_("You do not have the permission {permission}.")


class CsrfRejected(LotlineError):
    kind = ErrorKind.FORBIDDEN
    code = "auth.csrf"
    message = N_("The form has expired or did not come from lotline. Reload the page and try again.")


class ReasonRequired(InvalidInput):
    code = "audit.reason_required"
    message = N_("A reason is required to change {fields}.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency.key_reused"
    message = N_("This Idempotency-Key was already used with a different request.")


class IdempotencyInProgress(Conflict):
    code = "idempotency.in_progress"
    message = N_("A request with this Idempotency-Key is still being processed.")


class CommitFailed(LotlineError):
    kind = ErrorKind.UNAVAILABLE
    code = "db.commit_failed"
    message = N_("The change could not be saved. Nothing was written; please try again.")
