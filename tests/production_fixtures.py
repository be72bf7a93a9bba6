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
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.places import service as places
from lotline.production import orders
from lotline.production.service import Loss, Make, Request, Take, transform
from lotline.stock import service as stock
from lotline.stock.operations import Amount, Source
from lotline.stock.service import Bucket, post
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


KG = "KGM"


def take(kitchen: Kitchen, name: str, qty: int) -> Take:
    """``qty`` KGM of a raw-material lot from bin RM-1."""
    return Take(kitchen.lots[name], Source(kitchen.raw_bin), Amount(Decimal(qty), KG))


def open_order(db: Database, clock: FakeClock, kitchen: Kitchen, product: str, qty: int) -> int:
    with db.transaction(clock=clock) as uow:
        return orders.create_order(
            uow,
            principal=None,
            order=orders.OrderInput(kitchen.site, kitchen.products[product], Decimal(qty), KG, line="L1"),
        ).id


def complete(db: Database, clock: FakeClock, request: Request) -> tuple[int, list[int]]:
    with db.transaction(clock=clock) as uow:
        outcome = transform(uow, principal=None, request=request)
        return outcome.transformation.id, [lot.id for lot in outcome.output_lots]


def two_level_run(db: Database, clock: FakeClock, kitchen: Kitchen) -> dict[str, int]:
    """Pork + cabbage → filling (with drip loss); filling + flour → dumplings."""
    filling_order = open_order(db, clock, kitchen, "FILLING", 150)
    _t1, (filling,) = complete(
        db,
        clock,
        Request(
            kind=TransformationKind.PRODUCTION,
            site_id=kitchen.site,
            production_order_id=filling_order,
            inputs=[take(kitchen, "PORK", 100), take(kitchen, "CABBAGE", 60)],
            losses=[
                Loss(kitchen.lots["CABBAGE"], Source(kitchen.raw_bin), Amount(Decimal(10), KG), LossKind.DRIP)
            ],
            outputs=[Make(kitchen.products["FILLING"], Amount(Decimal(150), KG), kitchen.qa_area)],
        ),
    )
    # QA releases the filling before it is used: quarantined outputs cannot be consumed.
    set_quality(db, clock, filling, kitchen.qa_area, 150, QualityStatus.RELEASED)
    dumpling_order = open_order(db, clock, kitchen, "DUMPLING", 400)
    _t2, (dumpling, dumpling_f) = complete(
        db,
        clock,
        Request(
            kind=TransformationKind.PRODUCTION,
            site_id=kitchen.site,
            production_order_id=dumpling_order,
            inputs=[
                Take(filling, Source(kitchen.qa_area), Amount(Decimal(140), KG)),
                take(kitchen, "FLOUR", 250),
            ],
            losses=[Loss(filling, Source(kitchen.qa_area), Amount(Decimal(10), KG), LossKind.COOKING)],
            outputs=[
                Make(kitchen.products["DUMPLING"], Amount(Decimal(300), KG), kitchen.qa_area),
                Make(kitchen.products["DUMPLING-F"], Amount(Decimal(80), KG), kitchen.qa_area),
            ],
        ),
    )
    return {"filling": filling, "dumpling": dumpling, "dumpling_f": dumpling_f}


def set_quality(
    db: Database,
    clock: FakeClock,
    lot_id: int,
    location: int,
    qty: Decimal | int,
    status: QualityStatus,
    *,
    stock_from: StockStatus = StockStatus.QUARANTINE,
) -> None:
    """QA's decision on a lot as a scenario needs it, flipped in place (the decision itself, with
    its signature, is tested elsewhere): the quality status, and ``qty`` moved from ``stock_from``
    to the matching stock status at ``location``."""
    target = StockStatus.AVAILABLE if status is QualityStatus.RELEASED else StockStatus.REJECTED
    with db.transaction(clock=clock) as uow:
        lot = uow.session.get_one(Lot, lot_id)
        lot.quality_status = status.value
        post(
            uow,
            kind=MovementKind.STATUS,
            lot=lot,
            quantity=Quantity(Decimal(qty)),
            entered_qty=Decimal(qty),
            entered_unit=KG,
            source=Bucket(location, stock_from),
            target=Bucket(location, target),
        )
