"""Recalls over the API, on the demo company: its level-2 recall of Jinhua Meat's pork lot JH-0329
read back against the genealogy and shipments it reaches (counted here independently of the
recall's own queries), a drill that blocks nothing, a recall opened from lot codes and started
by the QA manager's signature, notices and destructions at customers, the signed close — and
every refusal as problem+json naming the field, with nothing written."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline import demo
from lotline.audit.sealer import seal_pending
from lotline.models.audit import AuditRecord
from lotline.models.catalog import Location, Partner, Product
from lotline.models.inbound import ReceiptLine
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import Allocation, CustomerReturn, Shipment, ShipmentLine
from lotline.models.production import GenealogyEdge
from lotline.models.recall import RecallCase, RecallDestruction, RecallHold, RecallNotice
from lotline.models.signature import Signature
from lotline.models.stock import StockOnHand
from lotline.uow import Actor, Database
from tests.conftest import FakeClock

API = "/api/v1/recalls"
PASSWORD = demo.DEMO_PASSWORD
QA_MANAGER = "qa.manager"
QA_MANAGER_NAME = "李秀英 (Li Xiuying)"
# Wednesday 25 November 2026, 10:00 in Shanghai: the demo's morning.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PORK = {"kind": "supplier_lot", "supplier_code": "JINHUA-MEAT", "supplier_lot_code": "JH-0329"}


@pytest.fixture
def demo_db(db: Database, clock: FakeClock) -> Database:
    clock.now = NOW
    with db.transaction(clock=clock, actor=Actor(kind="system", user_id=None, name="demo loader")) as uow:
        demo.load(uow)
    seal_pending(db)
    return db


def login(client: TestClient, who: str = QA_MANAGER) -> dict[str, str]:
    """A demo user signed in with a web session (tokens cannot sign): the CSRF header to send."""
    answer = client.post("/api/v1/auth/session", json={"username": who, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def grant(client: TestClient, csrf: dict[str, str], meaning: str, case_id: int) -> str:
    issued = client.post(
        "/api/v1/signatures/grants",
        json={
            "username": QA_MANAGER,
            "password": PASSWORD,
            "meaning": meaning,
            "record_type": "recall_case",
            "record_id": str(case_id),
        },
        headers=csrf,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["signing_grant"])


def refused(answer: Any, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert (problem["code"], problem.get("field")) == (code, field), problem
    return problem


def case_id(db: Database, number: str) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.scalars(select(RecallCase.id).where(RecallCase.number == number)).one())


def partner_ids(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return dict(uow.session.execute(select(Partner.code, Partner.id)).tuples().all())


def pork_lots(db: Database) -> set[int]:
    """The lots Jinhua Meat delivered under its lot code JH-0329."""
    with db.transaction(read_only=True) as uow:
        supplier = uow.session.scalars(select(Partner.id).where(Partner.code == "JINHUA-MEAT")).one()
        received = set(
            uow.session.scalars(select(ReceiptLine.lot_id).where(ReceiptLine.supplier_lot_code == "JH-0329"))
        )
        return {
            lot.id
            for lot in uow.session.scalars(select(Lot).where(Lot.supplier_id == supplier))
            if lot.supplier_lot_code == "JH-0329" or lot.id in received
        }


def forward_closure(db: Database, seeds: set[int]) -> set[int]:
    """Every lot made from the seeds, at any depth: a breadth-first walk over genealogy_edge."""
    with db.transaction(read_only=True) as uow:
        edges = uow.session.execute(select(GenealogyEdge.parent_lot_id, GenealogyEdge.child_lot_id)).all()
    children: dict[int, set[int]] = defaultdict(set)
    for parent, child in edges:
        children[int(parent)].add(int(child))
    reached, queue = set(seeds), deque(seeds)
    while queue:
        for child in children[queue.popleft()] - reached:
            reached.add(child)
            queue.append(child)
    return reached


def codes_of(db: Database, lot_ids: set[int]) -> dict[int, str]:
    with db.transaction(read_only=True) as uow:
        return dict(uow.session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(lot_ids))).tuples().all())


def shipped_to(db: Database, lot_ids: set[int]) -> dict[str, Decimal]:
    """Per customer code, the sum of every shipment line of those lots."""
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(Partner.code, ShipmentLine.qty_base, ShipmentLine.lot_id)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .join(Partner, Partner.id == Shipment.customer_id)
        ).all()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for code, qty, lot_id in rows:
        if lot_id in lot_ids:
            totals[code] += Decimal(qty)
    return dict(totals)


def stocked(db: Database, lot_ids: set[int]) -> set[int]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.lot_id, func.sum(StockOnHand.qty_base)).group_by(StockOnHand.lot_id)
        ).all()
    return {int(lot) for lot, qty in rows if lot in lot_ids and Decimal(qty) > 0}


def recall_holds(db: Database, case: int) -> dict[int, tuple[str, datetime | None]]:
    """The holds a case placed: lot id → (hold type, lifted at)."""
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(Hold.lot_id, Hold.hold_type, Hold.lifted_at)
            .join(RecallHold, RecallHold.hold_id == Hold.id)
            .where(RecallHold.case_id == case)
        ).all()
    return {int(lot): (kind, lifted) for lot, kind, lifted in rows}


def allocations_on(db: Database, lot_ids: set[int]) -> dict[int, str]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(select(Allocation.id, Allocation.lot_id, Allocation.status)).all()
    return {int(i): status for i, lot, status in rows if lot in lot_ids}


def holds_and_allocations(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with db.transaction(read_only=True) as uow:
        holds = uow.session.execute(
            select(Hold.id, Hold.lot_id, Hold.hold_type, Hold.lifted_at).order_by(Hold.id)
        ).all()
        allocations = uow.session.execute(
            select(Allocation.id, Allocation.lot_id, Allocation.status, Allocation.qty_base).order_by(
                Allocation.id
            )
        ).all()
    return [tuple(r) for r in holds], [tuple(r) for r in allocations]


def written(db: Database) -> tuple[int, ...]:
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (
                RecallCase,
                RecallHold,
                RecallNotice,
                RecallDestruction,
                Hold,
                Signature,
                AuditRecord,
            )
        )


def shipped_to_lots(db: Database) -> set[int]:
    with db.transaction(read_only=True) as uow:
        return {int(i) for i in uow.session.scalars(select(ShipmentLine.lot_id))}


def allocated_lot(db: Database) -> tuple[int, str]:
    """A demo lot with an open allocation (an order waiting to be picked)."""
    with db.transaction(read_only=True) as uow:
        lot_id = uow.session.scalars(
            select(Allocation.lot_id).where(Allocation.status == "open").order_by(Allocation.lot_id)
        ).first()
        assert lot_id is not None, "the demo has an order allocated and not yet picked"
        return int(lot_id), uow.session.get_one(Lot, lot_id).code


def open_recall(client: TestClient, csrf: dict[str, str], *codes: str, **extra: object) -> dict[str, Any]:
    answer = client.post(
        API,
        json={
            "trigger": {"kind": "lots", "lot_codes": list(codes)},
            "level": "cn-1",
            "reason": "金属异物投诉 / metal fragment complaint",
            **extra,
        },
        headers=csrf,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_demo_recall_reaches_every_customer_with_what_the_pork_went_into(
    client: TestClient, demo_db: Database
) -> None:
    login(client)
    listed = client.get(API)
    assert listed.status_code == 200, listed.text
    numbers = {c["number"]: c for c in listed.json()["items"]}
    assert set(numbers) == {"RC-2026-0001", "MR-2026-0001"}
    answer = client.get(f"{API}/{numbers['RC-2026-0001']['id']}")
    assert answer.status_code == 200, answer.text
    case = answer.json()
    seeds = pork_lots(demo_db)
    scope = forward_closure(demo_db, seeds)
    codes = codes_of(demo_db, scope)
    assert (case["kind"], case["status"], case["level"]) == ("recall", "active", "cn-2")
    assert case["trigger"] == PORK
    assert {lot["code"] for lot in case["lots"]} == set(codes.values())
    assert {lot["code"] for lot in case["lots"] if lot["is_trigger"]} == {codes[i] for i in seeds}
    assert case["lots_in_scope"] == len(scope) > len(seeds)

    # Every customer reached, with exactly what it was shipped of those lots.
    expected = shipped_to(demo_db, scope)
    assert set(expected) == {"HEMA", "LIANHUA"}
    assert {c["code"]: Decimal(c["shipped"]) for c in case["customers"]} == expected
    assert Decimal(case["shipped"]) == sum(expected.values())
    assert sum(Decimal(line["qty_base"]) for line in case["shipment_lines"]) == sum(expected.values())
    assert {line["lot_code"] for line in case["shipment_lines"]} <= set(codes.values())

    # Everything of the scope still in stock is held by this recall; no order holds any of it.
    holds = recall_holds(demo_db, case["id"])
    with_stock = stocked(demo_db, scope)
    assert with_stock
    assert set(holds) == with_stock
    assert all(kind == "RECALL" and lifted is None for kind, lifted in holds.values())
    assert case["holds_placed"] == len(with_stock)
    assert case["stock"]
    assert all(row["held"] for row in case["stock"])
    assert {row["lot_id"] for row in case["stock"]} == with_stock
    assert "open" not in allocations_on(demo_db, scope).values()

    # Recovered: Hema's return (counted from the return itself) and Lianhua's destruction.
    ids = partner_ids(demo_db)
    with demo_db.transaction(read_only=True) as uow:
        returned = uow.session.scalar(
            select(func.sum(CustomerReturn.qty_base))
            .join(ShipmentLine, ShipmentLine.id == CustomerReturn.shipment_line_id)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(Shipment.customer_id == ids["HEMA"], CustomerReturn.lot_id.in_(scope))
        )
        destroyed = uow.session.scalar(
            select(func.sum(RecallDestruction.qty_base)).where(
                RecallDestruction.case_id == case["id"], RecallDestruction.customer_id == ids["LIANHUA"]
            )
        )
    returned, destroyed = Decimal(returned), Decimal(destroyed)
    assert (returned, destroyed) == (Decimal(24), Decimal(12))  # two cases back, one destroyed
    customers = {c["code"]: c for c in case["customers"]}
    assert Decimal(customers["HEMA"]["recovered"]) == returned
    assert Decimal(customers["LIANHUA"]["recovered"]) == destroyed
    overall = ((returned + destroyed) / sum(expected.values())).quantize(Decimal("0.0001"))
    assert Decimal(case["effectiveness"]) == overall == Decimal("0.2000")
    assert Decimal(case["recovered"]) == returned + destroyed

    # Hema was phoned, Lianhua not yet: one of two consignees, level B.
    assert (customers["HEMA"]["channel"], customers["LIANHUA"]["notified_at"]) == ("phone", None)
    assert (case["customers_notified"], case["check_level"]) == (1, "B")
    # Level 2 from Wednesday 07:00 in Shanghai: started within 48 hours, done by the end of the
    # 20th working day, Wednesday 23 December, in Shanghai.
    discovered = moment(case["discovered_at"])
    assert discovered == NOW - timedelta(hours=3)
    assert moment(case["start_due_at"]) == discovered + timedelta(hours=48)
    assert moment(case["complete_due_at"]) == datetime(2026, 12, 23, 15, 59, 59, tzinfo=UTC)
    assert (case["start_state"], case["complete_state"]) == ("met", "on_track")
    assert case["started_by"] == QA_MANAGER_NAME
    assert case["start_signature_id"] is not None


def test_a_drill_traces_and_balances_the_scope_and_changes_no_hold_or_allocation(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    before = holds_and_allocations(demo_db)
    answer = client.post(
        API,
        json={"kind": "drill", "trigger": PORK, "level": "cn-1", "reason": "季度演练 / quarterly drill"},
        headers=csrf,
    )
    assert answer.status_code == 201, answer.text
    drill = answer.json()
    scope = forward_closure(demo_db, pork_lots(demo_db))
    assert (drill["number"], drill["kind"], drill["status"]) == ("MR-2026-0002", "drill", "completed")
    assert drill["lots_in_scope"] == len(scope)
    result = drill["drill_result"]
    assert isinstance(result["time_to_trace_ms"], int)
    assert result["time_to_trace_ms"] >= 0
    assert result["time_to_trace_ms"] == drill["scope_ms"]
    assert (result["lots"], result["balanced"], result["unbalanced"]) == (len(scope), len(scope), [])
    # The same customers as the recall itself, and nothing of the drill's own is held.
    assert {c["code"] for c in drill["customers"]} == {"HEMA", "LIANHUA"}
    assert drill["holds_placed"] == 0
    assert drill["stock"]
    assert not any(row["held"] for row in drill["stock"])
    assert holds_and_allocations(demo_db) == before
    # A drill cannot be started into a recall.
    started = client.post(
        f"{API}/{drill['id']}/start",
        json={"signing_grant": grant(client, csrf, "recall", drill["id"])},
        headers=csrf,
    )
    refused(started, 409, "recall.bad_transition", "status")
    assert holds_and_allocations(demo_db) == before


def test_a_product_range_reaches_the_lots_made_on_both_of_its_days(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    first, last = date(2026, 11, 18), date(2026, 11, 23)
    with demo_db.transaction(read_only=True) as uow:
        made = {
            lot.id: lot.production_date
            for lot in uow.session.scalars(
                select(Lot).join(Product, Product.id == Lot.product_id).where(Product.code == "DUMP-PORK-1KG")
            )
        }
    seeds = {i for i, day in made.items() if day is not None and first <= day <= last}
    assert {made[i] for i in seeds} == {first, last}  # the demo made dumplings on both days
    answer = client.post(
        API,
        json={
            "kind": "drill",
            "trigger": {
                "kind": "product_range",
                "product_code": "DUMP-PORK-1KG",
                "date_from": first.isoformat(),
                "date_to": last.isoformat(),
            },
            "level": "cn-3",
            "reason": "范围演练 / range drill",
        },
        headers=csrf,
    )
    assert answer.status_code == 201, answer.text
    drill = answer.json()
    codes = codes_of(demo_db, forward_closure(demo_db, seeds))
    assert {lot["code"] for lot in drill["lots"]} == set(codes.values())
    assert {lot["code"] for lot in drill["lots"] if lot["is_trigger"]} == {codes[i] for i in seeds}
    assert drill["drill_result"]["balanced"] == drill["drill_result"]["lots"] == len(codes)


def test_a_product_range_dates_a_received_lot_by_the_sites_day_of_receipt(
    client: TestClient, demo_db: Database, clock: FakeClock
) -> None:
    # Thursday 26 November, 07:30 in Shanghai (still Wednesday 25 November in UTC): a cabbage
    # delivery dated only by the supplier's use-by date is received.
    clock.now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    csrf = login(client)
    with demo_db.transaction(read_only=True) as uow:
        cabbage = uow.session.scalars(select(Product).where(Product.code == "CABBAGE")).one()
        site_id = uow.session.scalars(select(Lot.site_id).where(Lot.product_id == cabbage.id)).first()
    received = client.post(
        "/api/v1/lots",
        json={
            "product_id": cabbage.id,
            "site_id": site_id,
            "source": "SUPPLIER",
            "supplier_id": partner_ids(demo_db)["CHONGMING-VEG"],
            "supplier_lot_code": "CM-1126",
            "supplier_expiry": "2026-12-06",
        },
        headers=csrf,
    )
    assert received.status_code == 201, received.text
    lot = received.json()
    assert lot["production_date"] is None
    assert moment(lot["created_at"]) == clock.now

    def drill_of(day: str) -> Any:
        trigger = {"kind": "product_range", "product_code": "CABBAGE", "date_from": day, "date_to": day}
        return client.post(
            API, json={"kind": "drill", "trigger": trigger, "level": "cn-1", "reason": "x"}, headers=csrf
        )

    on_the_day = drill_of("2026-11-26")
    assert on_the_day.status_code == 201, on_the_day.text
    assert lot["code"] in {x["code"] for x in on_the_day.json()["lots"]}
    # The day before (in UTC's calendar only) does not reach it.
    the_day_before = drill_of("2026-11-25")
    assert the_day_before.status_code != 201 or lot["code"] not in {
        x["code"] for x in the_day_before.json()["lots"]
    }


def test_a_recall_opened_from_lot_codes_holds_nothing_until_started_by_signature(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    lot_id, code = allocated_lot(demo_db)
    scope = forward_closure(demo_db, {lot_id})
    draft = open_recall(client, csrf, code)
    assert (draft["number"], draft["status"], draft["kind"]) == ("RC-2026-0002", "draft", "recall")
    assert draft["lots_in_scope"] == len(scope)
    assert [lot["code"] for lot in draft["lots"] if lot["is_trigger"]] == [code]
    assert draft["holds_placed"] == 0
    assert not any(row["held"] for row in draft["stock"])
    allocations = allocations_on(demo_db, scope)
    assert "open" in allocations.values()
    before = holds_and_allocations(demo_db), written(demo_db)

    # Without a valid grant nothing is signed and nothing is held.
    start = f"{API}/{draft['id']}/start"
    for body in (
        {},
        {"signing_grant": "lls_forged"},
        {"signing_grant": grant(client, csrf, "close", draft["id"])},  # another meaning
        {"signing_grant": grant(client, csrf, "recall", draft["id"] - 1)},  # another case
    ):
        refused(client.post(start, json=body, headers=csrf), 422, "signature.bad_grant", "signing_grant")
    assert (holds_and_allocations(demo_db), written(demo_db)) == before
    assert client.get(f"{API}/{draft['id']}").json()["status"] == "draft"

    started = client.post(
        start, json={"signing_grant": grant(client, csrf, "recall", draft["id"])}, headers=csrf
    )
    assert started.status_code == 200, started.text
    case = started.json()
    assert (case["status"], case["started_by"]) == ("active", QA_MANAGER_NAME)
    with demo_db.transaction(read_only=True) as uow:
        signature = uow.session.get_one(Signature, case["start_signature_id"])
        assert (signature.meaning, signature.record_type, signature.record_id) == (
            "recall",
            "recall_case",
            str(case["id"]),
        )
    with_stock = stocked(demo_db, scope)
    holds = recall_holds(demo_db, case["id"])
    assert with_stock
    assert set(holds) == with_stock
    assert all(kind == "RECALL" and lifted is None for kind, lifted in holds.values())
    assert case["holds_placed"] == len(with_stock)
    assert case["stock"]
    assert all(row["held"] for row in case["stock"])
    # The order's allocations on the recalled lot are given back.
    after = allocations_on(demo_db, scope)
    assert "open" not in after.values()
    assert {i for i, status in allocations.items() if status == "open"} <= {
        i for i, status in after.items() if status == "released"
    }

    # Started once only; the second attempt holds nothing more.
    holds_now = holds_and_allocations(demo_db)
    again = client.post(
        start, json={"signing_grant": grant(client, csrf, "recall", case["id"])}, headers=csrf
    )
    refused(again, 409, "recall.bad_transition", "status")
    assert holds_and_allocations(demo_db) == holds_now


def test_starting_adds_and_holds_what_was_made_from_the_scope_since_the_draft(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    lot_id, code = allocated_lot(demo_db)
    draft = open_recall(client, csrf, code)
    assert draft["lots_in_scope"] == len(forward_closure(demo_db, {lot_id})) == 1
    # Meanwhile the plant repacks two dozen bags of the lot into a new one.
    with demo_db.transaction(read_only=True) as uow:
        lot = uow.session.get_one(Lot, lot_id)
        row = uow.session.scalars(
            select(StockOnHand).where(StockOnHand.lot_id == lot_id, StockOnHand.qty_base > 0)
        ).first()
        assert row is not None
        qa_area = uow.session.scalars(
            select(Location.id).where(Location.site_id == lot.site_id, Location.code == "FZ-1-QA")
        ).one()
        site_id, product_id, source = lot.site_id, lot.product_id, row.location_id
    repacked = client.post(
        "/api/v1/transformations",
        json={
            "kind": "repack",
            "site_id": site_id,
            "inputs": [{"lot_id": lot_id, "location_id": source, "quantity": "24", "unit": "EA"}],
            "outputs": [
                {
                    "product_id": product_id,
                    "location_id": qa_area,
                    "quantity": "24",
                    "unit": "EA",
                    "attributes": {"line": "L2"},
                }
            ],
        },
        headers=csrf,
    )
    assert repacked.status_code == 201, repacked.text
    (new_lot,) = repacked.json()["output_lots"]
    scope = forward_closure(demo_db, {lot_id})
    assert scope == {lot_id, new_lot["id"]}

    start = f"{API}/{draft['id']}/start"
    started = client.post(
        start, json={"signing_grant": grant(client, csrf, "recall", draft["id"])}, headers=csrf
    )
    assert started.status_code == 200, started.text
    case = started.json()
    assert case["lots_in_scope"] == 2
    assert {lot["code"]: lot["is_trigger"] for lot in case["lots"]} == {code: True, new_lot["code"]: False}
    assert set(recall_holds(demo_db, case["id"])) == stocked(demo_db, scope) == scope
    assert case["stock"]
    assert all(row["held"] for row in case["stock"])


def test_a_bad_trigger_is_a_problem_naming_the_field_and_opens_nothing(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    _lot, code = allocated_lot(demo_db)
    before = written(demo_db)

    def post(trigger: dict[str, object], **extra: object) -> Any:
        body = {"trigger": trigger, "level": "cn-2", "reason": "complaint", **extra}
        return client.post(API, json=body, headers=csrf)

    unknown = refused(
        post({"kind": "lots", "lot_codes": [code, "NO-SUCH-LOT"]}), 404, "not_found", "trigger.lot_codes"
    )
    assert "NO-SUCH-LOT" in unknown["detail"]
    assert code not in unknown["detail"]
    refused(post({"kind": "lots", "lot_codes": []}), 422, "recall.lots_required", "trigger.lot_codes")
    dumplings = {"kind": "product_range", "product_code": "DUMP-PORK-1KG"}
    refused(post(dumplings), 422, "recall.range_required", "trigger.date_from")
    refused(post({**dumplings, "date_from": "2026-11-18"}), 422, "recall.range_required", "trigger.date_to")
    refused(
        post({**dumplings, "date_from": "2026-11-25", "date_to": "2026-11-18"}),
        422,
        "recall.range_order",
        "trigger.date_to",
    )
    refused(
        post(
            {
                "kind": "product_range",
                "product_code": "NO-SUCH",
                "date_from": "2026-11-01",
                "date_to": "2026-11-02",
            }
        ),
        404,
        "not_found",
        "trigger.product_code",
    )
    refused(post({**PORK, "supplier_lot_code": "JH-9999"}), 422, "recall.nothing_in_scope", "trigger")
    refused(post({**PORK, "supplier_code": "NO-SUCH"}), 404, "not_found", "trigger.supplier_code")
    # Level 2 must start within 48 hours of the discovery: a later deadline is refused.
    late = (NOW + timedelta(hours=49)).isoformat()
    refused(post(PORK, start_due_at=late), 422, "recall.deadline_beyond_level", "start_due_at")
    future = (NOW + timedelta(hours=1)).isoformat()
    refused(post(PORK, discovered_at=future), 422, "recall.future", "discovered_at")
    assert written(demo_db) == before


def test_replaying_the_open_with_its_idempotency_key_returns_the_same_case(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    _lot, code = allocated_lot(demo_db)
    body = {"trigger": {"kind": "lots", "lot_codes": [code]}, "level": "cn-3", "reason": "label error"}
    headers = {**csrf, "Idempotency-Key": "recall-label-error"}
    first = client.post(API, json=body, headers=headers)
    assert first.status_code == 201, first.text
    after_first = written(demo_db)
    replay = client.post(API, json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["number"] == first.json()["number"] == "RC-2026-0002"
    assert written(demo_db) == after_first
    with demo_db.transaction(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(RecallCase)) == 3  # the demo's two


def test_notices_go_once_to_each_customer_the_recall_reaches(client: TestClient, demo_db: Database) -> None:
    csrf = login(client)
    case = case_id(demo_db, "RC-2026-0001")
    ids = partner_ids(demo_db)
    notices = f"{API}/{case}/notices"
    before = written(demo_db)
    for partner in ("JINHUA-MEAT", "SF-COLD"):  # the supplier and the carrier got none of it
        answer = client.post(notices, json={"customer_id": ids[partner], "channel": "phone"}, headers=csrf)
        refused(answer, 409, "recall.not_in_scope", "customer_id")
    hema = client.post(notices, json={"customer_id": ids["HEMA"], "channel": "email"}, headers=csrf)
    refused(hema, 409, "recall.already_notified", "customer_id")  # phoned by the demo
    assert written(demo_db) == before

    sent = client.post(
        notices,
        json={"customer_id": ids["LIANHUA"], "channel": "edi", "note": "召回通知 / notice"},
        headers=csrf,
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["customer_id"], sent.json()["channel"], sent.json()["notified_by"]) == (
        ids["LIANHUA"],
        "edi",
        QA_MANAGER_NAME,
    )
    twice = client.post(notices, json={"customer_id": ids["LIANHUA"], "channel": "phone"}, headers=csrf)
    refused(twice, 409, "recall.already_notified", "customer_id")
    read = client.get(f"{API}/{case}").json()
    assert (read["customers_notified"], read["check_level"]) == (2, "A")
    assert {c["code"]: c["channel"] for c in read["customers"]} == {"HEMA": "phone", "LIANHUA": "edi"}
    with demo_db.transaction(read_only=True) as uow:
        assert (
            uow.session.scalar(
                select(func.count()).select_from(RecallNotice).where(RecallNotice.case_id == case)
            )
            == 2
        )


def test_a_destruction_cannot_exceed_what_is_still_out_at_the_customer(
    client: TestClient, demo_db: Database
) -> None:
    csrf = login(client)
    case = case_id(demo_db, "RC-2026-0001")
    ids = partner_ids(demo_db)
    with demo_db.transaction(read_only=True) as uow:
        shipped_lot = uow.session.scalars(
            select(ShipmentLine.lot_id)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(Shipment.customer_id == ids["LIANHUA"])
        ).one()
    scope = forward_closure(demo_db, pork_lots(demo_db))
    unshipped = min(scope - shipped_to_lots(demo_db))  # in scope, never shipped to anyone
    destructions = f"{API}/{case}/destructions"

    def destroy(customer: str, lot: int, quantity: str, unit: str) -> Any:
        body = {"customer_id": ids[customer], "lot_id": lot, "quantity": quantity, "unit": unit}
        return client.post(destructions, json=body, headers=csrf)

    before = written(demo_db)
    # Lianhua got 5 cases (60 bags) and destroyed one already: 48 are still out.
    too_many = refused(destroy("LIANHUA", shipped_lot, "5", "CS"), 409, "recall.more_than_out", "quantity")
    assert "48" in too_many["detail"]
    # Hema got 10 cases and sent two back: 96 are still out.
    hema = refused(destroy("HEMA", shipped_lot, "97", "EA"), 409, "recall.more_than_out", "quantity")
    assert "96" in hema["detail"]
    refused(destroy("LIANHUA", unshipped, "1", "EA"), 409, "recall.not_in_scope", "lot_id")
    assert written(demo_db) == before

    done = destroy("LIANHUA", shipped_lot, "4", "CS")
    assert done.status_code == 201, done.text
    assert (Decimal(done.json()["qty_base"]), done.json()["entered_unit"]) == (Decimal(48), "CS")
    refused(destroy("LIANHUA", shipped_lot, "1", "EA"), 409, "recall.more_than_out", "quantity")
    read = client.get(f"{API}/{case}").json()
    customers = {c["code"]: c for c in read["customers"]}
    assert Decimal(customers["LIANHUA"]["recovered"]) == Decimal(60)
    assert Decimal(customers["LIANHUA"]["effectiveness"]) == 1
    assert Decimal(read["effectiveness"]) == Decimal("0.4667")  # (24 + 60) / 180


def test_closing_is_signed_and_keeps_the_recall_holds(client: TestClient, demo_db: Database) -> None:
    csrf = login(client)
    case = case_id(demo_db, "RC-2026-0001")
    holds = recall_holds(demo_db, case)
    assert holds
    close = f"{API}/{case}/close"
    note = "客户确认，库存待处置 / customers confirmed; held stock awaits disposition"
    for body in ({"note": note}, {"note": note, "signing_grant": grant(client, csrf, "recall", case)}):
        refused(client.post(close, json=body, headers=csrf), 422, "signature.bad_grant", "signing_grant")
    assert client.get(f"{API}/{case}").json()["status"] == "active"

    closed = client.post(
        close, json={"note": note, "signing_grant": grant(client, csrf, "close", case)}, headers=csrf
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["closed_by"], body["close_note"]) == ("closed", QA_MANAGER_NAME, note)
    with demo_db.transaction(read_only=True) as uow:
        signature = uow.session.get_one(Signature, body["close_signature_id"])
        assert (signature.meaning, signature.record_type, signature.record_id) == (
            "close",
            "recall_case",
            str(case),
        )
    # What becomes of held stock is a disposition of its own: closing lifts no hold.
    assert recall_holds(demo_db, case) == holds
    assert all(lifted is None for _kind, lifted in holds.values())
    assert body["holds_placed"] == len(holds)
    assert all(row["held"] for row in body["stock"])
    assert body["complete_state"] == "met"

    again = client.post(
        close, json={"note": note, "signing_grant": grant(client, csrf, "close", case)}, headers=csrf
    )
    refused(again, 409, "recall.bad_transition", "status")
    late = client.post(
        f"{API}/{case}/notices",
        json={"customer_id": partner_ids(demo_db)["LIANHUA"], "channel": "phone"},
        headers=csrf,
    )
    refused(late, 409, "recall.not_active", "case_id")


def test_a_viewer_reads_recalls_but_cannot_open_notify_or_close_them(
    client: TestClient, demo_db: Database
) -> None:
    case = case_id(demo_db, "RC-2026-0001")
    _lot, code = allocated_lot(demo_db)
    csrf = login(client, "viewer")  # signing in is audited: count from here
    before = written(demo_db)
    assert client.get(f"{API}/{case}").status_code == 200
    assert len(client.get(API).json()["items"]) == 2
    body = {"trigger": {"kind": "lots", "lot_codes": [code]}, "level": "cn-1", "reason": "complaint"}
    for path, payload in (
        (API, body),
        (API, {**body, "kind": "drill"}),
        (f"{API}/{case}/notices", {"customer_id": partner_ids(demo_db)["LIANHUA"], "channel": "phone"}),
        (f"{API}/{case}/close", {"note": "done"}),
    ):
        answer = client.post(path, json=payload, headers=csrf)
        assert answer.status_code in (403, 404), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert written(demo_db) == before
    # The warehouse clerk reads only the cold store (SH02): the plant's recall is not theirs to see.
    login(client, "warehouse")
    refused(client.get(f"{API}/{case}"), 404, "not_found", "case_id")
    assert client.get(API).json()["items"] == []
