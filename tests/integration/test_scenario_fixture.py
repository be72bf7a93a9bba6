"""Scenario tests share one database per module; each test sees what the module built."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lotline.audit.sealer import seal_pending
from lotline.audit.verify import verify_chain
from lotline.models.site import Site
from lotline.sites import service as sites
from lotline.uow import Database


@pytest.fixture(scope="module")
def network(scenario_db: Database) -> Database:
    """A distribution network of 30 sites, renamed twice each: 90 audited changes."""
    with scenario_db.transaction() as uow:
        for number in range(30):
            site = sites.create_site(
                uow, code=f"N{number:02}", name_zh=f"网点{number}", name_en=f"Node {number}", time_zone="UTC"
            )
            for rename in range(2):
                sites.update_site(
                    uow, site_id=site.id, changes={"name_en": f"Node {number}/{rename}"}, reason=None
                )
    seal_pending(scenario_db)
    return scenario_db


def test_the_scenario_holds_every_site(network: Database) -> None:
    with network.transaction(read_only=True) as uow:
        assert uow.session.execute(select(func.count()).select_from(Site)).scalar_one() == 30


def test_the_scenario_audit_trail_verifies_end_to_end(network: Database) -> None:
    with network.transaction(read_only=True) as uow:
        report = verify_chain(uow)
    assert report.ok
    assert report.links == 90
