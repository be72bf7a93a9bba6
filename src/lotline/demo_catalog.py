"""The demo company's master data and lots: what a frozen-dumpling maker near Shanghai holds.

Pork, flour and cabbage from named suppliers; dumplings of its own making; cold rooms, a
freezer and a QA area; lots at every status and age — released, rejected, in quarantine,
some near expiry, one expired, a few held. The QA decisions are signed by the demo QA manager.
Dates are relative to the day the demo is loaded, so the demo always looks current.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lotline.auth import service as auth
from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.permissions import Principal
from lotline.domain.status import HoldType, QualityStatus
from lotline.lots import decisions
from lotline.lots import service as lots
from lotline.models.catalog import Product
from lotline.places import service as places
from lotline.signatures import service as signatures
from lotline.uow import UnitOfWork

QA_MANAGER = "qa.manager"
DEMO_PASSWORD = "lotline-demo"


def _qa_manager(uow: UnitOfWork) -> Principal:
    user = auth.find_user(uow, username=QA_MANAGER)
    assert user is not None, "the demo users are created before the catalog"
    return auth.principal_for(user)


def _decide(uow: UnitOfWork, signer: Principal, lot_id: int, decision: QualityStatus, reason: str) -> None:
    """A signed QA decision by the demo's QA manager, as she would give it in the web page."""
    meaning = decisions.MEANINGS[decision]
    secret, _grant = signatures.authorize_signing(
        uow,
        principal=signer,
        web_session=None,
        username=QA_MANAGER,
        password=DEMO_PASSWORD,
        meaning=meaning,
        record_type="lot",
        record_id=str(lot_id),
        client_ip=None,
    )
    decisions.decide(
        uow, lot_id=lot_id, decision=decision, reason=reason, principal=signer, signing_grant=secret
    )


