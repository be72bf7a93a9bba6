"""Picking, shipping and returns over HTTP: pick by lot code and SSCC, a signed FEFO deviation in
the deviation log, blocked stock refused with problem+json naming the reason and nothing written,
a shipment with legs and its packing list, a return into quarantine, site scoping, idempotency."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from lotline.domain.reason_text import REASON_TEXT
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import (
    BLOCKS,
    allocation_states,
    block,
    carrier,
    invariants_hold,
    on_hand,
    order_for,
    order_of_line,
    palletise,
    qa_bin,
    reserved,
    rows,
)
from tests.outbound_fixtures import Shelf, build_shelf

API = "/api/v1"


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def signer(client: TestClient) -> dict[str, str]:
    """The admin signed in with a web session (tokens cannot sign): the CSRF header to send."""
    login = client.post(f"{API}/auth/session", json={"username": "admin", "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"X-CSRF-Token": login.json()["csrf_token"]}


def override_grant(client: TestClient, headers: dict[str, str], line_id: int) -> str:
    issued = client.post(
        f"{API}/signatures/grants",
        json={
            "username": "admin",
            "password": PASSWORD,
            "meaning": "override",
            "record_type": "sales_order_line",
            "record_id": str(line_id),
        },
        headers=headers,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["signing_grant"])


def picked(
    client: TestClient, headers: dict[str, str], line_id: int, scanned: str, qty: str, **extra: Any
) -> Any:
    return client.post(
        f"{API}/order-lines/{line_id}/picks",
        json={"scanned": scanned, "quantity": qty, "unit": "EA", **extra},
        headers=headers,
    )


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    found: dict[str, Any] = response.json()
    return found


def test_pick_ship_packing_list_arrival_and_return_over_the_api(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    admin = people.bearer("admin")
    pallet = palletise(db, clock, shelf, "F", 3)
    line = order_for(db, clock, shelf)
    order_id = order_of_line(db, line)
    by_code = picked(client, admin, line, shelf.codes["E"], "30")
    assert by_code.status_code == 201, by_code.text
    assert by_code.json()["line_status"] == "allocated"
    assert [(p["lot_code"], Decimal(p["qty_base"]), p["deviation"]) for p in by_code.json()["picks"]] == [
        (shelf.codes["E"], Decimal(30), False)
    ]
    by_sscc = picked(client, admin, line, f"]C100{pallet}", "30")
    assert by_sscc.status_code == 201, by_sscc.text
    assert by_sscc.json()["line_status"] == "picked"
    assert by_sscc.json()["picks"][0]["sscc"] == pallet
    trucks = carrier(db, clock)
    shipped = client.post(
        f"{API}/orders/{order_id}/shipments",
        json={
            "carrier_id": trucks,
            "vehicle": "沪A 12345",
            "legs": [{"destination": "Hub Suzhou"}, {"origin": "Hub Suzhou", "destination": "SHOP"}],
        },
        headers=admin,
    )
    assert shipped.status_code == 201, shipped.text
    shipment = shipped.json()
    assert {
        (sl["lot_code"], sl["expiry_date"], sl["sscc"], Decimal(sl["qty_base"])) for sl in shipment["lines"]
    } == {
        (shelf.codes["E"], "2026-03-20", "", Decimal(30)),
        (shelf.codes["F"], "2026-03-25", pallet, Decimal(30)),
    }
    assert [(leg["seq"], leg["carrier_id"], leg["arrived_at"]) for leg in shipment["legs"]] == [
        (1, trucks, None),
        (2, trucks, None),
    ]
    assert reserved(db) == {}
    invariants_hold(db)
    read = client.get(f"{API}/shipments/{shipment['id']}", headers=people.bearer("viewer"))
    assert read.status_code == 200
    assert read.json() == shipment
    pdf = client.get(f"{API}/shipments/{shipment['id']}/packing-list.pdf", headers=admin)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (shelf.codes["E"], shelf.codes["F"], "2026-03-20", "2026-03-25", pallet):
        assert expected in text, expected
    chinese = client.get(
        f"{API}/shipments/{shipment['id']}/packing-list.pdf", params={"language": "zh-CN"}, headers=admin
    )
    assert "装箱单" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(chinese.content)).pages)
    for seq in (1, 2):
        arrived = client.post(f"{API}/shipments/{shipment['id']}/legs/{seq}/arrival", json={}, headers=admin)
        assert arrived.status_code == 200, arrived.text
    assert arrived.json()["delivered_at"] is not None
    again = problem(
        client.post(f"{API}/shipments/{shipment['id']}/legs/1/arrival", json={}, headers=admin), 409
    )
    assert again["code"] == "shipment.leg_arrived"
    e_line = next(sl["id"] for sl in shipment["lines"] if sl["lot_code"] == shelf.codes["E"])
    place = qa_bin(db, clock, shelf)
    back = {
        "shipment_line_id": e_line,
        "quantity": "10",
        "unit": "EA",
        "location_id": place,
        "reason": "dented",
    }
    returned = client.post(f"{API}/customer-returns", json=back, headers=admin)
    assert returned.status_code == 201, returned.text
    assert (Decimal(returned.json()["qty_base"]), returned.json()["stock_status"]) == (
        Decimal(10),
        "QUARANTINE",
    )
    assert on_hand(db, shelf.lots["E"]) == {(place, "QUARANTINE", ""): Decimal(10)}
    before = rows(db)
    too_many = problem(
        client.post(f"{API}/customer-returns", json={**back, "quantity": "21"}, headers=admin), 409
    )
    assert (too_many["code"], too_many["field"]) == ("return.more_than_shipped", "quantity")
    assert rows(db) == before
    shown = client.get(f"{API}/shipments/{shipment['id']}", headers=admin).json()
    assert Decimal(next(sl["returned"] for sl in shown["lines"] if sl["id"] == e_line)) == Decimal(10)
    invariants_hold(db)


def test_a_deviation_needs_a_signature_and_appears_in_the_site_scoped_log(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf, "20")  # FEFO proposes E
    person = signer(client)
    before = rows(db)
    unsigned = problem(
        picked(client, person, line, shelf.codes["F"], "20", deviation_reason="E blocked in"), 422
    )
    assert unsigned["field"] == "signing_grant"
    no_reason = problem(picked(client, person, line, shelf.codes["F"], "20"), 422)
    assert no_reason["field"] == "deviation_reason"
    assert rows(db) == before
    grant = override_grant(client, person, line)
    signed = picked(
        client, person, line, shelf.codes["F"], "20", deviation_reason="E blocked in", signing_grant=grant
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["deviation"] is True
    assert signed.json()["picks"][0]["proposed_lot_code"] == shelf.codes["E"]
    log = client.get(f"{API}/fefo-deviations", headers=people.bearer("viewer"))
    assert log.status_code == 200
    (entry,) = log.json()["items"]
    assert (entry["lot_code"], entry["proposed_lot_code"], entry["reason"], entry["signed_by"]) == (
        shelf.codes["F"],
        shelf.codes["E"],
        "E blocked in",
        "Admin User",
    )
    assert entry["site_id"] == shelf.site
    assert (
        client.get(
            f"{API}/fefo-deviations",
            params={"site_id": people.site_ids["B"]},
            headers=people.bearer("viewer"),
        ).json()["items"]
        == []
    )
    # The warehouse user works at site B only: site A's deviations are not theirs to see.
    assert client.get(f"{API}/fefo-deviations", headers=people.bearer("warehouse")).json()["items"] == []
    hidden = client.get(
        f"{API}/fefo-deviations", params={"site_id": shelf.site}, headers=people.bearer("warehouse")
    )
    assert hidden.status_code == 404
    invariants_hold(db)


@pytest.mark.parametrize("how", list(BLOCKS))
def test_blocked_stock_is_refused_at_pick_with_problem_json_and_nothing_written(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf, how: str
) -> None:
    line = order_for(db, clock, shelf)
    block(db, clock, shelf, how)
    before, allocations = rows(db), allocation_states(db)
    refused = problem(picked(client, people.bearer("admin"), line, shelf.codes["E"], "30"), 409)
    assert refused["code"] == "matrix.not_allowed"
    assert refused["transaction"] == "pick"
    assert BLOCKS[how] in refused["blocked_by"]
    assert REASON_TEXT[BLOCKS[how]] in refused["detail"]  # the sentence names it in words
    assert rows(db) == before
    assert allocation_states(db) == allocations


@pytest.mark.parametrize("how", list(BLOCKS))
def test_stock_blocked_after_picking_is_refused_at_ship_with_problem_json(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf, how: str
) -> None:
    admin = people.bearer("admin")
    line = order_for(db, clock, shelf)
    for letter in ("E", "F"):
        assert picked(client, admin, line, shelf.codes[letter], "30").status_code == 201
    block(db, clock, shelf, how)
    before = rows(db)
    refused = problem(
        client.post(f"{API}/orders/{order_of_line(db, line)}/shipments", json={}, headers=admin), 409
    )
    assert (refused["code"], refused["transaction"]) == ("matrix.not_allowed", "ship")
    assert BLOCKS[how] in refused["blocked_by"]
    after = rows(db)
    assert after["shipment"] == before["shipment"] == 0
    assert after["stock_movement"] == before["stock_movement"]
    if how == "held":  # the picked allocation is flagged for re-allocation, and that is kept
        assert refused["flagged_allocations"] == 1
        assert "flagged" in {
            status for _l, lot, status, _q in allocation_states(db) if lot == shelf.lots["E"]
        }
    else:
        assert after == before
    invariants_hold(db)


def test_another_sites_user_gets_404_for_the_order_its_lines_and_shipments(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    admin, outsider = people.bearer("admin"), people.bearer("warehouse")
    line = order_for(db, clock, shelf)
    order_id = order_of_line(db, line)
    before = rows(db)
    assert problem(picked(client, outsider, line, shelf.codes["E"], "30"), 404)["code"] == "not_found"
    assert problem(client.post(f"{API}/orders/{order_id}/shipments", json={}, headers=outsider), 404)
    assert rows(db) == before
    for letter in ("E", "F"):
        assert picked(client, admin, line, shelf.codes[letter], "30").status_code == 201
    shipment = client.post(f"{API}/orders/{order_id}/shipments", json={}, headers=admin).json()
    for path in (f"/shipments/{shipment['id']}", f"/shipments/{shipment['id']}/packing-list.pdf"):
        assert problem(client.get(API + path, headers=outsider), 404)["code"] == "not_found"
    assert problem(
        client.post(f"{API}/shipments/{shipment['id']}/legs/1/arrival", json={}, headers=outsider), 404
    )
    place = qa_bin(db, clock, shelf)
    back = {
        "shipment_line_id": shipment["lines"][0]["id"],
        "quantity": "1",
        "unit": "EA",
        "location_id": place,
        "reason": "dented",
    }
    assert problem(client.post(f"{API}/customer-returns", json=back, headers=outsider), 404)
    # A viewer sees everything but moves nothing.
    assert problem(picked(client, people.bearer("viewer"), line, shelf.codes["E"], "1"), 403)


def test_a_pick_sent_twice_with_one_idempotency_key_is_made_once(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    headers = {**people.bearer("admin"), "Idempotency-Key": "pick-e-1"}
    first = picked(client, headers, line, shelf.codes["E"], "10")
    assert first.status_code == 201, first.text
    after_first = rows(db)
    replay = picked(client, headers, line, shelf.codes["E"], "10")
    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert rows(db) == after_first
    assert (
        problem(picked(client, headers, line, shelf.codes["E"], "11"), 409)["code"]
        == "idempotency.key_reused"
    )


def test_request_bodies_are_strict(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    line = order_for(db, clock, shelf)
    admin = people.bearer("admin")
    assert problem(picked(client, admin, line, shelf.codes["E"], "1", location_id=3), 422)
    assert problem(picked(client, admin, line, shelf.codes["E"], "-1"), 422)
    assert problem(client.post(f"{API}/orders/1/shipments", json={"carrier_id": "1"}, headers=admin), 422)
    naive = {"legs": [{"departed_at": "2026-03-03T08:00:00"}]}
    assert problem(client.post(f"{API}/orders/1/shipments", json=naive, headers=admin), 422)
