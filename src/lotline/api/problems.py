"""The one place errors become RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount, Route

from lotline.domain.errors import N_, ErrorKind, LotlineError
from lotline.i18n import gettext_for

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lotline.dev/problems/"

STATUS_BY_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.THROTTLED: 429,
    ErrorKind.UNAVAILABLE: 503,
}

TITLES = {
    ErrorKind.INVALID: N_("Invalid request"),
    ErrorKind.NOT_FOUND: N_("Not found"),
    ErrorKind.CONFLICT: N_("Conflict"),
    ErrorKind.UNAUTHENTICATED: N_("Not signed in"),
    ErrorKind.FORBIDDEN: N_("Not allowed"),
    ErrorKind.THROTTLED: N_("Too many attempts"),
    ErrorKind.UNAVAILABLE: N_("Temporarily unavailable"),
}

# Pydantic error types → our stable codes and messages.
VALIDATION_MESSAGES = {
    "missing": N_("{field} is required."),
    "extra_forbidden": N_("{field} is not a known field."),
    "json_invalid": N_("The request body is not valid JSON."),
}


def wants_html(request: Request) -> bool:
    """Whether the error goes to a person in a browser (a web page) rather than an API client."""
    if getattr(request.state, "html_errors", False):
        return True
    path = request.url.path
    return not path.startswith(("/api/", "/healthz", "/readyz", "/openapi")) and "text/html" in (
        request.headers.get("accept", "")
    )


def request_language(request: Request) -> str:
    """The language chosen for this request by the language middleware."""
    return getattr(request.state, "language", "en")


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    for name, value in (extra or {}).items():
        body.setdefault(name, value)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    html_page = getattr(request.app.state, "html_problem", None)
    if html_page is not None and wants_html(request):
        page: Response = html_page(request, body)
        return page
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def lotline_error_response(request: Request, error: LotlineError) -> Response:
    """The problem+json response for a domain error, in the reader's language."""
    _ = gettext_for(request_language(request))
    status = STATUS_BY_KIND[error.kind]
    headers = {"WWW-Authenticate": 'Bearer realm="lotline"'} if status == 401 else None
    if status == 429:
        minutes = error.params.get("minutes")
        headers = {"Retry-After": str(int(minutes) * 60 if isinstance(minutes, int) else 60)}
    return problem(
        request,
        status=status,
        code=error.code,
        title=_(TITLES[error.kind]),
        detail=error.render(_),
        field=error.field,
        headers=headers,
        extra=error.details(),
    )


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_response(request: Request, exc: RequestValidationError) -> Response:
    _ = gettext_for(request_language(request))
    errors = []
    for item in exc.errors():
        field = _field_of(item.get("loc", ()))
        kind = str(item.get("type", "value_error"))
        template = VALIDATION_MESSAGES.get(kind)
        message = _(template).format(field=field) if template else str(item.get("msg", ""))
        errors.append({"field": field, "code": f"validation.{kind}", "detail": message})
    first = errors[0] if errors else {"field": "body", "code": "validation.invalid", "detail": ""}
    return problem(
        request,
        status=422,
        code="validation_error",
        title=_(TITLES[ErrorKind.INVALID]),
        detail=first["detail"] or _("The request is not valid."),
        field=first["field"],
        errors=errors,
    )


def http_error_response(request: Request, exc: StarletteHTTPException) -> Response:
    _ = gettext_for(request_language(request))
    codes = {
        400: (
            "http.bad_request",
            N_("Bad request"),
            N_("The request body could not be read: send JSON with Content-Type: application/json."),
        ),
        404: ("http.not_found", N_("Not found"), N_("There is nothing at this address.")),
        405: (
            "http.method_not_allowed",
            N_("Method not allowed"),
            N_("This address does not accept that method."),
        ),
    }
    code, title, detail = codes.get(
        exc.status_code, (f"http.{exc.status_code}", N_("Request failed"), str(exc.detail))
    )
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(
        request,
        status=exc.status_code,
        code=code,
        title=_(title),
        detail=_(detail),
        headers=headers or None,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path (Starlette lists only the first route's)."""
    methods: set[str] = set()

    def collect(routes: list[BaseRoute]) -> None:
        for route in routes:
            match, _child = route.matches(request.scope)
            if match is Match.NONE:
                continue
            if isinstance(route, Route) and route.methods:
                methods.update(route.methods)
            elif isinstance(route, Mount):
                collect(route.routes)

    collect(request.app.routes)
    return sorted(methods)


def integrity_response(request: Request, exc: IntegrityError) -> Response:
    """A constraint the database enforced (usually a concurrent duplicate): 409, nothing written."""
    log.info("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
    _ = gettext_for(request_language(request))
    return problem(
        request,
        status=409,
        code="conflict.integrity",
        title=_(TITLES[ErrorKind.CONFLICT]),
        detail=_(
            "The change conflicts with data saved at the same time. Nothing was written; reload and retry."
        ),
    )


def data_error_response(request: Request, exc: DataError) -> Response:
    """A value the database cannot store (a NUL byte in text, an out-of-range number): 422."""
    log.info("data error on %s %s: %s", request.method, request.url.path, exc.orig)
    _ = gettext_for(request_language(request))
    return problem(
        request,
        status=422,
        code="invalid_data",
        title=_(TITLES[ErrorKind.INVALID]),
        detail=_(
            "A value in the request cannot be stored (for example a control character). Nothing was written."
        ),
    )


def unexpected_response(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    _ = gettext_for(request_language(request))
    return problem(
        request,
        status=500,
        code="internal_error",
        title=_("Internal error"),
        detail=_("Something went wrong on our side. Nothing was written; quote the request id to support."),
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def on_lotline_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LotlineError)
        return lotline_error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_response(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return http_error_response(request, exc)

    async def on_integrity(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IntegrityError)
        return integrity_response(request, exc)

    async def on_data_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DataError)
        return data_error_response(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_response(request, exc)

    app.add_exception_handler(LotlineError, on_lotline_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(Exception, on_unexpected)
