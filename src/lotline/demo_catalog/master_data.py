"""The demo's catalog: storage conditions, lot types, the five products and their packaging."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class Conditions:
    """The storage conditions' ids."""

    frozen: int
    chilled: int
    ambient: int


@dataclass(frozen=True)
class Products:
    """The products' ids: three raw materials and two kinds of dumplings."""

    pork: int
    flour: int
    cabbage: int
    dumplings: int
    veggie: int


@dataclass(frozen=True)
class MasterData:
    conditions: Conditions
    products: Products


def load(uow: UnitOfWork) -> MasterData:
    """Create the storage conditions, lot types, products and packaging."""
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
    return MasterData(
        conditions=Conditions(frozen=frozen.id, chilled=chilled.id, ambient=ambient.id),
        products=Products(pork=pork, flour=flour, cabbage=cabbage, dumplings=dumplings, veggie=veggie),
    )
