"""The FastAPI application: API under /api/v1, the web pages, health probes."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from lotline import __version__
from lotline.api import problems
from lotline.api.deps import public
from lotline.api.routing import LotlineRoute
from lotline.audit.api import router as audit_router
from lotline.audit.sealer import BackgroundSealer
from lotline.auth.api import router as auth_router
from lotline.catalog.api import router as catalog_router
from lotline.config import Settings, get_settings
from lotline.db import is_reachable
from lotline.i18n import negotiate
from lotline.inbound.api import router as inbound_router
from lotline.lots.api import router as lots_router
from lotline.outbound.api import router as orders_router
from lotline.outbound.shipping_api import router as shipping_router
from lotline.outbox.api import router as events_router
from lotline.places.api import router as places_router
from lotline.production.api import router as production_router
from lotline.quality.api import router as quality_router
from lotline.recall.api import router as recall_router
from lotline.signatures.api import router as signatures_router
from lotline.sites.api import router as sites_router
from lotline.stock.api import router as stock_router
from lotline.trace.api import router as trace_router
from lotline.trace.fsma_api import router as fsma_router
from lotline.uow import Clock, Database, system_clock
from lotline.web import admin as admin_pages
from lotline.web import boards, pages, quality_pages, shell, stock_pages
from lotline.web import fulfilment as fulfilment_pages
from lotline.web import lots as lot_pages
from lotline.web import outbound as outbound_pages
from lotline.web import production as production_pages
from lotline.web import recall as recall_pages
from lotline.web import receiving as receiving_pages

API_PREFIX = "/api/v1"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

health = APIRouter(tags=["health"], route_class=LotlineRoute)


@health.get("/healthz", dependencies=[public()])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@health.get("/readyz", dependencies=[public()])
def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    ready = is_reachable(request.app.state.db.engine)
    return JSONResponse(
        {"status": "ready" if ready else "database unreachable"}, status_code=200 if ready else 503
    )


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock = system_clock,
    run_sealer: bool = True,
) -> FastAPI:
    """Build the application around one database (tests pass their own ``db`` and clock)."""
    settings = settings or get_settings()
    db = db or Database(settings)
    sealer = BackgroundSealer(db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_sealer:
            sealer.start()
        yield
        if run_sealer:
            sealer.stop()

    app = FastAPI(
        title="lotline",
        version=__version__,
        description="Batch (lot) and expiry management — 批次效期管理. Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock
    app.state.sealer = sealer

    problems.install(app)

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        sent = request.headers.get("x-request-id", "")
        request.state.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        request.state.language_chosen = pages.LANGUAGE_COOKIE in request.cookies
        request.state.language = negotiate(
            request.headers.get("accept-language"),
            preferred=request.cookies.get(pages.LANGUAGE_COOKIE),
            default=settings.default_language,
        )
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        )
        return response

    api = APIRouter(prefix=API_PREFIX)
    routers = (
        auth_router,
        sites_router,
        catalog_router,
        places_router,
        lots_router,
        stock_router,
        inbound_router,
        quality_router,
        orders_router,
        shipping_router,
        production_router,
        trace_router,
        fsma_router,
        recall_router,
        signatures_router,
        audit_router,
        events_router,
    )
    for router in routers:
        api.include_router(router)
    app.include_router(api)
    app.include_router(health)
    app.include_router(pages.router)
    app.include_router(boards.router)
    app.include_router(lot_pages.router)
    app.include_router(receiving_pages.router)
    app.include_router(stock_pages.router)
    app.include_router(quality_pages.router)
    app.include_router(outbound_pages.router)
    app.include_router(production_pages.router)
    app.include_router(recall_pages.router)
    app.include_router(fulfilment_pages.router)
    app.include_router(admin_pages.router)
    app.state.html_problem = shell.problem_page
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app