def load(uow: UnitOfWork, *, site_ids: dict[str, int]) -> None:
    """Create the master data and lots unless the demo products already exist."""
    if uow.session.execute(select(Product.id).where(Product.code == "DUMP-PORK-1KG")).first():
        return
    frozen = catalog.create_storage_condition(
        uow,
        code="FROZEN",
        name_zh="冷冻 ≤ -18 °C",
        name_en="Frozen ≤ -18 °C",
        min_temp_c=None,
        max_temp_c=Decimal(-18),
    )
    chilled = catalog.create_storage_condition(
        uow,
        code="CHILLED",
        name_zh="冷藏 0–4 °C",
        name_en="Chilled 0–4 °C",
        min_temp_c=Decimal(0),
        max_temp_c=Decimal(4),
    )
    ambient = catalog.create_storage_condition(
        uow,
        code="AMBIENT",
        name_zh="常温 10–25 °C",
        name_en="Ambient 10–25 °C",
        min_temp_c=Decimal(10),
        max_temp_c=Decimal(25),
        max_humidity_pct=Decimal(65),
    )
    raw = catalog.create_lot_type(
        uow,
        code="RAW",
        name_zh="原料",
        name_en="Raw material",
        code_template="R{site}{yy}{doy:03}{seq:03}",
        custom_schema={
            "type": "object",
            "properties": {"origin": {"title": "产地 / Origin", "type": "string", "maxLength": 40}},
        },
    )
    finished = catalog.create_lot_type(
        uow,
        code="FG",
        name_zh="成品",
        name_en="Finished goods",
        code_template="{site}{yy}{doy:03}{seq:04}",
        custom_schema={
            "type": "object",
            "properties": {
                "line": {"title": "产线 / Line", "type": "string", "enum": ["L1", "L2"]},
                "shift": {"title": "班次 / Shift", "type": "string", "enum": ["A", "B", "C"]},
            },
            "required": ["line"],
            "additionalProperties": False,
        },
    )

    def product(code: str, zh: str, en: str, unit: str, condition: int, lot_type: int, **rule: object) -> int:
        return catalog.create_product(
            uow,
            code=code,
            name_zh=zh,
            name_en=en,
            base_unit=unit,
            storage_condition_id=condition,
            lot_type_id=lot_type,
            retest_days=None,
            **rule,
        ).id

    pork = product(
        "PORK-MINCE",
        "猪肉馅",
        "Minced pork",
        "KGM",
        chilled.id,
        raw.id,
        catch_weight=True,
        shelf_life_amount=5,
        shelf_life_unit="DAYS",
        expiry_kind="USE_BY",
        min_receipt_days=3,
        category="raw",
    )
    flour = product(
        "FLOUR-25KG",
        "特一粉 25 kg",
        "Wheat flour 25 kg",
        "EA",
        ambient.id,
        raw.id,
        shelf_life_amount=12,
        shelf_life_unit="MONTHS",
        expiry_kind="BEST_BEFORE",
        min_receipt_percent=Decimal(50),
        supplier_date_wins=True,
        category="raw",
    )
    cabbage = product(
        "CABBAGE",
        "大白菜",
        "Napa cabbage",
        "KGM",
        chilled.id,
        raw.id,
        catch_weight=True,
        shelf_life_amount=7,
        shelf_life_unit="DAYS",
        expiry_kind="USE_BY",
        category="raw",
    )
    dumplings = product(
        "DUMP-PORK-1KG",
        "猪肉白菜水饺 1kg",
        "Pork & cabbage dumplings 1 kg",
        "EA",
        frozen.id,
        finished.id,
        gtin="06901234567892",
        gs1_company_prefix_length=7,
        shelf_life_amount=12,
        shelf_life_unit="MONTHS",
        expiry_kind="USE_BY",
        min_ship_percent=Decimal(50),
        category="frozen",
    )
    veggie = product(
        "DUMP-VEG-500G",
        "三鲜素水饺 500g",
        "Vegetable dumplings 500 g",
        "EA",
        frozen.id,
        finished.id,
        gtin="06901234567908",
        gs1_company_prefix_length=7,
        shelf_life_amount=9,
        shelf_life_unit="MONTHS",
        expiry_kind="USE_BY",
        min_ship_days=120,
        category="frozen",
    )

    packaging.set_packaging(
        uow,
        product_id=dumplings,
        levels=[
            packaging.LevelInput("CS", Decimal(12), "16901234567899"),  # a case of 12 bags
            packaging.LevelInput("PF", Decimal(960)),  # a pallet of 80 cases
        ],
    )
    packaging.set_packaging(
        uow, product_id=veggie, levels=[packaging.LevelInput("CS", Decimal(20), "16901234567905")]
    )

    address = {"street": "", "city": "上海 Shanghai", "province": "上海", "postcode": "", "country": "CN"}
    suppliers = {
        code: places.create_partner(
            uow,
            code=code,
            name_zh=zh,
            name_en=en,
            is_supplier=True,
            address={**address, "city": city},
            contacts=[{"name": contact, "phone": phone, "email": None}],
            time_zone="Asia/Shanghai",
        ).id
        for code, zh, en, city, contact, phone in (
            (
                "JINHUA-MEAT",
                "金华肉业有限公司",
                "Jinhua Meat Co.",
                "金华 Jinhua",
                "周强",
                "+86 579 8231 0000",
            ),
            ("WUDELI", "五得利面粉集团", "Wudeli Flour Group", "邯郸 Handan", "刘芳", "+86 310 5100 0000"),
            (
                "CHONGMING-VEG",
                "崇明蔬菜合作社",
                "Chongming Vegetable Co-op",
                "上海 Shanghai",
                "黄伟",
                "+86 21 5960 0000",
            ),
        )
    }
    for code, zh, en, days in (
        ("LIANHUA", "联华超市", "Lianhua Supermarkets", 1),
        ("HEMA", "盒马鲜生", "Hema Fresh", 2),
    ):
        places.create_partner(
            uow,
            code=code,
            name_zh=zh,
            name_en=en,
            is_customer=True,
            address=address,
            contacts=[],
            time_zone="Asia/Shanghai",
            default_transit_days=days,
            min_delivery_percent=Decimal(60),
        )
    places.create_partner(
        uow,
        code="SF-COLD",
        name_zh="顺丰冷运",
        name_en="SF Cold Chain",
        is_carrier=True,
        address=address,
        contacts=[],
        time_zone="Asia/Shanghai",
    )

    plant, store = site_ids["SH01"], site_ids["SH02"]
    warehouse = places.create_location(
        uow, site_id=plant, code="WH-SJ", name_zh="松江仓库", name_en="Songjiang warehouse", kind="WAREHOUSE"
    )
    cold = places.create_location(
        uow,
        site_id=plant,
        code="CR-1",
        name_zh="冷藏库 1",
        name_en="Cold room 1",
        kind="COLD_ROOM",
        parent_id=warehouse.id,
        storage_condition_id=chilled.id,
    )
    freezer = places.create_location(
        uow,
        site_id=plant,
        code="FZ-1",
        name_zh="冷冻库 1",
        name_en="Freezer 1",
        kind="COLD_ROOM",
        parent_id=warehouse.id,
        storage_condition_id=frozen.id,
    )
    for number in range(1, 4):
        places.create_location(
            uow,
            site_id=plant,
            code=f"CR-1-{number:02}",
            name_zh=f"冷藏库 1 货位 {number}",
            name_en=f"Cold room 1 bin {number}",
            kind="BIN",
            parent_id=cold.id,
            storage_condition_id=chilled.id,
        )
        places.create_location(
            uow,
            site_id=plant,
            code=f"FZ-1-{number:02}",
            name_zh=f"冷冻库 1 货位 {number}",
            name_en=f"Freezer 1 bin {number}",
            kind="BIN",
            parent_id=freezer.id,
            storage_condition_id=frozen.id,
        )
    places.create_location(
        uow,
        site_id=plant,
        code="QA-1",
        name_zh="待检区",
        name_en="QA area",
        kind="BIN",
        parent_id=warehouse.id,
        is_qa_area=True,
    )
    places.create_location(
        uow,
        site_id=plant,
        code="DRY-1",
        name_zh="干货区",
        name_en="Dry goods",
        kind="ZONE",
        parent_id=warehouse.id,
    )
    store_freezer = places.create_location(
        uow,
        site_id=store,
        code="FZ-A",
        name_zh="嘉定冷冻库 A",
        name_en="Jiading freezer A",
        kind="COLD_ROOM",
        storage_condition_id=frozen.id,
    )
    places.create_location(
        uow,
        site_id=store,
        code="FZ-A-01",
        name_zh="冷冻库 A 货位 1",
        name_en="Freezer A bin 1",
        kind="BIN",
        parent_id=store_freezer.id,
        storage_condition_id=frozen.id,
    )
    places.create_location(
        uow,
        site_id=store,
        code="TRUCK-01",
        name_zh="冷藏车 沪A·12345",
        name_en="Reefer truck 沪A·12345",
        kind="VEHICLE",
        storage_condition_id=frozen.id,
    )

    today = uow.now().astimezone(ZoneInfo("Asia/Shanghai")).date()

    def made(product_id: int, days_ago: int, line: str) -> int:
        return lots.register_lot(
            uow,
            product_id=product_id,
            site_id=plant,
            source="PRODUCTION",
            production_date=today - timedelta(days=days_ago),
            attributes={"line": line, "shift": "A"},
        ).id

    def bought(
        product_id: int, supplier: str, code: str, expires: date, origin: str, age_days: int = 1
    ) -> int:
        return lots.register_lot(
            uow,
            product_id=product_id,
            site_id=plant,
            source="SUPPLIER",
            supplier_id=suppliers[supplier],
            supplier_lot_code=code,
            supplier_expiry=expires,
            production_date=today - timedelta(days=age_days),
            attributes={"origin": origin},
        ).id

    old_fg = made(dumplings, 355, "L1")  # expires within two weeks
    older_fg = made(dumplings, 300, "L2")  # expires within ~2 months
    held_fg = made(dumplings, 20, "L1")
    made(dumplings, 2, "L2")  # still in quarantine: awaiting its micro results
    old_veg = made(veggie, 250, "L1")  # ~1 month left
    made(veggie, 10, "L2")
    pork_ok = bought(pork, "JINHUA-MEAT", "JH-0329", today + timedelta(days=3), "金华")
    excursion = bought(pork, "JINHUA-MEAT", "JH-0331", today + timedelta(days=4), "金华")
    pork_bad = bought(pork, "JINHUA-MEAT", "JH-0320", today + timedelta(days=4), "金华", age_days=2)
    bought(pork, "JINHUA-MEAT", "JH-0318", today - timedelta(days=2), "金华", age_days=6)  # expired
    flour_ok = bought(flour, "WUDELI", "WDL-260105", today + timedelta(days=240), "河北")
    cabbage_ok = bought(cabbage, "CHONGMING-VEG", "CM-1121", today + timedelta(days=5), "崇明")
    signer = _qa_manager(uow)
    for lot_id, reason in (
        (old_fg, "放行检验合格 / release tests passed"),
        (older_fg, "放行检验合格 / release tests passed"),
        (old_veg, "放行检验合格 / release tests passed"),
        (pork_ok, "供应商 COA 与来料检验合格 / supplier CoA and incoming check passed"),
        (flour_ok, "供应商 COA 合格 / supplier CoA accepted"),
        (cabbage_ok, "感官检验合格 / sensory check passed"),
    ):
        _decide(uow, signer, lot_id, QualityStatus.RELEASED, reason)
    _decide(
        uow,
        signer,
        pork_bad,
        QualityStatus.REJECTED,
        "中心温度 7 °C，超出接收标准 / core temperature 7 °C on arrival, above the receiving limit",
    )
    lots.place_hold(
        uow,
        lot_id=held_fg,
        hold_type=HoldType.QA,
        reason="金属检测复核 / metal-detector recheck after line L1 stop",
    )
    lots.place_hold(
        uow,
        lot_id=excursion,
        hold_type=HoldType.EXCURSION,
        reason="冷藏库 1 温度 9 °C 持续 40 分钟 / cold room 1 at 9 °C for 40 min",
    )
    lots.place_hold(
        uow, lot_id=excursion, hold_type=HoldType.QA, reason="待微生物检验 / awaiting micro results"
    )
