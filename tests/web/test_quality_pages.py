"""The QA queue and a lot's quality page: inspections, CoAs and the signed usage decision."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.domain.errors import LotlineError
from lotline.domain.inspection import CharacteristicKind
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import StockStatus
from lotline.models.audit import AuditRecord
from lotline.models.lot import Lot
from lotline.models.quality import Attachment, InspectionRecord, QualityDecision
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.quality import inspections, plans
from lotline.stock import service as ledger
from lotline.stock.service import Bucket
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.integration.test_quality import sscc
from tests.web.webkit import alerts, count, csrf_of, sign_in

PALLET = Decimal(500)


def written(db: Database) -> tuple[int, ...]:
    return tuple(count(db, m) for m in (QualityDecision, StockMovement, AuditRecord, Signature))


def by_status(db: Database, lot_id: int) -> dict[str, Decimal]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.stock_status, func.sum(StockOnHand.qty_base))
            .where(StockOnHand.lot_id == lot_id, StockOnHand.qty_base > 0)
            .group_by(StockOnHand.stock_status)
        )
        return {status: Decimal(total) for status, total in rows}


@pytest.fixture
def pallets(db: Database, clock: FakeClock, people: People, stock: dict[str, int]) -> dict[str, int]:
    """40 pallets of lot A in QA bin QA-01 at site A, a second QA bin, a freezer bin; a plan;
    lot B quarantined in a QA bin at site B."""
    with db.transaction(clock=clock) as uow:

        def bin_(site: str, code: str, qa: bool) -> int:
            return places.create_location(
                uow,
                site_id=people.site_ids[site],
                code=code,
                name_zh=code,
                name_en=code,
                kind="WAREHOUSE",
                is_qa_area=qa,
            ).id

        qa_bin, qa_bin_2, store = (
            bin_("A", "QA-01", True),
            bin_("A", "QA-02", True),
            bin_("A", "FZ-01", False),
        )
        qa_bin_b = bin_("B", "QA-B", True)
        lot_a = uow.session.get_one(Lot, stock["a"])
        lot_b = uow.session.get_one(Lot, stock["b"])
        for serial, lot, place in [(n, lot_a, qa_bin) for n in range(1, 41)] + [(99, lot_b, qa_bin_b)]:
            ledger.post(
                uow,
                kind=MovementKind.RECEIPT,
                lot=lot,
                quantity=Quantity(PALLET),
                entered_qty=PALLET,
                entered_unit="KGM",
                target=Bucket(place, StockStatus.QUARANTINE, sscc(serial)),
            )
        plans.set_plan(
            uow,
            product_id=stock["product"],
            characteristics=[
                plans.CharacteristicInput(
                    "core_temp",
                    "中心温度",
                    "Core temperature",
                    CharacteristicKind.NUMERIC,
                    "CEL",
                    None,
                    Decimal(4),
                ),
                plans.CharacteristicInput(
                    "odour", "气味", "Odour", CharacteristicKind.CHOICE, accepted_values=("NORMAL",)
                ),
            ],
            sample_size=None,
            sample_unit=None,
            reason="incoming control",
        )
    return {**stock, "qa_bin": qa_bin, "qa_bin_2": qa_bin_2, "store": store}


def record(db: Database, lot_id: int, temp: str) -> int:
    with db.transaction() as uow:
        return inspections.record_inspection(
            uow, lot_id=lot_id, results={"core_temp": temp, "odour": "NORMAL"}, source="web"
        ).record.id


def lot_code(db: Database, lot_id: int) -> str:
    with db.transaction(read_only=True) as uow:
        return uow.session.get_one(Lot, lot_id).code


def test_the_queue_lists_quarantined_lots_of_the_users_sites_only(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    code_a, code_b = lot_code(db, pallets["a"]), lot_code(db, pallets["b"])
    record(db, pallets["a"], "7.5")
    sign_in(client, "qa")  # site A only
    page = client.get("/quality").text
    assert code_a in page
    assert code_b not in page
    assert f'href="/quality/lots/{pallets["a"]}"' in page
    assert "20,000 KGM" in page  # 40 pallets of 500 kg
    assert ">40<" in page  # SSCCs
    assert "1 failed" in page
    assert client.get(f"/quality/lots/{pallets['b']}").status_code == 404

    sign_in(client, "qa_manager")  # every site: oldest first
    both = client.get("/quality").text
    assert both.index(code_a) < both.index(code_b)


def test_recording_an_inspection_through_the_form_computes_pass_or_fail(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa")
    lot = pallets["a"]
    page = client.get(f"/quality/lots/{lot}").text
    assert "Core temperature" in page
    assert "≤ 4 CEL" in page
    form = {"codes": ["core_temp", "odour"], "sampled_by": "Li Wei", "comment": "truck 7", "csrf_token": csrf}
    hot = client.post(
        f"/quality/lots/{lot}/inspections", data={**form, "values": ["6.1", "NORMAL"]}, follow_redirects=False
    )
    assert hot.status_code == 303, hot.text
    assert "recorded: failed" in client.get(hot.headers["location"]).text
    cold = client.post(f"/quality/lots/{lot}/inspections", data={**form, "values": ["3.2", "NORMAL"]})
    assert "recorded: passed" in cold.text
    assert "sampled by Li Wei" in cold.text
    with db.transaction(read_only=True) as uow:
        verdicts = [r.passed for r in inspections.records_of_lot(uow, lot_id=lot)]
    assert verdicts == [False, True]
    before = (*written(db), count(db, InspectionRecord))
    bad = client.post(f"/quality/lots/{lot}/inspections", data={**form, "values": ["warm", "NORMAL"]})
    assert "results.core_temp" in " ".join(alerts(bad.text))
    assert (*written(db), count(db, InspectionRecord)) == before
    missing = client.post(
        f"/quality/lots/{lot}/inspections", data={**form, "values": ["3.2", "NORMAL"]} | {"csrf_token": ""}
    )
    assert missing.status_code == 403
    assert count(db, InspectionRecord) == 2


def test_a_coa_upload_shows_its_sha256_and_downloads_the_same_bytes(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    record_id = record(db, pallets["a"], "2.0")
    csrf = sign_in(client, "qa")
    content = b"%PDF-1.7 certificate of analysis, lot A\n"
    digest = hashlib.sha256(content).hexdigest()
    files = {"file": ("CoA A.pdf", content, "application/pdf")}
    forged = client.post(
        f"/quality/lots/{pallets['a']}/attachments", data={"inspection_id": str(record_id)}, files=files
    )
    assert forged.status_code == 403
    assert count(db, Attachment) == 0
    uploaded = client.post(
        f"/quality/lots/{pallets['a']}/attachments",
        data={"inspection_id": str(record_id), "csrf_token": csrf},
        files=files,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert digest in uploaded.text
    link = re.search(r'href="(/quality/attachments/\d+)">CoA A.pdf<', uploaded.text)
    assert link, uploaded.text
    download = client.get(link.group(1))
    assert download.content == content
    assert download.headers["x-sha256"] == digest


def test_releasing_30_of_40_sscc_through_the_dialog_leaves_10_that_go_only_to_a_qa_bin(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    lot_id = pallets["a"]
    failed, good = record(db, lot_id, "9"), record(db, lot_id, "2.5")
    sign_in(client, "qa_manager")
    page = client.get(f"/quality/lots/{lot_id}").text
    assert f'name="inspection_ids" value="{good}" checked' in page  # the passing record is pre-ticked
    assert f'name="inspection_ids" value="{failed}" >' in page
    assert page.count('name="sscc"') == 40
    chosen = [sscc(n) for n in range(1, 31)]
    query = [("decision", "RELEASED"), ("scope", "sscc"), ("inspection_ids", str(good))]
    query += [("sscc", code) for code in chosen]
    dialog = client.get(f"/quality/lots/{lot_id}/decide", params=query)
    assert dialog.status_code == 200, dialog.text
    assert "Qa_Manager User" in dialog.text  # printed name
    assert "Release" in dialog.text
    assert "30 SSCC" in dialog.text
    assert sscc(30) in dialog.text
    assert f"#{good}" in dialog.text
    form = dict(re.findall(r'<input type="hidden" name="(decision|scope)" value="([^"]+)"', dialog.text))
    hidden_ssccs = re.findall(r'<input type="hidden" name="sscc" value="(\d+)"', dialog.text)
    assert hidden_ssccs == chosen
    data = {
        **form,
        "sscc": hidden_ssccs,
        "inspection_ids": [str(good)],
        "reason": "micro and temperature conform",
        "username": "qa_manager",
        "password": PASSWORD,
        "csrf_token": csrf_of(dialog.text),
    }
    signed = client.post(f"/quality/lots/{lot_id}/decide", data=data, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    assert by_status(db, lot_id) == {"AVAILABLE": 30 * PALLET, "QUARANTINE": 10 * PALLET}
    assert count(db, QualityDecision) == 30
    after = client.get(signed.headers["location"]).text
    assert "Released and signed: 30 decision(s)." in after
    assert "10 SSCC still in quarantine" in after
    assert after.count('name="sscc"') == 10

    # One of the 10 is refused outside a QA bin (the matrix), allowed into another QA bin.
    with db.transaction() as uow:
        lot = uow.session.get_one(Lot, lot_id)
        move = {
            "kind": MovementKind.MOVE,
            "lot": lot,
            "quantity": Quantity(PALLET),
            "entered_qty": PALLET,
            "entered_unit": "KGM",
            "source": Bucket(pallets["qa_bin"], StockStatus.QUARANTINE, sscc(31)),
        }
        with pytest.raises(LotlineError) as refused:
            ledger.post(uow, **move, target=Bucket(pallets["store"], StockStatus.QUARANTINE, sscc(31)))
        assert refused.value.code == "matrix.not_allowed"
    with db.transaction() as uow:
        lot = uow.session.get_one(Lot, lot_id)
        ledger.post(
            uow, **{**move, "lot": lot}, target=Bucket(pallets["qa_bin_2"], StockStatus.QUARANTINE, sscc(31))
        )
    assert by_status(db, lot_id) == {"AVAILABLE": 30 * PALLET, "QUARANTINE": 10 * PALLET}


def test_a_release_without_a_passing_record_is_refused_and_writes_nothing(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    lot_id = pallets["a"]
    failed = record(db, lot_id, "9")
    csrf = sign_in(client, "qa_manager")
    before = written(db)
    refused = client.post(
        f"/quality/lots/{lot_id}/decide",
        data={
            "decision": "RELEASED",
            "scope": "lot",
            "inspection_ids": [str(failed)],
            "reason": "looks fine",
            "username": "qa_manager",
            "password": PASSWORD,
            "csrf_token": csrf,
        },
    )
    assert refused.status_code == 409
    assert "passing inspection" in " ".join(alerts(refused.text))
    assert "looks fine" in refused.text  # what was typed is kept
    assert written(db) == before
    assert by_status(db, lot_id) == {"QUARANTINE": 40 * PALLET}
    nothing = client.post(
        f"/quality/lots/{lot_id}/decide",
        data={
            "decision": "REJECTED",
            "scope": "sscc",
            "sscc": [sscc(77)],
            "reason": "damaged",
            "username": "qa_manager",
            "password": PASSWORD,
            "csrf_token": csrf,
        },
    )
    assert nothing.status_code == 409
    assert "no stock there" in " ".join(alerts(nothing.text))
    assert written(db) == before


def test_a_wrong_password_is_audited_and_moves_nothing(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    lot_id = pallets["a"]
    good = record(db, lot_id, "2")
    csrf = sign_in(client, "qa_manager")
    decisions_before, movements_before, audit_before, signatures_before = written(db)
    wrong = client.post(
        f"/quality/lots/{lot_id}/decide",
        data={
            "decision": "RELEASED",
            "scope": "sscc",
            "sscc": [sscc(1), sscc(2)],
            "inspection_ids": [str(good)],
            "reason": "conforms",
            "username": "qa_manager",
            "password": "nope",
            "csrf_token": csrf,
        },
    )
    assert wrong.status_code == 422
    assert alerts(wrong.text)
    assert written(db) == (decisions_before, movements_before, audit_before + 1, signatures_before)
    with db.transaction(read_only=True) as uow:
        actions = uow.session.scalars(
            select(AuditRecord.action).order_by(AuditRecord.id.desc()).limit(1)
        ).all()
    assert actions == ["signature_failed"]
    assert by_status(db, lot_id) == {"QUARANTINE": 40 * PALLET}


def test_a_viewer_sees_the_queue_but_cannot_decide(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    lot_id = pallets["a"]
    good = record(db, lot_id, "2")
    csrf = sign_in(client, "viewer")
    assert lot_code(db, lot_id) in client.get("/quality").text
    page = client.get(f"/quality/lots/{lot_id}").text
    assert "Core temperature" in page
    assert f"/quality/lots/{lot_id}/decide" not in page
    assert f"/quality/lots/{lot_id}/inspections" not in page
    before = written(db)
    assert client.get(f"/quality/lots/{lot_id}/decide?decision=RELEASED&scope=lot").status_code == 403
    posted = client.post(
        f"/quality/lots/{lot_id}/decide",
        data={
            "decision": "RELEASED",
            "scope": "lot",
            "inspection_ids": [str(good)],
            "reason": "x",
            "username": "viewer",
            "password": PASSWORD,
            "csrf_token": csrf,
        },
    )
    assert posted.status_code == 403
    assert written(db) == before


def test_a_decision_form_without_its_csrf_token_is_refused(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    lot_id = pallets["a"]
    good = record(db, lot_id, "2")
    sign_in(client, "qa_manager")
    before = written(db)
    data = {
        "decision": "RELEASED",
        "scope": "lot",
        "inspection_ids": [str(good)],
        "reason": "conforms",
        "username": "qa_manager",
        "password": PASSWORD,
    }
    assert client.post(f"/quality/lots/{lot_id}/decide", data=data).status_code == 403
    assert (
        client.post(f"/quality/lots/{lot_id}/decide", data={**data, "csrf_token": "forged"}).status_code
        == 403
    )
    assert written(db) == before
    assert by_status(db, lot_id) == {"QUARANTINE": 40 * PALLET}


def test_the_lot_page_links_to_its_quality_page(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    sign_in(client, "qa_manager")
    assert f'href="/quality/lots/{pallets["a"]}"' in client.get(f"/lots/{pallets['a']}").text


def test_releasing_a_quantity_at_one_location_leaves_the_rest_in_quarantine(
    client: TestClient, db: Database, people: People, pallets: dict[str, int]
) -> None:
    lot_id = pallets["a"]
    good = record(db, lot_id, "2")
    with db.transaction() as uow:
        ledger.post(
            uow,
            kind=MovementKind.RECEIPT,
            lot=uow.session.get_one(Lot, lot_id),
            quantity=Quantity(Decimal(100)),
            entered_qty=Decimal(100),
            entered_unit="KGM",
            target=Bucket(pallets["qa_bin_2"], StockStatus.QUARANTINE),
        )
    sign_in(client, "qa_manager")
    page = client.get(f"/quality/lots/{lot_id}").text
    assert f'<option value="{pallets["qa_bin_2"]}">QA-02</option>' in page
    # A mistyped SSCC or a missing quantity goes back to the page with the message.
    bad = client.get(f"/quality/lots/{lot_id}/decide?decision=RELEASED&scope=sscc&sscc=123")
    assert "sscc" in " ".join(alerts(bad.text))
    query = {
        "decision": "RELEASED",
        "scope": "quantity",
        "location_id": str(pallets["qa_bin_2"]),
        "quantity": "30",
        "unit": "KGM",
        "inspection_ids": str(good),
    }
    dialog = client.get(f"/quality/lots/{lot_id}/decide", params=query)
    assert dialog.status_code == 200, dialog.text
    assert "30 KGM</strong> @ QA-02" in dialog.text
    data = {
        **query,
        "reason": "conforms",
        "username": "qa_manager",
        "password": PASSWORD,
        "csrf_token": csrf_of(dialog.text),
    }
    signed = client.post(f"/quality/lots/{lot_id}/decide", data=data, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    assert by_status(db, lot_id) == {"AVAILABLE": Decimal(30), "QUARANTINE": 40 * PALLET + 70}
