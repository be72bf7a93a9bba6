"""The site and location administration pages: a site administrator stays within their site, and a
location's storage condition changes only with a reason."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.models.audit import AuditRecord
from lotline.models.auth import User
from lotline.models.catalog import Location
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.web.adminkit import field_values, text_of, warehouses
from tests.web.webkit import alerts, count, sign_in


def site_admin(db: Database, clock: FakeClock, site_id: int) -> None:
    """An administrator whose only grant is at one site."""
    with db.transaction(clock=clock) as uow:
        user = auth.create_user(uow, username="site_admin", display_name="Site Admin", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="admin", site_id=site_id, reason="site IT lead")


def test_a_site_administrator_neither_sees_nor_edits_another_sites_locations(
    client: TestClient, db: Database, clock: FakeClock, people: People
) -> None:
    site_a, site_b = people.site_ids["A"], people.site_ids["B"]
    located = warehouses(db, people)
    site_admin(db, clock, site_a)
    csrf = sign_in(client, "site_admin")
    sites = client.get("/admin/sites").text
    assert f'href="/admin/sites/{site_a}"' in sites
    assert f'href="/admin/sites/{site_b}"' not in sites
    assert "WH-A" in client.get(f"/admin/sites/{site_a}").text
    before = (count(db, Location), count(db, AuditRecord))
    form = {
        "code": "Z1",
        "name_zh": "区",
        "name_en": "Zone",
        "kind": "ZONE",
        "active": "on",
        "csrf_token": csrf,
    }
    for response in (
        client.get(f"/admin/sites/{site_b}"),
        client.get(f"/admin/sites/{site_b}/locations/new"),
        client.get(f"/admin/locations/{located['B']}"),
        client.post(f"/admin/locations/{located['B']}", data={**form, "kind": "WAREHOUSE"}),
        client.post(f"/admin/sites/{site_b}/locations", data=form),
        client.get(f"/admin/sites/{site_b}/edit"),
    ):
        assert response.status_code == 404, (response.request.url, response.status_code)
        assert "WH-B" not in response.text
    # Nor through a parent: a zone at A placed "inside" B's warehouse is refused as not found.
    smuggled = client.post(f"/admin/sites/{site_a}/locations", data={**form, "parent_id": str(located["B"])})
    assert smuggled.status_code == 404
    assert "parent_id" not in alerts(smuggled.text)[0] or "not found" in alerts(smuggled.text)[0]
    assert (count(db, Location), count(db, AuditRecord)) == before
    made = client.post(
        f"/admin/sites/{site_a}/locations",
        data={**form, "parent_id": str(located["A"])},
        follow_redirects=False,
    )
    assert made.status_code == 303, alerts(made.text)
    tree = text_of(client.get(f"/admin/sites/{site_a}").text, "<tbody>")
    assert tree.index("WH-A") < tree.index("Z1")
    # Role grants too stop at the site: not everywhere, not at B.
    with db.transaction(read_only=True) as uow:
        viewer = uow.session.scalars(select(User).where(User.username == "viewer")).one()
    grants = {"role": "qa", "grant_reason": "cover", "csrf_token": csrf}
    for site in ("*", str(site_b)):
        refused = client.post(f"/admin/users/{viewer.id}/grants", data={**grants, "site_id": site})
        assert refused.status_code == 403
    # The viewer holds a role at every site: a site administrator may not change their account.
    assert (
        client.post(
            f"/admin/users/{viewer.id}/active",
            data={"active": "no", "active_reason": "x", "csrf_token": csrf},
        ).status_code
        == 403
    )


def test_a_locations_storage_condition_changes_only_with_a_reason(
    client: TestClient, db: Database, people: People
) -> None:
    located = warehouses(db, people)
    with db.transaction() as uow:
        frozen = catalog.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal("-18")
        )
        frozen_id = frozen.id
    csrf = sign_in(client, "admin")
    url = f"/admin/locations/{located['A']}"
    form = {**field_values(client.get(url).text), "kind": "WAREHOUSE", "active": "on", "csrf_token": csrf}
    form["storage_condition_id"] = str(frozen_id)
    refused = client.post(url, data=form)
    assert refused.status_code == 422
    assert "storage_condition_id" in alerts(refused.text)[0]
    saved = client.post(url, data={**form, "reason": "converted to freezer"}, follow_redirects=False)
    assert saved.status_code == 303
    assert "FROZEN" in client.get(saved.headers["location"]).text
    nested = client.post(
        f"/admin/sites/{people.site_ids['A']}/locations", data={**form, "code": "B1", "kind": "ZONE"}
    )
    assert nested.status_code == 422  # a zone cannot be at the top of a site
    assert "ZONE" in alerts(nested.text)[0]
