"""An application per test, with users of every role and helpers to act as them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from lotline.app import create_app
from lotline.audit.sealer import seal_pending
from lotline.auth import service as auth
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
            auth.grant_role(uow, user_id=user.id, role=role, site_id=site_ids[site] if site else None)
            secret, _token = auth.create_token(uow, user_id=user.id, name="tests", scopes=None, days=30)
            tokens[role], user_ids[role] = secret, user.id
    seal_pending(db)
    return People(site_ids=site_ids, tokens=tokens, user_ids=user_ids)


@pytest.fixture
def client(db: Database, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(db.settings, db=db, clock=clock, run_sealer=False)
    with TestClient(app) as test_client:
        yield test_client
