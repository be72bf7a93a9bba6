"""The demo's opening stock: what the plant held when lotline took over — finished goods in the
freezer bins and the old pork in the cold room."""

from __future__ import annotations

from decimal import Decimal

from lotline.catalog import packaging
from lotline.demo_catalog.locations import Locations
from lotline.demo_catalog.lots import DemoLots
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.catalog import Product
from lotline.stock import service as stock
from lotline.uow import UnitOfWork


def opening(
    uow: UnitOfWork, lot_id: int, location_id: int, quantity: Decimal, unit: str, count: Decimal | None = None
) -> None:
    """An opening balance in the stock status that matches the lot's QA status (catch weight: in kg,
    with its ``count``)."""
    lot = lots.get_lot(uow, lot_id=lot_id)
    product = uow.session.get_one(Product, lot.product_id)
    base = packaging.convert_for_product(
        uow, product_id=product.id, quantity=quantity, from_unit=unit, to_unit=product.base_unit
    )
    status = {
        QualityStatus.RELEASED.value: StockStatus.AVAILABLE,
        QualityStatus.REJECTED.value: StockStatus.REJECTED,
    }.get(lot.quality_status, StockStatus.QUARANTINE)
    weight = base if product.catch_weight else None
    stock.post(
        uow,
        kind=MovementKind.OPENING,
        lot=lot,
        quantity=Quantity(base, count if weight is not None else None, weight),
        entered_qty=quantity,
        entered_unit=unit,
        target=stock.Bucket(location_id, status),
        reason="期初库存 / opening balance",
    )


def load(uow: UnitOfWork, demo_lots: DemoLots, places: Locations) -> None:
    """Book the opening balances, each in the stock status its lot's QA decision gives it."""
    freezer_bins = places.freezer_bins
    for lot_id, bin_id, quantity, unit in (
        (demo_lots.old_fg, freezer_bins[0], Decimal(1), "PF"),
        (demo_lots.older_fg, freezer_bins[0], Decimal(2), "PF"),
        (demo_lots.held_fg, freezer_bins[1], Decimal(2), "PF"),
        (demo_lots.fresh_fg, freezer_bins[1], Decimal(60), "CS"),
        (demo_lots.old_veg, freezer_bins[2], Decimal(40), "CS"),
        (demo_lots.fresh_veg, freezer_bins[2], Decimal(90), "CS"),
    ):
        opening(uow, lot_id, bin_id, quantity, unit)
    opening(uow, demo_lots.expired_pork, places.cold_bins[0], Decimal("120.4"), "KGM", count=Decimal(10))
