"""Server-rendered pages: sign-in, sign-out, language switch and the start page.

The full shell (navigation, lots, boards) comes with the web UI issue; these pages carry
the conventions it builds on: per-request translations passed into the template context
(never installed globally), CSRF on every form, the session cookie set HttpOnly.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from lotline import __version__
from lotline.api.deps import SESSION_COOKIE
from lotline.auth import service as auth
from lotline.auth.api import set_session_cookie, sign_in
from lotline.domain.errors import AuthenticationRequired, LotlineError
from lotline.i18n import gettext_for, normalize

LANGUAGE_COOKIE = "lotline_lang"
CSRF_COOKIE = "lotline_csrf"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

router = APIRouter(include_in_schema=False)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with this request's language and a CSRF token for its forms."""
    language = getattr(request.state, "language", "en")
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "_": gettext_for(language),
            "language": language,
            "csrf_token": csrf,
            "version": __version__,
            **context,
        },
        status_code=status_code,
    )
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.cookie_secure,
            path="/",
        )
    return response


def csrf_ok(request: Request, sent: str) -> bool:
    """Double-submit check: the form's token equals the cookie set when the form was shown."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def _current_user(request: Request) -> Any:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    db = request.app.state.db
    with db.transaction(read_only=True, clock=request.app.state.clock) as uow:
        try:
            principal, _session = auth.session_principal(uow, secret=secret)
        except AuthenticationRequired:
            return None
        return principal


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    principal = await run_in_threadpool(_current_user, request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", user=principal)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return render(request, "login.html", error=None, username="")


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    username: str = Form(default=""),
    password: str = Form(default=""),
    csrf_token: str = Form(default=""),
) -> Response:
    _ = gettext_for(getattr(request.state, "language", "en"))
    if not csrf_ok(request, csrf_token):
        return render(
            request,
            "login.html",
            status_code=403,
            username=username,
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
        return render(request, "login.html", status_code=status, username=username, error=error.render(_))
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, secret, max_age)
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: str = Form(default="")) -> Response:
    if not csrf_ok(request, csrf_token):
        return RedirectResponse("/", status_code=303)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        db = request.app.state.db

        def end() -> None:
            with db.transaction(request_id=request.state.request_id, clock=request.app.state.clock) as uow:
                auth.end_session(uow, secret=secret)

        await run_in_threadpool(end)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{language}")
async def switch_language(request: Request, language: str) -> Response:
    chosen = normalize(language) or "en"
    back = request.headers.get("referer") or "/"
    if not back.startswith(str(request.base_url)):
        back = "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
    return response
