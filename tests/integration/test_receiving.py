"""Receiving: GS1 scans fill lines, catch weight, minimum shelf life with a signed override,
stock lands in quarantine at the receiving location, and nothing is written on a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline import demo
from lotline.auth import service as auth
from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.errors import LotlineError
from lotline.domain.signature import Meaning
from lotline.inbound import service as receiving
from lotline.inbound.service import LineInput
from lotline.models.audit import AuditRecord
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.outbound import CustomerReturn
from lotline.models.outbox import OutboxEvent
from lotline.models.quality import QualityDecision
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.quality import policies
from lotline.signatures import service as signatures
from lotline.stock import check as ledger_check
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock

PORK_GTIN = "06901234500011"
FLOUR_GTIN = "06901234500028"
FLOUR_CASE_GTIN = "16901234500025"
SSCC = "069012340000000016"


def gs1_128(lot: str = "JH-0329", expiry: str = "260300", gtin: str = PORK_GTIN) -> str:
    return f"]C101{gtin}10{lot}\x1d11260227{'17'}{expiry}3024\x1d3103012500\x1d00{SSCC}"


def datamatrix(lot: str = "JH-0329", expiry: str = "260300") -> str:
    return f"]d201{PORK_GTIN}11260227{'17'}{expiry}10{lot}\x1d3024\x1d3103012500\x1d00{SSCC}"


def digital_link(lot: str = "JH-0329", expiry: str = "260300") -> str:
    return f"https://id.gs1.org/01/{PORK_GTIN}/10/{lot}?11=260227&17={expiry}&30=24&3103=012500&00={SSCC}"


@dataclass
class Receiving:
    site_a: int
    site_b: int
    dock_a: int
    dock_b: int
    supplier: int
    pork: int
    flour: int


def build_receiving(db: Database, clock: FakeClock, people: People) -> Receiving:
    """Pork (catch weight, 3 days minimum at receipt), flour (cases of 20, 50 % minimum), docks."""
    with db.transaction(clock=clock) as uow:
        raw = catalog.create_lot_type(
            uow, code="RAW", name_zh="原料", name_en="Raw", code_template="R{site}{yy}{doy:03}{seq:03}"
        )
        pork = catalog.create_product(
            uow,
            code="PORK",
            name_zh="猪肉馅",
            name_en="Minced pork",
            base_unit="KGM",
            lot_type_id=raw.id,
            gtin=PORK_GTIN,
            catch_weight=True,
            shelf_life_amount=60,
            shelf_life_unit="DAYS",
            expiry_kind="USE_BY",
            retest_days=None,
            min_receipt_days=3,
        )
        flour = catalog.create_product(
            uow,
            code="FLOUR",
            name_zh="面粉",
            name_en="Flour",
            base_unit="EA",
            lot_type_id=raw.id,
            gtin=FLOUR_GTIN,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="BEST_BEFORE",
            retest_days=None,
            min_receipt_percent=Decimal(50),
            supplier_date_wins=True,
            reuse_supplier_lot=True,
        )
        packaging.set_packaging(
            uow, product_id=flour.id, levels=[packaging.LevelInput("CS", Decimal(20), FLOUR_CASE_GTIN)]
        )
        supplier = places.create_partner(
            uow, code="JINHUA", name_zh="金华肉业", name_en="Jinhua Meat", is_supplier=True
        )
        docks = [
            places.create_location(
                uow,
                site_id=people.site_ids[code],
                code="DOCK",
                name_zh="收货区",
                name_en="Receiving dock",
                kind="WAREHOUSE",
            ).id
            for code in ("A", "B")
        ]
    return Receiving(
        people.site_ids["A"], people.site_ids["B"], docks[0], docks[1], supplier.id, pork.id, flour.id
    )


@pytest.fixture
def setup(db: Database, clock: FakeClock, people: People) -> Receiving:
    return build_receiving(db, clock, people)


def principal(db: Database, username: str):  # type: ignore[no-untyped-def]
    with db.transaction(read_only=True) as uow:
        found = auth.find_user(uow, username=username)
        assert found is not None
        return auth.principal_for(found)


def rows(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(
                uow.session.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in (Receipt, ReceiptLine, Lot, StockMovement, StockOnHand, AuditRecord, OutboxEvent)
        }


def receive(db: Database, clock: FakeClock, setup: Receiving, *lines: LineInput, who: str = "admin") -> int:
    with db.transaction(clock=clock) as uow:
        receipt = receiving.create_receipt(
            uow,
            site_id=setup.site_a,
            supplier_id=setup.supplier,
            location_id=setup.dock_a,
            purchase_order="PO-1",
            delivery_note="DN-1",
            lines=list(lines),
            principal=principal(db, who),
        )
        return receipt.id


def refused(
    db: Database, clock: FakeClock, setup: Receiving, *lines: LineInput, who: str = "admin"
) -> LotlineError:
    before = rows(db)
    with pytest.raises(LotlineError) as caught:
        receive(db, clock, setup, *lines, who=who)
    assert rows(db) == before, "a refused receipt writes nothing"
    return caught.value


def test_the_three_gs1_forms_fill_the_same_line(db: Database, clock: FakeClock, setup: Receiving) -> None:
    receipt_id = receive(
        db,
        clock,
        setup,
        LineInput(scan=gs1_128("A1")),
        LineInput(scan=datamatrix("A2")),
        LineInput(scan=digital_link("A3")),
    )
    with db.transaction(read_only=True) as uow:
        lines = receiving.receipt_lines(uow, receipt_ids=[receipt_id])[receipt_id]
        lots = {lot.id: lot for lot in uow.session.scalars(select(Lot))}
    shape = {
        (
            line.product_id,
            line.production_date,
            line.supplier_expiry,
            line.count,
            line.weight_kg,
            line.base_qty,
            line.entered_unit,
            line.sscc,
        )
        for line in lines
    }
    assert shape == {
        (
            setup.pork,
            date(2026, 2, 27),
            date(2026, 3, 31),
            Decimal(24),
            Decimal("12.5"),
            Decimal("12.5"),
            "KGM",
            SSCC,
        )
    }
    assert [line.supplier_lot_code for line in lines] == ["A1", "A2", "A3"]
    # day 00 → the last day of March; the lot keeps the supplier's code and declared expiry
    assert {lots[line.lot_id].supplier_expiry_date for line in lines} == {date(2026, 3, 31)}
    assert {lots[line.lot_id].supplier_lot_code for line in lines} == {"A1", "A2", "A3"}
    assert len({line.lot_id for line in lines}) == 3, "each line its own internal lot"


def test_received_stock_lands_in_quarantine_at_the_dock_and_the_ledger_checks(
    db: Database, clock: FakeClock, setup: Receiving
) -> None:
    receipt_id = receive(
        db,
        clock,
        setup,
        LineInput(scan=gs1_128()),
        LineInput(
            product_id=setup.flour,
            supplier_lot_code="WDL-1",
            quantity=Decimal(3),
            unit="CS",
            production_date="2026-02-20",
            supplier_expiry=date(2027, 2, 19),
        ),
    )
    with db.transaction(read_only=True) as uow:
        receipt = uow.session.get_one(Receipt, receipt_id)
        on_hand = list(uow.session.scalars(select(StockOnHand).order_by(StockOnHand.product_id)))
        movements = list(uow.session.scalars(select(StockMovement)))
        assert ledger_check.differences(uow) == []
        assert all(b.closes for b in ledger_check.mass_balances(uow).values())
        events = list(uow.session.scalars(select(OutboxEvent.event_type)))
    assert receipt.number == "R-A-2026-000001"
    assert {(h.location_id, h.stock_status) for h in on_hand} == {(setup.dock_a, "QUARANTINE")}
    pork, flour = sorted(on_hand, key=lambda h: h.product_id != setup.pork)
    assert (pork.qty_base, pork.count, pork.weight_kg, pork.sscc) == (
        Decimal("12.5"),
        24,
        Decimal("12.5"),
        SSCC,
    )
    assert (flour.qty_base, flour.sscc) == (Decimal(60), "")
    assert {m.kind for m in movements} == {"receipt"}
    assert {m.reference_type for m in movements} == {"receipt_line"}
    assert {(m.entered_qty, m.entered_unit) for m in movements} == {
        (Decimal("12.5"), "KGM"),
        (Decimal(3), "CS"),
    }
    assert "lotline.receipt.posted" in events


def test_a_product_that_reuses_supplier_lots_receives_into_the_same_lot(
    db: Database, clock: FakeClock, setup: Receiving
) -> None:
    line = LineInput(
        gtin=FLOUR_CASE_GTIN,
        supplier_lot_code="WDL-1",
        quantity=Decimal(2),
        production_date="260220",
        supplier_expiry="270200",
    )
    receive(db, clock, setup, line, line)
    receive(db, clock, setup, line)
    with db.transaction(read_only=True) as uow:
        lots = list(uow.session.scalars(select(Lot)))
        lines = list(uow.session.scalars(select(ReceiptLine)))
        held = uow.session.scalars(select(StockOnHand.qty_base)).all()
    assert len(lots) == 1
    assert lots[0].supplier_expiry_date == date(2027, 2, 28)
    assert {line.entered_unit for line in lines} == {"CS"}, "a case GTIN means cases"
    assert held == [Decimal(120)]


def test_a_wrong_gtin_check_digit_is_refused_naming_the_field(
    db: Database, clock: FakeClock, setup: Receiving
) -> None:
    bad = gs1_128().replace(PORK_GTIN, PORK_GTIN[:-1] + "9")
    error = refused(db, clock, setup, LineInput(scan=bad))
    assert error.field == "lines.0.scan"
    assert error.params["ai"] == "01"
    typed = refused(
        db,
        clock,
        setup,
        LineInput(gtin="06901234500012", supplier_lot_code="X", count=Decimal(1), net_weight_kg=Decimal(1)),
    )
    assert (typed.field, typed.code) == ("lines.0.gtin", "gs1.bad_check_digit")


def test_catch_weight_needs_count_and_weight(db: Database, clock: FakeClock, setup: Receiving) -> None:
    base = LineInput(product_id=setup.pork, supplier_lot_code="JH-1", supplier_expiry=date(2026, 3, 20))
    no_weight = refused(db, clock, setup, LineInput(**{**base.__dict__, "count": Decimal(3)}))
    assert (no_weight.code, no_weight.field) == ("receipt.catch_weight_required", "lines.0.net_weight_kg")
    no_count = refused(db, clock, setup, LineInput(**{**base.__dict__, "net_weight_kg": Decimal(3)}))
    assert no_count.field == "lines.0.count"
    disagree = refused(
        db,
        clock,
        setup,
        LineInput(
            **{
                **base.__dict__,
                "count": Decimal(3),
                "net_weight_kg": Decimal(3),
                "quantity": Decimal(4),
                "unit": "KGM",
            }
        ),
    )
    assert disagree.code == "receipt.catch_weight_mismatch"
    receive(
        db,
        clock,
        setup,
        LineInput(**{**base.__dict__, "count": Decimal(3), "net_weight_kg": Decimal("2.75")}),
    )


def test_a_delivery_short_of_minimum_shelf_life_needs_a_signed_override(
    db: Database, clock: FakeClock, setup: Receiving
) -> None:
    # today at site A is 2026-03-01; pork needs 3 days left: 2026-03-03 leaves 2
    short = LineInput(scan=gs1_128("SHORT", expiry="260303"))
    error = refused(db, clock, setup, short)
    assert (error.code, error.field) == ("receipt.short_shelf_life", "lines.0.supplier_expiry")
    admin = principal(db, "admin")
    record_id = receiving.override_record_id(setup.pork, "SHORT")
    with db.transaction(clock=clock) as uow:
        with pytest.raises(signatures.SignatureRejected):
            signatures.authorize_signing(
                uow,
                principal=admin,
                web_session=None,
                username="admin",
                password="wrong",
                meaning=Meaning.OVERRIDE,
                record_type=receiving.OVERRIDE_RECORD_TYPE,
                record_id=record_id,
                client_ip=None,
            )
        uow.commit()  # the failed attempt stays on record, as the API and CLI keep it
    with db.transaction(clock=clock) as uow:
        secret, _grant = signatures.authorize_signing(
            uow,
            principal=admin,
            web_session=None,
            username="admin",
            password=PASSWORD,
            meaning=Meaning.OVERRIDE,
            record_type=receiving.OVERRIDE_RECORD_TYPE,
            record_id=record_id,
            client_ip=None,
        )
    no_reason = refused(db, clock, setup, LineInput(scan=short.scan, override_signing_grant=secret))
    assert no_reason.field == "lines.0.override_reason"
    receipt_id = receive(
        db,
        clock,
        setup,
        LineInput(
            scan=short.scan, override_signing_grant=secret, override_reason="production needs it today"
        ),
    )
    with db.transaction(read_only=True) as uow:
        line = receiving.receipt_lines(uow, receipt_ids=[receipt_id])[receipt_id][0]
        trail = list(
            uow.session.scalars(
                select(AuditRecord.action).where(AuditRecord.entity_type == receiving.OVERRIDE_RECORD_TYPE)
            )
        )
    assert line.override_signature_id is not None
    assert trail.count("signature_failed") == 1
    assert trail.count("sign") == 1


def test_a_user_of_site_b_cannot_receive_at_site_a(db: Database, clock: FakeClock, setup: Receiving) -> None:
    line = LineInput(scan=gs1_128())
    error = refused(db, clock, setup, line, who="warehouse")  # warehouse at site B only
    assert error.code in ("not_found", "permission_denied")
    assert error.field == "site_id"
    with db.transaction(clock=clock) as uow:
        receipt = receiving.create_receipt(
            uow,
            site_id=setup.site_b,
            supplier_id=setup.supplier,
            location_id=setup.dock_b,
            lines=[line],
            principal=principal(db, "warehouse"),
        )
        assert receipt.number == "R-B-2026-000001"
    with db.transaction(clock=clock) as uow, pytest.raises(LotlineError) as caught:
        receiving.create_receipt(
            uow,
            site_id=setup.site_b,
            supplier_id=setup.supplier,
            location_id=setup.dock_a,
            lines=[line],
            principal=principal(db, "warehouse"),
        )
    assert caught.value.code == "receipt.location_other_site"


def test_the_demo_receives_its_supplier_lots_and_its_stock_checks(db: Database, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    with db.transaction(read_only=True) as uow:
        assert ledger_check.differences(uow) == []
        assert all(b.closes for b in ledger_check.mass_balances(uow).values())
        received = uow.session.scalars(select(ReceiptLine)).all()
        lots = {lot.id: lot for lot in uow.session.scalars(select(Lot))}
        held = list(uow.session.scalars(select(StockOnHand)))
        kinds = set(uow.session.scalars(select(StockMovement.kind)))
        returned = set(uow.session.scalars(select(CustomerReturn.lot_id)))
    assert {lots[line.lot_id].supplier_lot_code for line in received} == {
        "JH-0329",
        "JH-0331",
        "JH-0320",
        "WDL-260105",
        "CM-1121",
    }
    assert all(line.count and line.weight_kg for line in received if line.entered_unit == "KGM")
    assert {"receipt", "opening"} <= kinds  # and, once decisions move stock, status changes
    matching = {"RELEASED": "AVAILABLE", "REJECTED": "REJECTED", "QUARANTINE": "QUARANTINE"}
    for row in held:
        # An emptied bucket (a produced lot's quarantine after its release) keeps a zero row;
        # stock a customer sent back waits in quarantine whatever its lot's status.
        if lots[row.lot_id].source == "PRODUCTION" and row.qty_base > 0 and row.lot_id not in returned:
            assert row.stock_status == matching[lots[row.lot_id].quality_status]


def test_a_trusted_products_signed_policy_releases_what_arrives(
    db: Database, clock: FakeClock, setup: Receiving
) -> None:
    qa = principal(db, "qa_manager")
    with db.transaction(clock=clock) as uow:
        grant, _ = signatures.authorize_signing(
            uow,
            principal=qa,
            web_session=None,
            username="qa_manager",
            password=PASSWORD,
            meaning=Meaning.APPROVE,
            record_type="product",
            record_id=str(setup.flour),
            client_ip=None,
        )
        policies.set_policy(
            uow,
            product_id=setup.flour,
            conditions={"suppliers": [setup.supplier]},
            reason="approved supplier, 3 years without deviation",
            principal=qa,
            signing_grant=grant,
        )
    receive(
        db,
        clock,
        setup,
        LineInput(scan=gs1_128()),  # pork: no policy, stays in quarantine
        LineInput(
            product_id=setup.flour,
            supplier_lot_code="WDL-9",
            quantity=Decimal(2),
            unit="CS",
            production_date="2026-02-25",
            supplier_expiry=date(2027, 2, 24),
        ),
    )
    with db.transaction(read_only=True) as uow:
        held = dict(
            uow.session.execute(select(StockOnHand.product_id, StockOnHand.stock_status)).tuples().all()
        )
        flour_lot = uow.session.scalars(select(Lot).where(Lot.product_id == setup.flour)).one()
        decision = uow.session.scalars(select(QualityDecision)).one()
    assert held == {setup.pork: "QUARANTINE", setup.flour: "AVAILABLE"}
    assert flour_lot.quality_status == "RELEASED"
    assert decision.policy_id is not None
    assert decision.signature_id is not None


def test_a_qa_manager_countersigns_the_override_of_a_receiving_clerk(
    db: Database, clock: FakeClock, setup: Receiving
) -> None:
    short = LineInput(scan=gs1_128("SHORT2", expiry="260303"))
    record_id = receiving.override_record_id(setup.pork, "SHORT2")

    def grant_for(username: str) -> str:
        with db.transaction(clock=clock) as uow:
            secret, _grant = signatures.authorize_signing(
                uow,
                principal=principal(db, username),
                web_session=None,
                username=username,
                password=PASSWORD,
                meaning=Meaning.OVERRIDE,
                record_type=receiving.OVERRIDE_RECORD_TYPE,
                record_id=record_id,
                client_ip=None,
            )
            return secret

    def by_warehouse_at_b(grant: str) -> LineInput:
        return LineInput(scan=short.scan, override_signing_grant=grant, override_reason="line stop otherwise")

    # The warehouse user (site B) may receive but not decide quality: their own grant is refused.
    with pytest.raises(LotlineError) as own, db.transaction(clock=clock) as uow:
        receiving.create_receipt(
            uow,
            site_id=setup.site_b,
            supplier_id=setup.supplier,
            location_id=setup.dock_b,
            purchase_order=None,
            delivery_note=None,
            lines=[by_warehouse_at_b(grant_for("warehouse"))],
            principal=principal(db, "warehouse"),
        )
    assert own.value.field == "lines.0.override_signing_grant"
    # The QA manager re-authenticates for this exception; the clerk posts the receipt with it.
    with db.transaction(clock=clock) as uow:
        receipt = receiving.create_receipt(
            uow,
            site_id=setup.site_b,
            supplier_id=setup.supplier,
            location_id=setup.dock_b,
            purchase_order=None,
            delivery_note=None,
            lines=[by_warehouse_at_b(grant_for("qa_manager"))],
            principal=principal(db, "warehouse"),
        )
        line = receiving.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id][0]
        signature = uow.session.get_one(Signature, line.override_signature_id)
    assert signature.printed_name == "Qa_Manager User"
    assert signature.meaning == "override"
