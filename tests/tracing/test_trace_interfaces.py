"""The trace through the API: the engine's summary, for a lot the caller may read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.outbound_fixtures import Shelf, build_shelf
from tests.tracing.helpers import ship


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    return build_shelf(db, clock, people)


def test_the_api_says_which_customers_got_the_lot(
    client: TestClient, db: Database, clock: FakeClock, people: People, shelf: Shelf
) -> None:
    ship(db, clock, shelf, "30", shelf.codes["E"])
    answer = client.get(f"/api/v1/lots/{shelf.lots['E']}/trace", headers=people.bearer("viewer"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["direction"], body["lots_reached"]) == ("forward", 1)
    (shop,) = body["shipped"]
    assert (shop["customer_code"], shop["product_id"], shop["qty_base"], shop["lines"]) == (
        "SHOP",
        shelf.product,
        "30.000000",
        1,
    )
    assert body["on_hand"] == []
    # A lot the caller may not read is not found; a direction that is none is refused.
    assert client.get("/api/v1/lots/999999/trace", headers=people.bearer("viewer")).status_code == 404
    refused = client.get(
        f"/api/v1/lots/{shelf.lots['E']}/trace?direction=sideways", headers=people.bearer("viewer")
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
