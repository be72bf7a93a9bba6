"""Inspection and the usage decision over the API: plans, LIMS posts, CoAs, signed partial release."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import StockStatus
from lotline.models.audit import AuditRecord
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord, QualityDecision
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.stock import check as ledger_check
from lotline.stock import service as ledger
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.integration.test_quality import sscc

PALLET = Decimal(500)  # kg of pork on a pallet


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def written(db: Database) -> tuple[int, ...]:
    return tuple(count(db, m) for m in (AuditRecord, Signature, StockMovement, QualityDecision))


def by_status(db: Database, lot_id: int) -> dict[str, Decimal]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.stock_status, func.sum(StockOnHand.qty_base))
            .where(StockOnHand.lot_id == lot_id, StockOnHand.qty_base > 0)
            .group_by(StockOnHand.stock_status)
        )
        return {status: Decimal(total) for status, total in rows}


@pytest.fixture
def pallets(db: Database, clock: FakeClock, people: People, stock: dict[str, int]) -> dict[str, int]:
    """40 pallets of lot A in a QA bin at site A, one per SSCC, and a freezer bin."""
    with db.transaction(clock=clock) as uow:
        site = people.site_ids["A"]
        store_room = places.create_location(
            uow, site_id=site, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )

        def bin_(code: str, qa: bool) -> int:
            return places.create_location(
                uow,
                site_id=site,
                code=code,
                name_zh=code,
                name_en=code,
                kind="BIN",
                parent_id=store_room.id,
                is_qa_area=qa,
            ).id

        qa_bin, store = bin_("QA-01", True), bin_("FZ-01", False)
        lot = uow.session.get_one(Lot, stock["a"])
        for serial in range(1, 41):
            stock_post = stock_service_post(uow, lot, Bucket(qa_bin, StockStatus.QUARANTINE, sscc(serial)))
            assert stock_post.base_qty == PALLET
    return {**stock, "qa_bin": qa_bin, "store": store}


def stock_service_post(uow: object, lot: Lot, target: Bucket) -> StockMovement:
    return ledger.post(
        uow,  # type: ignore[arg-type]
        kind=MovementKind.RECEIPT,
        lot=lot,
        quantity=Quantity(PALLET),
        entered_qty=PALLET,
        entered_unit="KGM",
        target=target,
    )


def signed_in(client: TestClient, who: str = "qa_manager") -> dict[str, str]:
    login = client.post("/api/v1/auth/session", json={"username": who, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"X-CSRF-Token": login.json()["csrf_token"]}


def grant(client: TestClient, csrf: dict[str, str], meaning: str, record_type: str, record_id: int) -> str:
    answer = client.post(
        "/api/v1/signatures/grants",
        json={
            "username": "qa_manager",
            "password": PASSWORD,
            "meaning": meaning,
            "record_type": record_type,
            "record_id": str(record_id),
        },
        headers=csrf,
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["signing_grant"])


PLAN = {
    "characteristics": [
        {
            "code": "core_temp",
            "name_zh": "中心温度",
            "name_en": "Core temperature",
            "kind": "NUMERIC",
            "unit": "CEL",
            "upper_limit": "4",
        },
        {
            "code": "odour",
            "name_zh": "气味",
            "name_en": "Odour",
            "kind": "CHOICE",
            "accepted_values": ["NORMAL"],
        },
    ],
    "sample_size": "2",
    "sample_unit": "KGM",
}


def test_releasing_30_of_40_pallets_over_the_api_leaves_10_in_quarantine(
    client: TestClient, people: People, pallets: dict[str, int], db: Database
) -> None:
    lot_id = pallets["a"]
    plan = client.post(
        f"/api/v1/products/{pallets['product']}/inspection-plan", json=PLAN, headers=people.bearer("admin")
    )
    assert plan.status_code == 201, plan.text
    assert plan.json()["version"] == 1
    assert (
        client.get(
            f"/api/v1/products/{pallets['product']}/inspection-plan", headers=people.bearer("viewer")
        ).json()["characteristics"][0]["upper_limit"]
        == "4.000000"
    )
    # A LIMS posts its result (an integration token): judged against the plan.
    lims = {
        "lot_id": lot_id,
        "results": {"core_temp": 3.5, "odour": "NORMAL"},
        "source": "LabWare",
        "external_ref": "LW-1",
    }
    posted = client.post("/api/v1/inspections", json=lims, headers=people.bearer("integration"))
    assert posted.status_code == 201, posted.text
    inspection = posted.json()
    assert inspection["passed"] is True
    assert inspection["results"][0]["value_numeric"] == "3.500000"
    assert by_status(db, lot_id) == {"QUARANTINE": 40 * PALLET}  # recording releases nothing
    csrf = signed_in(client)
    path = f"/api/v1/lots/{lot_id}/usage-decisions"
    # The integration token cannot release: it cannot sign.
    refused = client.post(
        path,
        json={"decision": "RELEASED", "sscc": sscc(1), "inspection_ids": [inspection["id"]], "reason": "x"},
        headers=people.bearer("integration"),
    )
    assert refused.status_code == 403
    for serial in range(1, 31):
        released = client.post(
            path,
            json={
                "decision": "RELEASED",
                "sscc": sscc(serial),
                "inspection_ids": [inspection["id"]],
                "reason": "micro and temperature conform",
                "signing_grant": grant(client, csrf, "release", "lot", lot_id),
            },
            headers=csrf,
        )
        assert released.status_code == 201, released.text
    made = released.json()
    assert (made["decision"], made["sscc"], made["base_qty"]) == ("RELEASED", sscc(30), "500.000000")
    assert made["signed_by"] == "Qa_Manager User"
    assert made["lot_quality_status"] == "RELEASED"
    assert by_status(db, lot_id) == {"AVAILABLE": 30 * PALLET, "QUARANTINE": 10 * PALLET}
    listed = client.get(path, headers=people.bearer("viewer")).json()
    assert len(listed) == 30
    with db.transaction(read_only=True) as uow:
        assert ledger_check.differences(uow) == []


def test_a_release_with_a_forged_grant_or_citing_another_lots_record_writes_nothing(
    client: TestClient, people: People, pallets: dict[str, int], db: Database
) -> None:
    other = client.post(
        "/api/v1/inspections",
        json={"lot_id": pallets["b"], "results": {"visual": "OK"}, "passed": True},
        headers=people.bearer("admin"),
    ).json()
    csrf = signed_in(client)
    path = f"/api/v1/lots/{pallets['a']}/usage-decisions"
    before = written(db)
    forged = client.post(
        path,
        json={"decision": "RELEASED", "reason": "ok", "signing_grant": "lls_forged"},
        headers=csrf,
    )
    assert forged.status_code == 422
    assert forged.json()["field"] == "signing_grant"
    assert written(db) == before
    wrong = client.post(
        "/api/v1/signatures/grants",
        json={
            "username": "qa_manager",
            "password": "not the password",
            "meaning": "release",
            "record_type": "lot",
            "record_id": str(pallets["a"]),
        },
        headers=csrf,
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "signature.bad_password"
    with db.transaction(read_only=True) as uow:
        failed = uow.session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "signature_failed")
        )
    assert failed == 1  # the failed attempt is on record; nothing else was written
    assert written(db)[1:] == before[1:]
    assert written(db)[0] == before[0] + 1
    foreign = client.post(
        path,
        json={
            "decision": "RELEASED",
            "reason": "ok",
            "inspection_ids": [other["id"]],
            "signing_grant": grant(client, csrf, "release", "lot", pallets["a"]),
        },
        headers=csrf,
    )
    assert foreign.status_code == 422
    assert foreign.json()["code"] == "decision.inspection_not_of_lot"
    assert written(db)[1:] == before[1:]
    # Partial release by quantity from the QA bin (SSCC 1's bucket).
    part = client.post(
        path,
        json={
            "decision": "RELEASED",
            "reason": "part conforms",
            "quantity": "200",
            "unit": "KGM",
            "location_id": pallets["qa_bin"],
            "sscc": sscc(1),
            "signing_grant": grant(client, csrf, "release", "lot", pallets["a"]),
        },
        headers=csrf,
    )
    assert part.status_code == 201, part.text
    assert by_status(db, pallets["a"]) == {"AVAILABLE": Decimal(200), "QUARANTINE": 40 * PALLET - 200}


def test_a_plan_blocks_release_without_a_passing_record_and_a_lims_retry_stores_one_record(
    client: TestClient, people: People, pallets: dict[str, int], db: Database
) -> None:
    client.post(
        f"/api/v1/products/{pallets['product']}/inspection-plan", json=PLAN, headers=people.bearer("admin")
    )
    lims = {
        "lot_id": pallets["a"],
        "results": {"core_temp": "6.2", "odour": "NORMAL"},
        "source": "LabWare",
        "external_ref": "LW-7",
    }
    first = client.post("/api/v1/inspections", json=lims, headers=people.bearer("integration"))
    again = client.post("/api/v1/inspections", json=lims, headers=people.bearer("integration"))
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["passed"] is False
    assert count(db, InspectionRecord) == 1
    csrf = signed_in(client)
    refused = client.post(
        f"/api/v1/lots/{pallets['a']}/usage-decisions",
        json={
            "decision": "RELEASED",
            "reason": "ok",
            "inspection_ids": [first.json()["id"]],
            "signing_grant": grant(client, csrf, "release", "lot", pallets["a"]),
        },
        headers=csrf,
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "decision.no_passing_inspection"
    rejected = client.post(
        f"/api/v1/lots/{pallets['a']}/usage-decisions",
        json={
            "decision": "REJECTED",
            "reason": "core temperature out of specification",
            "inspection_ids": [first.json()["id"]],
            "signing_grant": grant(client, csrf, "reject", "lot", pallets["a"]),
        },
        headers=csrf,
    )
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["lot_quality_status"] == "REJECTED"
    assert by_status(db, pallets["a"]) == {"REJECTED": 40 * PALLET}


def test_a_coa_is_uploaded_with_its_sha256_downloaded_unchanged_and_a_huge_one_refused(
    client: TestClient, people: People, pallets: dict[str, int], db: Database
) -> None:
    qa = people.bearer("qa")
    made = client.post(
        "/api/v1/inspections",
        json={"lot_id": pallets["a"], "results": {"visual": "OK"}, "passed": True, "source": "api"},
        headers=qa,
    ).json()
    coa = b"%PDF-1.4\nCertificate of analysis, lot JH20260301\n"
    uploaded = client.post(
        f"/api/v1/inspections/{made['id']}/attachments",
        files={"file": ("CoA JH20260301.pdf", coa, "application/pdf")},
        headers=qa,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["sha256"] == hashlib.sha256(coa).hexdigest()
    listed = client.get(f"/api/v1/lots/{pallets['a']}/inspections", headers=qa).json()
    assert listed[0]["attachments"][0]["sha256"] == hashlib.sha256(coa).hexdigest()
    download = client.get(f"/api/v1/attachments/{uploaded.json()['id']}", headers=qa)
    assert download.status_code == 200
    assert download.content == coa
    assert download.headers["x-sha256"] == hashlib.sha256(coa).hexdigest()
    # Site B's warehouse user cannot even see that it exists.
    assert (
        client.get(
            f"/api/v1/attachments/{uploaded.json()['id']}", headers=people.bearer("warehouse")
        ).status_code
        == 404
    )
    before = written(db)
    huge = client.post(
        f"/api/v1/inspections/{made['id']}/attachments",
        files={"file": ("huge.pdf", b"x" * (10 * 1024 * 1024 + 1), "application/pdf")},
        headers=qa,
    )
    assert huge.status_code in (413, 422)
    assert huge.json()["code"] == "attachment.too_large"
    assert written(db) == before


def test_an_auto_release_policy_is_set_signed_and_a_lims_result_then_releases_naming_it(
    client: TestClient, people: People, pallets: dict[str, int], db: Database
) -> None:
    csrf = signed_in(client)
    path = f"/api/v1/products/{pallets['product']}/release-policy"
    body = {"conditions": {"requires_passing_inspection": True}, "reason": "trusted in-house pork"}
    unsigned = client.post(path, json=body, headers=csrf)
    assert unsigned.status_code == 422
    policy = client.post(
        path,
        json={**body, "signing_grant": grant(client, csrf, "approve", "product", pallets["product"])},
        headers=csrf,
    )
    assert policy.status_code == 201, policy.text
    # The lot has a QA hold at B only; lot A is released when the LIMS reports a pass.
    posted = client.post(
        "/api/v1/inspections",
        json={
            "lot_id": pallets["a"],
            "results": {"visual": "OK"},
            "passed": True,
            "source": "LabWare",
            "external_ref": "LW-9",
        },
        headers=people.bearer("integration"),
    )
    assert posted.status_code == 201, posted.text
    assert by_status(db, pallets["a"]) == {"AVAILABLE": 40 * PALLET}
    decided = client.get(
        f"/api/v1/lots/{pallets['a']}/usage-decisions", headers=people.bearer("viewer")
    ).json()
    assert [(d["policy_id"], d["signed_by"]) for d in decided] == [(policy.json()["id"], "Qa_Manager User")]
    # qa at site A only may not set or withdraw a policy that applies everywhere.
    assert client.delete(path, params={"reason": "x"}, headers=people.bearer("qa")).status_code == 403
    withdrawn = client.delete(path, params={"reason": "supplier audit"}, headers=csrf)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["active"] is False
