"""The route class every API route uses: permission declaration, idempotency and the commit.

``LotlineRoute`` wraps each handler so that the unit of work commits *before* the response
is returned to Starlette (a failing commit becomes a problem+json error, never a 200), rolls
back on any error response, and stores/replays responses of writes sent with an
Idempotency-Key in the same transaction as the write itself.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from lotline.api.deps import SAFE_METHODS, Authenticated, Public, Requires, get_uow, resolve_principal
from lotline.db import lock_for_transaction
from lotline.domain.errors import N_, IdempotencyKeyReused, InvalidInput
from lotline.models.idempotency import IdempotencyRecord
from lotline.uow import UnitOfWork

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotentReplay(Exception):
    """Raised by the guard to answer with a stored response instead of running the route."""

    def __init__(self, stored: IdempotencyRecord) -> None:
        super().__init__(stored.idempotency_key)
        # Copied now: the session is rolled back (and the row expired) before we answer.
        self.body = bytes(stored.response_body)
        self.status_code = stored.status_code
        self.content_type = stored.content_type
        self.location = stored.location

    def response(self) -> Response:
        headers = {REPLAY_HEADER: "true"}
        if self.location is not None:
            headers["Location"] = self.location
        return Response(
            content=self.body,
            status_code=self.status_code,
            media_type=self.content_type,
            headers=headers,
        )


def _principal_scope(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return principal.idempotency_scope if principal is not None else "anonymous"


def _lookup(uow: UnitOfWork, scope: str, key: str) -> IdempotencyRecord | None:
    return uow.session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == scope, IdempotencyRecord.idempotency_key == key
        )
    ).scalar_one_or_none()


def _hash_key(uow: UnitOfWork) -> bytes:
    return hmac.new(uow.audit_key, b"lotline idempotency request hash", hashlib.sha256).digest()


async def idempotency_guard(request: Request, uow: UnitOfWork = Depends(get_uow)) -> None:
    """Replay the stored response for a repeated key; refuse a key reused with another body.

    The key comes from the header, or for a web form from its ``idempotency_key`` field: every
    rendered form carries a fresh one, so the same form sent twice does its work once. A form
    whose fields were changed before it was sent again (back, edit, send) is new work, not a
    reused key: a form's key is taken together with what the form says."""
    form_key: str | None = getattr(request.state, "form_idempotency_key", None)
    header_key = request.headers.get(IDEMPOTENCY_HEADER)
    key = header_key if header_key is not None else form_key
    if key is None:
        return
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            N_("The Idempotency-Key must have 1 to {max_length} characters."),
            field=IDEMPOTENCY_HEADER,
            code="idempotency.bad_key",
            max_length=MAX_KEY_LENGTH,
        )
    content = getattr(request.state, "form_content", None) if header_key is None else None
    body = content if content is not None else await request.body()
    # Keyed, so that a request hash read from the database (a body may carry a password) cannot
    # be tried against guesses without the server's secret.
    digest = hmac.new(_hash_key(uow), digestmod=hashlib.sha256)
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode() + b"\x00")
    digest.update(body)
    request_hash = digest.hexdigest()
    if header_key is None:  # a form's key, with what the form says
        key = f"form:{key[:64]}:{request_hash}"

    def check() -> None:
        resolve_principal(request, uow)
        scope = _principal_scope(request)
        # Requests sharing a key queue here until the first one commits, then see its answer.
        lock_for_transaction(uow.session, f"idempotency:{scope}:{key}")
        stored = _lookup(uow, scope, key)
        if stored is not None and stored.expires_at <= uow.now():
            uow.session.delete(stored)
            uow.session.flush()
            stored = None
        if stored is None:
            request.state.idempotency = (scope, key, request_hash)
            return
        if stored.request_hash != request_hash or stored.method != request.method:
            raise IdempotencyKeyReused(field=IDEMPOTENCY_HEADER)
        raise IdempotentReplay(stored)

    await run_in_threadpool(check)


def _declared_permission(endpoint: Callable[..., Any], dependencies: list[Any]) -> str | None:
    candidates = list(dependencies)
    for parameter in inspect.signature(endpoint).parameters.values():
        candidates.append(parameter.default)
    for candidate in candidates:
        dependency = getattr(candidate, "dependency", None)
        if isinstance(dependency, Requires):
            return dependency.permission.value
        if isinstance(dependency, Public):
            return "public"
        if isinstance(dependency, Authenticated):
            return "authenticated"
    return None


class LotlineRoute(APIRoute):
    """An API route whose permission is declared and whose transaction is handled here."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        dependencies = list(kwargs.pop("dependencies", None) or [])
        methods = {m.upper() for m in (kwargs.get("methods") or ["GET"])}
        self.permission = _declared_permission(endpoint, dependencies)
        if self.permission is None:
            raise TypeError(f"route {path} declares no permission: add requires(Permission.X) or public()")
        if methods - SAFE_METHODS:
            dependencies.append(Depends(idempotency_guard))
        extra = dict(kwargs.pop("openapi_extra", None) or {})
        extra["x-permission"] = self.permission
        super().__init__(path, endpoint, dependencies=dependencies, openapi_extra=extra, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def respond(request: Request) -> Response:
            response = await original(request)
            if response.status_code < 400:
                await run_in_threadpool(_store_idempotent, request, response)
            return response

        async def handler(request: Request) -> Response:
            try:
                response = await respond(request)
            except IdempotentReplay as replay:
                await _finish(request, commit=False)
                return replay.response()
            except BaseException:
                await _finish(request, commit=False)
                raise
            await _finish(request, commit=response.status_code < 400)
            return response

        return handler


def _store_idempotent(request: Request, response: Response) -> None:
    pending = getattr(request.state, "idempotency", None)
    uow: UnitOfWork | None = getattr(request.state, "uow", None)
    if pending is None or uow is None or uow.rolled_back:
        return  # a handler that rolled back did not do the work: sent again, it is tried again
    replayable: Callable[[Response], bool] | None = getattr(request.state, "replayable", None)
    if replayable is not None and not replayable(response):
        return
    scope, key, request_hash = pending
    now = uow.now()
    row = IdempotencyRecord(
        principal=scope,
        idempotency_key=key,
        method=request.method,
        path=request.url.path,
        request_hash=request_hash,
        status_code=response.status_code,
        content_type=response.headers.get("content-type"),
        response_body=bytes(response.body),
        location=response.headers.get("location"),
        created_at=now,
        expires_at=now + timedelta(hours=uow.settings.idempotency_hours),
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        # A concurrent request with the same key committed first: undo ours, answer with theirs.
        uow.rollback()
        stored = _lookup(uow, scope, key)
        if stored is None:
            raise
        if stored.request_hash != request_hash:
            raise IdempotencyKeyReused(field=IDEMPOTENCY_HEADER) from None
        raise IdempotentReplay(stored) from None


async def _finish(request: Request, *, commit: bool) -> None:
    uow: UnitOfWork | None = getattr(request.state, "uow", None)
    if uow is None:
        return
    request.state.uow = None
    try:
        if commit:
            await run_in_threadpool(uow.commit)
        else:
            await run_in_threadpool(uow.rollback)
    finally:
        await run_in_threadpool(uow.close)
