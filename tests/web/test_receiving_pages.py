"""The receiving pages, driven through real requests: a scan field that fills lines without any
script, a bad scan that writes nothing, a short shelf life refused or signed, site scoping."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.models.audit import AuditRecord
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.stock import StockMovement, StockOnHand
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.integration.test_receiving import (
    PORK_GTIN,
    SSCC,
    Receiving,
    build_receiving,
    datamatrix,
    digital_link,
    gs1_128,
)
from tests.web.webkit import alerts, count, sign_in


@pytest.fixture
def setup(db: Database, clock: FakeClock, people: People) -> Receiving:
    return build_receiving(db, clock, people)


def written(db: Database) -> tuple[int, ...]:
    return tuple(count(db, model) for model in (Receipt, ReceiptLine, Lot, StockMovement, AuditRecord))


def draft_lines(page: str) -> list[dict[str, str]]:
    return [
        json.loads(re.sub("&#34;|&quot;", '"', raw).replace("&amp;", "&"))
        for raw in re.findall(r'name="line" value="([^"]*)"', page)
    ]


def header(setup: Receiving, csrf: str, site: str = "A") -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "location_id": str(setup.dock_a if site == "A" else setup.dock_b),
        "supplier_id": str(setup.supplier),
        "purchase_order": "PO-7",
        "delivery_note": "DN-1",
    }


def scan(client: TestClient, form: dict[str, object], text: str) -> object:
    return client.post("/receipts/new", data={**form, "scan": text, "action": "scan"})


def test_three_scans_fill_three_lines_and_posting_lands_the_lots_in_quarantine_at_the_dock(
    client: TestClient, db: Database, people: People, setup: Receiving
) -> None:
    csrf = sign_in(client, "admin")
    empty = client.get("/receipts/new")
    assert "data-scan" in empty.text
    form: dict[str, object] = header(setup, csrf)
    before = written(db)
    for text in (gs1_128("L1"), datamatrix("L2"), digital_link("L3")):
        page = scan(client, form, text)
        assert page.status_code == 200, page.text  # type: ignore[attr-defined]
        form["line"] = [json.dumps(line) for line in draft_lines(page.text)]  # type: ignore[attr-defined]
    lines = draft_lines(page.text)  # type: ignore[attr-defined]
    assert [line["supplier_lot_code"] for line in lines] == ["L1", "L2", "L3"]
    assert {(line["gtin"], line["supplier_expiry"], line["count"], line["sscc"]) for line in lines} == {
        (PORK_GTIN, "2026-03-31", "24", SSCC)
    }
    assert all(line["product_id"] == str(setup.pork) for line in lines)
    assert written(db) == before  # scanning alone writes nothing

    posted = client.post("/receipts/new", data={**form, "action": "post"}, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    target = posted.headers["location"]
    receipt_page = client.get(target).text
    assert "R-A-2026-000001" in receipt_page
    with db.transaction(read_only=True) as uow:
        lots = list(uow.session.scalars(select(Lot).order_by(Lot.id)))
        buckets = list(uow.session.scalars(select(StockOnHand)))
    assert [lot.supplier_lot_code for lot in lots] == ["L1", "L2", "L3"]
    for lot in lots:
        assert f'href="/lots/{lot.id}"' in receipt_page
        assert lot.code in receipt_page
    assert {(b.location_id, b.stock_status, b.sscc) for b in buckets} == {(setup.dock_a, "QUARANTINE", SSCC)}
    assert "12.5 KGM" in receipt_page  # as entered (kg) and in the base unit
    listed = client.get("/receipts").text
    assert "R-A-2026-000001" in listed
    stock = client.get(f"/stock/locations/{setup.dock_a}").text
    assert all(lot.code in stock for lot in lots)
    assert "Quarantine" in stock


def test_a_typed_catch_weight_line_is_added_and_posted(
    client: TestClient, db: Database, people: People, setup: Receiving
) -> None:
    csrf = sign_in(client, "admin")
    typed = {
        **header(setup, csrf),
        "action": "add",
        "product_id": str(setup.pork),
        "supplier_lot_code": "TY-1",
        "count": "10",
        "net_weight_kg": "5.25",
        "production_date": "2026-02-27",
        "supplier_expiry": "2026-03-30",
    }
    page = client.post("/receipts/new", data=typed)
    assert page.status_code == 200, page.text
    lines = draft_lines(page.text)
    assert lines == [
        {
            "product_id": str(setup.pork),
            "supplier_lot_code": "TY-1",
            "count": "10",
            "net_weight_kg": "5.25",
            "production_date": "2026-02-27",
            "supplier_expiry": "2026-03-30",
        }
    ]
    posted = client.post(
        "/receipts/new",
        data={**header(setup, csrf), "line": [json.dumps(lines[0])], "action": "post"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    shown = client.get(posted.headers["location"]).text
    assert "5.25 KGM" in shown


def test_a_wrong_check_digit_names_the_problem_keeps_the_other_lines_and_writes_nothing(
    client: TestClient, db: Database, people: People, setup: Receiving
) -> None:
    csrf = sign_in(client, "admin")
    form: dict[str, object] = header(setup, csrf)
    first = scan(client, form, gs1_128("GOOD"))
    form["line"] = [json.dumps(line) for line in draft_lines(first.text)]  # type: ignore[attr-defined]
    before = written(db)
    bad = gs1_128("BAD").replace(PORK_GTIN, PORK_GTIN[:-1] + "9")
    page = scan(client, form, bad)
    assert page.status_code == 422  # type: ignore[attr-defined]
    assert "(01)" in alerts(page.text)[0]  # type: ignore[attr-defined]
    assert [line["supplier_lot_code"] for line in draft_lines(page.text)] == ["GOOD"]  # type: ignore[attr-defined]
    assert written(db) == before


def test_a_short_shelf_life_is_refused_without_override_and_signed_by_a_quality_decider(
    client: TestClient, db: Database, people: People, setup: Receiving
) -> None:
    short = gs1_128("SHORT", expiry="260303")
    csrf = sign_in(client, "warehouse")  # receives at site B, may not decide quality
    form: dict[str, object] = header(setup, csrf, site="B")
    form["line"] = [json.dumps(line) for line in draft_lines(scan(client, form, short).text)]  # type: ignore[attr-defined]
    before = written(db)
    refused = client.post("/receipts/new", data={**form, "action": "post"})
    assert refused.status_code == 422
    assert "short of the minimum shelf life" in alerts(refused.text)[0]
    assert 'name="password"' not in refused.text
    assert "Only a user who may decide quality" in refused.text
    # Even with an override typed in, someone who may not decide quality is refused.
    again = client.post(
        "/receipts/new",
        data={**form, "action": "post", "override_reason": "line stop", "password": PASSWORD},
    )
    assert again.status_code == 422
    assert written(db) == before

    client.cookies.clear()
    csrf = sign_in(client, "admin")
    form = {**header(setup, csrf), "line": form["line"]}
    asked = client.post("/receipts/new", data={**form, "action": "post"})
    assert asked.status_code == 422
    assert 'name="password"' in asked.text
    wrong = client.post(
        "/receipts/new",
        data={
            **form,
            "action": "post",
            "override_reason": "line stop",
            "username": "admin",
            "password": "no",
        },
    )
    assert wrong.status_code == 422
    assert count(db, Receipt) == 0
    signed = client.post(
        "/receipts/new",
        data={
            **form,
            "action": "post",
            "override_reason": "line stop",
            "username": "admin",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    with db.transaction(read_only=True) as uow:
        line = uow.session.scalars(select(ReceiptLine)).one()
        failed = uow.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "signature_failed")
        ).all()
    assert line.override_signature_id is not None
    assert len(failed) == 1
    assert "shelf-life override signed" in client.get(signed.headers["location"]).text


def test_a_user_of_one_site_sees_only_its_receipts_and_forms_without_csrf_are_refused(
    client: TestClient, db: Database, people: People, setup: Receiving
) -> None:
    csrf = sign_in(client, "admin")
    form: dict[str, object] = header(setup, csrf)
    form["line"] = [json.dumps(line) for line in draft_lines(scan(client, form, gs1_128()).text)]  # type: ignore[attr-defined]
    posted = client.post("/receipts/new", data={**form, "action": "post"}, follow_redirects=False)
    receipt_a = posted.headers["location"]

    client.cookies.clear()
    csrf = sign_in(client, "warehouse")  # site B only
    assert "R-A-2026" not in client.get("/receipts").text
    assert client.get(receipt_a).status_code == 404
    assert "A · DOCK" not in client.get("/receipts/new").text
    form_b = {**header(setup, csrf), "line": form["line"], "action": "post"}
    before = written(db)
    at_a = client.post("/receipts/new", data=form_b)
    assert at_a.status_code in (403, 404)
    no_token = {
        k: v for k, v in {**header(setup, csrf, site="B"), "line": form["line"]}.items() if k != "csrf_token"
    }
    forged = client.post("/receipts/new", data={**no_token, "action": "post"})
    assert forged.status_code == 403
    assert written(db) == before


def test_the_lot_code_source_of_the_suppliers_documents_lands_on_every_line(
    client: TestClient, db: Database, people: People, setup: Receiving
) -> None:
    csrf = sign_in(client, "admin")
    source = "金华分割车间 / Jinhua cutting plant, GLN 6923456000018"
    form: dict[str, object] = {**header(setup, csrf), "tlc_source": source}
    for text in (gs1_128("T1"), gs1_128("T2")):
        page = scan(client, form, text)
        form["line"] = [json.dumps(line) for line in draft_lines(page.text)]  # type: ignore[attr-defined]
    posted = client.post("/receipts/new", data={**form, "action": "post"}, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    assert source in html.unescape(client.get(posted.headers["location"]).text)
    with db.transaction(read_only=True) as uow:
        assert set(uow.session.scalars(select(ReceiptLine.tlc_source))) == {source}
