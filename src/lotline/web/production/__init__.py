"""Production pages: production orders (list, new, one order with its flows and completions), the
completion form with inputs issued by scan, transformations (repack, relabel, rework, split,
merge: the form, the recent ones, one transformation with its edges).

Everything goes through :mod:`lotline.production`, so the pages post exactly as the API does.
"""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.production import completion, orders, transform_form, transformations

router = APIRouter(include_in_schema=False)
# The forms first: /transformations/new must be matched before /transformations/{id} is tried.
for module in (orders, completion, transform_form, transformations):
    router.include_router(module.router)

__all__ = ["router"]
