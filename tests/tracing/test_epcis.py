"""The EPCIS 2.0 export of a trace: a supplier's pork and an unbranded cabbage are received,
made into filling (2 inputs → 1 output), shipped, partly sent back, and held — the pork for QA,
the filling for a recall. Traced forward from the pork, the document must pass GS1's schema with
formats checked and say each of these things the way EPCIS/CBV 2.0 does; on both backends.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from lotline.catalog import service as catalog
from lotline.domain.errors import InvalidInput
from lotline.domain.expiry import local_today
from lotline.domain.gs1 import lgtin_epc_class
from lotline.domain.status import HoldType, QualityStatus
from lotline.domain.transformation import TransformationKind
from lotline.inbound import service as receiving
from lotline.inbound.service import LineInput
from lotline.lots import service as lots
from lotline.models.lot import Lot
from lotline.models.outbound import SalesOrderLine
from lotline.models.production import Transformation
from lotline.models.site import Site
from lotline.outbound import allocation, picking, returns, shipping
from lotline.outbound import orders as sales
from lotline.places import service as places
from lotline.production import orders as production_orders
from lotline.production.service import Make, Request, Take, transform
from lotline.stock.operations import Amount, Source
from lotline.trace import epcis
from lotline.trace.engine import Direction, closure
from lotline.trace.epcis import InvalidEPCISDocument, build_document, dumps
from lotline.trace.epcis_schema import format_checks, validate
from lotline.trace.epcis_schema.values import (
    business_transaction_uri,
    epc_class,
    epcis_uom,
    event_time,
    hold_disposition,
    lot_master_data,
    private_uri,
    site_uri,
    time_zone_offset,
    transformation_uri,
)
from lotline.uow import Database
from tests.app_fixtures import People
from tests.cli import conftest as cli_conftest
from tests.cli.conftest import Cli
from tests.conftest import FakeClock
from tests.outbound.fulfilment_helpers import principal
from tests.production_fixtures import set_quality

run = cli_conftest.run  # the real command line against this test's database

KG = "KGM"
SITE_GLN = "6901234000016"
SUPPLIER_GLN = "6901234000023"
CUSTOMER_GLN = "6901234000030"
PORK_GTIN = "06901234500011"  # company prefix 6901234 (7 digits): LGTIN
FILLING_GTIN = "06901234500028"  # prefix length unknown: GS1 Digital Link
# CABBAGE has no GTIN: a private class URI.


@dataclass(frozen=True)
class Chain:
    site: int
    lots: dict[str, int]  # PORK, CABBAGE, FILLING → lot id
    codes: dict[str, str]
    expiry: dict[str, date]
    transformation: str  # its number
    shipment: str  # its number
    products: dict[str, int]
    dock: int
    qa_area: int


def _quantity_line(product: int, lot: str, qty: int, today: date) -> LineInput:
    return LineInput(
        product_id=product,
        supplier_lot_code=lot,
        quantity=Decimal(qty),
        unit=KG,
        production_date=today - timedelta(days=1),
    )


def build_chain(db: Database, clock: FakeClock, people: People) -> Chain:
    """Receive, release, produce, release, ship, take back, hold: the module docstring's story."""
    site = people.site_ids["A"]
    today = local_today(clock.now, "Asia/Shanghai")
    admin = principal(db)
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Site, site).gln = SITE_GLN
        food = catalog.create_lot_type(
            uow, code="FD", name_zh="食品", name_en="Food", code_template="L{yy}{doy:03}{seq:04}"
        )

        def product(code: str, gtin: str | None, prefix: int | None, days: int) -> int:
            made = catalog.create_product(
                uow,
                code=code,
                name_zh=code,
                name_en=code.title(),
                base_unit=KG,
                gtin=gtin,
                lot_type_id=food.id,
                shelf_life_amount=days,
                shelf_life_unit="DAYS",
                expiry_kind="USE_BY",
                retest_days=None,
            )
            made.gs1_company_prefix_length = prefix
            return made.id

        products = {
            "PORK": product("PORK", PORK_GTIN, 7, 10),
            "CABBAGE": product("CABBAGE", None, None, 14),
            "FILLING": product("FILLING", FILLING_GTIN, None, 5),
        }
        supplier = places.create_partner(
            uow, code="JINHUA", name_zh="金华肉业", name_en="Jinhua Meat", is_supplier=True, gln=SUPPLIER_GLN
        )
        customer = places.create_partner(
            uow, code="SHOP", name_zh="超市", name_en="Supermarket", is_customer=True, gln=CUSTOMER_GLN
        )
        store = places.create_location(
            uow, site_id=site, code="WH-E", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )
        dock = places.create_location(
            uow, site_id=site, code="DOCK-E", name_zh="收货区", name_en="Dock", kind="BIN", parent_id=store.id
        )
        qa_area = places.create_location(
            uow,
            site_id=site,
            code="QA-E",
            name_zh="待检区",
            name_en="QA area",
            kind="ZONE",
            parent_id=store.id,
            is_qa_area=True,
        )
        receipt = receiving.create_receipt(
            uow,
            site_id=site,
            supplier_id=supplier.id,
            location_id=dock.id,
            purchase_order="PO-7",
            delivery_note="DN/7",
            lines=[
                _quantity_line(products["PORK"], "JH-0329", 100, today),
                _quantity_line(products["CABBAGE"], "VEG-7", 80, today),
            ],
            principal=admin,
        )
        received = dict(
            uow.session.execute(
                select(Lot.product_id, Lot.id).where(Lot.supplier_id == supplier.id, Lot.site_id == site)
            )
            .tuples()
            .all()
        )
        assert receipt.number
    ids = {name: received[products[name]] for name in ("PORK", "CABBAGE")}
    set_quality(db, clock, ids["PORK"], dock.id, 100, QualityStatus.RELEASED)
    set_quality(db, clock, ids["CABBAGE"], dock.id, 80, QualityStatus.RELEASED)

    clock.advance(hours=1)
    with db.transaction(clock=clock) as uow:
        order = production_orders.create_order(
            uow,
            principal=None,
            order=production_orders.OrderInput(site, products["FILLING"], Decimal(100), KG, line="L1"),
        )
        outcome = transform(
            uow,
            principal=None,
            request=Request(
                kind=TransformationKind.PRODUCTION,
                site_id=site,
                production_order_id=order.id,
                inputs=[
                    Take(ids["PORK"], Source(dock.id), Amount(Decimal(60), KG)),
                    Take(ids["CABBAGE"], Source(dock.id), Amount(Decimal(40), KG)),
                ],
                outputs=[Make(products["FILLING"], Amount(Decimal(100), KG), qa_area.id)],
            ),
        )
        (filling,) = outcome.output_lots
        ids["FILLING"], made = filling.id, outcome.transformation.number
    set_quality(db, clock, ids["FILLING"], qa_area.id, 100, QualityStatus.RELEASED)

    clock.advance(hours=1)
    with db.transaction(clock=clock) as uow:
        codes = {name: uow.session.get_one(Lot, lot_id).code for name, lot_id in ids.items()}
        expiry = {name: uow.session.get_one(Lot, lot_id).expiry_date for name, lot_id in ids.items()}
        sale = sales.create_order(
            uow,
            order=sales.OrderInput(
                customer_id=customer.id,
                site_id=site,
                ship_date=today,
                lines=[sales.LineInput(product_id=products["FILLING"], quantity=Decimal(30), unit=KG)],
            ),
        )
        allocation.allocate_order(uow, order_id=sale.id)
        line = uow.session.scalars(select(SalesOrderLine.id).where(SalesOrderLine.order_id == sale.id)).one()
        picking.pick(
            uow, line_id=line, scanned=codes["FILLING"], quantity=Decimal(30), unit=KG, principal=admin
        )
        shipment = shipping.ship(
            uow, order_id=sale.id, carrier_id=None, vehicle=None, legs=[], principal=admin
        )
        (shipped,) = shipping.shipment_lines(uow, shipment_id=shipment.id)
        shipment_number = shipment.number

    clock.advance(hours=1)
    with db.transaction(clock=clock) as uow:
        returns.receive_return(
            uow,
            shipment_line_id=shipped.id,
            quantity=Decimal(5),
            unit=KG,
            location_id=qa_area.id,
            reason="torn pack",
            principal=admin,
        )
    clock.advance(hours=1)
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=ids["PORK"], hold_type=HoldType.QA, reason="lab retest")
        lots.place_hold(uow, lot_id=ids["FILLING"], hold_type=HoldType.RECALL, reason="supplier recall")
    return Chain(site, ids, codes, expiry, made, shipment_number, products, dock.id, qa_area.id)


