"""Sites through the API, site-scoped visibility, and the audit API with its CSV export."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.models.audit import AuditRecord
from lotline.models.site import Site
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock


def count(db: Database, *models: type) -> tuple[int, ...]:
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.execute(select(func.count()).select_from(model)).scalar_one()) for model in models
        )


def test_a_site_is_created_listed_and_changed_with_its_audit_trail(
    client: TestClient, people: People, clock: FakeClock
) -> None:
    admin = people.bearer("admin")
    created = client.post(
        "/api/v1/sites",
        json={"code": "sz01", "name_zh": "深圳仓", "name_en": "Shenzhen DC", "time_zone": "Asia/Shanghai"},
        headers=admin,
    )
    assert created.status_code == 201
    site = created.json()
    assert site["code"] == "SZ01"
    clock.advance(minutes=5)
    changed = client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"time_zone": "Asia/Hong_Kong", "reason": "site moved to HK time for the 3PL"},
        headers=admin,
    )
    assert changed.status_code == 200
    records = client.get(
        "/api/v1/audit/records", params={"entity_type": "site", "entity_id": str(site["id"])}, headers=admin
    ).json()["items"]
    assert [r["action"] for r in records] == ["update", "create"]
    assert records[0]["changes"] == {"time_zone": ["Asia/Shanghai", "Asia/Hong_Kong"]}
    assert records[0]["reason"] == "site moved to HK time for the 3PL"
    assert records[0]["actor_name"] == "Admin User"
    assert records[0]["occurred_at"].endswith("Z") or "+00:00" in records[0]["occurred_at"]


def test_a_duplicate_site_code_is_409_naming_the_field(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/sites",
        json={"code": "A", "name_zh": "重复", "name_en": "Dup", "time_zone": "UTC"},
        headers=people.bearer("admin"),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "already_exists"
    assert response.json()["field"] == "code"


def test_an_unknown_field_or_time_zone_is_a_clear_422(client: TestClient, people: People) -> None:
    admin = people.bearer("admin")
    extra = client.post(
        "/api/v1/sites",
        json={"code": "Q1", "name_zh": "q", "name_en": "q", "time_zone": "UTC", "colour": "red"},
        headers=admin,
    )
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["field"] == "colour"
    zone = client.patch(
        f"/api/v1/sites/{people.site_ids['A']}", json={"time_zone": "Shanghai"}, headers=admin
    )
    assert zone.status_code == 422
    assert zone.json()["field"] == "time_zone"


def test_loose_json_types_are_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, people: People, db: Database
) -> None:
    admin = people.bearer("admin")
    path = f"/api/v1/sites/{people.site_ids['A']}"
    before = count(db, Site, AuditRecord)
    for loose in (0, 1, "1", "true", "false", "yes"):
        refused = client.patch(path, json={"active": loose, "reason": "site closed"}, headers=admin)
        assert refused.status_code == 422, (loose, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (refused.json()["code"], refused.json()["field"]) == ("validation_error", "active")
    assert count(db, Site, AuditRecord) == before
    assert client.get(path, headers=admin).json()["active"] is True
    closed = client.patch(path, json={"active": False, "reason": "site closed"}, headers=admin)
    assert (closed.status_code, closed.json()["active"]) == (200, False)


def test_a_site_scoped_user_sees_only_their_site(client: TestClient, people: People) -> None:
    qa_sites = client.get("/api/v1/sites", headers=people.bearer("qa")).json()["items"]
    assert [s["code"] for s in qa_sites] == ["A"]
    other = client.get(f"/api/v1/sites/{people.site_ids['B']}", headers=people.bearer("qa"))
    assert other.status_code == 404


def test_lists_page_with_a_cursor(client: TestClient, people: People) -> None:
    admin = people.bearer("admin")
    for number in range(5):
        client.post(
            "/api/v1/sites",
            json={"code": f"P{number}", "name_zh": "页", "name_en": "Page", "time_zone": "UTC"},
            headers=admin,
        )
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/sites", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=admin
        ).json()
        seen += [s["code"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["A", "B", "P0", "P1", "P2", "P3", "P4"]
    bad = client.get("/api/v1/sites", params={"cursor": "not-a-cursor"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"


def test_the_audit_trail_filters_by_actor_and_time_and_exports_csv(
    client: TestClient, people: People, clock: FakeClock
) -> None:
    admin = people.bearer("admin")
    start = clock.now
    clock.advance(hours=1)
    client.patch(
        f"/api/v1/sites/{people.site_ids['A']}", json={"name_en": "Site A (Songjiang)"}, headers=admin
    )
    mine = client.get(
        "/api/v1/audit/records",
        params={
            "actor_id": people.user_ids["admin"],
            "since": (start.replace(hour=start.hour + 1)).isoformat(),
        },
        headers=admin,
    ).json()["items"]
    assert len(mine) == 1
    assert mine[0]["changes"]["name_en"][1] == "Site A (Songjiang)"
    exported = client.get("/api/v1/audit/records.csv", params={"entity_type": "site"}, headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {r["entity_type"] for r in rows} == {"site"}
    assert any("Songjiang" in r["changes"] for r in rows)
    assert any(r["name_zh" if False else "changes"].find("站点A") >= 0 for r in rows)


def test_audit_reads_need_audit_permission(client: TestClient, people: People) -> None:
    assert client.get("/api/v1/audit/records", headers=people.bearer("warehouse")).status_code == 403
    assert client.get("/api/v1/audit/records", headers=people.bearer("viewer")).status_code == 200


def test_the_verify_endpoint_reports_a_clean_chain(client: TestClient, people: People) -> None:
    report = client.get("/api/v1/audit/verify", headers=people.bearer("admin")).json()
    assert report["ok"] is True
    assert report["links"] > 0
    assert report["breaks"] == []
    assert client.get("/api/v1/audit/verify", headers=people.bearer("viewer")).status_code == 403


def test_errors_speak_the_readers_language(client: TestClient, people: People) -> None:
    zh = client.get("/api/v1/sites", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get("/api/v1/sites", headers={"Accept-Language": "en-US"})
    assert zh.json()["code"] == en.json()["code"] == "auth.required"
    assert zh.json()["detail"] != en.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.json()["detail"])
