"""Stock endpoints (being built for issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES

router = APIRouter(tags=["stock"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)
