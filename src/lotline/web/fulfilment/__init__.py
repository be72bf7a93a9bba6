"""Outbound pages, part 2: picking by scan (a FEFO deviation signed in the signing dialog),
shipping with transport legs, the shipment with its packing list and arrivals, customer returns
into quarantine, and the FEFO-deviation log.

Everything goes through :mod:`lotline.outbound.picking`, :mod:`~lotline.outbound.shipping` and
:mod:`~lotline.outbound.returns`, so the pages pick, ship and take back exactly as the API does.
"""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.fulfilment import deviations, picking, returns, shipments, shipping

router = APIRouter(include_in_schema=False)
for module in (picking, shipping, shipments, returns, deviations):
    router.include_router(module.router)

__all__ = ["router"]
