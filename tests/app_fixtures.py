"""An application per test, with users of every role and helpers to act as them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from lotline.app import create_app
from lotline.audit.sealer import seal_pending
from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.lots import service as lots
from lotline.sites import service as sites
from lotline.uow import Database
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"


@dataclass
class People:
    site_ids: dict[str, int]
    tokens: dict[str, str]
    user_ids: dict[str, int]

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def people(db: Database, clock: FakeClock) -> People:
    """Two sites and one user per role (admin and viewer everywhere, qa at site A only)."""
    site_ids, tokens, user_ids = {}, {}, {}
    with db.transaction(clock=clock) as uow:
        for code, zone in (("A", "Asia/Shanghai"), ("B", "Europe/Berlin")):
            site_ids[code] = sites.create_site(
                uow, code=code, name_zh=f"站点{code}", name_en=f"Site {code}", time_zone=zone
            ).id
        for role, site in (
            ("admin", None),
            ("qa_manager", None),
            ("qa", "A"),
            ("warehouse", "B"),
            ("viewer", None),
            ("integration", None),
        ):
            user = auth.create_user(
                uow, username=role, display_name=f"{role.title()} User", password=PASSWORD
            )
            auth.grant_role(
                uow, user_id=user.id, role=role, site_id=site_ids[site] if site else None, reason="tests"
            )
            secret, _token = auth.create_token(uow, user_id=user.id, name="tests", scopes=None, days=30)
            tokens[role], user_ids[role] = secret, user.id
    seal_pending(db)
    return People(site_ids=site_ids, tokens=tokens, user_ids=user_ids)


@pytest.fixture
def client(db: Database, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(db.settings, db=db, clock=clock, run_sealer=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def stock(db: Database, clock: FakeClock, people: People) -> dict[str, int]:
    """One product, a lot at site A and a held lot at site B."""
    with db.transaction(clock=clock) as uow:
        lot_type = catalog.create_lot_type(
            uow,
            code="RAW",
            name_zh="原料",
            name_en="Raw material",
            code_template="{site}{yy}{doy:03}{seq:04}",
        )
        product = catalog.create_product(
            uow,
            code="PORK",
            name_zh="猪肉",
            name_en="Pork",
            base_unit="KGM",
            lot_type_id=lot_type.id,
            shelf_life_amount=10,
            shelf_life_unit="DAYS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        at_a = lots.register_lot(
            uow,
            product_id=product.id,
            site_id=people.site_ids["A"],
            source="PRODUCTION",
            production_date=date(2026, 3, 1),
        )
        at_b = lots.register_lot(
            uow,
            product_id=product.id,
            site_id=people.site_ids["B"],
            source="PRODUCTION",
            production_date=date(2026, 3, 1),
        )
        hold_b = lots.place_hold(uow, lot_id=at_b.id, hold_type=lots.HoldType.QA, reason="sampling")
        return {"product": product.id, "a": at_a.id, "b": at_b.id, "hold_b": hold_b.id}
