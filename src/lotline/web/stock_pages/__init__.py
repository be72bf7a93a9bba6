"""Stock pages: on hand by lot and location, one location, one bucket's actions, transfers.

Every action calls the stock services (which ask the status × transaction matrix and the
storage rule); a refusal is shown with its message and each ``blocked_by`` reason in the
reader's language, and nothing is written. Scrap, return to supplier and a large count
adjustment go through a signing dialog.
"""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.stock_pages import actions, lists, transfers

router = APIRouter(include_in_schema=False)
for module in (lists, actions, transfers):
    router.include_router(module.router)

__all__ = ["router"]
