"""The demo's partners: three suppliers, two supermarket customers and a cold-chain carrier."""

from __future__ import annotations

from decimal import Decimal

from lotline.places import service as places
from lotline.uow import UnitOfWork


def load(uow: UnitOfWork) -> dict[str, int]:
    """Create the partners; returns the suppliers' ids by code."""
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
    return suppliers
