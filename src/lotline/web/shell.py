"""The page shell: rendering with per-request translations, locale formatting, navigation, flash.

Every page goes through :func:`render`. Translations are passed in the template context (never
installed on the environment, which is shared by all requests); dates and times are shown in the
time zone of the site they belong to and formatted for the reader's locale by Babel.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from lotline import __version__
from lotline.domain.errors import N_
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.web import labels

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(labels.ALL)
# Every rendered form carries a fresh key: sent twice, it is carried out once (see WebRoute).
FORM_KEY_FIELD = "idempotency_key"
TEMPLATES.env.globals["form_key"] = lambda: uuid.uuid4().hex
LANGUAGE_COOKIE = "lotline_lang"
CSRF_COOKIE = "lotline_csrf"
FLASH_COOKIE = "lotline_flash"

_LOCALES = {"zh_CN": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en")}


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    label: str  # a msgid
    permissions: tuple[Permission, ...]  # any one of them shows the item


NAVIGATION = (
    NavItem("home", "/", N_("Overview"), ()),
    NavItem("lots", "/lots", N_("Lots"), (Permission.LOT_READ,)),
    NavItem("expiring", "/expiring", N_("Expiring soon"), (Permission.LOT_READ,)),
    NavItem("holds", "/holds", N_("Holds"), (Permission.LOT_READ,)),
    NavItem("receiving", "/receipts", N_("Receiving"), (Permission.STOCK_MOVE,)),
    NavItem("stock", "/stock", N_("Stock"), (Permission.STOCK_READ,)),
    NavItem("quality", "/quality", N_("Quality"), (Permission.QUALITY_READ,)),
    NavItem("orders", "/orders", N_("Orders"), (Permission.ORDER_READ,)),
    NavItem("production", "/production/orders", N_("Production"), (Permission.PRODUCTION_READ,)),
    NavItem("recalls", "/recalls", N_("Recalls"), (Permission.TRACE_READ,)),
    NavItem(
        "admin",
        "/admin",
        N_("Administration"),
        (Permission.MASTER_WRITE, Permission.USER_WRITE, Permission.SITE_WRITE),
    ),
)


def navigation(principal: Principal | None) -> list[NavItem]:
    """The entries this principal may open; nothing before sign-in."""
    if principal is None:
        return []
    return [item for item in NAVIGATION if not item.permissions or any(map(principal.can, item.permissions))]


class Formatter:
    """Locale-aware formatting of the values pages show (Babel; CLDR data)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = _LOCALES.get(language, _LOCALES["en"])

    def date(self, value: date | None) -> str:
        return format_date(value, format="medium", locale=self.locale) if value else "—"

    def datetime(self, value: datetime | None, zone: str | None = None) -> str:
        """An instant in ``zone`` (a site's time zone), with the zone's name beside it."""
        if value is None:
            return "—"
        tz = ZoneInfo(zone or "UTC")
        text = format_datetime(value, format="medium", tzinfo=tz, locale=self.locale)
        return f"{text} {value.astimezone(tz).tzname()}"

    def number(self, value: Decimal | int | None) -> str:
        return format_decimal(value, locale=self.locale) if value is not None else "—"

    def percent(self, value: Decimal | float | None) -> str:
        return format_percent(value, locale=self.locale) if value is not None else "—"

    def name(self, item: Any) -> str:
        """The zh or en name of a master-data row, falling back to the other language."""
        if item is None:
            return "—"
        zh, en = getattr(item, "name_zh", None), getattr(item, "name_en", None)
        first, second = (zh, en) if self.language == "zh_CN" else (en, zh)
        return str(first or second or getattr(item, "code", ""))


def set_flash(response: Response, message: str, kind: str = "ok") -> None:
    """Show ``message`` (already translated) on the next page the browser opens."""
    payload = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": message}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, payload, max_age=60, httponly=True, samesite="lax", path="/")


def _decode_flash(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.strip('"').encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    return {"kind": "error" if data.get("kind") == "error" else "ok", "text": data["text"]}


def _take_flash(request: Request) -> dict[str, str] | None:
    return _decode_flash(request.cookies.get(FLASH_COOKIE))


def shows_no_error(response: Response) -> bool:
    """The response does not carry an error message to the next page (a refused form's redirect
    does): only such answers are replayed when the same form is sent again."""
    for header in response.headers.getlist("set-cookie"):
        name, _, rest = header.partition("=")
        if name == FLASH_COOKIE:
            flash = _decode_flash(rest.split(";", 1)[0])
            return flash is None or flash["kind"] != "error"
    return True


def csrf_token_for(request: Request) -> str:
    """The token forms carry: the session's own once signed in, else the double-submit cookie's."""
    session_token = getattr(request.state, "csrf_token", None)
    if session_token:
        return str(session_token)
    existing = getattr(request.state, "anonymous_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not existing:
        existing = secrets.token_urlsafe(32)
    request.state.anonymous_csrf = existing
    return str(existing)


def render(
    request: Request, template: str, status_code: int = 200, *, active: str = "", **context: Any
) -> HTMLResponse:
    """Render ``template`` in the request's language, with the shell's context."""
    language = getattr(request.state, "language", "en")
    principal: Principal | None = getattr(request.state, "principal", None)
    csrf = csrf_token_for(request)
    flash = _take_flash(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "_": gettext_for(language),
            "language": language,
            "fmt": Formatter(language),
            "csrf_token": csrf,
            "version": __version__,
            "user": principal,
            "nav": navigation(principal),
            "active": active,
            "flash": flash,
            **context,
        },
        status_code=status_code,
    )
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    if getattr(request.state, "csrf_token", None) is None and request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.cookie_secure,
            path="/",
        )
    return response


def redirect(url: str, *, flash: str | None = None, kind: str = "ok") -> RedirectResponse:
    """See-other to ``url`` (post/redirect/get), optionally with a flash message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash, kind)
    return response


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else becomes the start page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def problem_page(request: Request, body: dict[str, Any]) -> Response:
    """A problem (RFC 9457 body) shown as a page: sign-in for 401, else an error page."""
    status = int(body.get("status", 500))
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = "/login" if target == "/" else f"/login?next={quote(target, safe='')}"
        return RedirectResponse(login, status_code=303)
    return render(request, "error.html", status_code=status, problem=body)