@pytest.fixture
def chain(db: Database, clock: FakeClock, people: People) -> Chain:
    return build_chain(db, clock, people)


def export(
    db: Database, lot_id: int, *, at: datetime, direction: Direction = Direction.FORWARD
) -> dict[str, Any]:
    with db.transaction(read_only=True) as uow:
        scope = closure(uow, lot_ids=[lot_id], direction=direction)
        return build_document(uow, lot_ids=scope, created_at=at)


def events_of(document: dict[str, Any], kind: str, step: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in document["epcisBody"]["eventList"]
        if e["type"] == kind and (step is None or e.get("bizStep") == step)
    ]


def quantities(elements: list[dict[str, Any]]) -> dict[str, tuple[Decimal, str | None]]:
    return {q["epcClass"]: (q["quantity"], q.get("uom")) for q in elements}


def lgtin_pork(chain: Chain) -> str:
    return f"urn:epc:class:lgtin:6901234.050001.{chain.codes['PORK']}"


def digital_link_filling(chain: Chain) -> str:
    return f"https://id.gs1.org/01/{FILLING_GTIN}/10/{chain.codes['FILLING']}"


def private_cabbage(chain: Chain) -> str:
    return f"urn:lotline:class:CABBAGE:{chain.codes['CABBAGE']}"


