"""MES completions over the API: one call in the MES's own keys opens the order and posts the
completion; the same Idempotency-Key replays it, the same completion_ref without it is a
conflict; unknown keys and blocked inputs name the line and write nothing; outputs are never
released by the MES."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.domain.gs1 import gtin_check_digit
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ExternalId, Product
from lotline.models.lot import Lot
from lotline.models.outbox import OutboxEvent
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.stock import StockMovement
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.production_fixtures import Kitchen, build_kitchen

URL = "/api/v1/mes/completions"
KG = "KGM"
CABBAGE_GTIN = "690123456789" + str(gtin_check_digit("690123456789"))  # a GTIN-13
COUNTED = (
    ProductionOrder,
    Transformation,
    StockMovement,
    Lot,
    GenealogyEdge,
    ExternalId,
    AuditRecord,
    OutboxEvent,
)


@pytest.fixture
def kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    built = build_kitchen(db, clock, people)
    with db.transaction(clock=clock) as uow:  # the MES names the cabbage by its GTIN
        uow.session.get_one(Product, built.products["CABBAGE"]).gtin = CABBAGE_GTIN.zfill(14)
    return built


def counts(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in COUNTED
        }


def completion(kitchen: Kitchen, clock: FakeClock, ref: str = "C-1", **changes: Any) -> dict[str, Any]:
    """Pork and cabbage (by GTIN) into filling on line L1, with a drip loss, an hour ago."""
    body: dict[str, Any] = {
        "system": "MES-1",
        "site": "A",
        "order_ref": "WO-7",
        "completion_ref": ref,
        "line": "L1",
        "occurred_at": (clock.now - timedelta(hours=1)).isoformat(),
        "inputs": [
            {
                "product": "PORK",
                "lot_code": kitchen.codes["PORK"],
                "location_code": "RM-1",
                "quantity": "40",
                "unit": KG,
            },
            {
                "product": CABBAGE_GTIN,
                "lot_code": kitchen.codes["CABBAGE"],
                "location_code": "RM-1",
                "quantity": "25",
                "unit": KG,
            },
        ],
        "losses": [
            {
                "product": CABBAGE_GTIN,
                "lot_code": kitchen.codes["CABBAGE"],
                "location_code": "RM-1",
                "quantity": "5",
                "unit": KG,
                "kind": "drip",
            }
        ],
        "outputs": [{"product": "FILLING", "quantity": "60", "unit": KG, "location_code": "QA-1"}],
    }
    body.update(changes)
    return body


def mes(people: People, key: str | None = None) -> dict[str, str]:
    headers = people.bearer("integration")
    return {**headers, "Idempotency-Key": key} if key else headers


def refused(answer: Any, status: int, code: str, field: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert (problem["code"], problem.get("field")) == (code, field), problem
    return problem


def test_a_completion_opens_its_order_and_lands_its_outputs_in_quarantine(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    answer = client.post(URL, json=completion(kitchen, clock), headers=mes(people))
    assert answer.status_code == 201, answer.text
    posted = answer.json()
    assert posted["order_created"] is True
    order = posted["production_order"]
    assert (order["product_id"], Decimal(order["planned_qty"]), order["planned_unit"]) == (
        kitchen.products["FILLING"],
        Decimal(60),
        KG,
    )
    assert (order["status"], order["line"]) == ("OPEN", "L1")
    transformation = posted["transformation"]
    assert (transformation["kind"], transformation["production_order_id"]) == ("production", order["id"])
    assert transformation["occurred_at"].startswith("2026-03-01T07:00:00")
    assert [i["lot_id"] for i in transformation["inputs"]] == [kitchen.lots["PORK"], kitchen.lots["CABBAGE"]]
    assert [(loss["lot_id"], loss["kind"]) for loss in transformation["losses"]] == [
        (kitchen.lots["CABBAGE"], "drip")
    ]
    (output,) = transformation["outputs"]
    assert (output["location_id"], output["stock_status"]) == (kitchen.qa_area, "QUARANTINE")
    (lot,) = transformation["output_lots"]
    assert lot["quality_status"] == "QUARANTINE"
    assert {e["parent_lot_id"] for e in transformation["edges"]} == {
        kitchen.lots["PORK"],
        kitchen.lots["CABBAGE"],
    }
    with db.transaction(read_only=True) as uow:
        links = {
            (row.entity_type, row.external_key): row.entity_id
            for row in uow.session.scalars(select(ExternalId).where(ExternalId.system == "MES-1"))
        }
    assert links == {
        ("production_order", "WO-7"): order["id"],
        ("transformation", "WO-7/C-1"): transformation["id"],
    }

    # The next completion of the same order finds it by its ref.
    second = client.post(
        URL,
        json=completion(kitchen, clock, "C-2", product="DUMPLING", quantity="999", unit=KG),
        headers=mes(people),
    )
    assert second.status_code == 201, second.text
    assert second.json()["order_created"] is False
    assert second.json()["production_order"]["id"] == order["id"]
    progress = client.get(f"/api/v1/production-orders/{order['id']}", headers=mes(people)).json()["progress"]
    assert (Decimal(progress["planned"]), Decimal(progress["produced"])) == (60, 120)


def test_the_same_key_replays_the_answer_and_the_same_completion_without_it_is_a_conflict(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    body = completion(kitchen, clock)
    first = client.post(URL, json=body, headers=mes(people, "mes-C-1"))
    assert first.status_code == 201, first.text
    after_first = counts(db)

    replayed = client.post(URL, json=body, headers=mes(people, "mes-C-1"))
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    assert counts(db) == after_first

    for key in ("mes-C-1-again", None):
        again = client.post(URL, json=body, headers=mes(people, key))
        problem = refused(again, 409, "production.completion_exists", "completion_ref")
        assert first.json()["transformation"]["number"] in problem["detail"]
        assert counts(db) == after_first


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lot_code": "NO-SUCH-LOT"}, "inputs.1.lot_code"),
        ({"location_code": "NOWHERE"}, "inputs.1.location_code"),
        ({"product": "NO-SUCH-PRODUCT"}, "inputs.1.product"),
    ],
)
def test_an_unknown_key_is_not_found_naming_the_line_and_nothing_is_written(
    client: TestClient,
    db: Database,
    clock: FakeClock,
    people: People,
    kitchen: Kitchen,
    change: dict[str, str],
    field: str,
) -> None:
    body = completion(kitchen, clock)
    body["inputs"][1].update(change)
    before = counts(db)
    refused(client.post(URL, json=body, headers=mes(people)), 404, "not_found", field)
    assert counts(db) == before


def test_an_unknown_output_place_or_site_is_not_found_and_nothing_is_written(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    before = counts(db)
    body = completion(kitchen, clock)
    body["outputs"][0]["location_code"] = "QA-9"
    refused(client.post(URL, json=body, headers=mes(people)), 404, "not_found", "outputs.0.location_code")
    refused(
        client.post(URL, json=completion(kitchen, clock, site="ZZ"), headers=mes(people)),
        404,
        "not_found",
        "site",
    )
    assert counts(db) == before


@pytest.mark.parametrize(("blocked", "reason"), [("PORK-Q", "quality.quarantine"), ("CABBAGE-H", "hold.qa")])
def test_a_blocked_input_is_refused_naming_the_line_and_opens_no_order(
    client: TestClient,
    db: Database,
    clock: FakeClock,
    people: People,
    kitchen: Kitchen,
    blocked: str,
    reason: str,
) -> None:
    body = completion(kitchen, clock)
    body["inputs"][0].update(product=blocked.split("-")[0], lot_code=kitchen.codes[blocked])
    before = counts(db)
    problem = refused(
        client.post(URL, json=body, headers=mes(people)), 409, "matrix.not_allowed", "inputs.0.lot_code"
    )
    assert reason in problem["blocked_by"]
    assert counts(db) == before  # the order it would have opened included


def test_nothing_in_the_body_can_release_an_output_or_take_too_much(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    before = counts(db)
    body = completion(kitchen, clock)
    body["outputs"][0]["stock_status"] = "AVAILABLE"
    answer = client.post(URL, json=body, headers=mes(people))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "outputs.0.stock_status"
    body = completion(kitchen, clock)
    body["inputs"][0]["quantity"] = "201"  # there are 200
    refused(client.post(URL, json=body, headers=mes(people)), 409, "stock.insufficient", "inputs.0.quantity")
    future = completion(kitchen, clock, occurred_at=(clock.now + timedelta(hours=1)).isoformat())
    refused(client.post(URL, json=future, headers=mes(people)), 422, "transformation.bad_time", "occurred_at")
    assert counts(db) == before


def test_a_viewer_cannot_post_and_a_user_of_another_site_is_told_the_site_is_not_found(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    before = counts(db)
    viewer = client.post(URL, json=completion(kitchen, clock), headers=people.bearer("viewer"))
    assert viewer.status_code == 403
    assert viewer.json()["code"] == "auth.forbidden"
    site_b = client.post(URL, json=completion(kitchen, clock), headers=people.bearer("warehouse"))
    refused(site_b, 404, "not_found", "site")
    assert counts(db) == before
