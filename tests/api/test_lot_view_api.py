"""The one view of a lot over the API: every section for a lot that was inspected, partly
rejected, held, repacked, shipped on two legs and partly returned — in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from lotline.catalog import service as catalog
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.domain.transformation import TransformationKind
from lotline.lots import service as lots
from lotline.lots import view
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.outbound import picking, returns, shipping
from lotline.production.service import Make, Request, Take, transform
from lotline.quality import decisions, inspections
from lotline.quality.scope import Part
from lotline.signatures import service as signatures
from lotline.stock.operations import Amount, Source
from lotline.trace.graph_data import lot_graph
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import carrier, order_for, order_of_line, principal, qa_bin
from tests.outbound_fixtures import Shelf, build_shelf
from tests.production_fixtures import build_kitchen, two_level_run


@dataclass(frozen=True)
class Story:
    shelf: Shelf
    lot: int  # lot E of the shelf: the lot whose view is read
    code: str
    repacked: int  # the lot E was repacked into
    inspection: int
    decision: int
    lifted_hold: int
    recall_hold: int
    shipment: int


def grant(db: Database, clock: FakeClock, meaning: Meaning, record_type: str, record_id: int) -> str:
    with db.transaction(clock=clock) as uow:
        secret, _ = signatures.authorize_signing(
            uow,
            principal=principal(db),
            web_session=None,
            username="admin",
            password=PASSWORD,
            meaning=meaning,
            record_type=record_type,
            record_id=str(record_id),
            client_ip=None,
        )
        return secret


def build_story(db: Database, clock: FakeClock, people: People) -> Story:
    """Lot E of MILK (30 EA, released): inspected, 2 EA rejected by a signed decision citing the
    inspection, a QA hold placed and lifted (signed), 5 EA repacked into a six-pack lot, 20 EA
    shipped on two legs, 3 EA returned, and a recall hold left standing."""
    shelf = build_shelf(db, clock, people)
    lot_e = shelf.lots["E"]
    admin = principal(db)
    with db.transaction(clock=clock) as uow:
        recorded = inspections.record_inspection(
            uow, lot_id=lot_e, results={"appearance": "sound"}, source="web", passed=True, comment="看过了"
        ).record
        inspection = recorded.id
    clock.advance(minutes=10)
    secret = grant(db, clock, Meaning.REJECT, "lot", lot_e)
    with db.transaction(clock=clock) as uow:
        decision = decisions.decide_usage(
            uow,
            lot_id=lot_e,
            decision=QualityStatus.REJECTED,
            reason="two cases dented",
            principal=admin,
            signing_grant=secret,
            inspection_ids=[inspection],
            part=Part(quantity=Decimal(2), unit="EA", location_id=shelf.bin),
        ).id
    clock.advance(minutes=10)
    with db.transaction(clock=clock) as uow:
        held = lots.place_hold(uow, lot_id=lot_e, hold_type=HoldType.QA, reason="label check").id
    clock.advance(minutes=10)
    secret = grant(db, clock, Meaning.LIFT_HOLD, "hold", held)
    with db.transaction(clock=clock) as uow:
        lots.lift_hold(uow, hold_id=held, reason="labels fine", principal=admin, signing_grant=secret)
    clock.advance(minutes=10)
    with db.transaction(clock=clock) as uow:
        milk = uow.session.get_one(Product, shelf.product)
        six = catalog.create_product(
            uow,
            code="MILK-6",
            name_zh="牛奶六连包",
            name_en="Milk six-pack",
            base_unit="EA",
            lot_type_id=milk.lot_type_id,
            shelf_life_amount=30,
            shelf_life_unit="DAYS",
            expiry_kind="USE_BY",
            retest_days=None,
        ).id
        outcome = transform(
            uow,
            principal=None,
            request=Request(
                kind=TransformationKind.REPACK,
                site_id=shelf.site,
                inputs=[Take(lot_e, Source(shelf.bin, StockStatus.AVAILABLE), Amount(Decimal(5), "EA"))],
                outputs=[Make(six, Amount(Decimal(5), "EA"), shelf.bin)],
            ),
        )
        (repacked,) = [lot.id for lot in outcome.output_lots]
    clock.advance(minutes=10)
    line = order_for(db, clock, shelf, "20")
    trucks = carrier(db, clock)
    with db.transaction(clock=clock) as uow:
        picking.pick(
            uow, line_id=line, scanned=shelf.codes["E"], quantity=Decimal(20), unit="EA", principal=admin
        )
        shipment = shipping.ship(
            uow,
            order_id=order_of_line(db, line),
            carrier_id=trucks,
            vehicle="沪A·12345",
            legs=[
                shipping.LegInput(origin="WH-A", destination="Hub <North>"),
                shipping.LegInput(
                    origin="Hub <North>",
                    destination="超市",
                    departed_at=clock.now.replace(hour=14),
                    arrived_at=clock.now.replace(hour=18),
                ),
            ],
            principal=admin,
        )
        (shipped_line,) = shipping.shipment_lines(uow, shipment_id=shipment.id)
        shipment_id, shipped_line_id = shipment.id, shipped_line.id
    place = qa_bin(db, clock, shelf)
    clock.advance(hours=12)
    with db.transaction(clock=clock) as uow:
        returns.receive_return(
            uow,
            shipment_line_id=shipped_line_id,
            quantity=Decimal(3),
            unit="EA",
            location_id=place,
            reason="leaking",
            principal=admin,
        )
    clock.advance(minutes=10)
    with db.transaction(clock=clock) as uow:
        recall = lots.place_hold(uow, lot_id=lot_e, hold_type=HoldType.RECALL, reason="supplier recall").id
        code = uow.session.get_one(Lot, lot_e).code
    return Story(shelf, lot_e, code, repacked, inspection, decision, held, recall, shipment_id)


@pytest.fixture
def story(db: Database, clock: FakeClock, people: People) -> Story:
    return build_story(db, clock, people)


def test_the_view_answers_every_section_of_a_lot_in_one_call(
    client: TestClient, people: People, story: Story
) -> None:
    response = client.get(f"/api/v1/lots/{story.lot}/view", headers=people.bearer("qa_manager"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lot"]["code"] == story.code
    assert body["product"]["code"] == "MILK"
    assert body["site"]["time_zone"] == "Asia/Shanghai"
    assert body["quality_status"] == "RELEASED"
    assert body["expiry"]["expiry_date"] == "2026-03-20"
    assert body["expiry"]["expired"] is False
    assert body["expiry"]["provenance"]  # how the date was set

    holds = {h["id"]: h for h in body["holds"]}
    assert holds[story.recall_hold]["active"] is True
    assert holds[story.recall_hold]["hold_type"] == "RECALL"
    lifted = holds[story.lifted_hold]
    assert (lifted["active"], lifted["lift_reason"]) == (False, "labels fine")
    assert lifted["lift_signature"]["meaning"] == "lift_hold"
    assert lifted["lift_signature"]["printed_name"] == "Admin User"

    (decision,) = body["decisions"]
    assert (decision["id"], decision["decision"]) == (story.decision, "REJECTED")
    assert Decimal(decision["base_qty"]) == Decimal(2)
    assert decision["signature"]["meaning"] == "reject"
    (inspection,) = body["inspections"]
    assert (inspection["id"], inspection["passed"], inspection["comment"]) == (
        story.inspection,
        True,
        "看过了",
    )
    assert [r["code"] for r in inspection["results"]] == ["appearance"]
    assert [d["id"] for d in inspection["cited_by"]] == [story.decision]
    assert inspection["cited_by"][0]["signature"]["meaning"] == "reject"

    # 30 − 2 rejected − 5 repacked − 20 shipped = 3 available; 2 rejected; 3 returned in quarantine.
    places = {(p["location_code"], p["stock_status"]): Decimal(p["qty_base"]) for p in body["stock"]}
    assert places == {
        ("AMB-1", "AVAILABLE"): Decimal(3),
        ("AMB-1", "REJECTED"): Decimal(2),
        ("QA-R", "QUARANTINE"): Decimal(3),
    }
    assert Decimal(body["on_hand_base"]) == Decimal(8)

    legs = body["transport"]
    assert [(leg["seq"], leg["origin"], leg["destination"]) for leg in legs] == [
        (1, "WH-A", "Hub <North>"),
        (2, "Hub <North>", "超市"),
    ]
    assert {leg["shipment_id"] for leg in legs} == {story.shipment}
    assert all(leg["carrier_code"] == "TRUCKS" and leg["vehicle"] == "沪A·12345" for leg in legs)
    assert all(Decimal(leg["lot_qty_base"]) == Decimal(20) for leg in legs)

    assert body["temperature"]["recorded"] is False
    assert body["temperature"]["readings"] == []
    assert body["temperature"]["note"]

    trace = body["trace"]
    assert (trace["upstream_lots"], trace["downstream_lots"], trace["edges"]) == (0, 1, 1)
    assert (trace["recalled_lots"], trace["held_lots"], trace["expired_lots"]) == (1, 0, 0)
    assert trace["trace_url"] == f"/api/v1/lots/{story.lot}/trace"

    timeline = body["timeline"]
    kinds = [event["kind"] for event in timeline]
    for kind in (
        "created",
        "movement",
        "inspection",
        "decision",
        "hold_placed",
        "hold_lifted",
        "consumed_in",
        "shipment",
        "customer_return",
    ):
        assert kind in kinds, (kind, kinds)
    instants = [datetime.fromisoformat(event["occurred_at"]) for event in timeline]
    assert instants == sorted(instants)
    assert all(
        instant.utcoffset() is not None and instant.utcoffset().total_seconds() == 0 for instant in instants
    )
    assert kinds.index("created") < kinds.index("inspection") < kinds.index("decision")
    assert kinds.index("decision") < kinds.index("consumed_in") < kinds.index("shipment")
    assert kinds.index("shipment") < kinds.index("customer_return")
    placed = [e for e in timeline if e["kind"] == "hold_placed"]
    assert [e["detail"] for e in placed] == ["QA", "RECALL"]
    (shipped,) = [e for e in timeline if e["kind"] == "shipment"]
    assert shipped["summary"].startswith("SH-")
    assert "SHOP" in shipped["summary"]
    assert "20 EA" in shipped["summary"]
    (repack,) = [e for e in timeline if e["kind"] == "consumed_in"]
    assert (repack["detail"], repack["reference_type"]) == ("repack", "transformation")
    # The opening balance is a movement of its own; ship, return and repack movements are not
    # repeated as movements (their own events tell them).
    assert {e["detail"] for e in timeline if e["kind"] == "movement"} == {"opening"}
    assert all(e["actor"] is not None for e in timeline)


def test_the_view_of_a_lot_is_answered_in_the_same_number_of_queries_however_busy_it_is(
    db: Database, clock: FakeClock, people: People, story: Story
) -> None:
    with counting(db) as first:
        read_view(db, clock, story.lot)
    with db.transaction(clock=clock) as uow:
        for n in range(6):
            lots.place_hold(uow, lot_id=story.lot, hold_type=HoldType.DEVIATION, reason=f"deviation {n}")
            inspections.record_inspection(
                uow, lot_id=story.lot, results={"appearance": f"n{n}"}, source="web", passed=n % 2 == 0
            )
    with counting(db) as second:
        read_view(db, clock, story.lot)
    assert second == first, (first, second)
    assert first[0] <= 30


def test_quality_records_and_the_trace_are_left_out_for_a_token_scoped_to_lot_reading(
    client: TestClient, db: Database, clock: FakeClock, people: People, story: Story
) -> None:
    from lotline.auth import service as auth

    with db.transaction(clock=clock) as uow:
        secret, _token = auth.create_token(
            uow, user_id=people.user_ids["viewer"], name="lots only", scopes=["lot.read"], days=1
        )
    body = client.get(f"/api/v1/lots/{story.lot}/view", headers={"Authorization": f"Bearer {secret}"}).json()
    assert (body["decisions"], body["inspections"], body["trace"]) == (None, None, None)
    kinds = {event["kind"] for event in body["timeline"]}
    assert not kinds & {"inspection", "decision"}
    assert body["holds"]  # what lot.read covers stays


def test_a_lot_of_another_site_is_not_found_and_an_unknown_one_neither(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    qa = people.bearer("qa")  # qa at site A only
    assert client.get(f"/api/v1/lots/{stock['b']}/view", headers=qa).status_code == 404
    assert client.get("/api/v1/lots/999999/view", headers=qa).status_code == 404
    assert client.get(f"/api/v1/lots/{stock['a']}/view", headers=qa).status_code == 200
    assert client.get(f"/api/v1/lots/{stock['a']}/view").status_code == 401


def read_view(db: Database, clock: FakeClock, lot_id: int) -> view.LotView:
    with db.transaction(clock=clock, read_only=True) as uow:
        lot = lots.get_lot(uow, lot_id=lot_id)
        return view.lot_view(uow, lot=lot, now=clock.now, quality=True, trace=True)


@contextmanager
def counting(db: Database) -> Iterator[list[int]]:
    """How many statements the block sends to the database."""
    seen = [0]

    def tally(*_args: object) -> None:
        seen[0] += 1

    event.listen(db.engine, "before_cursor_execute", tally)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", tally)


def test_the_graph_of_a_lot_is_its_closures_both_ways_with_holds_and_expiry_in_four_queries(
    db: Database, clock: FakeClock, people: People
) -> None:
    kitchen = build_kitchen(db, clock, people)
    made = two_level_run(db, clock, kitchen)
    pork, cabbage, flour = (kitchen.lots[name] for name in ("PORK", "CABBAGE", "FLOUR"))
    filling, dumpling, frozen = made["filling"], made["dumpling"], made["dumpling_f"]
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=pork, hold_type=HoldType.QA, reason="complaint")
        lots.place_hold(uow, lot_id=cabbage, hold_type=HoldType.RECALL, reason="supplier recall")
    today = kitchen.expiry["PORK"] + timedelta(days=1)  # pork's last day of use is past
    with db.transaction(clock=clock, read_only=True) as uow:
        uow.session.execute(text("SELECT 1"))  # the transaction has begun: only the graph's reads count
        with counting(db) as queries:
            graph = lot_graph(uow, lot_id=filling, today=today)
    assert queries == [4]
    assert (graph.upstream, graph.downstream) == ({pork, cabbage}, {dumpling, frozen})
    # Flour went into the dumplings too, but it is not in the filling's trace: neither is its edge.
    assert graph.edges == tuple(
        sorted([(pork, filling), (cabbage, filling), (filling, dumpling), (filling, frozen)])
    )
    flags = {lot.lot_id: (lot.held, lot.recalled, lot.expired) for lot in graph.lots}
    assert flags[pork] == (True, False, True)
    assert flags[cabbage] == (False, True, False)
    assert flags[filling] == (False, False, True)  # three days' shelf life: gone before the pork
    with db.transaction(clock=clock, read_only=True) as uow:
        backward = lot_graph(uow, lot_id=dumpling, today=kitchen.today)
    assert backward.upstream == {filling, pork, cabbage, flour}
    assert backward.downstream == frozenset()
    assert (flour, dumpling) in backward.edges
    assert {lot.product_code for lot in backward.lots} == {"PORK", "CABBAGE", "FILLING", "FLOUR", "DUMPLING"}
