"""The partner administration pages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.models.catalog import Partner
from lotline.uow import Database
from tests.app_fixtures import People
from tests.web.adminkit import field_values
from tests.web.webkit import alerts, count, sign_in


def test_partners_are_kept_with_address_contacts_and_transit_days_and_listed_by_role(
    client: TestClient, db: Database, people: People
) -> None:
    csrf = sign_in(client, "qa_manager")
    form = {
        "code": "METRO-SH",
        "name_zh": "麦德龙上海",
        "name_en": "Metro Shanghai",
        "is_customer": "on",
        "gln": "6901234567890",  # check digit 2
        "address.city": "Shanghai",
        "address.country": "cn",
        "contacts.0.name": "Li Wei",
        "contacts.0.phone": "+86 21 5555 0000",
        "contacts.1.name": "",
        "time_zone": "Asia/Shanghai",
        "default_transit_days": "2",
        "min_delivery_mode": "percent",
        "min_delivery_value": "60",
        "active": "on",
        "csrf_token": csrf,
    }
    refused = client.post("/admin/partners", data=form)
    assert refused.status_code == 422
    assert "gln" in alerts(refused.text)[0]
    assert field_values(refused.text)["contacts.0.name"] == "Li Wei"
    assert count(db, Partner) == 0
    created = client.post("/admin/partners", data={**form, "gln": "6901234567892"}, follow_redirects=False)
    assert created.status_code == 303, alerts(created.text)
    with db.transaction(read_only=True) as uow:
        partner = uow.session.scalars(select(Partner)).one()
        assert partner.address == {"city": "Shanghai", "country": "CN"}
        assert partner.contacts == [{"name": "Li Wei", "phone": "+86 21 5555 0000"}]
        assert (partner.default_transit_days, str(partner.min_delivery_percent)) == (2, "60.000000")
    customers = client.get("/admin/partners?role=customer").text
    assert "METRO-SH" in customers
    assert "METRO-SH" not in client.get("/admin/partners?role=supplier").text
    assert client.get("/admin/partners?role=pirate").status_code == 422
    edited = client.post(
        created.headers["location"],
        data={**form, "gln": "6901234567892", "default_transit_days": "3"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalars(select(Partner.default_transit_days)).one() == 3
