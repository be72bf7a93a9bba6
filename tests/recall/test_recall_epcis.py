"""The demo recall as EPCIS 2.0: the document validates against GS1's schema (formats checked),
holds one TransformationEvent per production in the scope with that production's inputs and
output, and marks the recall holds as holding + recalled."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline import demo
from lotline.demo_catalog.people import QA_MANAGER
from lotline.domain.ledger import MovementKind
from lotline.domain.transformation import TransformationKind
from lotline.models.production import Transformation
from lotline.models.recall import RecallCase, RecallLot
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.trace.epcis_schema import validate
from lotline.trace.epcis_schema.values import transformation_uri
from lotline.uow import Database
from tests.conftest import FakeClock
from tests.web.test_recall_web import sign_in


def test_the_demo_recall_exports_valid_epcis_with_one_event_per_production(
    db: Database, clock: FakeClock, client: TestClient
) -> None:
    clock.now = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    with db.transaction(read_only=True) as uow:
        case = uow.session.scalars(select(RecallCase).where(RecallCase.kind == "recall")).one()
        scope = set(uow.session.scalars(select(RecallLot.lot_id).where(RecallLot.case_id == case.id)))
        moves = uow.session.execute(
            select(Transformation.number, Site.gln, StockMovement.kind, StockMovement.lot_id)
            .join(StockMovement, StockMovement.txn_id == Transformation.txn_id)
            .join(Site, Site.id == Transformation.site_id)
            .where(Transformation.kind == TransformationKind.PRODUCTION.value)
            .where(StockMovement.kind.in_((MovementKind.CONSUME.value, MovementKind.PRODUCE.value)))
        ).all()
    productions: dict[str, dict[str, set[int]]] = {}
    for number, gln, kind, lot_id in moves:
        sides = productions.setdefault(transformation_uri(gln, number), {"in": set(), "out": set()})
        sides["in" if kind == MovementKind.CONSUME.value else "out"].add(lot_id)
    in_scope = {tid: sides for tid, sides in productions.items() if (sides["in"] | sides["out"]) & scope}
    assert len(in_scope) == 3  # the filling, then the dumplings of shifts A and B

    sign_in(client, QA_MANAGER)
    response = client.get(f"/recalls/{case.id}/epcis.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    document = json.loads(response.content)
    assert validate(document) == []
    events = document["epcisBody"]["eventList"]
    transformations = [e for e in events if e["type"] == "TransformationEvent"]
    by_id: dict[str, list[dict[str, object]]] = {}
    for event in transformations:
        by_id.setdefault(str(event["transformationID"]), []).append(event)
    for tid, sides in in_scope.items():
        (event,) = by_id[tid]  # exactly one per production
        inputs = {q["epcClass"] for q in event["inputQuantityList"]}  # type: ignore[attr-defined]
        outputs = {q["epcClass"] for q in event["outputQuantityList"]}  # type: ignore[attr-defined]
        assert len(inputs) == len(sides["in"])
        assert len(outputs) == len(sides["out"]) == 1
        assert event["ilmd"]["cbvmda:lotNumber"]  # type: ignore[index]
    held = [e for e in events if e.get("bizStep") == "holding" and e.get("disposition") == "recalled"]
    assert held, "the recall holds are exported as holding + recalled"
