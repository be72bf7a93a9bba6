"""Lots: registration, expiry fixed with provenance, holds, signed re-dating, bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.domain.errors import AlreadyExists, InvalidInput, LotlineError
from lotline.domain.expiry import RedateKind
from lotline.domain.matrix import decide
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType, Transaction
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ConfigVersion, Partner
from lotline.models.lot import Lot
from lotline.signatures import service as signatures
from lotline.sites import service as sites
from lotline.uow import Database
from tests.app_fixtures import PASSWORD
from tests.conftest import FakeClock


@dataclass
class Plant:
    site_id: int
    product_id: int
    supplier_id: int
    qa: Principal


@pytest.fixture
def plant(db: Database, clock: FakeClock) -> Plant:
    """A Shanghai dumpling plant: frozen pork dumplings (12 months, use-by) from its own lines."""
    with db.transaction(clock=clock) as uow:
        site = sites.create_site(
            uow, code="SH01", name_zh="松江工厂", name_en="Songjiang", time_zone="Asia/Shanghai"
        )
        frozen = catalog.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=-18
        )
        lot_type = catalog.create_lot_type(
            uow,
            code="FG",
            name_zh="成品",
            name_en="Finished goods",
            code_template="{site}{yy}{doy:03}{seq:04}",
            external_code_pattern=r"[A-Z]{2}\d{6,10}",
            custom_schema={
                "type": "object",
                "properties": {"line": {"type": "string", "enum": ["L1", "L2"]}},
                "additionalProperties": False,
            },
        )
        product = catalog.create_product(
            uow,
            code="DUMP-PORK-1KG",
            gtin="06901234567892",
            gs1_company_prefix_length=7,
            name_zh="猪肉白菜水饺 1kg",
            name_en="Pork & cabbage dumplings 1 kg",
            category="frozen",
            base_unit="EA",
            catch_weight=False,
            storage_condition_id=frozen.id,
            lot_type_id=lot_type.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
            min_ship_percent=50,
        )
        now = uow.now()
        supplier = Partner(
            code="PORK-CO",
            name_zh="金华猪肉",
            name_en="Jinhua Pork",
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
        return Plant(site.id, product.id, supplier.id, qa)


def rows(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def register(db: Database, clock: FakeClock, plant: Plant, **fields: object) -> Lot:
    values: dict[str, object] = {
        "product_id": plant.product_id,
        "site_id": plant.site_id,
        "source": "PRODUCTION",
        "production_date": date(2026, 3, 1),
    }
    values.update(fields)
    with db.transaction(clock=clock) as uow:
        return lots.register_lot(uow, **values)  # type: ignore[arg-type]


def grant(
    db: Database, clock: FakeClock, plant: Plant, meaning: Meaning, record_type: str, record_id: int
) -> str:
    with db.transaction(clock=clock) as uow:
        secret, _ = signatures.authorize_signing(
            uow,
            principal=plant.qa,
            web_session=None,
            username="li.qa",
            password=PASSWORD,
            meaning=meaning,
            record_type=record_type,
            record_id=str(record_id),
            client_ip=None,
        )
        return secret


def test_a_produced_lot_gets_a_coded_number_and_a_fixed_expiry_with_provenance(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    first = register(db, clock, plant, attributes={"line": "L1"})
    second = register(db, clock, plant)
    assert (first.code, second.code) == ("SH01260600001", "SH01260600002")
    assert first.quality_status == "QUARANTINE"
    assert first.expiry_date == date(2027, 2, 28)  # 1 March + 12 months, last day of use
    assert first.expiry_provenance["rule"]["version"] == 1


def test_bad_input_writes_nothing(db: Database, clock: FakeClock, plant: Plant) -> None:
    before = (rows(db, Lot), rows(db, AuditRecord))
    cases: list[tuple[dict[str, object], str]] = [
        ({"attributes": {"line": "L9"}}, "attributes.line"),
        ({"code": "lowercase-1"}, "code"),
        ({"source": "SUPPLIER", "supplier_id": None, "supplier_lot_code": "P-1"}, "supplier_id"),
        ({"production_date": None}, "produced_on"),
    ]
    for fields, field in cases:
        with pytest.raises(LotlineError) as refused:
            register(db, clock, plant, **fields)
        assert refused.value.field == field, fields
    assert (rows(db, Lot), rows(db, AuditRecord)) == before


def test_a_duplicate_external_code_is_refused(db: Database, clock: FakeClock, plant: Plant) -> None:
    register(db, clock, plant, code="SH20260301")
    with pytest.raises(AlreadyExists):
        register(db, clock, plant, code="SH20260301")


def test_a_supplier_lot_keeps_the_suppliers_code_and_an_earlier_declared_expiry_wins(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    lot = register(
        db,
        clock,
        plant,
        source="SUPPLIER",
        supplier_id=plant.supplier_id,
        supplier_lot_code="JH-0329",
        supplier_expiry=date(2026, 12, 31),
    )
    assert lot.supplier_lot_code == "JH-0329"
    assert lot.expiry_date == date(2026, 12, 31)
    assert lot.expiry_provenance["supplier_date_earlier"] is True


def test_changing_a_products_shelf_life_moves_no_existing_lot(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    lot = register(db, clock, plant)
    with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
        catalog.update_product(
            uow, product_id=plant.product_id, changes={"shelf_life_amount": 9}, reason=None
        )
    assert refused.value.code == "audit.reason_required"
    with db.transaction(clock=clock) as uow:
        product = catalog.update_product(
            uow, product_id=plant.product_id, changes={"shelf_life_amount": 9}, reason="new packaging film"
        )
        assert product.shelf_life_version == 2
        versions = catalog.history(uow, entity_type="product", entity_id=plant.product_id)
        assert [(v.version, v.content["shelf_life_amount"], v.reason) for v in versions] == [
            (1, 12, None),
            (2, 9, "new packaging film"),
        ]
    with db.transaction(read_only=True) as uow:
        assert lots.get_lot(uow, lot_id=lot.id).expiry_date == date(2027, 2, 28)
    assert rows(db, ConfigVersion) >= 2


def test_a_signed_redating_changes_one_lot_and_its_history_shows_rule_dates_signer_and_reason(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    lot, other = register(db, clock, plant), register(db, clock, plant)
    secret = grant(db, clock, plant, Meaning.REDATE, "lot", lot.id)
    with db.transaction(clock=clock) as uow:
        lots.redate_lot(
            uow,
            lot_id=lot.id,
            new_expiry=date(2027, 5, 31),
            kind=RedateKind.RETEST_PASSED,
            reason="retest passed: micro and sensory conform",
            principal=plant.qa,
            signing_grant=secret,
        )
    with db.transaction(read_only=True) as uow:
        redated = lots.get_lot(uow, lot_id=lot.id)
        assert redated.expiry_date == date(2027, 5, 31)
        assert lots.get_lot(uow, lot_id=other.id).expiry_date == date(2027, 2, 28)
        entry = redated.expiry_provenance["redatings"][0]
        assert (entry["old"], entry["new"], entry["signer"]) == ("2027-02-28", "2027-05-31", "李秀英")
        assert redated.expiry_provenance["rule"]["version"] == 1
        change = uow.session.execute(
            select(AuditRecord).where(AuditRecord.action == "redate", AuditRecord.entity_id == str(lot.id))
        ).scalar_one()
        assert change.reason == "retest passed: micro and sensory conform"
        assert '"2027-02-28"' in change.changes


def test_redating_without_a_valid_signing_grant_changes_nothing(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    lot = register(db, clock, plant)
    with pytest.raises(signatures.SigningGrantInvalid), db.transaction(clock=clock) as uow:
        lots.redate_lot(
            uow,
            lot_id=lot.id,
            new_expiry=date(2027, 5, 31),
            kind=RedateKind.EXTENSION,
            reason="x",
            principal=plant.qa,
            signing_grant="lls_forged",
        )
    with db.transaction(read_only=True) as uow:
        assert lots.get_lot(uow, lot_id=lot.id).expiry_date == date(2027, 2, 28)


def test_two_holds_lifting_one_leaves_the_lot_blocked(db: Database, clock: FakeClock, plant: Plant) -> None:
    lot = register(db, clock, plant)
    with db.transaction(clock=clock) as uow:
        qa_hold = lots.place_hold(uow, lot_id=lot.id, hold_type=HoldType.QA, reason="awaiting micro results")
        lots.place_hold(
            uow, lot_id=lot.id, hold_type=HoldType.EXCURSION, reason="cold room 3 at -12 °C for 2 h"
        )
    secret = grant(db, clock, plant, Meaning.LIFT_HOLD, "hold", qa_hold.id)
    with db.transaction(clock=clock) as uow:
        lots.lift_hold(
            uow, hold_id=qa_hold.id, reason="micro conforms", principal=plant.qa, signing_grant=secret
        )
    with db.transaction(read_only=True) as uow:
        remaining = lots.active_holds(uow, lot_id=lot.id)
        situation = lots.situation(uow, lot=lots.get_lot(uow, lot_id=lot.id), now=clock.now)
    assert [h.hold_type for h in remaining] == ["EXCURSION"]
    verdict = decide(Transaction.ALLOCATE, situation)
    assert not verdict.allowed
    assert "hold.excursion" in verdict.blocked_by
    assert "hold.qa" not in verdict.blocked_by


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles"])
def test_a_use_by_1_march_lot_in_shanghai_expires_at_local_midnight_whatever_the_server_zone(
    db: Database, clock: FakeClock, plant: Plant, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        lot = register(
            db,
            clock,
            plant,
            source="SUPPLIER",
            supplier_id=plant.supplier_id,
            supplier_lot_code="JH-1",
            supplier_expiry=date(2026, 3, 1),
            production_date=None,
        )
        with db.transaction(read_only=True) as uow:
            stored = lots.get_lot(uow, lot_id=lot.id)
            before = lots.situation(
                uow, lot=stored, now=datetime(2026, 3, 1, 15, 59, tzinfo=UTC)
            )  # 23:59 local
            after = lots.situation(
                uow, lot=stored, now=datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
            )  # 00:00 local
        assert before.expired is False
        assert after.expired is True
    finally:
        monkeypatch.undo()
        time.tzset()
