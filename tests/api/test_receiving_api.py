"""Receiving over the API: scans, a wrong check digit, a signed shelf-life override, site
isolation, idempotent replays and the scan preview."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.models.audit import AuditRecord
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.stock import StockMovement
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.integration.test_receiving import (
    PORK_GTIN,
    SSCC,
    Receiving,
    build_receiving,
    datamatrix,
    digital_link,
    gs1_128,
)


@pytest.fixture
def setup(db: Database, clock: FakeClock, people: People) -> Receiving:
    return build_receiving(db, clock, people)


def rows(db: Database) -> tuple[int, ...]:
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())
            for model in (Receipt, ReceiptLine, Lot, StockMovement, AuditRecord)
        )


def body(setup: Receiving, *lines: dict[str, object], site: str = "A") -> dict[str, object]:
    return {
        "site_id": setup.site_a if site == "A" else setup.site_b,
        "supplier_id": setup.supplier,
        "location_id": setup.dock_a if site == "A" else setup.dock_b,
        "purchase_order": "PO-7",
        "lines": list(lines),
    }


def test_a_receipt_of_three_scans_is_posted_listed_and_read(
    client: TestClient, people: People, setup: Receiving
) -> None:
    admin = people.bearer("admin")
    posted = client.post(
        "/api/v1/receipts",
        json=body(setup, {"scan": gs1_128("L1")}, {"scan": datamatrix("L2")}, {"scan": digital_link("L3")}),
        headers=admin,
    )
    assert posted.status_code == 201, posted.text
    receipt = posted.json()
    assert receipt["number"] == "R-A-2026-000001"
    same = {
        (
            line["supplier_expiry"],
            Decimal(line["count"]),
            Decimal(line["weight_kg"]),
            line["sscc"],
            line["product_id"],
        )
        for line in receipt["lines"]
    }
    assert same == {("2026-03-31", Decimal(24), Decimal("12.5"), SSCC, setup.pork)}
    assert all(line["lot_code"] for line in receipt["lines"])
    read = client.get(f"/api/v1/receipts/{receipt['id']}", headers=admin).json()
    assert read == receipt
    listed = client.get(
        "/api/v1/receipts",
        params={"site_id": setup.site_a, "supplier_id": setup.supplier, "since": "2026-03-01T00:00:00Z"},
        headers=admin,
    ).json()["items"]
    assert [r["id"] for r in listed] == [receipt["id"]]
    later = client.get("/api/v1/receipts", params={"since": "2026-03-02T00:00:00Z"}, headers=admin)
    assert later.json()["items"] == []


def test_a_wrong_gtin_check_digit_is_a_problem_naming_the_field_with_nothing_written(
    client: TestClient, people: People, setup: Receiving, db: Database
) -> None:
    before = rows(db)
    bad = gs1_128().replace(PORK_GTIN, PORK_GTIN[:-1] + "9")
    response = client.post(
        "/api/v1/receipts", json=body(setup, {"scan": bad}), headers=people.bearer("admin")
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "lines.0.scan"
    assert "(01)" in response.json()["detail"]
    preview = client.post(
        "/api/v1/scans/parse", json={"site_id": setup.site_a, "scan": bad}, headers=people.bearer("admin")
    )
    assert preview.status_code == 422
    assert preview.json()["field"] == "scan"
    assert rows(db) == before


def test_the_scan_preview_fills_a_line_and_writes_nothing(
    client: TestClient, people: People, setup: Receiving, db: Database
) -> None:
    before = rows(db)
    previews = [
        client.post(
            "/api/v1/scans/parse",
            json={"site_id": setup.site_a, "scan": text},
            headers=people.bearer("admin"),
        ).json()
        for text in (gs1_128(), datamatrix(), digital_link())
    ]
    assert previews[0] == previews[1] == previews[2]
    assert previews[0]["product_id"] == setup.pork
    assert previews[0]["supplier_expiry"] == "2026-03-31"
    assert previews[0]["net_weight_kg"] == "12.500"
    assert rows(db) == before


def test_a_short_shelf_life_is_refused_and_accepted_with_a_signed_override(
    client: TestClient, people: People, setup: Receiving, db: Database
) -> None:
    login = client.post("/api/v1/auth/session", json={"username": "admin", "password": PASSWORD})
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    short = {"scan": gs1_128("SHORT", expiry="260303")}
    before = rows(db)
    refused = client.post("/api/v1/receipts", json=body(setup, short), headers=csrf)
    assert refused.status_code == 422
    assert refused.json()["code"] == "receipt.short_shelf_life"
    assert refused.json()["field"] == "lines.0.supplier_expiry"
    assert rows(db) == before
    grant_request = {
        "username": "admin",
        "meaning": "override",
        "record_type": "receipt_line_override",
        "record_id": f"{setup.pork}:SHORT",
    }
    wrong = client.post("/api/v1/signatures/grants", json={**grant_request, "password": "nope"}, headers=csrf)
    assert wrong.status_code == 422
    grant = client.post(
        "/api/v1/signatures/grants", json={**grant_request, "password": PASSWORD}, headers=csrf
    ).json()["signing_grant"]
    accepted = client.post(
        "/api/v1/receipts",
        json=body(
            setup, {**short, "override_signing_grant": grant, "override_reason": "line stop otherwise"}
        ),
        headers=csrf,
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["lines"][0]["override_signature_id"] is not None
    with db.transaction(read_only=True) as uow:
        failed = uow.session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "signature_failed", AuditRecord.entity_type == "receipt_line_override"
            )
        ).all()
    assert len(failed) == 1


def test_a_user_of_site_b_cannot_receive_at_site_a(
    client: TestClient, people: People, setup: Receiving, db: Database
) -> None:
    warehouse = people.bearer("warehouse")  # site B only
    before = rows(db)
    response = client.post("/api/v1/receipts", json=body(setup, {"scan": gs1_128()}), headers=warehouse)
    assert response.status_code in (403, 404)
    assert rows(db) == before
    own = client.post("/api/v1/receipts", json=body(setup, {"scan": gs1_128()}, site="B"), headers=warehouse)
    assert own.status_code == 201, own.text
    admin_receipt = client.post(
        "/api/v1/receipts", json=body(setup, {"scan": gs1_128()}), headers=people.bearer("admin")
    ).json()
    assert client.get(f"/api/v1/receipts/{admin_receipt['id']}", headers=warehouse).status_code == 404
    listed = client.get("/api/v1/receipts", headers=warehouse).json()["items"]
    assert [r["id"] for r in listed] == [own.json()["id"]]


def test_an_idempotency_key_replays_a_receipt_without_a_second_one(
    client: TestClient, people: People, setup: Receiving, db: Database
) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "receipt-po-7"}
    first = client.post("/api/v1/receipts", json=body(setup, {"scan": gs1_128()}), headers=headers)
    after_first = rows(db)
    again = client.post("/api/v1/receipts", json=body(setup, {"scan": gs1_128()}), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert rows(db) == after_first
