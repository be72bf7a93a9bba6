"""The allocation scenario of the outbound issue, built once for the service, API, web and CLI tests.

Site A (Shanghai), today 2026-03-01 (the test clock). Product MILK, each EA, 12 to a case, in
one ambient bin with six released lots of it, FEFO order A … F:

- A expires 03-02, first of all, and is on a QA hold;
- B expires 03-04, before the delivery date 03-05;
- C expires 03-10: 5 days left at delivery, short of the customer's 10;
- D expires 03-14 and is a retained sample (留样);
- E expires 03-20 (30 EA) and F 03-25 (50 EA): eligible.

Customer SHOP: 2 days in transit, at least 10 days of shelf life left at delivery. An order
shipped 03-03 for 60 EA gets E (30) then F (30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.expiry import local_today
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.places import service as places
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock

# Days after "today" (the site's local date at the test clock): the dates above at the default
# clock; a test running against the real clock (the CLI's) gets the same shape around its today.
SHIP_IN, DELIVERY_IN = 2, 4
EXPIRES_IN = {"A": 1, "B": 3, "C": 9, "D": 13, "E": 19, "F": 24}
DEFAULT_TODAY = date(2026, 3, 1)
SHIP_DATE = DEFAULT_TODAY + timedelta(days=SHIP_IN)
DELIVERY_DATE = DEFAULT_TODAY + timedelta(days=DELIVERY_IN)
QUANTITIES = {"A": 40, "B": 40, "C": 40, "D": 40, "E": 30, "F": 50}
# What the allocation must say of each lot passed over (the reason codes it must include).
PASSED_OVER = {
    "A": "hold.qa",
    "B": "expires_before_delivery",
    "C": "short_of_customer_minimum",
    "D": "stock.retained_sample",
}


@dataclass(frozen=True)
class Shelf:
    site: int
    product: int
    customer: int
    bin: int
    lots: dict[str, int]  # A … F → lot id
    codes: dict[str, str]  # A … F → lot code
    ship_date: date = SHIP_DATE
    delivery_date: date = DELIVERY_DATE

    def letter_of(self, lot_code: str) -> str:
        return next(letter for letter, code in self.codes.items() if code == lot_code)


def build_shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    site = people.site_ids["A"]
    today = local_today(clock.now, "Asia/Shanghai")
    with db.transaction(clock=clock) as uow:
        lot_type = catalog.create_lot_type(
            uow, code="MK", name_zh="奶", name_en="Milk", code_template="MK{yy}{doy:03}{seq:04}"
        )
        product = catalog.create_product(
            uow,
            code="MILK",
            name_zh="牛奶",
            name_en="Milk",
            base_unit="EA",
            lot_type_id=lot_type.id,
            shelf_life_amount=30,
            shelf_life_unit="DAYS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        packaging.set_packaging(uow, product_id=product.id, levels=[packaging.LevelInput("CS", Decimal(12))])
        customer = places.create_partner(
            uow,
            code="SHOP",
            name_zh="超市",
            name_en="Supermarket",
            is_customer=True,
            default_transit_days=2,
            min_delivery_days=10,
        )
        warehouse = places.create_location(
            uow, site_id=site, code="WH-A", name_zh="仓库", name_en="Warehouse", kind="WAREHOUSE"
        )
        shelf_bin = places.create_location(
            uow,
            site_id=site,
            code="AMB-1",
            name_zh="常温1",
            name_en="Ambient 1",
            kind="BIN",
            parent_id=warehouse.id,
        )
        ids: dict[str, int] = {}
        codes: dict[str, str] = {}
        for letter, days in EXPIRES_IN.items():
            expiry = today + timedelta(days=days)
            lot = lots.register_lot(
                uow,
                product_id=product.id,
                site_id=site,
                source="PRODUCTION",
                production_date=today - timedelta(days=28),
            )
            # The scenario needs these exact dates; the rule's own arithmetic is tested elsewhere.
            lot.expiry_date = expiry
            lot.quality_status = QualityStatus.RELEASED.value
            uow.session.flush()
            qty = Decimal(QUANTITIES[letter])
            available = Bucket(shelf_bin.id, StockStatus.AVAILABLE, "")
            stock.post(
                uow,
                kind=MovementKind.OPENING,
                lot=lot,
                quantity=Quantity(qty),
                entered_qty=qty,
                entered_unit="EA",
                target=available,
            )
            ids[letter], codes[letter] = lot.id, lot.code
        d_lot = uow.session.get_one(Lot, ids["D"])
        stock.post(
            uow,
            kind=MovementKind.RETAIN_SAMPLE,
            lot=d_lot,
            quantity=Quantity(Decimal(40)),
            entered_qty=Decimal(40),
            entered_unit="EA",
            source=Bucket(shelf_bin.id, StockStatus.AVAILABLE, ""),
            target=Bucket(shelf_bin.id, StockStatus.RETAINED_SAMPLE, ""),
        )
        lots.place_hold(uow, lot_id=ids["A"], hold_type=HoldType.QA, reason="complaint under investigation")
        return Shelf(
            site=site,
            product=product.id,
            customer=customer.id,
            bin=shelf_bin.id,
            lots=ids,
            codes=codes,
            ship_date=today + timedelta(days=SHIP_IN),
            delivery_date=today + timedelta(days=DELIVERY_IN),
        )
