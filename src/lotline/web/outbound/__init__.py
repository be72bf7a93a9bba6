"""Outbound pages: sales orders (list, entry form, one order with its Allocate button) and a line's
allocation view — the lots chosen and, for every lot passed over, each reason why — with release.

Everything goes through :mod:`lotline.outbound.orders` and :mod:`lotline.outbound.allocation`,
so the pages allocate exactly as the API and the CLI do.
"""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.outbound import lines, order_form, orders

router = APIRouter(include_in_schema=False)
# The form first: its /orders/new must be matched before /orders/{order_id} is tried.
for module in (order_form, orders, lines):
    router.include_router(module.router)

__all__ = ["router"]
