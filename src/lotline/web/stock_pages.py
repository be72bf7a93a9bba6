"""Pages (being built for issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
