"""What a recall must not get wrong, on the demo company: a lot code two products share is refused
unless the product is named; a delivery of the recalled supplier lot that arrives before the
start is pulled in and held; the start signature binds exactly the lots it holds; a quantity that
is not a number or too precise is refused; mixed units are never added up."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from lotline import demo
from lotline.auth import service as auth
from lotline.demo_catalog.people import DEMO_PASSWORD, QA_MANAGER
from lotline.domain.errors import Conflict, InvalidInput
from lotline.domain.recall import RecallKind, RecallLevel, TriggerKind
from lotline.domain.signature import Meaning
from lotline.models.catalog import Partner, Product
from lotline.models.lot import Hold, Lot
from lotline.models.recall import RecallCase, RecallHold, RecallLot
from lotline.models.signature import Signature
from lotline.recall import service
from lotline.recall.queries import Customer, ProductTotal
from lotline.signatures import service as signatures
from lotline.uow import Database
from tests.conftest import FakeClock


@pytest.fixture
def demo_db(db: Database, clock: FakeClock) -> Database:
    clock.now = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    return db


def _start(db: Database, clock: FakeClock, case_id: int) -> None:
    with db.transaction(clock=clock) as uow:
        qa = auth.principal_for(auth.get_user_by_name(uow, username=QA_MANAGER, field="user"))
        secret, _ = signatures.authorize_signing(
            uow,
            principal=qa,
            web_session=None,
            username=QA_MANAGER,
            password=DEMO_PASSWORD,
            meaning=Meaning.RECALL,
            record_type=service.RECORD_TYPE,
            record_id=str(case_id),
            client_ip=None,
        )
        service.start_case(uow, case_id=case_id, principal=qa, signing_grant=secret)


def test_a_lot_code_of_two_products_needs_the_product(demo_db: Database, clock: FakeClock) -> None:
    with demo_db.transaction(clock=clock) as uow:
        pork, veg = (
            uow.session.scalars(
                select(Lot).join(Product, Product.id == Lot.product_id).where(Product.code == code)
            ).first()
            for code in ("DUMP-PORK-1KG", "DUMP-VEG-500G")
        )
        assert pork is not None
        assert veg is not None
        uow.session.execute(update(Lot).where(Lot.id == veg.id).values(code=pork.code))
        shared = pork.code
    with demo_db.transaction(clock=clock) as uow, pytest.raises(Conflict) as refused:
        service.seed_lots(uow, service.Trigger(TriggerKind.LOTS, lot_codes=(shared,)))
    assert (refused.value.code, refused.value.field) == ("recall.lot_code_ambiguous", "trigger.lot_codes")
    with demo_db.transaction(read_only=True) as uow:
        named = service.seed_lots(
            uow, service.Trigger(TriggerKind.LOTS, lot_codes=(shared,), product_code="DUMP-PORK-1KG")
        )
    assert named == [pork.id]


def test_a_delivery_of_the_supplier_lot_before_the_start_is_pulled_in_and_held(
    demo_db: Database, clock: FakeClock
) -> None:
    with demo_db.transaction(clock=clock) as uow:
        case = service.open_case(
            uow,
            service.OpenRequest(
                RecallKind.RECALL,
                service.Trigger(
                    TriggerKind.SUPPLIER_LOT, supplier_code="JINHUA-MEAT", supplier_lot_code="JH-0331"
                ),
                RecallLevel.CN_1,
                "supplier notice",
            ),
        )
        case_id = case.id
        jinhua = uow.session.scalar(select(Partner.id).where(Partner.code == "JINHUA-MEAT"))
        # Another delivery under the same supplier lot code lands while the case is a draft.
        later = uow.session.scalar(
            select(Lot.id).where(Lot.supplier_id == jinhua, Lot.supplier_lot_code == "JH-0318")
        )
        assert later is not None
        uow.session.execute(update(Lot).where(Lot.id == later).values(supplier_lot_code="JH-0331"))
    with demo_db.transaction(read_only=True) as uow:
        assert later not in set(
            uow.session.scalars(select(RecallLot.lot_id).where(RecallLot.case_id == case_id))
        )
    _start(demo_db, clock, case_id)
    with demo_db.transaction(read_only=True) as uow:
        scope = set(uow.session.scalars(select(RecallLot.lot_id).where(RecallLot.case_id == case_id)))
        held = set(
            uow.session.scalars(
                select(Hold.lot_id)
                .join(RecallHold, RecallHold.hold_id == Hold.id)
                .where(RecallHold.case_id == case_id)
            )
        )
    assert later in scope
    assert later in held


def test_the_start_signature_binds_the_lots_it_holds(demo_db: Database) -> None:
    with demo_db.transaction(read_only=True) as uow:
        case = uow.session.scalars(select(RecallCase).where(RecallCase.kind == "recall")).one()
        signature = uow.session.get_one(Signature, case.start_signature_id)
        held = list(
            uow.session.scalars(
                select(Hold.lot_id)
                .join(RecallHold, RecallHold.hold_id == Hold.id)
                .where(RecallHold.case_id == case.id)
            )
        )
        assert signatures.is_genuine(uow, signature=signature, content=service.start_content(case, held))
        assert not signatures.is_genuine(
            uow, signature=signature, content=service.start_content(case, held[1:])
        )


@pytest.mark.parametrize("quantity", ["NaN", "sNaN", "0.0000001", "-1"])
def test_a_destruction_that_is_not_a_sensible_quantity_is_refused(
    demo_db: Database, clock: FakeClock, quantity: str
) -> None:
    with demo_db.transaction(clock=clock) as uow:
        case = uow.session.scalars(select(RecallCase).where(RecallCase.kind == "recall")).one()
        lianhua = uow.session.scalar(select(Partner.id).where(Partner.code == "LIANHUA"))
        lot = uow.session.scalar(
            select(RecallLot.lot_id).where(RecallLot.case_id == case.id, RecallLot.is_trigger.is_(False))
        )
        assert lianhua is not None
        assert lot is not None
        with pytest.raises(InvalidInput) as refused:
            service.record_destruction(
                uow,
                case_id=case.id,
                customer_id=lianhua,
                lot_id=lot,
                quantity=Decimal(quantity),
                unit="EA",
                note=None,
            )
    assert refused.value.field == "quantity"


def test_kilograms_and_cases_are_never_added_up() -> None:
    customer = Customer(1, "C", "客户", "Customer", {}, [])
    customer.products["MINCE"] = ProductTotal("MINCE", "猪肉糜", "Pork mince", "KGM", shipped=Decimal(500))
    customer.products["DUMP"] = ProductTotal(
        "DUMP", "水饺", "Dumplings", "EA", shipped=Decimal(10), returned=Decimal(10)
    )
    assert customer.unit is None
    assert customer.shipped is None
    assert customer.effectiveness == Decimal("0.5000")  # the mean of 0 % and 100 %, not 10 / 510
