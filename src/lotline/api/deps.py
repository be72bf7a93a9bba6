"""Request-scoped dependencies: the unit of work, the principal and permission checks."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, Request

from lotline.auth import service as auth
from lotline.domain.errors import AuthenticationRequired, CsrfRejected, LotlineError, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.uow import UnitOfWork

SESSION_COOKIE = "lotline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_uow(request: Request) -> UnitOfWork:
    """The request's unit of work; the route wrapper commits or rolls it back."""
    uow: UnitOfWork | None = getattr(request.state, "uow", None)
    if uow is None:
        state = request.app.state
        uow = state.db.unit_of_work(
            request_id=getattr(request.state, "request_id", None),
            clock=state.clock,
            read_only=request.method in SAFE_METHODS,
        )
        request.state.uow = uow
    return uow


def resolve_principal(request: Request, uow: UnitOfWork) -> Principal | None:
    """Who sent the request (bearer token, else session cookie), or None; cached per request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    try:
        if header.lower().startswith("bearer "):
            principal = auth.token_principal(uow, secret=header[7:].strip())
        elif cookie := request.cookies.get(SESSION_COOKIE):
            principal, session = auth.session_principal(uow, secret=cookie)
            request.state.csrf_token = session.csrf_token
            request.state.web_session = session
            if request.method not in SAFE_METHODS:
                # API clients send the header; the web's forms carry the token as a field,
                # which the web route class reads before the dependencies run.
                sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf", None) or ""
                if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                    request.state.principal_error = CsrfRejected(field=CSRF_HEADER)
                    principal = None
    except AuthenticationRequired:
        principal = None
    request.state.principal = principal
    if principal is not None:
        uow.act_as(principal)
        # The user's own setting, unless they switched language in the page header just now.
        if principal.language and not getattr(request.state, "language_chosen", False):
            request.state.language = principal.language
    return principal


def current_principal(request: Request, uow: UnitOfWork = Depends(get_uow)) -> Principal:
    """The signed-in principal; 401 when there is none."""
    principal = resolve_principal(request, uow)
    if principal is None:
        error: LotlineError = getattr(request.state, "principal_error", None) or AuthenticationRequired()
        raise error
    return principal


class Requires:
    """Dependency: the principal must hold ``permission`` (at some site; services narrow it)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.can(self.permission):
            raise PermissionDenied(permission=self.permission.value)
        return principal

    def __repr__(self) -> str:
        return f"Requires({self.permission.value})"


class Public:
    """Dependency marking a route anyone may call (sign-in, health)."""

    def __call__(self) -> None:
        return None


PUBLIC = Public()


def requires(permission: Permission) -> Any:
    """``principal: Principal = requires(Permission.X)`` — declare a route's permission."""
    return Depends(Requires(permission))


def public() -> Any:
    """``dependencies=[public()]`` — declare that a route needs no sign-in."""
    return Depends(PUBLIC)


class Authenticated:
    """Dependency: any signed-in principal (their own profile, their own tokens)."""

    def __call__(self, principal: Principal = Depends(current_principal)) -> Principal:
        return principal


AUTHENTICATED = Authenticated()


def authenticated() -> Any:
    """``principal: Principal = authenticated()`` — any signed-in user or token."""
    return Depends(AUTHENTICATED)
