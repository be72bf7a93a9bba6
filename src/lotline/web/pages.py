"""Sign-in, sign-out and the language switch.

Before sign-in there is no session, so the sign-in form is protected by a double-submit
cookie; every form after sign-in carries the session's own CSRF token (see ``routing``).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from lotline.api.deps import SESSION_COOKIE, authenticated, get_uow
from lotline.auth import service as auth
from lotline.auth.api import set_session_cookie, sign_in
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Principal
from lotline.i18n import gettext_for, normalize
from lotline.uow import UnitOfWork
from lotline.web.routing import WebRoute
from lotline.web.shell import CSRF_COOKIE, LANGUAGE_COOKIE, render, safe_next

__all__ = ["LANGUAGE_COOKIE", "router"]

router = APIRouter(include_in_schema=False)
signed_in = APIRouter(route_class=WebRoute, include_in_schema=False)


def csrf_ok(request: Request, sent: str) -> bool:
    """Double-submit check: the form's token equals the cookie set when the form was shown."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next_url: str = Query(default="/", alias="next")) -> Response:
    return render(request, "login.html", error=None, username="", next=safe_next(next_url))


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    username: str = Form(default=""),
    password: str = Form(default=""),
    csrf_token: str = Form(default=""),
    next_url: str = Form(default="/", alias="next"),
) -> Response:
    _ = gettext_for(getattr(request.state, "language", "en"))
    target = safe_next(next_url)
    if not csrf_ok(request, csrf_token):
        return render(
            request,
            "login.html",
            status_code=403,
            username=username,
            next=target,
            error=_("The form has expired or did not come from lotline. Reload the page and try again."),
        )
    ip = request.client.host if request.client else None
    db = request.app.state.db

    def attempt() -> tuple[str, int]:
        with db.transaction(request_id=request.state.request_id, clock=request.app.state.clock) as uow:
            secret, _session = sign_in(uow, username=username, password=password, ip=ip)
            return secret, uow.settings.session_hours * 3600

    try:
        secret, max_age = await run_in_threadpool(attempt)
    except LotlineError as error:
        status = 429 if error.code == "auth.throttled" else 401
        return render(
            request, "login.html", status_code=status, username=username, next=target, error=error.render(_)
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, secret, max_age)
    return response


@signed_in.post("/logout")
def logout(
    request: Request, principal: Principal = authenticated(), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        auth.end_session(uow, secret=secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{language}")
async def switch_language(request: Request, language: str) -> Response:
    """Switch the page language (remembered in a cookie, ahead of the user's own setting)."""
    chosen = normalize(language) or "en"
    back = request.headers.get("referer") or "/"
    if not back.startswith(str(request.base_url)):
        back = "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
    return response


router.include_router(signed_in)
