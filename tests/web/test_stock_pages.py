"""The stock pages, driven through real requests: moves the matrix allows or refuses (with the
reasons shown, nothing written), the storage rule, a large count signed, scrap signed, transfers
received, and a user of one site kept out of another's stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.domain.ledger import MovementKind
from lotline.domain.status import QualityStatus
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.integration.test_stock_operations import A, Floor, Q, build_floor, on_hand, rows, seed, set_quality
from tests.web.webkit import alerts, count, sign_in


@pytest.fixture
def floor(db: Database, clock: FakeClock, people: People) -> Floor:
    return build_floor(db, clock, people)


def bucket(
    floor: Floor, csrf: str, location: int, status: str, qty: str = "10", **extra: str
) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "lot_id": str(floor.lot),
        "location_id": str(location),
        "status": status,
        "sscc": "",
        "quantity": qty,
        "unit": "EA",
        **extra,
    }


def test_the_stock_list_filters_by_location_subtree_and_status_and_shows_base_units(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 40, Bucket(floor.qa_bin, Q), MovementKind.RECEIPT)
    seed(db, clock, floor, 24, Bucket(floor.freezer, A), MovementKind.OPENING)
    sign_in(client, "admin")
    listed = client.get("/stock").text
    assert "QA-01</a>" in listed
    assert "FZ-01</a>" in listed
    assert "40 EA" in listed
    assert "24 EA" in listed
    under_store = client.get(f"/stock?location_id={floor.store}&stock_status=AVAILABLE").text
    assert "FZ-01</a>" in under_store
    assert "QA-01</a>" not in under_store
    assert client.get("/stock?stock_status=NOPE").status_code == 422
    place = client.get(f"/stock/locations/{floor.qa_bin}").text
    assert "40 EA" in place
    assert "Quarantine" in place
    assert "FZ-01</a>" not in place


def test_released_stock_moves_between_bins_and_quarantined_stock_is_refused_outside_a_qa_bin(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 30, Bucket(floor.freezer, A), MovementKind.OPENING)
    seed(db, clock, floor, 10, Bucket(floor.qa_bin, Q), MovementKind.RECEIPT)
    set_quality(db, floor, QualityStatus.RELEASED)
    csrf = sign_in(client, "admin")
    form = client.get(f"/stock/act?lot_id={floor.lot}&location_id={floor.freezer}&status=AVAILABLE")
    assert form.status_code == 200
    assert 'action="/stock/act/move"' in form.text
    moved = client.post(
        "/stock/act/move",
        data=bucket(floor, csrf, floor.freezer, "AVAILABLE", "12", to_location_id=str(floor.dock)),
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    assert on_hand(db)[(floor.dock, "AVAILABLE")] == Decimal(12)
    assert on_hand(db)[(floor.freezer, "AVAILABLE")] == Decimal(18)

    before = rows(db)
    refused = client.post(
        "/stock/act/move",
        data=bucket(floor, csrf, floor.qa_bin, "QUARANTINE", to_location_id=str(floor.freezer)),
    )
    assert refused.status_code == 409
    assert "not allowed" in alerts(refused.text)[0]
    assert "this stock is in quarantine: it may only go to a QA area" in refused.text
    assert rows(db) == before
    into_qa = client.post(
        "/stock/act/move",
        data=bucket(floor, csrf, floor.qa_bin, "QUARANTINE", "4", to_location_id=str(floor.qa_two)),
        follow_redirects=False,
    )
    assert into_qa.status_code == 303
    assert on_hand(db)[(floor.qa_two, "QUARANTINE")] == Decimal(4)


def test_frozen_stock_into_an_ambient_bin_names_both_conditions_in_chinese_too(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 30, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    csrf = sign_in(client, "admin")
    before = rows(db)
    refused = client.post(
        "/stock/act/move",
        data=bucket(floor, csrf, floor.freezer, "AVAILABLE", to_location_id=str(floor.ambient)),
    )
    assert refused.status_code == 409
    message = alerts(refused.text)[0]
    assert "FROZEN" in message
    assert "AMB-01" in message
    assert "ambient" in message
    assert rows(db) == before
    client.cookies.clear()
    csrf = sign_in(client, "admin", language="zh_CN")
    before = rows(db)  # signing in is audited
    chinese = client.post(
        "/stock/act/move",
        data=bucket(floor, csrf, floor.freezer, "AVAILABLE", to_location_id=str(floor.ambient)),
    )
    assert chinese.status_code == 409
    assert "FROZEN" in alerts(chinese.text)[0]
    assert rows(db) == before


def test_a_count_with_a_large_difference_asks_for_a_signature_and_a_small_one_does_not(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 100, Bucket(floor.freezer, A), MovementKind.OPENING)
    csrf = sign_in(client, "admin")
    before = rows(db)
    asked = client.post(
        "/stock/act/count", data=bucket(floor, csrf, floor.freezer, "AVAILABLE", "60", reason="cycle count")
    )
    assert asked.status_code == 200
    assert "Electronic signature" in asked.text
    assert 'name="password"' in asked.text
    assert "The difference is large and must be signed." in asked.text
    assert rows(db) == before
    signed_data = bucket(floor, csrf, floor.freezer, "AVAILABLE", "60", reason="cycle count", signing="1")
    wrong = client.post("/stock/act/count", data={**signed_data, "username": "admin", "password": "nope"})
    assert wrong.status_code == 422
    assert count(db, StockMovement) == before[0]
    signed = client.post(
        "/stock/act/count",
        data={**signed_data, "username": "admin", "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    assert on_hand(db)[(floor.freezer, "AVAILABLE")] == Decimal(60)
    assert count(db, Signature) == 1
    small = client.post(
        "/stock/act/count",
        data=bucket(floor, csrf, floor.freezer, "AVAILABLE", "59", reason="one broken"),
        follow_redirects=False,
    )
    assert small.status_code == 303
    assert on_hand(db)[(floor.freezer, "AVAILABLE")] == Decimal(59)
    assert count(db, Signature) == 1


def test_scrap_is_signed_and_a_transfer_is_received_at_the_other_site(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 50, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    csrf = sign_in(client, "admin")
    dialog = client.post(
        "/stock/act/scrap", data=bucket(floor, csrf, floor.freezer, "AVAILABLE", "5", reason="torn")
    )
    assert "Electronic signature" in dialog.text
    assert count(db, Signature) == 0
    scrapped = client.post(
        "/stock/act/scrap",
        data=bucket(
            floor,
            csrf,
            floor.freezer,
            "AVAILABLE",
            "5",
            reason="torn",
            signing="1",
            username="admin",
            password=PASSWORD,
        ),
        follow_redirects=False,
    )
    assert scrapped.status_code == 303, scrapped.text
    assert on_hand(db)[(floor.freezer, "AVAILABLE")] == Decimal(45)
    sent = client.post(
        "/stock/act/transfer",
        data=bucket(
            floor, csrf, floor.freezer, "AVAILABLE", "1", unit="CS", to_location_id=str(floor.far_freezer)
        ),
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    listed = client.get("/stock/transfers").text
    assert "FZ-B1" in listed
    txn = count(db, StockMovement)
    with db.transaction(read_only=True) as uow:
        txn_id = uow.session.scalars(
            select(StockMovement.txn_id).where(StockMovement.kind == MovementKind.TRANSFER_OUT.value)
        ).one()
    received = client.post(
        f"/stock/transfers/{txn_id}/receive",
        data={"csrf_token": csrf, "quantity": "10", "unit": "EA", "reason": "2 crushed"},
        follow_redirects=False,
    )
    assert received.status_code == 303
    page = client.get("/stock/transfers").text
    assert "Transfer received." in page, alerts(page)
    assert count(db, StockMovement) == txn + 2  # received and the transit shortage
    assert on_hand(db)[(floor.far_freezer, "AVAILABLE")] == Decimal(10)
    assert "Nothing is in transit." in client.get("/stock/transfers").text


def test_a_user_of_site_a_sees_nothing_of_site_b_and_forms_without_csrf_are_refused(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 30, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    sign_in(client, "warehouse")  # site B only
    assert "FZ-01" not in client.get("/stock").text
    assert client.get(f"/stock/locations/{floor.freezer}").status_code == 404
    assert (
        client.get(f"/stock/act?lot_id={floor.lot}&location_id={floor.freezer}&status=AVAILABLE").status_code
        == 404
    )

    client.cookies.clear()
    sign_in(client, "qa")  # site A, reads stock but may not move it
    assert "FZ-01" in client.get("/stock").text
    assert client.get(f"/stock/locations/{floor.far_freezer}").status_code == 404
    assert (
        client.get(f"/stock/act?lot_id={floor.lot}&location_id={floor.freezer}&status=AVAILABLE").status_code
        == 403
    )

    client.cookies.clear()
    csrf = sign_in(client, "admin")
    before = rows(db)
    no_token = {k: v for k, v in bucket(floor, csrf, floor.freezer, "AVAILABLE").items() if k != "csrf_token"}
    forged = client.post("/stock/act/move", data={**no_token, "to_location_id": str(floor.dock)})
    assert forged.status_code == 403
    assert rows(db) == before
