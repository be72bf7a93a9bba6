"""The administration pages: master data, sites and locations, partners, users and roles, and the
change history of GMP configuration — all through the services, server-rendered, in zh-CN and en."""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.admin import conditions, history, index, lot_types, partners, places, products, users

router = APIRouter(include_in_schema=False)
for module in (index, products, conditions, lot_types, places, partners, users, history):
    router.include_router(module.router)

__all__ = ["router"]
