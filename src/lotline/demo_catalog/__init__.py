"""The demo company's master data and lots: what a frozen-dumpling maker near Shanghai holds.

Pork, flour and cabbage from named suppliers; dumplings of its own making; cold rooms, a
freezer and a QA area; lots at every status and age — released, rejected, in quarantine,
some near expiry, one expired, a few held. The QA decisions are signed by the demo QA manager.
Dates are relative to the day the demo is loaded, so the demo always looks current.
"""

from __future__ import annotations

from sqlalchemy import select

from lotline.demo_catalog import decisions, locations, lots, master_data, opening, partners
from lotline.demo_catalog.people import DEMO_PASSWORD
from lotline.models.catalog import Product
from lotline.uow import UnitOfWork

__all__ = ["DEMO_PASSWORD", "load"]


def load(uow: UnitOfWork, *, site_ids: dict[str, int]) -> None:
    """Create the master data and lots unless the demo products already exist."""
    if uow.session.execute(select(Product.id).where(Product.code == "DUMP-PORK-1KG")).first():
        return
    # The order is the order things happen in a plant (and fixes the ids and lot codes the demo shows).
    catalog = master_data.load(uow)
    suppliers = partners.load(uow)
    plant, store = site_ids["SH01"], site_ids["SH02"]
    places = locations.load(uow, plant=plant, store=store, conditions=catalog.conditions)
    demo_lots = lots.load(uow, plant=plant, products=catalog.products, suppliers=suppliers, dock=places.dock)
    decisions.load(uow, demo_lots)
    opening.load(uow, demo_lots, places)
