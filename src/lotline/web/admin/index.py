"""The administration landing page: the sections this person may use."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lotline.domain.permissions import Permission, Principal
from lotline.web.admin.layout import page, requires_any
from lotline.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/admin")
def admin_index(
    request: Request,
    principal: Principal = requires_any(
        Permission.MASTER_WRITE, Permission.USER_WRITE, Permission.SITE_WRITE
    ),
) -> Response:
    return page(request, "admin/index.html", section="index")