SITE = f"https://id.gs1.org/414/{SITE_GLN}"


# --- the document of a forward trace -----------------------------------------------------------


def test_the_forward_trace_is_one_valid_epcis_document(db: Database, clock: FakeClock, chain: Chain) -> None:
    document = export(db, chain.lots["PORK"], at=clock.now)
    assert validate(document) == []
    assert set(format_checks()) == {"date-time", "uri"}  # each format of the schema is checked
    assert document["@context"] == [
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
        {"cbvmda": "urn:epcglobal:cbv:mda:"},
    ]
    assert (document["type"], document["schemaVersion"]) == ("EPCISDocument", "2.0")
    assert document["creationDate"] == event_time(clock.now)
    found = [(e["type"], e.get("action"), e["bizStep"]) for e in document["epcisBody"]["eventList"]]
    # In the order it happened: received, made, shipped, sent back, held (QA, then recall).
    assert found == [
        ("ObjectEvent", "ADD", "receiving"),  # the pork only: the cabbage is not downstream of it
        ("TransformationEvent", None, "commissioning"),
        ("ObjectEvent", "OBSERVE", "shipping"),
        ("ObjectEvent", "OBSERVE", "receiving"),
        ("ObjectEvent", "OBSERVE", "holding"),
        ("ObjectEvent", "OBSERVE", "holding"),
    ]
    for e in document["epcisBody"]["eventList"]:
        assert e["eventTimeZoneOffset"] == "+08:00"  # Shanghai
        assert e["eventTime"].endswith("Z")


