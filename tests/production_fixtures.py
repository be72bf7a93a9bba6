"""The dumpling kitchen of the production issue, built once for the service, API, web and CLI tests.

Site A (Shanghai), today 2026-03-01 (the test clock). Raw materials in bin RM-1, released:

- FLOUR lot (1,000 KGM), expires today + 170;
- PORK lot (200 KGM), expires today + 4 — the earliest input of all;
- CABBAGE lot (300 KGM), expires today + 6;
- PORK-Q: a pork lot still in QUARANTINE (100 KGM); CABBAGE-H: a released cabbage lot on a QA
  hold (100 KGM) — both must be refused as inputs.

FILLING (KGM, 3 days, capped by its inputs) is made from pork and cabbage; DUMPLING (KGM, 180
days frozen, capped by its inputs) from filling and flour; DUMPLING-F (KGM, 180 days, not
capped) is the same food whose product does not cap. Outputs land in QA-1, a QA area.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from lotline.catalog import service as catalog
from lotline.domain.expiry import local_today
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.places import service as places
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock

RAW = {  # code → (shelf life days, expires in days, on hand KGM, released, held)
    "FLOUR": (180, 170, 1000, True, False),
    "PORK": (5, 4, 200, True, False),
    "CABBAGE": (7, 6, 300, True, False),
    "PORK-Q": (5, 4, 100, False, False),
    "CABBAGE-H": (7, 6, 100, True, True),
}


@dataclass(frozen=True)
class Kitchen:
    site: int
    products: dict[str, int]  # FLOUR, PORK, CABBAGE, FILLING, DUMPLING, DUMPLING-F → id
    lots: dict[str, int]  # FLOUR, PORK, CABBAGE, PORK-Q, CABBAGE-H → lot id
    codes: dict[str, str]  # the same → lot code
    expiry: dict[str, date]  # the same → expiry date
    raw_bin: int
    qa_area: int
    today: date


def build_kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    site = people.site_ids["A"]
    today = local_today(clock.now, "Asia/Shanghai")
    with db.transaction(clock=clock) as uow:
        lot_type = catalog.create_lot_type(
            uow, code="FD", name_zh="食品", name_en="Food", code_template="FD{yy}{doy:03}{seq:04}"
        )

        def product(code: str, days: int, *, capped: bool = False) -> int:
            made = catalog.create_product(
                uow,
                code=code,
                name_zh=code,
                name_en=code.title(),
                base_unit="KGM",
                lot_type_id=lot_type.id,
                shelf_life_amount=days,
                shelf_life_unit="DAYS",
                expiry_kind="USE_BY",
                retest_days=None,
            )
            made.expiry_capped_by_inputs = capped
            return made.id

        products = {
            "FLOUR": product("FLOUR", 180),
            "PORK": product("PORK", 5),
            "CABBAGE": product("CABBAGE", 7),
            "FILLING": product("FILLING", 3, capped=True),
            "DUMPLING": product("DUMPLING", 180, capped=True),
            "DUMPLING-F": product("DUMPLING-F", 180),
        }
        warehouse = places.create_location(
            uow, site_id=site, code="WH-K", name_zh="厨房仓", name_en="Kitchen store", kind="WAREHOUSE"
        )
        raw_bin = places.create_location(
            uow,
            site_id=site,
            code="RM-1",
            name_zh="原料1",
            name_en="Raw 1",
            kind="BIN",
            parent_id=warehouse.id,
        )
        qa_area = places.create_location(
            uow,
            site_id=site,
            code="QA-1",
            name_zh="待检区",
            name_en="QA area",
            kind="ZONE",
            parent_id=warehouse.id,
            is_qa_area=True,
        )
        ids: dict[str, int] = {}
        codes: dict[str, str] = {}
        expiry: dict[str, date] = {}
        for name, (life, expires_in, on_hand, released, held) in RAW.items():
            lot = lots.register_lot(
                uow,
                product_id=products[name.split("-")[0]],
                site_id=site,
                source="PRODUCTION",
                production_date=today - timedelta(days=life - expires_in - 1),
            )
            assert lot.expiry_date == today + timedelta(days=expires_in)
            status = StockStatus.AVAILABLE if released else StockStatus.QUARANTINE
            if released:
                lot.quality_status = QualityStatus.RELEASED.value
            uow.session.flush()
            stock.post(
                uow,
                kind=MovementKind.OPENING,
                lot=lot,
                quantity=Quantity(Decimal(on_hand)),
                entered_qty=Decimal(on_hand),
                entered_unit="KGM",
                target=Bucket(raw_bin.id, status, ""),
            )
            if held:
                lots.place_hold(uow, lot_id=lot.id, hold_type=HoldType.QA, reason="foreign body complaint")
            ids[name], codes[name], expiry[name] = lot.id, lot.code, lot.expiry_date
        return Kitchen(site, products, ids, codes, expiry, raw_bin.id, qa_area.id, today)
