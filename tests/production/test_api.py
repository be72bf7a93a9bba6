"""Production over the API: a two-level run whose genealogy and capped expiry read back through
the lot endpoints, blocked and over-consumed inputs refused with nothing written and the line
named, a repack and a signed rework that make new lots and leave the input's row alone, and
site scoping."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.domain.status import QualityStatus
from lotline.models.audit import AuditRecord
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.stock import StockMovement
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.production_fixtures import Kitchen, build_kitchen, set_quality

API = "/api/v1"
KG = "KGM"
COUNTED = (Transformation, StockMovement, Lot, GenealogyEdge, ProductionOrder, AuditRecord)


@pytest.fixture
def kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    return build_kitchen(db, clock, people)


def counts(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in COUNTED
        }


def taken(kitchen: Kitchen, name: str, qty: int, **extra: object) -> dict[str, object]:
    return {
        "lot_id": kitchen.lots[name],
        "location_id": kitchen.raw_bin,
        "quantity": str(qty),
        "unit": KG,
        **extra,
    }


def made(kitchen: Kitchen, product: str, qty: int) -> dict[str, object]:
    return {
        "product_id": kitchen.products[product],
        "quantity": str(qty),
        "unit": KG,
        "location_id": kitchen.qa_area,
    }


def open_order(client: TestClient, people: People, kitchen: Kitchen, product: str, qty: int) -> int:
    created = client.post(
        f"{API}/production-orders",
        json={
            "site_id": kitchen.site,
            "product_id": kitchen.products[product],
            "quantity": str(qty),
            "unit": KG,
            "line": "L1",
        },
        headers=people.bearer("admin"),
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "OPEN"
    assert order["number"].startswith("P-A-")
    return int(order["id"])


def release(db: Database, clock: FakeClock, lot_id: int, location: int, qty: int) -> None:
    """QA releases a produced lot (flipped in the database, as the service tests do)."""
    set_quality(db, clock, lot_id, location, qty, QualityStatus.RELEASED)


def lot_row(db: Database, lot_id: int) -> tuple[object, ...]:
    with db.transaction(read_only=True) as uow:
        lot = uow.session.get_one(Lot, lot_id)
        return (
            lot.code,
            lot.product_id,
            lot.expiry_date,
            lot.quality_status,
            lot.production_date,
            lot.expiry_provenance,
        )


def refused(answer: Any, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert (problem["code"], problem.get("field")) == (code, field), problem
    return problem


def test_a_two_level_run_reads_back_its_genealogy_and_capped_expiry(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    admin = people.bearer("admin")
    filling_order = open_order(client, people, kitchen, "FILLING", 150)
    first = client.post(
        f"{API}/production-orders/{filling_order}/completions",
        json={
            "inputs": [taken(kitchen, "PORK", 100), taken(kitchen, "CABBAGE", 60)],
            "losses": [{**taken(kitchen, "CABBAGE", 10), "kind": "drip", "note": "thawed"}],
            "outputs": [made(kitchen, "FILLING", 150)],
        },
        headers=admin,
    )
    assert first.status_code == 201, first.text
    level_one = first.json()
    assert level_one["kind"] == "production"
    assert level_one["line"] == "L1"  # the order's line
    assert [(i["lot_code"], Decimal(i["quantity"])) for i in level_one["inputs"]] == [
        (kitchen.codes["PORK"], 100),
        (kitchen.codes["CABBAGE"], 60),
    ]
    (drip,) = level_one["losses"]
    assert (drip["kind"], drip["note"], Decimal(drip["qty_base"])) == ("drip", "thawed", 10)
    (filling_lot,) = level_one["output_lots"]
    assert filling_lot["quality_status"] == "QUARANTINE"
    assert level_one["outputs"][0]["stock_status"] == "QUARANTINE"
    filling = filling_lot["id"]
    assert {(e["parent_lot_id"], e["child_lot_id"]) for e in level_one["edges"]} == {
        (kitchen.lots["PORK"], filling),
        (kitchen.lots["CABBAGE"], filling),
    }

    release(db, clock, filling, kitchen.qa_area, 150)
    dumpling_order = open_order(client, people, kitchen, "DUMPLING", 400)
    second = client.post(
        f"{API}/production-orders/{dumpling_order}/completions",
        json={
            "inputs": [
                {"lot_id": filling, "location_id": kitchen.qa_area, "quantity": "140", "unit": KG},
                taken(kitchen, "FLOUR", 250),
            ],
            "losses": [
                {
                    "lot_id": filling,
                    "location_id": kitchen.qa_area,
                    "quantity": "10",
                    "unit": KG,
                    "kind": "cooking",
                }
            ],
            "outputs": [made(kitchen, "DUMPLING", 300), made(kitchen, "DUMPLING-F", 80)],
        },
        headers=admin,
    )
    assert second.status_code == 201, second.text
    level_two = second.json()
    dumpling, dumpling_f = (lot["id"] for lot in level_two["output_lots"])
    assert len(level_two["edges"]) == 2 * 2

    # Genealogy, one step each way, at both levels.
    filling_tree = client.get(f"{API}/lots/{filling}/genealogy", headers=admin).json()
    assert {n["lot_code"] for n in filling_tree["made_from"]} == {
        kitchen.codes["PORK"],
        kitchen.codes["CABBAGE"],
    }
    assert {n["lot_id"] for n in filling_tree["used_in"]} == {dumpling, dumpling_f}
    dumpling_tree = client.get(f"{API}/lots/{dumpling}/genealogy", headers=admin).json()
    assert {n["lot_id"]: Decimal(n["qty"]) for n in dumpling_tree["made_from"]} == {
        filling: Decimal(140),
        kitchen.lots["FLOUR"]: Decimal(250),
    }
    assert dumpling_tree["used_in"] == []
    step = dumpling_tree["made_from"][0]
    assert (step["transformation_id"], step["transformation_number"], step["transformation_kind"]) == (
        level_two["id"],
        level_two["number"],
        "production",
    )
    pork_tree = client.get(f"{API}/lots/{kitchen.lots['PORK']}/genealogy", headers=admin).json()
    assert [n["lot_id"] for n in pork_tree["used_in"]] == [filling]
    assert pork_tree["made_from"] == []

    # The dumpling is capped by its earliest input, the filling; DUMPLING-F is not capped.
    filling_read = client.get(f"{API}/lots/{filling}", headers=admin).json()
    dumpling_read = client.get(f"{API}/lots/{dumpling}", headers=admin).json()
    assert filling_read["expiry_date"] == (kitchen.today + timedelta(days=2)).isoformat()
    assert dumpling_read["expiry_date"] == filling_read["expiry_date"]
    provenance = dumpling_read["expiry_provenance"]
    assert provenance["decided_by"] == "input_lot"
    assert provenance["earliest_input"]["lot"] == filling_read["code"]
    assert provenance["transformation"]["number"] == level_two["number"]
    dumpling_f_read = client.get(f"{API}/lots/{dumpling_f}", headers=admin).json()
    assert dumpling_f_read["expiry_date"] == (kitchen.today + timedelta(days=179)).isoformat()
    assert dumpling_f_read["expiry_provenance"]["transformation"]["inputs_cap_expiry"] is False

    # The order's progress is read from the ledger; the transformation reads back as posted.
    order = client.get(f"{API}/production-orders/{dumpling_order}", headers=admin).json()
    assert Decimal(order["progress"]["planned"]) == 400
    assert Decimal(order["progress"]["produced"]) == 300
    flows = {(f["kind"], f["lot_id"]): Decimal(f["qty_base"]) for f in order["progress"]["flows"]}
    assert flows == {
        ("consume", filling): 140,
        ("consume", kitchen.lots["FLOUR"]): 250,
        ("loss", filling): 10,
        ("produce", dumpling): 300,
        ("produce", dumpling_f): 80,
    }
    assert [t["number"] for t in order["transformations"]] == [level_two["number"]]
    assert client.get(f"{API}/transformations/{level_two['id']}", headers=admin).json() == level_two
    listed = client.get(
        f"{API}/transformations", params={"production_order_id": dumpling_order}, headers=admin
    )
    assert [t["id"] for t in listed.json()["items"]] == [level_two["id"]]
    everything = client.get(f"{API}/transformations", params={"kind": "production"}, headers=admin).json()
    assert [t["id"] for t in everything["items"]] == [level_two["id"], level_one["id"]]  # newest first

    # A closed order takes no more completions, and a cancelled one never had any.
    closed = client.post(
        f"{API}/production-orders/{filling_order}/close", json={"reason": "done"}, headers=admin
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "CLOSED"
    before = counts(db)
    again = client.post(
        f"{API}/production-orders/{filling_order}/completions",
        json={"inputs": [taken(kitchen, "PORK", 1)], "outputs": [made(kitchen, "FILLING", 1)]},
        headers=admin,
    )
    refused(again, 422, "production.order_closed", "production_order_id")
    cancel = client.post(f"{API}/production-orders/{dumpling_order}/cancel", json={}, headers=admin)
    refused(cancel, 422, "production.order_has_completions", "status")
    assert counts(db) == before
    spare = open_order(client, people, kitchen, "FILLING", 10)
    cancelled = client.post(f"{API}/production-orders/{spare}/cancel", headers=admin)  # no body: no reason
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    open_ones = client.get(f"{API}/production-orders", params={"status": "OPEN"}, headers=admin).json()
    assert [o["id"] for o in open_ones["items"]] == [dumpling_order]


@pytest.mark.parametrize(("blocked", "reason"), [("PORK-Q", "quality.quarantine"), ("CABBAGE-H", "hold.qa")])
def test_a_quarantined_or_held_input_is_refused_naming_its_line_and_nothing_is_written(
    client: TestClient, db: Database, people: People, kitchen: Kitchen, blocked: str, reason: str
) -> None:
    order = open_order(client, people, kitchen, "FILLING", 100)
    before = counts(db)
    answer = client.post(
        f"{API}/production-orders/{order}/completions",
        json={
            "inputs": [taken(kitchen, "CABBAGE", 50), taken(kitchen, blocked, 50)],
            "outputs": [made(kitchen, "FILLING", 100)],
        },
        headers=people.bearer("admin"),
    )
    problem = refused(answer, 409, "matrix.not_allowed", "inputs.1.lot_id")
    assert reason in problem["blocked_by"]
    assert counts(db) == before


def test_taking_more_than_is_there_is_refused_naming_the_quantity_and_nothing_is_written(
    client: TestClient, db: Database, people: People, kitchen: Kitchen
) -> None:
    before = counts(db)
    answer = client.post(
        f"{API}/transformations",
        json={
            "kind": "repack",
            "site_id": kitchen.site,
            "inputs": [taken(kitchen, "PORK", 500)],
            "outputs": [made(kitchen, "PORK", 500)],
        },
        headers=people.bearer("admin"),
    )
    refused(answer, 409, "stock.insufficient", "inputs.0.quantity")
    assert counts(db) == before


def test_a_repack_makes_a_new_lot_and_leaves_the_input_lot_as_it_was(
    client: TestClient, db: Database, people: People, kitchen: Kitchen
) -> None:
    pork = kitchen.lots["PORK"]
    row = lot_row(db, pork)
    answer = client.post(
        f"{API}/transformations",
        json={
            "kind": "repack",
            "site_id": kitchen.site,
            "line": "PACK-2",
            "inputs": [taken(kitchen, "PORK", 50)],
            "losses": [{**taken(kitchen, "PORK", 2), "kind": "trim"}],
            "outputs": [made(kitchen, "PORK", 48)],
        },
        headers=people.bearer("admin"),
    )
    assert answer.status_code == 201, answer.text
    repack = answer.json()
    assert (repack["kind"], repack["production_order_id"], repack["line"]) == ("repack", None, "PACK-2")
    (new_lot,) = repack["output_lots"]
    assert new_lot["id"] != pork
    assert new_lot["code"] != kitchen.codes["PORK"]
    assert new_lot["quality_status"] == "QUARANTINE"
    # Same material, new packaging: it keeps the pork's production date and cannot outlive it.
    assert new_lot["expiry_date"] == kitchen.expiry["PORK"].isoformat()
    assert [(e["parent_lot_id"], e["child_lot_id"], Decimal(e["qty"])) for e in repack["edges"]] == [
        (pork, new_lot["id"], Decimal(50))
    ]
    assert lot_row(db, pork) == row
    tree = client.get(f"{API}/lots/{new_lot['id']}/genealogy", headers=people.bearer("viewer")).json()
    assert [(n["lot_id"], n["transformation_kind"]) for n in tree["made_from"]] == [(pork, "repack")]


def signed_in(client: TestClient, who: str = "admin") -> dict[str, str]:
    """A person's web session (a token cannot sign): the CSRF header its writes carry."""
    login = client.post(f"{API}/auth/session", json={"username": who, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"X-CSRF-Token": login.json()["csrf_token"]}


def reject(db: Database, clock: FakeClock, kitchen: Kitchen, name: str, qty: int) -> None:
    set_quality(db, clock, kitchen.lots[name], kitchen.raw_bin, qty, QualityStatus.REJECTED)


def test_a_signed_rework_of_rejected_stock_makes_a_new_lot_and_leaves_the_input_lot_as_it_was(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    reject(db, clock, kitchen, "PORK-Q", 100)
    rejected = kitchen.lots["PORK-Q"]
    row = lot_row(db, rejected)
    body = {
        "kind": "rework",
        "site_id": kitchen.site,
        "reason": "re-cooked into filling",
        "inputs": [taken(kitchen, "PORK-Q", 95, stock_status="REJECTED")],
        "outputs": [made(kitchen, "FILLING", 90)],
        "losses": [{**taken(kitchen, "PORK-Q", 5, stock_status="REJECTED"), "kind": "cooking"}],
    }
    # A token cannot sign, and an integration token may not take a quality decision: refused first.
    before = counts(db)
    refused(
        client.post(f"{API}/transformations", json=body, headers=people.bearer("integration")),
        403,
        "auth.forbidden",
        "signing_grant",
    )
    assert counts(db) == before

    csrf = signed_in(client)
    grant = client.post(
        f"{API}/signatures/grants",
        json={
            "username": "admin",
            "password": PASSWORD,
            "meaning": "rework",
            "record_type": "lot",  # a rework is signed for its first input lot
            "record_id": str(rejected),
        },
        headers=csrf,
    )
    assert grant.status_code == 201, grant.text
    answer = client.post(
        f"{API}/transformations", json={**body, "signing_grant": grant.json()["signing_grant"]}, headers=csrf
    )
    assert answer.status_code == 201, answer.text
    rework = answer.json()
    assert rework["kind"] == "rework"
    assert rework["signature_id"] is not None
    assert rework["reason"] == "re-cooked into filling"
    assert rework["inputs"][0]["stock_status"] == "REJECTED"
    (new_lot,) = rework["output_lots"]
    assert new_lot["id"] != rejected
    assert new_lot["quality_status"] == "QUARANTINE"
    assert new_lot["expiry_provenance"]["transformation"]["inputs_cap_expiry"] is True
    assert [(e["parent_lot_id"], e["child_lot_id"]) for e in rework["edges"]] == [(rejected, new_lot["id"])]
    assert lot_row(db, rejected) == row  # still REJECTED, same code and expiry: never edited in place
    tree = client.get(f"{API}/lots/{rejected}/genealogy", headers=csrf).json()
    assert [(n["lot_id"], n["transformation_kind"]) for n in tree["used_in"]] == [(new_lot["id"], "rework")]


def test_a_viewer_cannot_post_and_a_user_of_another_site_sees_nothing(
    client: TestClient, db: Database, people: People, kitchen: Kitchen
) -> None:
    order = open_order(client, people, kitchen, "FILLING", 100)
    posted = client.post(
        f"{API}/production-orders/{order}/completions",
        json={"inputs": [taken(kitchen, "PORK", 10)], "outputs": [made(kitchen, "FILLING", 10)]},
        headers=people.bearer("admin"),
    )
    assert posted.status_code == 201, posted.text
    transformation, (output,) = posted.json()["id"], posted.json()["output_lots"]
    before = counts(db)

    viewer = people.bearer("viewer")
    assert client.get(f"{API}/production-orders/{order}", headers=viewer).status_code == 200
    assert client.get(f"{API}/transformations/{transformation}", headers=viewer).status_code == 200
    completion: dict[str, object] = {
        "inputs": [taken(kitchen, "PORK", 10)],
        "outputs": [made(kitchen, "FILLING", 10)],
    }
    new_order = {
        "site_id": kitchen.site,
        "product_id": kitchen.products["FILLING"],
        "quantity": "1",
        "unit": KG,
    }
    writes: list[tuple[str, dict[str, object]]] = [
        ("/production-orders", new_order),
        (f"/production-orders/{order}/completions", completion),
        (
            "/transformations",
            {"kind": "production", "site_id": kitchen.site, "production_order_id": order, **completion},
        ),
        (f"/production-orders/{order}/close", {}),
        (f"/production-orders/{order}/cancel", {"reason": "not ours"}),
    ]
    for path, body in writes:
        refused(client.post(f"{API}{path}", json=body, headers=viewer), 403, "auth.forbidden", None)

    site_b = people.bearer("warehouse")  # production.write at site B only
    for path in (
        f"/production-orders/{order}",
        f"/transformations/{transformation}",
        f"/lots/{output['id']}/genealogy",
    ):
        answer = client.get(f"{API}{path}", headers=site_b)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    for path, body in writes:
        answer = client.post(f"{API}{path}", json=body, headers=site_b)
        assert answer.status_code == 404, (path, answer.text)
    assert client.get(f"{API}/production-orders", headers=site_b).json()["items"] == []
    assert client.get(f"{API}/transformations", headers=site_b).json()["items"] == []
    assert counts(db) == before
