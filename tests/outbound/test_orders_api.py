"""Orders and allocation over the API: the A–F scenario, site scoping, idempotent POSTs and bad
input as problem+json with nothing written."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import QualityStatus, StockStatus
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound_fixtures import PASSED_OVER, SHIP_DATE, Shelf, build_shelf


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def order_body(shelf: Shelf, **line: object) -> dict[str, object]:
    return {
        "customer_id": shelf.customer,
        "site_id": shelf.site,
        "ship_date": SHIP_DATE.isoformat(),
        "lines": [{"product_id": shelf.product, "quantity": "5", "unit": "CS", **line}],
    }


def counts(db: Database) -> tuple[int, ...]:
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (SalesOrder, SalesOrderLine, Allocation, AuditRecord)
        )


def test_the_proposal_picks_e_then_f_and_names_the_reason_for_a_to_d(
    client: TestClient, people: People, shelf: Shelf
) -> None:
    warehouse = people.bearer("admin")
    created = client.post("/api/v1/orders", json=order_body(shelf), headers=warehouse)
    assert created.status_code == 201, created.text
    order = created.json()
    assert Decimal(order["lines"][0]["qty_base"]) == 60  # 5 cases of 12
    assert order["lines"][0]["delivery_date"] == "2026-03-05"
    allocated = client.post(f"/api/v1/orders/{order['id']}/allocate", headers=warehouse)
    assert allocated.status_code == 200, allocated.text
    (line,) = allocated.json()["lines"]
    assert line["strategy"] == "fefo"
    assert [(shelf.letter_of(c["lot_code"]), Decimal(c["qty_base"])) for c in line["chosen"]] == [
        ("E", Decimal(30)),
        ("F", Decimal(30)),
    ]
    reasons = {shelf.letter_of(p["lot_code"]): p["reasons"] for p in line["passed"]}
    assert set(reasons) == set(PASSED_OVER)
    for letter, code in PASSED_OVER.items():
        assert code in reasons[letter]
    short = next(p for p in line["passed"] if shelf.letter_of(p["lot_code"]) == "C")
    assert short["detail"]["short_of_customer_minimum"]["required"] == 10
    explained = client.get(f"/api/v1/order-lines/{line['line_id']}/allocation", headers=warehouse).json()
    assert [shelf.letter_of(c["lot_code"]) for c in explained["chosen"]] == ["E", "F"]
    assert {shelf.letter_of(p["lot_code"]) for p in explained["passed"]} == set(PASSED_OVER)
    read = client.get(f"/api/v1/orders/{order['id']}", headers=warehouse).json()
    assert read["status"] == "allocated"
    assert Decimal(read["lines"][0]["allocated"]) == 60


def test_a_user_of_another_site_sees_no_order_and_cannot_allocate_it(
    client: TestClient, db: Database, people: People, shelf: Shelf
) -> None:
    order_id = client.post("/api/v1/orders", json=order_body(shelf), headers=people.bearer("admin")).json()[
        "id"
    ]
    site_b = people.bearer("warehouse")  # warehouse role at site B only
    assert client.get(f"/api/v1/orders/{order_id}", headers=site_b).status_code == 404
    before = counts(db)
    refused = client.post(f"/api/v1/orders/{order_id}/allocate", headers=site_b)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/v1/orders", json=order_body(shelf), headers=site_b).status_code == 404
    assert counts(db) == before
    assert client.get("/api/v1/orders", headers=site_b).json()["items"] == []


def test_a_bad_line_is_a_problem_naming_it_and_nothing_is_written(
    client: TestClient, db: Database, people: People, shelf: Shelf
) -> None:
    before = counts(db)
    body = order_body(shelf)
    body["lines"] = [*body["lines"], {"product_id": shelf.product, "quantity": "1", "unit": "PAL"}]  # type: ignore[list-item]
    answer = client.post("/api/v1/orders", json=body, headers=people.bearer("admin"))
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["field"] == "lines[1].unit"
    negative = client.post(
        "/api/v1/orders", json=order_body(shelf, quantity="-1"), headers=people.bearer("admin")
    )
    assert negative.status_code == 422
    assert counts(db) == before


def test_a_wave_naming_an_unknown_line_is_a_problem_and_allocates_nothing(
    client: TestClient, db: Database, people: People, shelf: Shelf
) -> None:
    admin = people.bearer("admin")
    created = client.post("/api/v1/orders", json=order_body(shelf), headers=admin)
    assert created.status_code == 201, created.text
    line_id = created.json()["lines"][0]["id"]
    before = counts(db)
    refused = client.post("/api/v1/allocations/wave", json={"line_ids": [line_id, 999_999]}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "allocation.unknown_lines"
    assert problem["field"] == "line_ids"
    assert "999999" in problem["detail"]
    assert counts(db) == before
    allocated = client.post("/api/v1/allocations/wave", json={"line_ids": [line_id]}, headers=admin)
    assert allocated.status_code == 200, allocated.text
    assert allocated.json()["lines"] == 1
    assert counts(db)[2] == before[2] + 2  # lots E and F


def test_an_idempotency_key_replays_the_order_and_the_allocation(
    client: TestClient, db: Database, people: People, shelf: Shelf
) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/orders", json=order_body(shelf), headers=headers)
    again = client.post("/api/v1/orders", json=order_body(shelf), headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    order_id = first.json()["id"]
    key = {**people.bearer("admin"), "Idempotency-Key": "alloc-1"}
    one = client.post(f"/api/v1/orders/{order_id}/allocate", headers=key)
    two = client.post(f"/api/v1/orders/{order_id}/allocate", headers=key)
    assert one.json() == two.json()
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(SalesOrder)) == 1
        assert uow.session.scalar(select(func.count()).select_from(Allocation)) == 2


def later_lot(db: Database, clock: FakeClock, shelf: Shelf) -> str:
    """Lot G, received an hour after A–F, expiring before E: FEFO takes it first, FIFO last."""
    clock.advance(hours=1)
    with db.transaction(clock=clock) as uow:
        lot = lots.register_lot(
            uow,
            product_id=shelf.product,
            site_id=shelf.site,
            source="PRODUCTION",
            production_date=shelf.ship_date,
        )
        lot.expiry_date = shelf.ship_date + timedelta(days=16)
        lot.quality_status = QualityStatus.RELEASED.value
        stock.post(
            uow,
            kind=MovementKind.OPENING,
            lot=lot,
            quantity=Quantity(Decimal(30)),
            entered_qty=Decimal(30),
            entered_unit="EA",
            target=Bucket(shelf.bin, StockStatus.AVAILABLE, ""),
        )
        return lot.code


def chosen_codes(client: TestClient, people: People, shelf: Shelf) -> list[str]:
    admin = people.bearer("admin")
    order_id = client.post(
        "/api/v1/orders", json=order_body(shelf, quantity="30", unit="EA"), headers=admin
    ).json()["id"]
    answer = client.post(f"/api/v1/orders/{order_id}/allocate", headers=admin)
    assert answer.status_code == 200, answer.text
    (line,) = answer.json()["lines"]
    # Give the stock back, so that the next question starts from the same shelf.
    released = client.post(
        f"/api/v1/order-lines/{line['line_id']}/release", json={"reason": "trial"}, headers=admin
    )
    assert released.status_code == 200, released.text
    return [c["lot_code"] for c in line["chosen"]]


def test_fifo_by_category_or_product_takes_the_first_received_and_fefo_the_first_expiring(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    g = later_lot(db, clock, shelf)
    admin = people.bearer("admin")
    assert chosen_codes(client, people, shelf) == [g]  # FEFO, the default
    patched = client.patch(f"/api/v1/products/{shelf.product}", json={"category": "dairy"}, headers=admin)
    assert patched.status_code == 200, patched.text
    put = client.put("/api/v1/allocation-strategies/dairy", json={"strategy": "fifo"}, headers=admin)
    assert put.json() == [{"category": "dairy", "strategy": "fifo"}]
    assert chosen_codes(client, people, shelf) == [shelf.codes["E"]]
    # The product's own strategy wins over its category's.
    client.patch(f"/api/v1/products/{shelf.product}", json={"allocation_strategy": "fefo"}, headers=admin)
    assert chosen_codes(client, people, shelf) == [g]
    refused = client.put("/api/v1/allocation-strategies/dairy", json={"strategy": "lifo"}, headers=admin)
    assert refused.status_code == 422
    viewer = client.put(
        "/api/v1/allocation-strategies/dairy", json={"strategy": None}, headers=people.bearer("viewer")
    )
    assert viewer.status_code == 403
