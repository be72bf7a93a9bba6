"""The route class of the web pages: the API's transaction and permission handling, for forms.

A page route declares its permission exactly like an API route and commits before the response
leaves. Two things differ: errors become pages (or a redirect to sign-in) instead of
problem+json, and a form's ``csrf_token`` field stands in for the API's CSRF header.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response

from lotline.api.routing import LotlineRoute

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class WebRoute(LotlineRoute):
    """A page: declared permission, commit-before-response, errors shown as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            request.state.html_errors = True
            if request.method == "POST" and request.headers.get("content-type", "").startswith(FORM_TYPES):
                await request.body()  # cached, so an Idempotency-Key check can still hash it
                form = await request.form()
                token = form.get("csrf_token")
                request.state.form_csrf = token if isinstance(token, str) else None
            return await inner(request)

        return handler
