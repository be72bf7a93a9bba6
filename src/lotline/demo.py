"""The demo company: 鲜汇食品 (Xianhui Foods), a frozen-dumpling maker near Shanghai.

It loads the sites and the people who work there (one per role), the master data and lots
(``demo_catalog``); later capabilities add stock, quality and the rest to the same company. Loading is
idempotent: what exists already is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from lotline import demo_catalog, demo_outbound, demo_production, demo_quality, demo_recall
from lotline.auth import service as auth
from lotline.models.site import Site
from lotline.sites import service as sites
from lotline.uow import UnitOfWork

DEMO_PASSWORD = demo_catalog.DEMO_PASSWORD


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    site_code: str | None
    language: str


DEMO_SITES = [
    (
        "SH01",
        "鲜汇食品 松江工厂",
        "Xianhui Foods Songjiang Plant",
        "Asia/Shanghai",
        "6901234000016",
        {"street": "新飞路 1500 号", "city": "上海市松江区", "postcode": "201612", "country": "CN"},
    ),
    (
        "SH02",
        "鲜汇食品 嘉定冷链仓",
        "Xianhui Foods Jiading Cold Store",
        "Asia/Shanghai",
        "6901234000023",
        {"street": "兴贤路 888 号", "city": "上海市嘉定区", "postcode": "201815", "country": "CN"},
    ),
]

DEMO_USERS = [
    DemoUser("admin", "王建国 (Wang Jianguo)", "admin", None, "zh_CN"),
    DemoUser("qa.manager", "李秀英 (Li Xiuying)", "qa_manager", None, "zh_CN"),
    DemoUser("qa", "陈静 (Chen Jing)", "qa", "SH01", "zh_CN"),
    DemoUser("warehouse", "张伟 (Zhang Wei)", "warehouse", "SH02", "zh_CN"),
    DemoUser("production", "赵磊 (Zhao Lei)", "production", "SH01", "zh_CN"),
    DemoUser("viewer", "Emily Carter", "viewer", None, "en"),
    DemoUser("integration", "ERP/WMS integration", "integration", None, "en"),
]


def load(uow: UnitOfWork) -> list[DemoUser]:
    """Create whatever of the demo company is missing; returns the demo logins."""
    site_ids: dict[str, int] = {}
    for code, name_zh, name_en, zone, gln, address in DEMO_SITES:
        existing = uow.session.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
        site = existing or sites.create_site(
            uow, code=code, name_zh=name_zh, name_en=name_en, time_zone=zone, gln=gln, address=address
        )
        site_ids[code] = site.id
    for person in DEMO_USERS:
        if auth.find_user(uow, username=person.username) is not None:
            continue
        user = auth.create_user(
            uow,
            username=person.username,
            display_name=person.display_name,
            password=DEMO_PASSWORD,
            language=person.language,
        )
        site_id = site_ids[person.site_code] if person.site_code else None
        auth.grant_role(uow, user_id=user.id, role=person.role, site_id=site_id, reason="demo data")
    demo_catalog.load(uow, site_ids=site_ids)
    demo_quality.load(uow)
    demo_outbound.load(uow)
    demo_production.load(uow)
    demo_recall.load(uow)
    return DEMO_USERS