def test_the_receipt_adds_the_lot_with_its_master_data(db: Database, clock: FakeClock, chain: Chain) -> None:
    document = export(db, chain.lots["PORK"], at=clock.now)
    (received,) = events_of(document, "ObjectEvent", "receiving")[:1]
    assert received["disposition"] == "in_progress"
    assert quantities(received["quantityList"]) == {lgtin_pork(chain): (Decimal(100), "KGM")}
    assert received["ilmd"] == {
        "cbvmda:lotNumber": chain.codes["PORK"],
        "cbvmda:itemExpirationDate": chain.expiry["PORK"].isoformat(),
    }
    assert received["readPoint"] == received["bizLocation"] == {"id": SITE}
    assert received["sourceList"] == [
        {"type": "owning_party", "source": f"https://id.gs1.org/417/{SUPPLIER_GLN}"}
    ]
    # The order is ours (our site's GLN); the delivery note the supplier's, its '/' escaped.
    assert received["bizTransactionList"] == [
        {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{SITE_GLN}:PO-7"},
        {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:{SUPPLIER_GLN}:DN%2F7"},
    ]
    assert received["eventTime"] == "2026-03-01T08:00:00.000Z"


def test_one_transformation_event_per_transformation_with_its_inputs_and_output(
    db: Database, clock: FakeClock, chain: Chain
) -> None:
    document = export(db, chain.lots["PORK"], at=clock.now)
    with db.transaction(read_only=True) as uow:
        made = uow.session.scalars(select(Transformation.number)).all()
    assert made == [chain.transformation]
    (event,) = events_of(document, "TransformationEvent")
    assert "action" not in event
    assert quantities(event["inputQuantityList"]) == {
        lgtin_pork(chain): (Decimal(60), "KGM"),
        private_cabbage(chain): (Decimal(40), "KGM"),  # an input from outside the trace: still named
    }
    assert quantities(event["outputQuantityList"]) == {digital_link_filling(chain): (Decimal(100), "KGM")}
    assert event["ilmd"] == {
        "cbvmda:lotNumber": chain.codes["FILLING"],
        "cbvmda:itemExpirationDate": chain.expiry["FILLING"].isoformat(),
    }
    assert event["transformationID"] == f"urn:epcglobal:cbv:xform:{SITE_GLN}:{chain.transformation}"
    # Traced backward from the filling the same transformation is the same single event.
    backward = export(db, chain.lots["FILLING"], at=clock.now, direction=Direction.BACKWARD)
    assert events_of(backward, "TransformationEvent") == [event]
    assert len(events_of(backward, "ObjectEvent", "receiving")) == 3  # pork, cabbage; the return


def test_shipment_return_and_holds_speak_cbv(db: Database, clock: FakeClock, chain: Chain) -> None:
    document = export(db, chain.lots["PORK"], at=clock.now)
    (shipped,) = events_of(document, "ObjectEvent", "shipping")
    assert (shipped["action"], shipped["disposition"]) == ("OBSERVE", "in_transit")
    assert quantities(shipped["quantityList"]) == {digital_link_filling(chain): (Decimal(30), "KGM")}
    assert shipped["destinationList"] == [
        {"type": "owning_party", "destination": f"https://id.gs1.org/417/{CUSTOMER_GLN}"}
    ]
    assert shipped["bizTransactionList"] == [
        {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:{SITE_GLN}:{chain.shipment}"}
    ]
    returned = events_of(document, "ObjectEvent", "receiving")[1]
    assert (returned["action"], returned["disposition"]) == ("OBSERVE", "returned")
    assert "ilmd" not in returned
    assert quantities(returned["quantityList"]) == {digital_link_filling(chain): (Decimal(5), "KGM")}
    holds = {
        e["quantityList"][0]["epcClass"]: e["disposition"]
        for e in events_of(document, "ObjectEvent", "holding")
    }
    assert holds == {lgtin_pork(chain): "non_sellable_other", digital_link_filling(chain): "recalled"}


def test_the_export_reads_a_fixed_number_of_times_whatever_the_scope(
    db: Database, clock: FakeClock, chain: Chain
) -> None:
    counts = []
    for scope in ([chain.lots["CABBAGE"]], list(chain.lots.values())):
        statements: list[str] = []

        def seen(*args: Any, statements: list[str] = statements) -> None:
            statements.append(args[2])

        with db.transaction(read_only=True) as uow:
            closure(uow, lot_ids=scope, direction=Direction.FORWARD)  # the transaction has begun
            event.listen(db.engine, "before_cursor_execute", seen)
            try:
                build_document(uow, lot_ids=scope, created_at=clock.now)
            finally:
                event.remove(db.engine, "before_cursor_execute", seen)
        counts.append(len(statements))
    assert counts == [7, 7]


def test_as_of_leaves_out_what_happened_later(db: Database, clock: FakeClock, chain: Chain) -> None:
    then = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)  # made, not yet shipped
    with db.transaction(read_only=True) as uow:
        scope = closure(uow, lot_ids=[chain.lots["PORK"]], direction=Direction.FORWARD, as_of=then)
        document = build_document(uow, lot_ids=scope, created_at=clock.now, as_of=then)
    steps = [e["bizStep"] for e in document["epcisBody"]["eventList"]]
    assert steps == ["receiving", "commissioning"]


def test_outputs_with_different_lots_share_one_transformation_id(
    db: Database, clock: FakeClock, chain: Chain
) -> None:
    """A split into two lots: one ilmd cannot describe both, so each output lot has its event,
    linked by the transformation ID; the inputs are stated once."""
    clock.advance(hours=1)
    with db.transaction(clock=clock) as uow:
        outcome = transform(
            uow,
            principal=None,
            request=Request(
                kind=TransformationKind.SPLIT,
                site_id=chain.site,
                inputs=[Take(chain.lots["CABBAGE"], Source(chain.dock), Amount(Decimal(20), KG))],
                outputs=[
                    Make(chain.products["CABBAGE"], Amount(Decimal(q), KG), chain.qa_area) for q in (12, 8)
                ],
            ),
        )
        number = outcome.transformation.number
        parts = [lot.code for lot in outcome.output_lots]
    document = export(db, chain.lots["CABBAGE"], at=clock.now)
    split = [e for e in events_of(document, "TransformationEvent") if e["transformationID"].endswith(number)]
    assert len(split) == 2
    assert [len(e.get("inputQuantityList", [])) for e in split] == [1, 0]
    assert [e["ilmd"]["cbvmda:lotNumber"] for e in split] == parts
    assert [len(e["outputQuantityList"]) for e in split] == [1, 1]
    assert validate(document) == []


# --- the validator -----------------------------------------------------------------------------


def test_the_validator_refuses_bad_times_and_words_cbv_lacks(
    db: Database, clock: FakeClock, chain: Chain
) -> None:
    document = export(db, chain.lots["PORK"], at=clock.now)
    for field, value, said in (
        ("eventTime", "yesterday", "is not a 'date-time'"),
        ("eventTime", "2026-02-30T08:00:00Z", "is not a 'date-time'"),  # no such day
        ("eventTime", "2026-03-01T08:00:00", "is not a 'date-time'"),  # no offset
        ("bizStep", "recalling", "CBV"),
        ("disposition", "quarantine", "CBV"),
        ("eventTimeZoneOffset", "+8:00", "does not match"),
    ):
        broken = copy.deepcopy(document)
        broken["epcisBody"]["eventList"][0][field] = value
        problems = validate(broken)
        assert problems, (field, value)
        assert any(field in p and said in p for p in problems), problems
    broken = copy.deepcopy(document)
    broken["epcisBody"]["eventList"][0]["readPoint"] = {"id": "_:site"}  # a blank node, not a URI
    assert validate(broken)


def test_an_invalid_document_is_never_returned(
    db: Database, clock: FakeClock, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(epcis, "hold_disposition", lambda hold_type: "quarantine")
    with pytest.raises(InvalidEPCISDocument) as refused:
        export(db, chain.lots["PORK"], at=clock.now)
    assert any("quarantine" in p for p in refused.value.problems)


# --- the interfaces ----------------------------------------------------------------------------


def test_the_api_answers_the_same_document(
    client: TestClient, db: Database, clock: FakeClock, people: People, chain: Chain
) -> None:
    answer = client.get(
        f"/api/v1/lots/{chain.lots['PORK']}/trace/epcis?direction=forward", headers=people.bearer("viewer")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/ld+json")
    assert json.loads(answer.text, parse_float=Decimal) == export(db, chain.lots["PORK"], at=clock.now)
    backward = client.get(
        f"/api/v1/lots/{chain.lots['FILLING']}/trace/epcis?direction=backward",
        headers=people.bearer("viewer"),
    )
    assert backward.status_code == 200
    assert len(json.loads(backward.text)["epcisBody"]["eventList"]) == 7
    # The trace endpoint's permission check: a lot the caller may not read is not found.
    assert client.get("/api/v1/lots/999999/trace/epcis", headers=people.bearer("viewer")).status_code == 404
    assert client.get(f"/api/v1/lots/{chain.lots['PORK']}/trace/epcis").status_code == 401


def test_the_console_prints_a_valid_document(run: Cli, chain: Chain) -> None:
    printed = run("trace", chain.codes["PORK"], "--product", "PORK", "--forward", "--format", "epcis")
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.output, parse_float=Decimal)
    assert validate(document) == []
    assert len(events_of(document, "TransformationEvent")) == 1


# --- identifiers, quantities, times (pure) -----------------------------------------------------


def test_lgtin_worked_example() -> None:
    """EPC Tag Data Standard's LGTIN example: GTIN 04012345123456 with a 7-digit company prefix.
    Drop the check digit (6): 0 4012345 12345. The company prefix is the 7 digits after the
    indicator digit, 4012345; the item part is the indicator digit in front of the item
    reference, 0 + 12345 = 012345; the lot follows: urn:epc:class:lgtin:4012345.012345.998877."""
    made = epc_class(gtin="04012345123456", prefix_length=7, product_code="X", lot_code="998877")
    assert made == "urn:epc:class:lgtin:4012345.012345.998877"
    # A GTIN-13 is the GTIN-14 with a leading 0; the lot's '/' and '&' are percent-encoded (TDS).
    assert epc_class(gtin="4012345123456", prefix_length=7, product_code="X", lot_code="A/B&C") == (
        "urn:epc:class:lgtin:4012345.012345.A%2FB%26C"
    )
    # A 9-digit prefix moves the split: 401234512.0345.
    assert epc_class(gtin="04012345123456", prefix_length=9, product_code="X", lot_code="1") == (
        "urn:epc:class:lgtin:401234512.0345.1"
    )


def test_a_lot_without_an_lgtin_falls_back_to_digital_link_then_to_a_private_uri() -> None:
    assert epc_class(gtin="04012345123456", prefix_length=None, product_code="X", lot_code="L 1/2") == (
        "urn:lotline:class:X:L%201%2F2"  # a space is not in GS1's AI 10 character set
    )
    assert epc_class(gtin="04012345123456", prefix_length=None, product_code="X", lot_code="L1/2") == (
        "https://id.gs1.org/01/04012345123456/10/L1%2F2"
    )
    assert (
        epc_class(gtin=None, prefix_length=7, product_code="A:B", lot_code="C") == "urn:lotline:class:A%3AB:C"
    )
    assert (
        epc_class(
            gtin=None, prefix_length=None, product_code="P", lot_code="L", private_base="https://x.cn/epc/"
        )
        == "https://x.cn/epc/class/P/L"
    )
    assert private_uri("urn:lotline:", "site", "A") == "urn:lotline:site:A"


def test_locations_parties_documents_and_transformations() -> None:
    assert site_uri(gln=SITE_GLN, code="A") == f"https://id.gs1.org/414/{SITE_GLN}"
    assert site_uri(gln=None, code="A 1") == "urn:lotline:site:A%201"
    assert business_transaction_uri(None, "PO-7", "po", "PO-7") == "urn:lotline:bt:po:PO-7"
    assert transformation_uri(None, "T-A-2026-000001") == "urn:lotline:xform:T-A-2026-000001"


@pytest.mark.parametrize(
    ("unit", "quantity", "uom"),
    [
        ("KGM", "12.5", "KGM"),
        ("GRM", "250", "GRM"),
        ("LTR", "1", "LTR"),
        ("MLT", "330", "MLT"),
        ("TNE", "2", "TNE"),
        ("EA", "24", None),  # a whole count of each: EPCIS writes no uom (a count of instances)
        ("EA", "2.5", "H87"),  # not a whole count: Rec 20 "piece"
        ("H87", "3", None),
    ],
)
def test_quantities_carry_un_ece_rec_20_units(unit: str, quantity: str, uom: str | None) -> None:
    assert epcis_uom(unit, Decimal(quantity)) == uom


def test_a_unit_without_a_rec_20_code_is_refused() -> None:
    with pytest.raises(ValueError, match="Rec 20"):
        epcis_uom("kg", Decimal(1))


@pytest.mark.parametrize(
    ("zone", "instant", "offset"),
    [
        ("Asia/Shanghai", datetime(2026, 3, 1, 8, tzinfo=UTC), "+08:00"),
        ("Europe/Berlin", datetime(2026, 1, 15, 12, tzinfo=UTC), "+01:00"),
        ("Europe/Berlin", datetime(2026, 7, 15, 12, tzinfo=UTC), "+02:00"),  # summer time
        ("America/St_Johns", datetime(2026, 1, 15, 12, tzinfo=UTC), "-03:30"),
        ("Asia/Kathmandu", datetime(2026, 1, 15, 12, tzinfo=UTC), "+05:45"),
        ("UTC", datetime(2026, 1, 15, 12, tzinfo=UTC), "+00:00"),
    ],
)
def test_the_offset_is_the_sites_at_the_instant(zone: str, instant: datetime, offset: str) -> None:
    assert time_zone_offset(instant, zone) == offset


def test_event_times_are_utc_with_z() -> None:
    shanghai = datetime(2026, 3, 1, 16, 0, 0, 123456, tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    assert event_time(shanghai) == "2026-03-01T16:00:00.123Z"
    with pytest.raises(ValueError, match="naive"):
        event_time(datetime(2026, 3, 1))


def test_lot_master_data_and_hold_dispositions() -> None:
    assert lot_master_data("L1", date(2026, 4, 2), "USE_BY") == {
        "cbvmda:lotNumber": "L1",
        "cbvmda:itemExpirationDate": "2026-04-02",
    }
    assert lot_master_data("L1", date(2026, 4, 2), "BEST_BEFORE") == {
        "cbvmda:lotNumber": "L1",
        "cbvmda:bestBeforeDate": "2026-04-02",
    }
    assert hold_disposition(HoldType.RECALL.value) == "recalled"
    assert {hold_disposition(t.value) for t in HoldType if t is not HoldType.RECALL} == {"non_sellable_other"}


def test_quantities_are_written_exactly() -> None:
    document = {
        "quantity": Decimal("123456789012.123456"),
        "list": [Decimal("0.5"), Decimal("20")],
        "x": None,
    }
    text = dumps(document)
    assert text == '{"quantity":123456789012.123456,"list":[0.5,20],"x":null}'
    assert json.loads(dumps(document, indent=2), parse_float=Decimal) == document
    with pytest.raises(ValueError, match="JSON number"):
        dumps({"q": Decimal("NaN")})


def test_a_bad_gtin_or_prefix_length_never_breaks_the_export() -> None:
    # Stored data a GS1 check would refuse: the class falls back rather than failing a recall.
    assert epc_class(gtin="04012345123457", prefix_length=7, product_code="X", lot_code="1") == (
        "urn:lotline:class:X:1"
    )
    assert epc_class(gtin="04012345123456", prefix_length=13, product_code="X", lot_code="1").startswith(
        "https://id.gs1.org/01/"
    )
    with pytest.raises(InvalidInput):  # the domain's own LGTIN function stays strict
        lgtin_epc_class("04012345123456", 13, "1")
