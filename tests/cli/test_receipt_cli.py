"""``lotline receipt …`` at the console: a lines file and scans, a signed override, list and show."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.models.audit import AuditRecord
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.stock import StockOnHand
from lotline.places import service as places
from lotline.sites import service as sites
from lotline.stock import check as ledger_check
from lotline.uow import Database
from tests.cli.conftest import Cli
from tests.integration.test_receiving import PORK_GTIN, SSCC, datamatrix, gs1_128

PASSWORD = "receiver password"


@pytest.fixture
def dock(db: Database) -> None:
    with db.transaction() as uow:
        site = sites.create_site(
            uow, code="SH01", name_zh="松江", name_en="Songjiang", time_zone="Asia/Shanghai"
        )
        raw = catalog.create_lot_type(
            uow, code="RAW", name_zh="原料", name_en="Raw", code_template="R{site}{yy}{doy:03}{seq:03}"
        )
        catalog.create_product(
            uow,
            code="PORK",
            name_zh="猪肉馅",
            name_en="Minced pork",
            base_unit="KGM",
            lot_type_id=raw.id,
            gtin=PORK_GTIN,
            catch_weight=True,
            shelf_life_amount=400,
            shelf_life_unit="DAYS",
            expiry_kind="USE_BY",
            retest_days=None,
            min_receipt_days=3,
        )
        places.create_partner(uow, code="JINHUA", name_zh="金华肉业", name_en="Jinhua Meat", is_supplier=True)
        places.create_location(
            uow, site_id=site.id, code="DOCK", name_zh="收货区", name_en="Receiving dock", kind="WAREHOUSE"
        )
        user = auth.create_user(uow, username="zhang", display_name="张伟", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="admin", site_id=site.id, reason="tests")
        viewer = auth.create_user(uow, username="emily", display_name="Emily", password=PASSWORD)
        auth.grant_role(uow, user_id=viewer.id, role="viewer", site_id=None, reason="tests")


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


ARGS = (
    "receipt",
    "create",
    "--site",
    "SH01",
    "--supplier",
    "JINHUA",
    "--location",
    "DOCK",
    "--user",
    "zhang",
)


def test_a_receipt_from_a_file_and_scans_is_posted_listed_and_shown(
    run: Cli, db: Database, dock: None, tmp_path: Path
) -> None:
    lines = tmp_path / "lines.json"
    lines.write_text(
        json.dumps(
            [
                {
                    "gtin": PORK_GTIN,
                    "supplier_lot_code": "JH-0401",
                    "count": 10,
                    "net_weight_kg": "5.25",
                    "production_date": "2026-02-28",
                    "supplier_expiry": "261200",
                }
            ]
        ),
        encoding="utf-8",
    )
    created = run(*ARGS, "--file", str(lines), "--scan", gs1_128("JH-0402", "261200"), "--po", "PO-9")
    assert created.exit_code == 0, created.output
    assert "R-SH01-" in created.output
    with db.transaction(read_only=True) as uow:
        number = uow.session.scalars(select(Receipt.number)).one()
        held = {(h.stock_status, h.weight_kg, h.sscc) for h in uow.session.scalars(select(StockOnHand))}
        assert ledger_check.differences(uow) == []
    assert held == {("QUARANTINE", Decimal("5.25"), ""), ("QUARANTINE", Decimal("12.5"), SSCC)}
    listed = run("receipt", "list", "--site", "SH01")
    assert number in listed.output
    shown = run("receipt", "show", number)
    assert shown.exit_code == 0, shown.output
    assert "JH-0401" in shown.output
    assert "2026-12-31" in shown.output, "day 00 is the month's last day"


def test_a_bad_line_or_a_user_without_stock_rights_writes_nothing(
    run: Cli, db: Database, dock: None, tmp_path: Path
) -> None:
    bad = gs1_128().replace(PORK_GTIN, PORK_GTIN[:-1] + "9")
    refused = run(*ARGS, "--scan", bad)
    assert refused.exit_code == 1
    assert "lines.0.scan" in refused.stderr
    no_weight = tmp_path / "lines.json"
    no_weight.write_text(json.dumps({"lines": [{"gtin": PORK_GTIN, "supplier_lot_code": "X", "count": 2}]}))
    missing = run(*ARGS, "--file", str(no_weight))
    assert "receipt.catch_weight_required" in missing.stderr
    viewer = run(*ARGS[:-1], "emily", "--scan", gs1_128())
    assert viewer.exit_code == 1
    assert (count(db, Receipt), count(db, ReceiptLine)) == (0, 0)


def test_a_short_delivery_is_accepted_only_with_an_override_signed_at_the_prompt(
    run: Cli, db: Database, dock: None
) -> None:
    short = datamatrix("JH-SHORT", expiry="260302")
    refused = run(*ARGS, "--scan", short)
    assert refused.exit_code == 1
    assert "receipt.short_shelf_life" in refused.stderr
    wrong = run(*ARGS, "--scan", short, "--override-reason", "needed today", "--password", "nope")
    assert wrong.exit_code == 1
    assert "signature.bad_password" in wrong.stderr
    accepted = run(*ARGS, "--scan", short, "--override-reason", "needed today", "--password", PASSWORD)
    assert accepted.exit_code == 0, accepted.output
    with db.transaction(read_only=True) as uow:
        line = uow.session.scalars(select(ReceiptLine)).one()
        failed = uow.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "signature_failed")
        ).all()
    assert line.override_signature_id is not None
    assert len(failed) == 1


def test_the_demo_stock_checks_with_no_differences(run: Cli) -> None:
    assert run("demo").exit_code == 0
    checked = run("stock", "check")
    assert checked.exit_code == 0, checked.output
    assert "0 on-hand differences, 0 mass balances not closing" in checked.output
    assert "R-SH01-" in run("receipt", "list", "--site", "SH01").output
