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
            gln=gln,
            address={**address, "street": street, "city": city, "province": province, "postcode": postcode},
            contacts=[{"name": contact, "phone": phone, "email": None}],
            time_zone="Asia/Shanghai",
        ).id
        for code, zh, en, gln, street, city, province, postcode, contact, phone in (
            (
                "JINHUA-MEAT",
                "金华肉业有限公司",
                "Jinhua Meat Co.",
                "6923456000018",
                "金东区多湖街道 88 号",
                "金华 Jinhua",
                "浙江",
                "321000",
                "周强",
                "+86 579 8231 0000",
            ),
            (
                "WUDELI",
                "五得利面粉集团",
                "Wudeli Flour Group",
                "6934567000019",
                "大名县五得利街 1 号",
                "邯郸 Handan",
                "河北",
                "056900",
                "刘芳",
                "+86 310 5100 0000",
            ),
            (
                "CHONGMING-VEG",
                "崇明蔬菜合作社",
                "Chongming Vegetable Co-op",
                None,
                "崇明区港沿镇合作路 16 号",
                "上海 Shanghai",
                "上海",
                "202150",
                "黄伟",
                "+86 21 5960 0000",
            ),
        )
    }
    for code, zh, en, days, gln, street, postcode, contact in (
        (
            "LIANHUA",
            "联华超市",
            "Lianhua Supermarkets",
            1,
            "6945678000010",
            "普陀区真北路 1258 号 配送中心",
            "200333",
            {"name": "沈丽 (QA)", "phone": "+86 21 5266 0000", "email": "qa@lianhua.example.cn"},
        ),
        (
            "HEMA",
            "盒马鲜生",
            "Hema Fresh",
            2,
            "6956789000011",
            "浦东新区康桥路 1188 号 华东仓",
            "201315",
            {"name": "郑凯 (品控)", "phone": "+86 21 6089 0000", "email": "food-safety@hema.example.cn"},
        ),
    ):
        places.create_partner(
            uow,
            code=code,
            name_zh=zh,
            name_en=en,
            is_customer=True,
            gln=gln,
            address={**address, "street": street, "postcode": postcode},
            contacts=[contact],
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
