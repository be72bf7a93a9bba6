"""``lotline quality …`` at the console: inspections, signed (partial) release and rejection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import StockStatus
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.quality import QualityDecision
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.stock import check as ledger_check
from lotline.stock import service as ledger
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.cli.conftest import Cli
from tests.integration.test_quality import sscc

PASSWORD = "qa manager password"


@dataclass
class Seeded:
    lot: str
    lot_id: int


@pytest.fixture
def seeded(db: Database) -> Seeded:
    """40 pallets of 24 EA in QA bin QA-01; a second QA bin and a freezer bin; a QA manager."""
    with db.transaction() as uow:
        site = sites.create_site(
            uow, code="SH01", name_zh="松江", name_en="Songjiang", time_zone="Asia/Shanghai"
        )
        lot_type = catalog.create_lot_type(
            uow, code="FG", name_zh="成品", name_en="Finished", code_template="{site}{yy}{doy:03}{seq:04}"
        )
        product = catalog.create_product(
            uow,
            code="DUMP",
            name_zh="水饺",
            name_en="Dumplings",
            base_unit="EA",
            lot_type_id=lot_type.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        store = places.create_location(
            uow, site_id=site.id, code="WH", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )
        bins = {
            code: places.create_location(
                uow,
                site_id=site.id,
                code=code,
                name_zh=code,
                name_en=code,
                kind="BIN",
                parent_id=store.id,
                is_qa_area=code.startswith("QA"),
            ).id
            for code in ("QA-01", "QA-02", "FZ-01")
        }
        user = auth.create_user(uow, username="li.qa", display_name="李秀英", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="qa_manager", site_id=None, reason="tests")
        lot = lots.register_lot(
            uow, product_id=product.id, site_id=site.id, source="PRODUCTION", production_date=date(2026, 3, 1)
        )
        for serial in range(1, 41):
            ledger.post(
                uow,
                kind=MovementKind.RECEIPT,
                lot=lot,
                quantity=Quantity(Decimal(24)),
                entered_qty=Decimal(24),
                entered_unit="EA",
                target=Bucket(bins["QA-01"], StockStatus.QUARANTINE, sscc(serial)),
            )
        return Seeded(lot.code, lot.id)


def rows(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def by_status(db: Database, lot_id: int) -> dict[str, Decimal]:
    with db.transaction(read_only=True) as uow:
        found = uow.session.execute(
            select(StockOnHand.stock_status, func.sum(StockOnHand.qty_base))
            .where(StockOnHand.lot_id == lot_id, StockOnHand.qty_base > 0)
            .group_by(StockOnHand.stock_status)
        )
        return {status: Decimal(total) for status, total in found}


def sign(*args: str) -> tuple[str, ...]:
    return (*args, "--reason", "conforms", "--user", "li.qa", "--password", PASSWORD)


def test_releasing_30_of_40_pallets_at_the_console_leaves_10_that_stay_in_qa_bins(
    run: Cli, db: Database, seeded: Seeded
) -> None:
    recorded = run("quality", "record", seeded.lot, "--result", "core_temp=-19", "--passed")
    assert recorded.exit_code == 0, recorded.output
    before = (rows(db, Signature), rows(db, StockMovement), rows(db, QualityDecision))
    wrong = run("quality", "release", seeded.lot, "--sscc", sscc(1), "--user", "li.qa", "--reason", "x",
                "--password", "nope")  # fmt: skip
    assert wrong.exit_code == 1
    assert "signature.bad_password" in wrong.stderr
    assert (rows(db, Signature), rows(db, StockMovement), rows(db, QualityDecision)) == before
    with db.transaction(read_only=True) as uow:
        assert (
            uow.session.scalar(
                select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "signature_failed")
            )
            == 1
        )
    for serial in range(1, 31):
        released = run(*sign("quality", "release", seeded.lot, "--sscc", sscc(serial), "--cite", "1"))
        assert released.exit_code == 0, released.output
    assert "RELEASED" in released.stdout
    assert by_status(db, seeded.lot_id) == {"AVAILABLE": Decimal(720), "QUARANTINE": Decimal(240)}
    outside = run("stock", "move", seeded.lot, "--from", "QA-01", "--to", "FZ-01", "--qty", "24", "--unit",
                  "EA", "--sscc", sscc(31), "--status", "QUARANTINE")  # fmt: skip
    assert outside.exit_code == 1
    assert "stock.quarantine" in outside.stderr
    inside = run("stock", "move", seeded.lot, "--from", "QA-01", "--to", "QA-02", "--qty", "24", "--unit",
                 "EA", "--sscc", sscc(31), "--status", "QUARANTINE")  # fmt: skip
    assert inside.exit_code == 0, inside.output
    listed = run("quality", "decisions", seeded.lot)
    assert listed.exit_code == 0
    assert listed.stdout.count("RELEASED") == 30
    with db.transaction(read_only=True) as uow:
        assert ledger_check.differences(uow) == []


def test_part_of_a_pallet_is_rejected_by_quantity_and_a_bad_option_writes_nothing(
    run: Cli, db: Database, seeded: Seeded
) -> None:
    rejected = run(*sign("quality", "reject", seeded.lot, "--qty", "4", "--unit", "EA", "--location", "QA-01",
                         "--sscc", sscc(5)))  # fmt: skip
    assert rejected.exit_code == 0, rejected.output
    assert by_status(db, seeded.lot_id) == {"REJECTED": Decimal(4), "QUARANTINE": Decimal(956)}
    before = (rows(db, AuditRecord), rows(db, StockMovement))
    nowhere = run(*sign("quality", "reject", seeded.lot, "--qty", "4", "--unit", "EA", "--location", "NOPE"))
    assert nowhere.exit_code == 1
    assert "not_found" in nowhere.stderr
    bad = run("quality", "record", seeded.lot, "--result", "no-equals-sign", "--passed")
    assert bad.exit_code == 1
    assert "inspection.bad_result_option" in bad.stderr
    assert (rows(db, AuditRecord), rows(db, StockMovement)) == before
