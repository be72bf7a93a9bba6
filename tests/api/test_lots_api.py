"""Lots over the API, and cross-site isolation with real data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.models.audit import AuditRecord
from lotline.models.lot import Hold, Lot
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_lot_is_registered_found_and_its_history_read(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    qa = people.bearer("qa")
    created = client.post(
        "/api/v1/lots",
        json={
            "product_id": stock["product"],
            "site_id": people.site_ids["A"],
            "source": "PRODUCTION",
            "production_date": "2026-03-01",
        },
        headers=qa,
    )
    assert created.status_code == 201, created.text
    lot = created.json()
    assert lot["expiry_date"] == "2026-03-10"
    assert lot["quality_status"] == "QUARANTINE"
    found = client.get("/api/v1/lots", params={"product_id": stock["product"], "on_hold": False}, headers=qa)
    assert lot["id"] in [item["id"] for item in found.json()["items"]]
    history = client.get(f"/api/v1/lots/{lot['id']}/history", headers=qa).json()["items"]
    assert [record["action"] for record in history] == ["create"]


def test_an_invalid_lot_is_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, people: People, stock: dict[str, int], db: Database
) -> None:
    before = (count(db, Lot), count(db, AuditRecord))
    response = client.post(
        "/api/v1/lots",
        json={"product_id": stock["product"], "site_id": people.site_ids["A"], "source": "PRODUCTION"},
        headers=people.bearer("qa"),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "produced_on"
    assert (count(db, Lot), count(db, AuditRecord)) == before


def test_a_user_of_site_a_cannot_read_or_touch_site_bs_lots_and_holds(
    client: TestClient, people: People, stock: dict[str, int], db: Database
) -> None:
    qa = people.bearer("qa")  # granted qa at site A only
    before = (count(db, Lot), count(db, Hold), count(db, AuditRecord))
    listed = client.get("/api/v1/lots", headers=qa).json()["items"]
    assert stock["b"] not in [item["id"] for item in listed]
    lot_b = f"/api/v1/lots/{stock['b']}"
    refused = [
        client.get(lot_b, headers=qa),
        client.get(f"{lot_b}/history", headers=qa),
        client.get(f"{lot_b}/holds", headers=qa),
        client.post(f"{lot_b}/holds", json={"hold_type": "QA", "reason": "x"}, headers=qa),
        client.post(
            "/api/v1/lots",
            json={
                "product_id": stock["product"],
                "site_id": people.site_ids["B"],
                "source": "PRODUCTION",
                "production_date": "2026-03-01",
            },
            headers=qa,
        ),
    ]
    for response in refused:
        assert response.status_code in (403, 404), response.request.url
    qa_manager_everywhere = client.get(lot_b, headers=people.bearer("qa_manager"))
    assert qa_manager_everywhere.status_code == 200
    assert (count(db, Lot), count(db, Hold), count(db, AuditRecord)) == before


def test_lifting_a_hold_needs_a_signing_grant_from_a_person(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    login = client.post("/api/v1/auth/session", json={"username": "qa_manager", "password": PASSWORD})
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    unsigned = client.post(
        f"/api/v1/holds/{stock['hold_b']}/lift",
        json={"reason": "ok", "signing_grant": "lls_none"},
        headers=csrf,
    )
    assert unsigned.status_code == 422
    assert unsigned.json()["field"] == "signing_grant"
    grant = client.post(
        "/api/v1/signatures/grants",
        json={
            "username": "qa_manager",
            "password": PASSWORD,
            "meaning": "lift_hold",
            "record_type": "hold",
            "record_id": str(stock["hold_b"]),
        },
        headers=csrf,
    ).json()["signing_grant"]
    lifted = client.post(
        f"/api/v1/holds/{stock['hold_b']}/lift",
        json={"reason": "sample conforms", "signing_grant": grant},
        headers=csrf,
    )
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["lifted_by"] == "Qa_Manager User"
    assert lifted.json()["lift_signature_id"] is not None


def test_a_lot_is_released_over_the_api_with_a_signing_grant(
    client: TestClient, people: People, stock: dict[str, int], db: Database
) -> None:
    login = client.post("/api/v1/auth/session", json={"username": "qa_manager", "password": PASSWORD})
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    path = f"/api/v1/lots/{stock['a']}/decision"
    before = (count(db, AuditRecord), count(db, Lot))
    unsigned = client.post(
        path, json={"decision": "RELEASED", "reason": "ok", "signing_grant": "lls_forged"}, headers=csrf
    )
    assert unsigned.status_code == 422
    assert unsigned.json()["field"] == "signing_grant"
    assert (count(db, AuditRecord), count(db, Lot)) == before
    grant = client.post(
        "/api/v1/signatures/grants",
        json={
            "username": "qa_manager",
            "password": PASSWORD,
            "meaning": "release",
            "record_type": "lot",
            "record_id": str(stock["a"]),
        },
        headers=csrf,
    ).json()["signing_grant"]
    released = client.post(
        path, json={"decision": "RELEASED", "reason": "micro conform", "signing_grant": grant}, headers=csrf
    )
    assert released.status_code == 200, released.text
    assert released.json()["quality_status"] == "RELEASED"
    again = client.post(
        path, json={"decision": "RELEASED", "reason": "again", "signing_grant": grant}, headers=csrf
    )
    assert again.status_code in (409, 422)  # the grant is spent, and the lot is released already
