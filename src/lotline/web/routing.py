"""The route class of the web pages: the API's transaction and permission handling, for forms.

A page route declares its permission exactly like an API route and commits before the response
leaves. Three things differ: errors become pages (or a redirect to sign-in) instead of
problem+json, a form's ``csrf_token`` field stands in for the API's CSRF header, and its
``idempotency_key`` field (fresh in every rendered form) for the API's Idempotency-Key header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from starlette.datastructures import FormData, UploadFile

from lotline.api.routing import REPLAY_HEADER, LotlineRoute
from lotline.domain.errors import N_
from lotline.i18n import gettext_for
from lotline.web.shell import FORM_KEY_FIELD, set_flash, shows_no_error

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ALREADY_SENT = N_("This form had already been sent; it was carried out once, not twice.")


async def _content_of(form: FormData) -> bytes:
    """What a form says, field by field (a file by its name and digest): what its idempotency key
    is taken with. Not the raw body, whose multipart boundary differs at every send."""
    parts: list[bytes] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.seek(0)
            value_text = f"file:{value.filename}:{hashlib.sha256(data).hexdigest()}"
        else:
            value_text = str(value)
        parts.append(name.encode() + b"=" + value_text.encode())
    return b"\x00".join(parts)


class WebRoute(LotlineRoute):
    """A page: declared permission, commit-before-response, errors shown as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            request.state.html_errors = True
            request.state.replayable = shows_no_error
            if request.method == "POST" and request.headers.get("content-type", "").startswith(FORM_TYPES):
                await request.body()  # cached, so an Idempotency-Key check can still hash it
                form = await request.form()
                token = form.get("csrf_token")
                request.state.form_csrf = token if isinstance(token, str) else None
                key = form.get(FORM_KEY_FIELD)
                request.state.form_idempotency_key = key if isinstance(key, str) and key else None
                request.state.form_content = await _content_of(form)
            response = await inner(request)
            if response.headers.get(REPLAY_HEADER) and 300 <= response.status_code < 400:
                # The same form again (a double tap, the browser's resend): its work was done once.
                translate = gettext_for(getattr(request.state, "language", "en"))
                set_flash(response, translate(ALREADY_SENT))
            return response

        return handler
