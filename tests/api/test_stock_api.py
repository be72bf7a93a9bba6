"""The stock API: on hand and movements, and every operation refused where the matrix, the
storage rule, the quantity or the caller's site says — as problem+json, with nothing written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.integration.test_stock_operations import (
    A,
    Floor,
    Q,
    build_floor,
    closes,
    on_hand,
    rows,
    seed,
    set_quality,
)

MOVES = "/api/v1/stock/moves"


@pytest.fixture
def floor(db: Database, clock: FakeClock, people: People) -> Floor:
    return build_floor(db, clock, people)


def signer(client: TestClient, who: str = "admin") -> dict[str, str]:
    """A person signed in with a web session (tokens cannot sign): the CSRF header to send."""
    login = client.post("/api/v1/auth/session", json={"username": who, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"X-CSRF-Token": login.json()["csrf_token"]}


def grant(client: TestClient, headers: dict[str, str], meaning: str, lot_id: int) -> str:
    issued = client.post(
        "/api/v1/signatures/grants",
        json={
            "username": "admin",
            "password": PASSWORD,
            "meaning": meaning,
            "record_type": "lot",
            "record_id": str(lot_id),
        },
        headers=headers,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["signing_grant"])


def taken(floor: Floor, location: int, status: str, qty: str = "10", **extra: object) -> dict[str, object]:
    return {
        "lot_id": floor.lot,
        "from_location_id": location,
        "from_status": status,
        "quantity": qty,
        "unit": "EA",
        **extra,
    }


def refused(
    client: TestClient, db: Database, path: str, body: dict[str, object], headers: dict[str, str]
) -> dict:
    before = rows(db)
    answer = client.post(path, json=body, headers=headers)
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    assert rows(db) == before
    return {"status": answer.status_code, **answer.json()}


def test_released_30_of_40_leaves_10_that_go_only_to_a_qa_bin_or_are_returned_or_scrapped(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    bearer = people.bearer("admin")
    seed(db, clock, floor, 40, Bucket(floor.qa_bin, Q), MovementKind.RECEIPT)
    set_quality(db, floor, QualityStatus.RELEASED)
    with db.transaction(clock=clock) as uow:  # QA releases 30 of the 40 (a partial decision)
        stock.post(
            uow,
            kind=MovementKind.STATUS,
            lot=uow.session.get_one(Lot, floor.lot),
            quantity=Quantity(Decimal(30)),
            entered_qty=Decimal(30),
            entered_unit="EA",
            source=Bucket(floor.qa_bin, Q),
            target=Bucket(floor.qa_bin, A),
        )
    putaway = client.post(
        MOVES,
        json={**taken(floor, floor.qa_bin, "AVAILABLE", "30"), "to_location_id": floor.freezer},
        headers=bearer,
    )
    assert putaway.status_code == 201, putaway.text
    quarantined = taken(floor, floor.qa_bin, "QUARANTINE")
    for path, extra in (
        (MOVES, {"to_location_id": floor.freezer}),
        (MOVES, {"to_location_id": floor.dock}),
        ("/api/v1/stock/transfers", {"to_location_id": floor.far_freezer}),
    ):
        problem = refused(client, db, path, {**quarantined, **extra}, bearer)
        assert (problem["status"], problem["code"], problem["blocked_by"]) == (
            409,
            "matrix.not_allowed",
            ["stock.quarantine"],
        )
    # A QA bin it may go to; scrap and return are signed by a person.
    to_qa = client.post(MOVES, json={**quarantined, "to_location_id": floor.qa_two}, headers=bearer)
    assert to_qa.status_code == 201, to_qa.text
    in_qa_two = taken(floor, floor.qa_two, "QUARANTINE", "4", reason="torn cartons")
    token_scrap = refused(client, db, "/api/v1/stock/scraps", {**in_qa_two, "signing_grant": "lls_x"}, bearer)
    assert (token_scrap["status"], token_scrap["code"]) == (403, "signature.token_cannot_sign")
    person = signer(client)
    forged = refused(client, db, "/api/v1/stock/scraps", {**in_qa_two, "signing_grant": "lls_forged"}, person)
    assert (forged["status"], forged["field"]) == (422, "signing_grant")
    scrapped = client.post(
        "/api/v1/stock/scraps",
        json={**in_qa_two, "signing_grant": grant(client, person, "scrap", floor.lot)},
        headers=person,
    )
    assert scrapped.status_code == 201, scrapped.text
    assert scrapped.json()["signature_id"] is not None
    returned = client.post(
        "/api/v1/stock/returns",
        json={
            **taken(floor, floor.qa_two, "QUARANTINE", "6", reason="wrong spec"),
            "signing_grant": grant(client, person, "return_to_supplier", floor.lot),
        },
        headers=person,
    )
    assert returned.status_code == 201, returned.text
    assert on_hand(db) == {(floor.freezer, "AVAILABLE"): Decimal(30)}
    movements = client.get(f"/api/v1/lots/{floor.lot}/movements", headers=bearer).json()["items"]
    assert [m["kind"] for m in movements][:3] == ["return_to_supplier", "scrap", "move"]
    first = client.get(f"/api/v1/lots/{floor.lot}/movements", params={"limit": 2}, headers=bearer).json()
    rest = client.get(
        f"/api/v1/lots/{floor.lot}/movements",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=bearer,
    ).json()
    assert [m["id"] for m in first["items"] + rest["items"]] == [m["id"] for m in movements][:4]
    closes(db)


@pytest.mark.parametrize(
    ("situation", "blocked_by"),
    [
        ("rejected", ["quality.rejected", "stock.rejected"]),
        ("held", ["hold.qa"]),
        ("recall", ["hold.recall"]),
        ("expired", ["expired"]),
    ],
)
def test_blocked_stock_cannot_be_transferred_and_each_reason_is_named(
    client: TestClient,
    db: Database,
    clock: FakeClock,
    people: People,
    floor: Floor,
    situation: str,
    blocked_by: list[str],
) -> None:
    status = "REJECTED" if situation == "rejected" else "AVAILABLE"
    seed(db, clock, floor, 20, Bucket(floor.freezer, StockStatus(status)), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.REJECTED if situation == "rejected" else QualityStatus.RELEASED)
    with db.transaction(clock=clock) as uow:
        if situation in ("held", "recall"):
            lots.place_hold(
                uow,
                lot_id=floor.lot,
                hold_type=HoldType.QA if situation == "held" else HoldType.RECALL,
                reason="x",
            )
        if situation == "expired":
            uow.session.execute(update(Lot).where(Lot.id == floor.lot).values(expiry_date=date(2026, 2, 27)))
    bearer = people.bearer("admin")
    body = {**taken(floor, floor.freezer, status), "to_location_id": floor.far_freezer}
    problem = refused(client, db, "/api/v1/stock/transfers", body, bearer)
    assert (problem["status"], problem["code"], problem["blocked_by"]) == (
        409,
        "matrix.not_allowed",
        blocked_by,
    )
    sample = refused(
        client,
        db,
        "/api/v1/stock/retained-samples",
        {**taken(floor, floor.freezer, status), "to_location_id": floor.qa_bin},
        bearer,
    )
    assert sample["code"] == "matrix.not_allowed"
    # Handling within the site still goes on for held and expired stock (not for rejected).
    moved = client.post(
        MOVES,
        json={**taken(floor, floor.freezer, status, "1"), "to_location_id": floor.qa_bin},
        headers=bearer,
    )
    assert moved.status_code == 201, moved.text


def test_frozen_into_ambient_is_a_problem_naming_both_conditions(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 10, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    problem = refused(
        client,
        db,
        MOVES,
        {**taken(floor, floor.freezer, "AVAILABLE", "5"), "to_location_id": floor.ambient},
        people.bearer("admin"),
    )
    assert (problem["status"], problem["code"], problem["field"]) == (
        409,
        "storage.mismatch",
        "to_location_id",
    )
    assert "FROZEN" in problem["detail"]
    assert "AMB-01" in problem["detail"]
    assert "ambient" in problem["detail"]
    short = refused(
        client,
        db,
        MOVES,
        {**taken(floor, floor.freezer, "AVAILABLE", "11"), "to_location_id": floor.dock},
        people.bearer("admin"),
    )
    assert (short["status"], short["code"], short["field"]) == (409, "stock.insufficient", "quantity")


def test_a_large_count_needs_a_signature_and_a_small_one_does_not(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 100, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    bearer = people.bearer("admin")
    body = {
        "lot_id": floor.lot,
        "location_id": floor.freezer,
        "counted": "97",
        "unit": "EA",
        "reason": "recount",
    }
    small = client.post("/api/v1/stock/counts", json=body, headers=bearer)
    assert small.status_code == 201, small.text
    assert small.json()["movements"][0]["kind"] == "adjust_down"
    no_reason = refused(client, db, "/api/v1/stock/counts", {**body, "counted": "96", "reason": None}, bearer)
    assert (no_reason["status"], no_reason["field"]) == (422, "reason")
    large = {**body, "counted": "7", "unit": "CS"}
    by_token = refused(client, db, "/api/v1/stock/counts", large, bearer)
    assert (by_token["status"], by_token["code"]) == (403, "signature.token_cannot_sign")
    person = signer(client)
    unsigned = refused(client, db, "/api/v1/stock/counts", large, person)
    assert (unsigned["status"], unsigned["field"]) == (422, "signing_grant")
    signed = client.post(
        "/api/v1/stock/counts",
        json={**large, "signing_grant": grant(client, person, "approve", floor.lot)},
        headers=person,
    )
    assert signed.status_code == 201, signed.text
    assert Decimal(signed.json()["movements"][0]["base_qty"]) == 13
    assert on_hand(db) == {(floor.freezer, "AVAILABLE"): Decimal(84)}


def test_an_inter_site_transfer_is_in_transit_then_received_with_a_shortage(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 30, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    sent = client.post(
        "/api/v1/stock/transfers",
        json={
            **taken(floor, floor.freezer, "AVAILABLE", "2"),
            "unit": "CS",
            "to_location_id": floor.far_freezer,
        },
        headers=people.bearer("admin"),
    )
    assert sent.status_code == 201, sent.text
    txn = sent.json()["txn_id"]
    in_transit = client.get(
        "/api/v1/stock", params={"stock_status": "IN_TRANSIT"}, headers=people.bearer("warehouse")
    )
    assert [(line["location_id"], Decimal(line["qty_base"])) for line in in_transit.json()["items"]] == [
        (floor.far_freezer, Decimal(24))
    ]
    received = client.post(
        f"/api/v1/stock/transfers/{txn}/receive",
        json={"quantity": "23", "unit": "EA", "reason": "one crushed"},
        headers=people.bearer("warehouse"),
    )
    assert received.status_code == 201, received.text
    assert [m["kind"] for m in received.json()["movements"]] == ["transfer_in", "transit_shortage"]
    assert on_hand(db) == {
        (floor.freezer, "AVAILABLE"): Decimal(6),
        (floor.far_freezer, "AVAILABLE"): Decimal(23),
    }
    site_a_store = client.get(f"/api/v1/locations/{floor.store}/stock", headers=people.bearer("admin")).json()
    assert [(line["location_code"], Decimal(line["qty_base"])) for line in site_a_store["items"]] == [
        ("FZ-01", Decimal(6))
    ]
    # Site B now holds some of site A's lot: its warehouse reads the lot and what lies at site B
    # (the shipment on its way there included), never site A's buckets or movements.
    warehouse_b = people.bearer("warehouse")
    assert client.get(f"/api/v1/lots/{floor.lot}", headers=warehouse_b).status_code == 200
    at_b = client.get(f"/api/v1/lots/{floor.lot}/stock", headers=warehouse_b).json()["items"]
    assert [(line["location_id"], Decimal(line["qty_base"])) for line in at_b] == [
        (floor.far_freezer, Decimal(23))
    ]
    seen = client.get(f"/api/v1/lots/{floor.lot}/movements", headers=warehouse_b).json()["items"]
    assert {m["kind"] for m in seen} == {"transfer_out", "transfer_in", "transit_shortage"}
    assert all(m["to_location_id"] == floor.far_freezer for m in seen if m["kind"] == "transfer_out")
    closes(db)


def test_a_user_of_site_a_gets_404_on_site_bs_stock(
    client: TestClient, db: Database, clock: FakeClock, people: People, floor: Floor
) -> None:
    seed(db, clock, floor, 10, Bucket(floor.freezer, A), MovementKind.OPENING)
    set_quality(db, floor, QualityStatus.RELEASED)
    warehouse_b = people.bearer("warehouse")  # stock.move at site B only; the lot is at site A
    assert client.get(f"/api/v1/lots/{floor.lot}/stock", headers=warehouse_b).status_code == 404
    assert client.get(f"/api/v1/lots/{floor.lot}/movements", headers=warehouse_b).status_code == 404
    assert client.get(f"/api/v1/locations/{floor.freezer}/stock", headers=warehouse_b).status_code == 404
    assert client.get("/api/v1/stock", headers=warehouse_b).json()["items"] == []
    problem = refused(
        client,
        db,
        MOVES,
        {**taken(floor, floor.freezer, "AVAILABLE", "1"), "to_location_id": floor.dock},
        warehouse_b,
    )
    assert problem["status"] == 404
    viewer = refused(
        client,
        db,
        MOVES,
        {**taken(floor, floor.freezer, "AVAILABLE", "1"), "to_location_id": floor.dock},
        people.bearer("viewer"),
    )
    assert viewer["status"] == 403
    mine = client.get(f"/api/v1/lots/{floor.lot}/stock", headers=people.bearer("admin")).json()["items"]
    assert [(line["location_code"], line["stock_status"], Decimal(line["qty_base"])) for line in mine] == [
        ("FZ-01", "AVAILABLE", Decimal(10))
    ]
