"""Locations and partners over the API: the tree, upserts by external key, site isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.catalog import storage_conditions
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ExternalId, Location, Partner
from lotline.places import locations
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock

GOOD_GLN = "6901234000016"


@pytest.fixture
def yard(db: Database, clock: FakeClock, people: People) -> dict[str, int]:
    """A warehouse with a zone and a bin at site A, a warehouse with a bin at site B, two conditions."""
    with db.transaction(clock=clock) as uow:
        frozen = storage_conditions.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal(-18)
        )
        chilled = storage_conditions.create_storage_condition(
            uow,
            code="CHILLED",
            name_zh="冷藏",
            name_en="Chilled",
            min_temp_c=Decimal(0),
            max_temp_c=Decimal(4),
        )
        ids: dict[str, int] = {"frozen": frozen.id, "chilled": chilled.id}
        for site in ("A", "B"):
            site_id = people.site_ids[site]
            warehouse = locations.create_location(
                uow, site_id=site_id, code=f"WH-{site}", name_zh="仓库", name_en="Warehouse", kind="WAREHOUSE"
            )
            cold_room = locations.create_location(
                uow,
                site_id=site_id,
                code=f"CR-{site}",
                name_zh="冷库",
                name_en="Cold room",
                kind="COLD_ROOM",
                parent_id=warehouse.id,
                storage_condition_id=chilled.id,
            )
            bin_ = locations.create_location(
                uow,
                site_id=site_id,
                code=f"B-{site}",
                name_zh="货位",
                name_en="Bin",
                kind="BIN",
                parent_id=cold_room.id,
            )
            ids |= {f"wh_{site}": warehouse.id, f"cr_{site}": cold_room.id, f"bin_{site}": bin_.id}
        writer = auth.create_user(
            uow, username="a.master", display_name="Site A master data", password=PASSWORD
        )
        auth.grant_role(
            uow, user_id=writer.id, role="qa_manager", site_id=people.site_ids["A"], reason="tests"
        )
        secret, _token = auth.create_token(uow, user_id=writer.id, name="tests", scopes=None, days=30)
    people.tokens["a_writer"] = secret
    return ids


def count(db: Database, *models: type) -> tuple[int, ...]:
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.execute(select(func.count()).select_from(model)).scalar_one()) for model in models
        )


def test_a_location_tree_is_built_listed_moved_and_read(
    client: TestClient, people: People, yard: dict[str, int]
) -> None:
    writer = people.bearer("qa_manager")
    site_a = people.site_ids["A"]
    zone = client.post(
        f"/api/v1/sites/{site_a}/locations",
        json={
            "code": "Z1",
            "name_zh": "一区",
            "name_en": "Zone 1",
            "kind": "ZONE",
            "parent_id": yard["wh_A"],
        },
        headers=writer,
    )
    assert zone.status_code == 201, zone.text
    zone_id = zone.json()["id"]
    bin_ = client.post(
        f"/api/v1/sites/{site_a}/locations",
        json={
            "code": "Z1-01",
            "name_zh": "一区01",
            "name_en": "Zone 1 bin 1",
            "kind": "BIN",
            "parent_id": zone_id,
        },
        headers=writer,
    )
    assert bin_.status_code == 201, bin_.text
    misplaced = client.post(
        f"/api/v1/sites/{site_a}/locations",
        json={"code": "Z9", "name_zh": "九区", "name_en": "Zone 9", "kind": "ZONE"},
        headers=writer,
    )
    assert (misplaced.status_code, misplaced.json()["code"]) == (422, "location.bad_nesting")

    bins = client.get(f"/api/v1/sites/{site_a}/locations", params={"kind": "BIN"}, headers=writer).json()
    assert [item["code"] for item in bins["items"]] == ["B-A", "Z1-01"]
    children = client.get(
        f"/api/v1/sites/{site_a}/locations", params={"parent_id": yard["wh_A"]}, headers=writer
    )
    assert sorted(item["code"] for item in children.json()["items"]) == ["CR-A", "Z1"]

    subtree = client.get(f"/api/v1/locations/{yard['wh_A']}/subtree", headers=writer).json()
    assert [(node["code"], node["depth"]) for node in subtree] == [
        ("CR-A", 1),
        ("Z1", 1),
        ("B-A", 2),
        ("Z1-01", 2),
    ]

    moved = client.patch(f"/api/v1/locations/{yard['bin_A']}", json={"parent_id": zone_id}, headers=writer)
    assert moved.status_code == 200, moved.text
    cycle = client.patch(f"/api/v1/locations/{zone_id}", json={"parent_id": yard["bin_A"]}, headers=writer)
    assert (cycle.status_code, cycle.json()["code"], cycle.json()["field"]) == (
        422,
        "location.cycle",
        "parent_id",
    )
    assert client.get(f"/api/v1/locations/{yard['bin_A']}", headers=writer).json()["parent_id"] == zone_id


def test_changing_a_locations_storage_condition_needs_a_reason(
    client: TestClient, people: People, yard: dict[str, int], db: Database
) -> None:
    writer, integration = people.bearer("qa_manager"), people.bearer("integration")
    path = f"/api/v1/locations/{yard['cr_A']}"
    by_key = "/api/v1/locations/by-key/WMS/CR-A2"
    second_room = {
        "site_id": people.site_ids["A"],
        "code": "CR-A2",
        "name_zh": "二号冷库",
        "name_en": "Cold room 2",
        "kind": "COLD_ROOM",
        "parent_id": yard["wh_A"],
        "storage_condition_id": yard["chilled"],
    }
    assert client.put(by_key, json=second_room, headers=integration).status_code == 201
    before = count(db, Location, AuditRecord, ExternalId)
    refusals = [
        client.patch(path, json={"storage_condition_id": yard["frozen"]}, headers=writer),
        client.patch(path, json={"storage_condition_id": None, "reason": "  "}, headers=writer),
        client.put(by_key, json={**second_room, "storage_condition_id": yard["frozen"]}, headers=integration),
    ]
    for refused in refusals:
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (refused.json()["code"], refused.json()["field"]) == ("audit.reason_required", "reason")
        assert "storage_condition_id" in refused.json()["detail"]
    assert count(db, Location, AuditRecord, ExternalId) == before
    with db.transaction(read_only=True) as uow:
        conditions = uow.session.execute(
            select(Location.code, Location.storage_condition_id).where(Location.code.in_(["CR-A", "CR-A2"]))
        ).all()
    assert sorted(conditions) == [("CR-A", yard["chilled"]), ("CR-A2", yard["chilled"])]

    reasoned = client.patch(
        path,
        json={"storage_condition_id": yard["frozen"], "reason": "CC-2026-014: now a freezer"},
        headers=writer,
    )
    assert reasoned.status_code == 200, reasoned.text
    assert reasoned.json()["storage_condition_id"] == yard["frozen"]
    history = client.get(
        "/api/v1/audit/records",
        params={"entity_type": "location", "entity_id": str(yard["cr_A"])},
        headers=people.bearer("admin"),
    ).json()["items"]
    assert history[0]["action"] == "update"
    assert history[0]["changes"] == {"storage_condition_id": [yard["chilled"], yard["frozen"]]}
    assert history[0]["reason"] == "CC-2026-014: now a freezer"
    assert history[0]["actor_name"] == "Qa_Manager User"
    assert history[0]["site_id"] == people.site_ids["A"]
    renamed = client.patch(path, json={"name_en": "Freezer 1"}, headers=writer)
    assert renamed.status_code == 200, renamed.text  # other fields need no reason
    unknown = client.patch(path, json={"storage_condition_id": 999_999, "reason": "x"}, headers=writer)
    assert (unknown.status_code, unknown.json()["field"]) == (404, "storage_condition_id")


def test_loose_json_types_are_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, people: People, yard: dict[str, int], db: Database
) -> None:
    writer = people.bearer("qa_manager")
    site_a = people.site_ids["A"]
    new_bin = {"code": "X1", "name_zh": "新", "name_en": "New", "kind": "BIN", "parent_id": yard["cr_A"]}
    partner = {"code": "JH-PORK", "name_zh": "金华猪肉", "name_en": "Jinhua Pork", "is_supplier": True}
    cases = [
        ("POST", f"/api/v1/sites/{site_a}/locations", {**new_bin, "is_qa_area": 0}, "is_qa_area"),
        ("POST", f"/api/v1/sites/{site_a}/locations", {**new_bin, "active": "1"}, "active"),
        (
            "POST",
            f"/api/v1/sites/{site_a}/locations",
            {**new_bin, "parent_id": str(yard["cr_A"])},
            "parent_id",
        ),
        ("PATCH", f"/api/v1/locations/{yard['bin_A']}", {"is_qa_area": "true"}, "is_qa_area"),
        ("PATCH", f"/api/v1/locations/{yard['bin_A']}", {"parent_id": float(yard["wh_A"])}, "parent_id"),
        (
            "PATCH",
            f"/api/v1/locations/{yard['cr_A']}",
            {"storage_condition_id": str(yard["frozen"]), "reason": "CC-2026-014"},
            "storage_condition_id",
        ),
        ("PUT", "/api/v1/locations/by-key/WMS/X1", {**new_bin, "site_id": str(site_a)}, "site_id"),
        ("POST", "/api/v1/partners", {**partner, "is_supplier": 1}, "is_supplier"),
        ("POST", "/api/v1/partners", {**partner, "is_customer": "1"}, "is_customer"),
        ("POST", "/api/v1/partners", {**partner, "default_transit_days": "2"}, "default_transit_days"),
        (
            "PUT",
            "/api/v1/partners/by-key/ERP/S-1",
            {**partner, "min_delivery_days": "10"},
            "min_delivery_days",
        ),
        ("PUT", "/api/v1/partners/by-key/ERP/S-1", {**partner, "active": 0}, "active"),
    ]
    before = count(db, Location, Partner, AuditRecord, ExternalId)
    for method, path, body, field in cases:
        refused = client.request(method, path, json=body, headers=writer)
        assert refused.status_code == 422, (method, path, body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (refused.json()["code"], refused.json()["field"]) == ("validation_error", field), body
    assert count(db, Location, Partner, AuditRecord, ExternalId) == before
    # The same values with their JSON types are accepted.
    accepted = client.post(
        f"/api/v1/sites/{site_a}/locations", json={**new_bin, "is_qa_area": True}, headers=writer
    )
    assert accepted.status_code == 201, accepted.text


def test_a_location_upserted_twice_by_its_wms_key_is_one_location(
    client: TestClient, people: People, yard: dict[str, int], db: Database
) -> None:
    integration = people.bearer("integration")
    body = {
        "site_id": people.site_ids["A"],
        "code": "CR-A-02",
        "name_zh": "二号位",
        "name_en": "Bin 2",
        "kind": "BIN",
        "parent_id": yard["cr_A"],
    }
    first = client.put("/api/v1/locations/by-key/WMS/LOC-0002", json=body, headers=integration)
    assert first.status_code == 201, first.text
    second = client.put(
        "/api/v1/locations/by-key/WMS/LOC-0002", json={**body, "name_en": "Bin 02"}, headers=integration
    )
    assert second.status_code == 200, second.text
    assert (second.json()["id"], second.json()["name_en"]) == (first.json()["id"], "Bin 02")
    assert count(db, Location, ExternalId) == (7, 1)


def test_a_bad_gln_is_422_naming_the_field_and_nothing_is_written(
    client: TestClient, people: People, db: Database
) -> None:
    writer = people.bearer("qa_manager")
    body = {"code": "JH-PORK", "name_zh": "金华猪肉", "name_en": "Jinhua Pork", "is_supplier": True}
    before = count(db, Partner, AuditRecord, ExternalId)
    for path, method in (("/api/v1/partners", "POST"), ("/api/v1/partners/by-key/ERP/S-1", "PUT")):
        refused = client.request(method, path, json={**body, "gln": "6901234000017"}, headers=writer)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["field"], refused.json()["code"]) == ("gln", "gs1.bad_check_digit")
    bad_email = client.post(
        "/api/v1/partners",
        json={**body, "contacts": [{"name": "张三", "email": "not-an-email"}]},
        headers=writer,
    )
    assert (bad_email.status_code, bad_email.json()["field"]) == (422, "contacts.0.email")
    no_role = client.post("/api/v1/partners", json={**body, "is_supplier": False}, headers=writer)
    assert (no_role.status_code, no_role.json()["code"]) == (422, "partner.no_role")
    both = client.post(
        "/api/v1/partners",
        json={**body, "is_customer": True, "min_delivery_days": 10, "min_delivery_percent": 50},
        headers=writer,
    )
    assert (both.status_code, both.json()["field"]) == (422, "min_delivery_days")
    assert count(db, Partner, AuditRecord, ExternalId) == before


def test_a_partner_upserted_twice_by_its_erp_key_is_one_partner_updated(
    client: TestClient, people: People, db: Database
) -> None:
    integration = people.bearer("integration")
    body = {
        "code": "HEMA-SH",
        "name_zh": "盒马上海",
        "name_en": "Hema Shanghai",
        "is_customer": True,
        "gln": GOOD_GLN,
        "address": {"city": "上海", "country": "CN"},
        "contacts": [{"name": "王芳", "email": "wang.fang@example.cn"}],
        "default_transit_days": 1,
        "min_delivery_percent": "66.5",
    }
    first = client.put("/api/v1/partners/by-key/ERP/C-1001", json=body, headers=integration)
    assert first.status_code == 201, first.text
    assert first.json()["time_zone"] == "Asia/Shanghai"
    assert first.json()["address"] == {"city": "上海", "country": "CN"}
    second = client.put(
        "/api/v1/partners/by-key/ERP/C-1001", json={**body, "default_transit_days": 2}, headers=integration
    )
    assert second.status_code == 200, second.text
    assert (second.json()["id"], second.json()["default_transit_days"]) == (first.json()["id"], 2)
    assert count(db, Partner, ExternalId) == (1, 1)
    records = client.get(
        "/api/v1/audit/records",
        params={"entity_type": "partner", "entity_id": str(first.json()["id"])},
        headers=people.bearer("admin"),
    ).json()["items"]
    assert [r["action"] for r in records] == ["update", "link", "create"]
    assert records[0]["changes"] == {"default_transit_days": [1, 2]}


def test_partners_are_listed_by_role_read_and_changed(client: TestClient, people: People) -> None:
    writer = people.bearer("qa_manager")
    for code, role in (("JH-PORK", "is_supplier"), ("SF", "is_carrier"), ("HEMA", "is_customer")):
        created = client.post(
            "/api/v1/partners",
            json={"code": code, "name_zh": code, "name_en": code, role: True},
            headers=writer,
        )
        assert created.status_code == 201, created.text
    reader = people.bearer("qa")  # partners are not site-scoped: any master-data reader sees them
    carriers = client.get("/api/v1/partners", params={"role": "carrier"}, headers=reader).json()["items"]
    assert [p["code"] for p in carriers] == ["SF"]
    assert client.get("/api/v1/partners", params={"role": "owner"}, headers=reader).status_code == 422
    sf = carriers[0]["id"]
    changed = client.patch(
        f"/api/v1/partners/{sf}", json={"is_supplier": True, "time_zone": "Asia/Hong_Kong"}, headers=writer
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["is_supplier"], changed.json()["is_carrier"]) == (True, True)
    assert client.get(f"/api/v1/partners/{sf}", headers=reader).json()["time_zone"] == "Asia/Hong_Kong"
    assert client.get("/api/v1/partners/999999", headers=reader).status_code == 404
    cleared = client.patch(f"/api/v1/partners/{sf}", json={"is_carrier": None, "gln": None}, headers=writer)
    assert cleared.json()["is_carrier"] is True  # null on a flag is "no change", only gln & co. clear


def test_a_user_of_site_a_neither_sees_nor_touches_site_bs_locations(
    client: TestClient, people: People, yard: dict[str, int], db: Database
) -> None:
    site_a, site_b = people.site_ids["A"], people.site_ids["B"]
    before = count(db, Location, AuditRecord, ExternalId)
    new_bin = {"code": "X1", "name_zh": "新", "name_en": "New", "kind": "BIN"}
    for who in ("qa", "a_writer"):  # qa reads master data at A; a_writer also writes it there
        headers = people.bearer(who)
        listed = client.get(f"/api/v1/sites/{site_a}/locations", headers=headers).json()["items"]
        assert sorted(item["code"] for item in listed) == ["B-A", "CR-A", "WH-A"]
        reads = [
            client.get(f"/api/v1/sites/{site_b}/locations", headers=headers),
            client.get(f"/api/v1/locations/{yard['cr_B']}", headers=headers),
            client.get(f"/api/v1/locations/{yard['wh_B']}/subtree", headers=headers),
        ]
        for response in reads:
            assert response.status_code == 404, (who, response.request.url)
        writes = [
            client.post(
                f"/api/v1/sites/{site_b}/locations",
                json={**new_bin, "parent_id": yard["wh_B"]},
                headers=headers,
            ),
            client.patch(f"/api/v1/locations/{yard['cr_B']}", json={"name_en": "Mine"}, headers=headers),
            client.put(
                "/api/v1/locations/by-key/WMS/X1",
                json={**new_bin, "site_id": site_b, "parent_id": yard["cr_B"]},
                headers=headers,
            ),
        ]
        expected = 403 if who == "qa" else 404  # qa may write master data nowhere; a_writer only at A
        for response in writes:
            assert response.status_code == expected, (
                who,
                response.request.method,
                response.request.url,
                response.text,
            )
    writer = people.bearer("a_writer")
    # Writing at site A may not reach into site B either: its parent and its external keys stay unseen.
    under_b = client.post(
        f"/api/v1/sites/{site_a}/locations", json={**new_bin, "parent_id": yard["cr_B"]}, headers=writer
    )
    assert (under_b.status_code, under_b.json()["field"]) == (404, "parent_id")
    moved_to_b = client.patch(
        f"/api/v1/locations/{yard['bin_A']}", json={"parent_id": yard["cr_B"]}, headers=writer
    )
    assert (moved_to_b.status_code, moved_to_b.json()["field"]) == (404, "parent_id")
    assert count(db, Location, AuditRecord, ExternalId) == before

    mapped = client.put(
        "/api/v1/locations/by-key/WMS/B-LOC",
        json={**new_bin, "site_id": site_b, "parent_id": yard["cr_B"]},
        headers=people.bearer("admin"),
    )
    assert mapped.status_code == 201
    hijack = client.put(
        "/api/v1/locations/by-key/WMS/B-LOC",
        json={**new_bin, "code": "X2", "site_id": site_a, "parent_id": yard["cr_A"]},
        headers=writer,
    )
    assert hijack.status_code == 404, hijack.text
    warehouse_b = people.bearer("warehouse")  # master-data reader at site B only
    assert client.get(f"/api/v1/locations/{yard['cr_B']}", headers=warehouse_b).status_code == 200
    assert client.get(f"/api/v1/locations/{yard['cr_A']}", headers=warehouse_b).status_code == 404


def test_a_viewer_may_read_but_never_write_places(
    client: TestClient, people: People, yard: dict[str, int]
) -> None:
    viewer = people.bearer("viewer")
    site_a = people.site_ids["A"]
    assert client.get(f"/api/v1/locations/{yard['wh_A']}/subtree", headers=viewer).status_code == 200
    assert client.get("/api/v1/partners", headers=viewer).status_code == 200
    location = {"code": "V", "name_zh": "v", "name_en": "v", "kind": "WAREHOUSE"}
    partner = {"code": "V", "name_zh": "v", "name_en": "v", "is_supplier": True}
    writes = [
        client.post(f"/api/v1/sites/{site_a}/locations", json=location, headers=viewer),
        client.patch(f"/api/v1/locations/{yard['wh_A']}", json={"name_en": "x"}, headers=viewer),
        client.put("/api/v1/locations/by-key/WMS/V", json={**location, "site_id": site_a}, headers=viewer),
        client.post("/api/v1/partners", json=partner, headers=viewer),
        client.patch("/api/v1/partners/1", json={"name_en": "x"}, headers=viewer),
        client.put("/api/v1/partners/by-key/ERP/V", json=partner, headers=viewer),
    ]
    for response in writes:
        assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden"), (
            response.request.url
        )
