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
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Principal
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.inbound import service as receiving
from lotline.lots import decisions
from lotline.lots import service as lots
from lotline.models.catalog import Product
from lotline.places import service as places
from lotline.signatures import service as signatures
from lotline.stock import service as stock
from lotline.uow import UnitOfWork

QA_MANAGER = "qa.manager"
RECEIVER = "admin"  # the plant has no warehouse login of its own: the administrator receives
DEMO_PASSWORD = "lotline-demo"


def _person(uow: UnitOfWork, username: str) -> Principal:
    user = auth.find_user(uow, username=username)
    assert user is not None, "the demo users are created before the catalog"
    return auth.principal_for(user)


def _qa_manager(uow: UnitOfWork) -> Principal:
    return _person(uow, QA_MANAGER)


def _opening(
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
    cold_bins, freezer_bins = [], []
    for number in range(1, 4):
        cold_bin = places.create_location(
            uow,
            site_id=plant,
            code=f"CR-1-{number:02}",
            name_zh=f"冷藏库 1 货位 {number}",
            name_en=f"Cold room 1 bin {number}",
            kind="BIN",
            parent_id=cold.id,
            storage_condition_id=chilled.id,
        )
        freezer_bin = places.create_location(
            uow,
            site_id=plant,
            code=f"FZ-1-{number:02}",
            name_zh=f"冷冻库 1 货位 {number}",
            name_en=f"Freezer 1 bin {number}",
            kind="BIN",
            parent_id=freezer.id,
            storage_condition_id=frozen.id,
        )
        cold_bins.append(cold_bin.id)
        freezer_bins.append(freezer_bin.id)
    dock = places.create_location(
        uow,
        site_id=plant,
        code="DOCK-1",
        name_zh="收货区",
        name_en="Receiving dock",
        kind="ZONE",
        parent_id=warehouse.id,
    )
    places.create_location(
        uow,
        site_id=plant,
        code="QA-1",
        name_zh="待检区（常温）",
        name_en="QA area (ambient)",
        kind="BIN",
        parent_id=warehouse.id,
        is_qa_area=True,
        storage_condition_id=ambient.id,
    )
    for code, zh, en, parent, condition in (
        ("CR-1-QA", "冷藏待检区", "Chilled QA bin", cold.id, chilled.id),
        ("FZ-1-QA", "冷冻待检区", "Frozen QA bin", freezer.id, frozen.id),
    ):
        places.create_location(
            uow,
            site_id=plant,
            code=code,
            name_zh=zh,
            name_en=en,
            kind="BIN",
            parent_id=parent,
            is_qa_area=True,
            storage_condition_id=condition,
        )
    places.create_location(
        uow,
        site_id=plant,
        code="DRY-1",
        name_zh="干货区",
        name_en="Dry goods",
        kind="ZONE",
        parent_id=warehouse.id,
        storage_condition_id=ambient.id,
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
    fresh_fg = made(dumplings, 2, "L2")  # still in quarantine: awaiting its micro results
    old_veg = made(veggie, 250, "L1")  # ~1 month left
    fresh_veg = made(veggie, 10, "L2")

    receiver = _person(uow, RECEIVER)

    def delivered(supplier: str, order: str, note: str, *lines: receiving.LineInput) -> list[int]:
        """A supplier's delivery received at the dock: its lots, one per line, in quarantine."""
        receipt = receiving.create_receipt(
            uow,
            site_id=plant,
            supplier_id=suppliers[supplier],
            location_id=dock.id,
            purchase_order=order,
            delivery_note=note,
            lines=list(lines),
            principal=receiver,
        )
        return [line.lot_id for line in receiving.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id]]

    def weighed(product_id: int, code: str, expires: date, count: int, kg: str) -> receiving.LineInput:
        return receiving.LineInput(
            product_id=product_id,
            supplier_lot_code=code,
            production_date=today - timedelta(days=1),
            supplier_expiry=expires,
            count=Decimal(count),
            net_weight_kg=Decimal(kg),
        )

    pork_ok, excursion, pork_bad = delivered(
        "JINHUA-MEAT",
        "PO-SH01-0311",
        "JH-DN-88231",
        weighed(pork, "JH-0329", today + timedelta(days=3), 40, "498.6"),  # cases of ~12.5 kg
        weighed(pork, "JH-0331", today + timedelta(days=4), 24, "301.2"),
        weighed(pork, "JH-0320", today + timedelta(days=4), 16, "199.8"),
    )
    (flour_ok,) = delivered(
        "WUDELI",
        "PO-SH01-0298",
        "WDL-DN-5521",
        receiving.LineInput(
            product_id=flour,
            supplier_lot_code="WDL-260105",
            production_date=today - timedelta(days=1),
            supplier_expiry=today + timedelta(days=240),
            quantity=Decimal(80),
            unit="EA",
        ),
    )
    (cabbage_ok,) = delivered(
        "CHONGMING-VEG",
        "PO-SH01-0312",
        "CM-DN-0417",
        weighed(cabbage, "CM-1121", today + timedelta(days=5), 30, "312.6"),  # crates
    )
    # Received before lotline took over the warehouse (and expired since): an opening balance.
    expired_pork = bought(pork, "JINHUA-MEAT", "JH-0318", today - timedelta(days=2), "金华", age_days=6)
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
    # What the plant held when lotline took over: finished goods in the freezer bins, in the
    # stock status their QA decision gives them, and the old pork in the cold room.
    for lot_id, bin_id, quantity, unit in (
        (old_fg, freezer_bins[0], Decimal(1), "PF"),
        (older_fg, freezer_bins[0], Decimal(2), "PF"),
        (held_fg, freezer_bins[1], Decimal(2), "PF"),
        (fresh_fg, freezer_bins[1], Decimal(60), "CS"),
        (old_veg, freezer_bins[2], Decimal(40), "CS"),
        (fresh_veg, freezer_bins[2], Decimal(90), "CS"),
    ):
        _opening(uow, lot_id, bin_id, quantity, unit)
    _opening(uow, expired_pork, cold_bins[0], Decimal("120.4"), "KGM", count=Decimal(10))
