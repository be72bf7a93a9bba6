"""``lotline lot …`` at the console: holds, signed lifting and re-dating by password."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.domain.status import HoldType
from lotline.lots import queries
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.signature import Signature
from lotline.sites import service as sites
from lotline.uow import Database
from tests.cli.conftest import Cli

PASSWORD = "qa manager password"


@pytest.fixture
def lot_code(db: Database) -> str:
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
        user = auth.create_user(uow, username="li.qa", display_name="李秀英", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="qa_manager", site_id=None, reason="tests")
        lot = lots.register_lot(
            uow, product_id=product.id, site_id=site.id, source="PRODUCTION", production_date=date(2026, 3, 1)
        )
        return lot.code


def rows(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_hold_is_placed_and_lifted_by_a_signer_typing_their_password(
    run: Cli, db: Database, lot_code: str
) -> None:
    placed = run("lot", "hold", lot_code, "--type", "QA", "--reason", "micro pending")
    assert placed.exit_code == 0, placed.output
    with db.transaction(read_only=True) as uow:
        hold_id = lots.active_holds(
            uow,
            lot_id=queries.list_lots(uow, criteria=queries.LotFilter(code=lot_code), cursor=None, limit=1)
            .items[0]
            .id,
        )[0].id
    wrong = run("lot", "lift-hold", str(hold_id), "--reason", "ok", "--user", "li.qa", "--password", "nope")
    assert wrong.exit_code == 1
    assert "signature.bad_password" in wrong.stderr
    assert rows(db, Signature) == 0
    lifted = run(
        "lot",
        "lift-hold",
        str(hold_id),
        "--reason",
        "micro conforms",
        "--user",
        "li.qa",
        "--password",
        PASSWORD,
    )
    assert lifted.exit_code == 0, lifted.output
    assert rows(db, Signature) == 1
    listed = run("lot", "list", "--not-on-hold")
    assert lot_code in listed.stdout


def test_a_redating_at_the_console_is_signed_and_a_wrong_password_changes_nothing(
    run: Cli, db: Database, lot_code: str
) -> None:
    audit_before = rows(db, AuditRecord)
    wrong = run(
        "lot",
        "redate",
        lot_code,
        "--to",
        "2027-05-31",
        "--kind",
        "EXTENSION",
        "--reason",
        "stability data",
        "--user",
        "li.qa",
        "--password",
        "wrong",
    )
    assert wrong.exit_code == 1
    assert rows(db, AuditRecord) == audit_before + 1  # the failed signature attempt, nothing else
    done = run(
        "lot",
        "redate",
        lot_code,
        "--to",
        "2027-05-31",
        "--kind",
        "EXTENSION",
        "--reason",
        "stability data",
        "--user",
        "li.qa",
        "--password",
        PASSWORD,
    )
    assert done.exit_code == 0, done.output
    with db.transaction(read_only=True) as uow:
        lot = queries.list_lots(uow, criteria=queries.LotFilter(code=lot_code), cursor=None, limit=1).items[0]
    assert lot.expiry_date == date(2027, 5, 31)
    assert lot.expiry_provenance["redatings"][0]["signer"] == "李秀英"


def test_an_unknown_hold_type_is_refused(run: Cli, lot_code: str) -> None:
    result = run("lot", "hold", lot_code, "--type", "WHIM", "--reason", "x")
    assert result.exit_code != 0
    assert HoldType.QA.value in result.output or "WHIM" in result.output


def test_a_lot_is_released_and_then_rejected_by_a_signer_and_never_released_again(
    run: Cli, db: Database, lot_code: str
) -> None:
    wrong = run("lot", "release", lot_code, "--reason", "ok", "--user", "li.qa", "--password", "nope")
    assert wrong.exit_code == 1
    assert "signature.bad_password" in wrong.stderr
    assert rows(db, Signature) == 0
    released = run(
        "lot", "release", lot_code, "--reason", "micro conforms", "--user", "li.qa", "--password", PASSWORD
    )
    assert released.exit_code == 0, released.output
    rejected = run(
        "lot", "reject", lot_code, "--reason", "complaint", "--user", "li.qa", "--password", PASSWORD
    )
    assert rejected.exit_code == 0, rejected.output
    again = run("lot", "release", lot_code, "--reason", "x", "--user", "li.qa", "--password", PASSWORD)
    assert again.exit_code == 1
    assert "lot.decision_not_allowed" in again.stderr
    assert rows(db, Signature) == 2
    with db.transaction(read_only=True) as uow:
        lot = queries.list_lots(uow, criteria=queries.LotFilter(code=lot_code), cursor=None, limit=1).items[0]
        assert lot.quality_status == "REJECTED"


def test_the_lot_list_filters_by_product_site_hold_and_days_to_expiry(run: Cli, lot_code: str) -> None:
    # Made 1 March 2026, 12 months use-by: usable to 28 February 2027, 95 days after 25 November.
    assert lot_code in run("lot", "list", "--product", "DUMP", "--site", "SH01").stdout
    assert lot_code in run("lot", "list", "--expiring-within", "3650").stdout
    assert lot_code not in run("lot", "list", "--expiring-within", "0").stdout
    assert run("lot", "hold", lot_code, "--type", "DEVIATION", "--reason", "label misprint").exit_code == 0
    held = run("lot", "list", "--hold-type", "DEVIATION").stdout
    assert lot_code in held
    assert "DEVIATION" in held
    assert lot_code not in run("lot", "list", "--hold-type", "RECALL").stdout
    unknown = run("lot", "list", "--product", "NOPE")
    assert unknown.exit_code == 1
    assert "NOPE" in unknown.stderr
