"""Inspection and the usage decision (放行): plans, records, LIMS posts, CoAs, signed (partial)
release and rejection moving stock on the ledger, and auto-release by a signed policy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline import demo, demo_quality
from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.domain.errors import InvalidInput, LotlineError
from lotline.domain.gs1 import gtin_check_digit
from lotline.domain.inspection import CharacteristicKind
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.lots import decisions as lot_decisions
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.catalog import Partner
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord, QualityDecision
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.quality import decisions, inspections, plans, policies
from lotline.quality.decisions import Part
from lotline.signatures import service as signatures
from lotline.sites import service as sites
from lotline.stock import check as ledger_check
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD
from tests.conftest import FakeClock

Q, A, R = StockStatus.QUARANTINE, StockStatus.AVAILABLE, StockStatus.REJECTED
PALLET = Decimal(24)  # cases of dumplings on a pallet, in EA


def sscc(serial: int) -> str:
    """An 18-digit SSCC with a valid check digit (extension 0, company prefix 6901234)."""
    body = f"06901234{serial:09d}"
    return body + str(gtin_check_digit(body))


@dataclass
class Warehouse:
    site_id: int
    product_id: int
    supplier_id: int
    qa_bin: int
    second_qa_bin: int
    freezer_bin: int
    qa: Principal


@pytest.fixture
def warehouse(db: Database, clock: FakeClock) -> Warehouse:
    """A frozen-goods plant: two QA bins and a freezer bin, a supplier, a QA manager."""
    with db.transaction(clock=clock) as uow:
        site = sites.create_site(
            uow, code="SH01", name_zh="松江", name_en="Songjiang", time_zone="Asia/Shanghai"
        )
        frozen = catalog.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal(-18)
        )
        lot_type = catalog.create_lot_type(
            uow, code="RM", name_zh="原料", name_en="Raw", code_template="{site}{yy}{doy:03}{seq:04}"
        )
        product = catalog.create_product(
            uow,
            code="DUMP",
            name_zh="水饺",
            name_en="Dumplings",
            base_unit="EA",
            lot_type_id=lot_type.id,
            storage_condition_id=frozen.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        store = places.create_location(
            uow, site_id=site.id, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )

        def place(code: str, **extra: object) -> int:
            return places.create_location(
                uow,
                site_id=site.id,
                code=code,
                name_zh=code,
                name_en=code,
                kind="BIN",
                parent_id=store.id,
                storage_condition_id=frozen.id,
                **extra,
            ).id

        now = uow.now()
        supplier = Partner(
            code="DUMP-CO",
            name_zh="水饺厂",
            name_en="Dumpling Co",
            is_supplier=True,
            address={},
            contacts=[],
            time_zone="Asia/Shanghai",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(supplier)
        user = auth.create_user(uow, username="li.qa", display_name="李秀英", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="qa_manager", site_id=None, reason="tests")
        uow.session.flush()
        qa = auth.principal_for(auth.get_user(uow, user_id=user.id))
        return Warehouse(
            site.id,
            product.id,
            supplier.id,
            place("QA-01", is_qa_area=True),
            place("QA-02", is_qa_area=True),
            place("FZ-01"),
            qa,
        )


def receive(db: Database, clock: FakeClock, house: Warehouse, pallets: int = 40, first: int = 1) -> Lot:
    """A supplier lot received as ``pallets`` pallets into the QA bin, one per SSCC."""
    with db.transaction(clock=clock) as uow:
        lot = lots.register_lot(
            uow,
            product_id=house.product_id,
            site_id=house.site_id,
            source="SUPPLIER",
            supplier_id=house.supplier_id,
            supplier_lot_code="JH20260301",
            production_date=date(2026, 2, 20),
        )
        txn = stock.new_txn()
        for serial in range(first, first + pallets):
            stock.post(
                uow,
                kind=MovementKind.RECEIPT,
                lot=lot,
                quantity=Quantity(PALLET),
                entered_qty=PALLET,
                entered_unit="EA",
                target=Bucket(house.qa_bin, Q, sscc(serial)),
                txn_id=txn,
            )
        return lot


def grant(
    db: Database,
    clock: FakeClock,
    house: Warehouse,
    meaning: Meaning,
    record_type: str,
    record_id: int,
    password: str = PASSWORD,
) -> str:
    with db.transaction(clock=clock) as uow:
        secret, _ = signatures.authorize_signing(
            uow,
            principal=house.qa,
            web_session=None,
            username="li.qa",
            password=password,
            meaning=meaning,
            record_type=record_type,
            record_id=str(record_id),
            client_ip=None,
        )
        return secret


def decide(
    db: Database,
    clock: FakeClock,
    house: Warehouse,
    lot: Lot,
    to: QualityStatus,
    part: Part | None = None,
    cite: tuple[int, ...] = (),
    secret: str | None = None,
) -> QualityDecision:
    meaning = decisions.MEANINGS[to]
    secret = secret or grant(db, clock, house, meaning, "lot", lot.id)
    with db.transaction(clock=clock) as uow:
        return decisions.decide_usage(
            uow,
            lot_id=lot.id,
            decision=to,
            reason="decided in tests",
            principal=house.qa,
            signing_grant=secret,
            inspection_ids=cite,
            part=part,
        )


def on_hand(db: Database, lot: Lot) -> dict[str, Decimal]:
    """Quantity per stock status of the lot."""
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.stock_status, func.sum(StockOnHand.qty_base))
            .where(StockOnHand.lot_id == lot.id, StockOnHand.qty_base > 0)
            .group_by(StockOnHand.stock_status)
        )
        return {status: Decimal(total) for status, total in rows}


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def written(db: Database) -> tuple[int, ...]:
    return tuple(
        count(db, model)
        for model in (AuditRecord, Signature, StockMovement, QualityDecision, InspectionRecord)
    )


def no_differences(db: Database) -> bool:
    with db.transaction(read_only=True) as uow:
        return ledger_check.differences(uow) == []


def set_plan(db: Database, clock: FakeClock, house: Warehouse) -> None:
    with db.transaction(clock=clock) as uow:
        plans.set_plan(
            uow,
            product_id=house.product_id,
            characteristics=[
                plans.CharacteristicInput(
                    "core_temp",
                    "中心温度",
                    "Core temperature",
                    CharacteristicKind.NUMERIC,
                    "CEL",
                    None,
                    Decimal(-18),
                ),
                plans.CharacteristicInput(
                    "appearance",
                    "外观",
                    "Appearance",
                    CharacteristicKind.CHOICE,
                    accepted_values=("OK",),
                ),
            ],
            sample_size=Decimal(5),
            sample_unit="EA",
        )


def inspect(
    db: Database, clock: FakeClock, lot: Lot, temp: str, look: str = "OK", **extra: object
) -> InspectionRecord:
    with db.transaction(clock=clock) as uow:
        return inspections.record_inspection(
            uow,
            lot_id=lot.id,
            results={"core_temp": temp, "appearance": look},
            source=str(extra.pop("source", "web")),
            sampled_by="王芳",
            sampled_at=clock.now,
            **extra,  # type: ignore[arg-type]
        ).record


def test_releasing_30_of_40_pallets_by_sscc_leaves_10_in_quarantine_kept_in_qa_bins(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    lot = receive(db, clock, warehouse)
    for serial in range(1, 31):
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, Part(sscc=sscc(serial)))
    assert on_hand(db, lot) == {"AVAILABLE": 30 * PALLET, "QUARANTINE": 10 * PALLET}
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(Lot, lot.id).quality_status == "RELEASED"
        assert uow.session.scalar(select(func.count()).select_from(QualityDecision)) == 30
    # One of the 10: not into the freezer (outside QA), but into another QA bin.
    remaining = Bucket(warehouse.qa_bin, Q, sscc(31))
    before = written(db)
    with pytest.raises(TransactionNotAllowed) as refused, db.transaction(clock=clock) as uow:
        stock.post(
            uow,
            kind=MovementKind.MOVE,
            lot=uow.session.get_one(Lot, lot.id),
            quantity=Quantity(PALLET),
            entered_qty=PALLET,
            entered_unit="EA",
            source=remaining,
            target=Bucket(warehouse.freezer_bin, Q, sscc(31)),
        )
    assert refused.value.details()["blocked_by"] == ["stock.quarantine"]
    assert written(db) == before
    with db.transaction(clock=clock) as uow:
        stock.post(
            uow,
            kind=MovementKind.MOVE,
            lot=uow.session.get_one(Lot, lot.id),
            quantity=Quantity(PALLET),
            entered_qty=PALLET,
            entered_unit="EA",
            source=remaining,
            target=Bucket(warehouse.second_qa_bin, Q, sscc(31)),
        )
    # A released pallet goes to the freezer.
    with db.transaction(clock=clock) as uow:
        stock.post(
            uow,
            kind=MovementKind.MOVE,
            lot=uow.session.get_one(Lot, lot.id),
            quantity=Quantity(PALLET),
            entered_qty=PALLET,
            entered_unit="EA",
            source=Bucket(warehouse.qa_bin, A, sscc(1)),
            target=Bucket(warehouse.freezer_bin, A, sscc(1)),
        )
    # "Release the lot" now releases the 9 pallets still in quarantine; a second time is refused.
    decide(db, clock, warehouse, lot, QualityStatus.RELEASED)
    assert on_hand(db, lot) == {"AVAILABLE": 40 * PALLET}
    with pytest.raises(decisions.DecisionNotAllowed):
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED)
    assert no_differences(db)


def test_a_partial_release_by_quantity_and_a_whole_lot_rejection_of_the_rest(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    lot = receive(db, clock, warehouse, pallets=1)
    part = Part(quantity=Decimal(10), unit="EA", location_id=warehouse.qa_bin, sscc=sscc(1))
    made = decide(db, clock, warehouse, lot, QualityStatus.RELEASED, part)
    assert made.base_qty == Decimal(10)
    assert on_hand(db, lot) == {"AVAILABLE": Decimal(10), "QUARANTINE": Decimal(14)}
    too_much = Part(quantity=Decimal(15), unit="EA", location_id=warehouse.qa_bin, sscc=sscc(1))
    before = written(db)
    with pytest.raises(stock.NotEnoughStock):
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, too_much)
    assert written(db)[2:] == before[2:]  # the grant's audit aside, nothing moved or decided
    decide(db, clock, warehouse, lot, QualityStatus.REJECTED)
    assert on_hand(db, lot) == {"REJECTED": Decimal(24)}
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(Lot, lot.id).quality_status == "REJECTED"
    assert no_differences(db)


def test_a_release_without_a_valid_grant_or_with_a_wrong_password_writes_nothing(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    lot = receive(db, clock, warehouse, pallets=2)
    before = written(db)
    with pytest.raises(signatures.SigningGrantInvalid):
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, secret="lls_forged")
    assert written(db) == before
    with db.transaction(clock=clock) as uow, pytest.raises(signatures.SignatureRejected):
        # As the API and CLI do: the failed attempt is committed, nothing else happened.
        signatures.authorize_signing(
            uow,
            principal=warehouse.qa,
            web_session=None,
            username="li.qa",
            password="wrong",
            meaning=Meaning.RELEASE,
            record_type="lot",
            record_id=str(lot.id),
            client_ip=None,
        )
    with db.transaction(read_only=True) as uow:
        failed = uow.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "signature_failed")
        ).all()
    assert len(failed) == 1  # the failed attempt is on record
    assert written(db)[1:] == before[1:]
    assert on_hand(db, lot) == {"QUARANTINE": 2 * PALLET}


def test_a_product_with_a_plan_is_released_only_on_a_passing_record_of_the_same_lot(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    set_plan(db, clock, warehouse)
    lot, other = receive(db, clock, warehouse, pallets=2), receive(db, clock, warehouse, 1, first=50)
    warm = inspect(db, clock, lot, "-12.5")
    cold = inspect(db, clock, lot, "-18")  # the limit itself passes
    elsewhere = inspect(db, clock, other, "-20")
    assert (warm.passed, cold.passed, elsewhere.passed) == (False, True, True)
    before = written(db)
    with pytest.raises(decisions.NoPassingInspection):
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED)
    with pytest.raises(decisions.NoPassingInspection):
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, cite=(warm.id,))
    with pytest.raises(InvalidInput) as foreign:
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, cite=(cold.id, elsewhere.id))
    assert foreign.value.code == "decision.inspection_not_of_lot"
    assert foreign.value.field == "inspection_ids"
    # Each refusal wrote only the grant it was given (authorize_signing), nothing else.
    assert written(db)[2:] == before[2:]
    made = decide(db, clock, warehouse, lot, QualityStatus.RELEASED, cite=(warm.id, cold.id))
    assert made.inspection_ids == sorted([warm.id, cold.id])
    assert on_hand(db, lot) == {"AVAILABLE": 2 * PALLET}
    # The lot-level decision (API, web, lot CLI) is this same decision.
    secret = grant(db, clock, warehouse, Meaning.RELEASE, "lot", other.id)
    with pytest.raises(decisions.NoPassingInspection), db.transaction(clock=clock) as uow:
        lot_decisions.decide(
            uow,
            lot_id=other.id,
            decision=QualityStatus.RELEASED,
            reason="x",
            principal=warehouse.qa,
            signing_grant=secret,
        )


def test_a_plan_change_keeps_the_old_version_and_bad_results_are_refused(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    set_plan(db, clock, warehouse)
    set_plan(db, clock, warehouse)
    with db.transaction(read_only=True) as uow:
        plan, rows = plans.get_plan(uow, product_id=warehouse.product_id)
        assert plan.version == 2
        assert [r.code for r in rows] == ["core_temp", "appearance"]
        assert uow.session.scalar(select(func.count()).select_from(plans.InspectionPlan)) == 2
    lot = receive(db, clock, warehouse, pallets=1)
    before = written(db)
    for results in ({"core_temp": "cold"}, {"core_tmp": "-20"}):
        with pytest.raises(InvalidInput), db.transaction(clock=clock) as uow:
            inspections.record_inspection(uow, lot_id=lot.id, results=results, source="web")
    assert written(db) == before
    missing = inspect(db, clock, lot, "-20", look="DAMAGED")
    assert missing.passed is False


def test_a_lims_posting_the_same_result_twice_keeps_one_record_and_a_coa_keeps_its_sha256(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    set_plan(db, clock, warehouse)
    lot = receive(db, clock, warehouse, pallets=1)
    first = inspect(db, clock, lot, "-19", source="LabWare", external_ref="LW-2026-0042")
    again = inspect(db, clock, lot, "-19", source="LabWare", external_ref="LW-2026-0042")
    assert first.id == again.id
    assert count(db, InspectionRecord) == 1
    with pytest.raises(InvalidInput) as no_ref, db.transaction(clock=clock) as uow:
        inspections.record_inspection(uow, lot_id=lot.id, results={"core_temp": "-19"}, source="LabWare")
    assert no_ref.value.field == "external_ref"
    coa = b"%PDF-1.4 certificate of analysis JH20260301"
    with db.transaction(clock=clock) as uow:
        kept = inspections.attach(
            uow,
            record_id=first.id,
            filename="C:\\coa\\JH20260301.pdf",
            media_type="application/pdf",
            content=coa,
        )
    assert kept.sha256 == hashlib.sha256(coa).hexdigest()
    assert (kept.size, kept.filename) == (len(coa), "JH20260301.pdf")
    with db.transaction(read_only=True) as uow:
        shown = inspections.attachments_of(uow, [first.id])[first.id]
    assert [(a.sha256, a.size) for a in shown] == [(kept.sha256, len(coa))]
    before = written(db)
    with pytest.raises(inspections.AttachmentTooLarge), db.transaction(clock=clock) as uow:
        inspections.attach(
            uow,
            record_id=first.id,
            filename="huge.pdf",
            media_type="application/pdf",
            content=b"x" * (inspections.MAX_ATTACHMENT_BYTES + 1),
        )
    assert written(db) == before


def test_an_auto_release_policy_set_by_signature_releases_a_lot_and_names_policy_and_signer(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    lot = receive(db, clock, warehouse, pallets=3)
    with db.transaction(clock=clock) as uow:
        assert policies.apply_auto_release(uow, uow.session.get_one(Lot, lot.id)) is None  # no policy
    before = written(db)
    with pytest.raises(signatures.SigningGrantInvalid), db.transaction(clock=clock) as uow:
        policies.set_policy(
            uow,
            product_id=warehouse.product_id,
            conditions={"suppliers": [warehouse.supplier_id]},
            reason="approved supplier",
            principal=warehouse.qa,
            signing_grant=None,
        )
    assert written(db) == before
    secret = grant(db, clock, warehouse, Meaning.APPROVE, "product", warehouse.product_id)
    with db.transaction(clock=clock) as uow:
        policy = policies.set_policy(
            uow,
            product_id=warehouse.product_id,
            conditions={"suppliers": [warehouse.supplier_id], "requires_coa": True},
            reason="approved supplier, CoA with every delivery",
            principal=warehouse.qa,
            signing_grant=secret,
        )
    with db.transaction(clock=clock) as uow:
        # The CoA is missing: the policy does not hold yet.
        assert policies.apply_auto_release(uow, uow.session.get_one(Lot, lot.id)) is None
    with db.transaction(clock=clock) as uow:
        made = inspections.record_inspection(
            uow, lot_id=lot.id, results={"visual": "OK"}, source="web", passed=True
        ).record
        inspections.attach(uow, record_id=made.id, filename="coa.pdf", media_type=None, content=b"CoA")
    with db.transaction(clock=clock) as uow:
        released = policies.apply_auto_release(uow, uow.session.get_one(Lot, lot.id))
        assert released is not None
        assert (released.policy_id, released.signature_id) == (policy.id, policy.signature_id)
        signer = uow.session.get_one(Signature, policy.signature_id)
        assert (signer.printed_name, signer.meaning) == ("李秀英", "approve")
        assert uow.session.get_one(Lot, lot.id).quality_status == "RELEASED"
    assert on_hand(db, lot) == {"AVAILABLE": 3 * PALLET}
    # More of the same lot arrives (a reused supplier lot): the policy releases it too.
    with db.transaction(clock=clock) as uow:
        same = uow.session.get_one(Lot, lot.id)
        stock.post(
            uow,
            kind=MovementKind.RECEIPT,
            lot=same,
            quantity=Quantity(PALLET),
            entered_qty=PALLET,
            entered_unit="EA",
            target=Bucket(warehouse.qa_bin, Q, sscc(77)),
        )
        assert policies.apply_auto_release(uow, same) is not None
        assert policies.apply_auto_release(uow, same) is None  # nothing left in quarantine
    assert on_hand(db, lot) == {"AVAILABLE": 4 * PALLET}
    with db.transaction(clock=clock) as uow:
        policies.withdraw_policy(uow, product_id=warehouse.product_id, reason="supplier audit failed")
        assert policies.active_policy(uow, product_id=warehouse.product_id) is None
    assert no_differences(db)


def test_a_decision_by_sscc_that_holds_no_stock_is_refused(
    db: Database, clock: FakeClock, warehouse: Warehouse
) -> None:
    lot = receive(db, clock, warehouse, pallets=1)
    before = written(db)
    with pytest.raises(LotlineError) as refused:
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, Part(sscc=sscc(99)))
    assert refused.value.code == "decision.nothing_to_decide"
    with pytest.raises(LotlineError) as bad:
        decide(db, clock, warehouse, lot, QualityStatus.RELEASED, Part(sscc="123"))
    assert bad.value.field == "sscc"
    assert written(db)[2:] == before[2:]


def test_the_demo_quality_data_loads_once_on_the_demo_company(db: Database, clock: FakeClock) -> None:
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
        demo_quality.load(uow)
    with db.transaction(clock=clock) as uow:
        demo_quality.load(uow)  # twice: nothing added
    with db.transaction(read_only=True) as uow:
        verdicts = sorted((r.source, r.passed) for r in uow.session.scalars(select(InspectionRecord)))
        # LIMS micro result, the warm pork, the good pork; the release test of the lot the
        # outbound demo ships (demo_outbound); and the LIMS test that released the shift-A
        # dumplings the recall demo ships (demo_recall).
        assert verdicts == [
            ("LabWare", True),
            ("LabWare", True),
            ("web", False),
            ("web", True),
            ("web", True),
        ]
        assert uow.session.scalar(select(func.count()).select_from(plans.InspectionPlan)) == 2
        assert ledger_check.differences(uow) == []
