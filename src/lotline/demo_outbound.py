"""The demo company's outbound work: customer orders for its dumplings, allocated by FEFO, so the
order and allocation pages show chosen lots and the lots passed over (the held lot, the old ones
short of the supermarkets' 60 % minimum shelf life, the one still in quarantine) with their
reasons. Two lots made last week are released for it (signed by the QA manager) and stocked.

Call after ``demo_catalog.load`` (it needs the customers, products and stock); loading twice adds
nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from lotline.demo_catalog.decisions import decide
from lotline.demo_catalog.opening import opening
from lotline.demo_catalog.people import QA_MANAGER, person
from lotline.domain.expiry import local_today
from lotline.domain.status import QualityStatus
from lotline.lots import service as lots
from lotline.models.catalog import Location, Partner, Product
from lotline.models.outbound import SalesOrder
from lotline.models.site import Site
from lotline.outbound import allocation, orders
from lotline.quality import inspections, plans
from lotline.uow import UnitOfWork

# What a good lot's release testing finds, per product with an inspection plan (demo_quality).
PASSING: dict[str, dict[str, object]] = {
    "DUMP-PORK-1KG": {"core_temp": "-19.5", "tpc": "12000", "salmonella": "未检出 / not detected"},
    "DUMP-VEG-500G": {},
}


def _stock_last_weeks_lots(uow: UnitOfWork, plant: int, products: dict[str, int], today: date) -> None:
    """Two lots made a week ago, released by the QA manager and put in the freezer."""
    signer = person(uow, QA_MANAGER)
    freezer = uow.session.scalars(
        select(Location.id)
        .where(
            Location.site_id == plant,
            Location.code.like("FZ-%"),
            Location.kind == "BIN",
            Location.is_qa_area.is_(False),
        )
        .order_by(Location.code)
    ).first()
    assert freezer is not None
    for code, days_ago, quantity in (("DUMP-PORK-1KG", 7, "48"), ("DUMP-VEG-500G", 6, "64")):
        lot = lots.register_lot(
            uow,
            product_id=products[code],
            site_id=plant,
            source="PRODUCTION",
            production_date=today - timedelta(days=days_ago),
            attributes={"line": "L1", "shift": "B"},
        )
        cited: tuple[int, ...] = ()
        if plans.active_plan(uow, product_id=lot.product_id) is not None:
            cited = (
                inspections.record_inspection(
                    uow,
                    lot_id=lot.id,
                    results=PASSING[code],
                    source="web",
                    sampled_by="陈静",
                    sampled_at=uow.now(),
                    comment="放行检验 / release testing",
                ).record.id,
            )
        decide(uow, signer, lot.id, QualityStatus.RELEASED, "放行检验合格 / release tests passed", cited)
        opening(uow, lot.id, freezer, Decimal(quantity), "CS")


def load(uow: UnitOfWork) -> None:
    """Two orders from the plant: Lianhua's allocated in full, Hema's entered and waiting."""
    if uow.session.scalar(select(SalesOrder.id).limit(1)) is not None:
        return
    plant = uow.session.scalars(select(Site).where(Site.code == "SH01")).one()
    customers = dict(
        uow.session.execute(select(Partner.code, Partner.id).where(Partner.is_customer)).tuples().all()
    )
    products = dict(uow.session.execute(select(Product.code, Product.id)).tuples().all())
    today = local_today(uow.now(), plant.time_zone)
    _stock_last_weeks_lots(uow, plant.id, products, today)

    def order(customer: str, ship_in: int, lines: list[tuple[str, str, str]], ref: str) -> int:
        return orders.create_order(
            uow,
            order=orders.OrderInput(
                customer_id=customers[customer],
                site_id=plant.id,
                ship_date=today + timedelta(days=ship_in),
                customer_ref=ref,
                lines=[
                    orders.LineInput(product_id=products[code], quantity=Decimal(qty), unit=unit)
                    for code, qty, unit in lines
                ],
            ),
        ).id

    lianhua = order(
        "LIANHUA", 1, [("DUMP-PORK-1KG", "20", "CS"), ("DUMP-VEG-500G", "30", "CS")], "LH-PO-88123"
    )
    order("HEMA", 2, [("DUMP-PORK-1KG", "10", "CS")], "HM-20931")
    allocation.allocate_order(uow, order_id=lianhua)
