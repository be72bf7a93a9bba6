"""Recall pages on the demo company: the board shows the recall with its deadlines and the drill;
the case page lists both customers with contacts and quantities and every lot in stock held; a
drill run from the form blocks nothing; a recall opened from the form starts only with the QA
manager's signature, which holds its lots; a notice twice is refused beside the page; Chinese
and English pages; a viewer reads but cannot open."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from lotline import demo
from lotline.demo_catalog.people import DEMO_PASSWORD, QA_MANAGER
from lotline.domain.status import HoldType
from lotline.models.lot import Hold
from lotline.models.recall import RecallCase
from lotline.uow import Database
from tests.conftest import FakeClock
from tests.web import webkit
from tests.web.webkit import alerts


@pytest.fixture
def demo_db(db: Database, clock: FakeClock) -> Database:
    clock.now = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    return db


def sign_in(client: TestClient, username: str, language: str = "en") -> str:
    """Sign in as a demo user (their password is the demo's)."""
    return webkit.sign_in(client, username, language=language, password=DEMO_PASSWORD)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def rows(page: str, css_class: str) -> list[str]:
    return [
        text_of(row) for row in re.findall(rf'<tr class="{css_class}[^"]*"[^>]*>(.*?)</tr>', page, flags=re.S)
    ]


def recall_held(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return int(
            uow.session.scalar(
                select(func.count()).where(Hold.hold_type == HoldType.RECALL.value, Hold.lifted_at.is_(None))
            )
            or 0
        )


def case_id(db: Database, number_prefix: str) -> int:
    with db.transaction(read_only=True) as uow:
        found = uow.session.scalar(
            select(RecallCase.id).where(RecallCase.number.like(f"{number_prefix}%")).order_by(RecallCase.id)
        )
        assert found is not None
        return found


def test_the_board_and_the_demo_recall_page(demo_db: Database, client: TestClient) -> None:
    sign_in(client, QA_MANAGER)
    board = client.get("/recalls").text
    cases = rows(board, "recall-case")
    assert any(
        row.startswith("RC-2026-0001") and "China level 2" in row and "In progress" in row for row in cases
    )
    assert any(row.startswith("MR-2026-0001") and "Mock-recall drill" in row for row in cases)
    page = client.get(f"/recalls/{case_id(demo_db, 'RC-')}").text
    customers = rows(page, "recall-customer")
    assert [row.split()[0] for row in customers] == ["HEMA", "LIANHUA"]
    assert "120 EA" in customers[0]
    assert "food-safety@hema.example.cn" in customers[0]
    assert "60 EA" in customers[1]
    assert "沈丽 (QA)" in customers[1]
    stock = rows(page, "stock-row")
    assert stock
    assert all("held" in row and "not held" not in row for row in stock)
    client.cookies.set("lotline_lang", "zh_CN")
    chinese = client.get(f"/recalls/{case_id(demo_db, 'RC-')}")
    assert chinese.status_code == 200
    assert "召回" in chinese.text


def test_a_drill_from_the_form_blocks_nothing(demo_db: Database, client: TestClient) -> None:
    csrf = sign_in(client, QA_MANAGER)
    held = recall_held(demo_db)
    response = client.post(
        "/recalls/new",
        data={
            "csrf_token": csrf,
            "kind": "drill",
            "trigger_kind": "supplier_lot",
            "supplier_code": "JINHUA-MEAT",
            "supplier_lot_code": "JH-0329",
            "level": "cn-1",
            "reason": "drill before the audit",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200, alerts(response.text)
    assert "7 of 7 lots balance." in text_of(response.text)
    assert recall_held(demo_db) == held


def test_a_recall_from_the_form_starts_only_when_signed(demo_db: Database, client: TestClient) -> None:
    csrf = sign_in(client, QA_MANAGER)
    held = recall_held(demo_db)
    opened = client.post(
        "/recalls/new",
        data={
            "csrf_token": csrf,
            "kind": "recall",
            "trigger_kind": "supplier_lot",
            "supplier_code": "WUDELI",
            "supplier_lot_code": "WDL-260105",
            "level": "cn-3",
            "reason": "label lacks the allergen statement",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303
    target = opened.headers["location"]
    assert recall_held(demo_db) == held  # a draft holds nothing
    refused = client.post(
        f"{target}/start", data={"csrf_token": csrf, "username": QA_MANAGER, "password": "wrong"}
    )
    assert refused.status_code == 422
    assert alerts(refused.text)
    assert recall_held(demo_db) == held
    started = client.post(
        f"{target}/start",
        data={"csrf_token": csrf, "username": QA_MANAGER, "password": DEMO_PASSWORD},
        follow_redirects=True,
    )
    assert started.status_code == 200, alerts(started.text)
    assert recall_held(demo_db) > held


def test_bad_input_is_named_and_writes_nothing(demo_db: Database, client: TestClient) -> None:
    csrf = sign_in(client, QA_MANAGER)
    with demo_db.transaction(read_only=True) as uow:
        before = int(uow.session.scalar(select(func.count()).select_from(RecallCase)) or 0)
    response = client.post(
        "/recalls/new",
        data={
            "csrf_token": csrf,
            "kind": "recall",
            "trigger_kind": "lots",
            "lot_codes": "NO-SUCH-LOT",
            "level": "cn-1",
            "reason": "x",
        },
    )
    assert response.status_code == 404
    assert 'data-field="lot_codes"' in response.text
    with demo_db.transaction(read_only=True) as uow:
        assert int(uow.session.scalar(select(func.count()).select_from(RecallCase)) or 0) == before
    # Hema was phoned already in the demo: a second notice is refused on the case page.
    page = client.post(
        f"/recalls/{case_id(demo_db, 'RC-')}/notices",
        data={"csrf_token": csrf, "customer_id": _customer(demo_db, "HEMA"), "channel": "email"},
    )
    assert page.status_code == 409
    assert alerts(page.text)


def _customer(db: Database, code: str) -> str:
    from lotline.models.catalog import Partner

    with db.transaction(read_only=True) as uow:
        return str(uow.session.scalar(select(Partner.id).where(Partner.code == code)))


def test_a_viewer_reads_but_cannot_open(demo_db: Database, client: TestClient) -> None:
    sign_in(client, "viewer")
    assert client.get("/recalls").status_code == 200
    assert "Open a recall" not in client.get("/recalls").text
    assert client.get("/recalls/new").status_code == 403


def test_the_report_and_the_notices_open(demo_db: Database, client: TestClient) -> None:
    sign_in(client, QA_MANAGER)
    case = case_id(demo_db, "RC-")
    report = client.get(f"/recalls/{case}/report.pdf")
    assert report.status_code == 200
    assert report.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(report.content)).pages
    text = " ".join(page.extract_text() for page in pages)
    assert "RC-2026-0001" in text
    assert "HEMA" in text
    workbook = client.get(f"/recalls/{case}/report.xlsx")
    assert workbook.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(workbook.content)).testzip() is None
    listing = client.get(f"/recalls/{case}/notices.csv")
    assert listing.content.startswith(b"\xef\xbb\xbf")
    assert {line.split(",")[0] for line in listing.text.splitlines()[1:]} == {"HEMA", "LIANHUA"}
    notice = client.get(f"/recalls/{case}/notices/{_customer(demo_db, 'HEMA')}.pdf?language=zh_CN")
    assert notice.status_code == 200
    assert "召回" in PdfReader(io.BytesIO(notice.content)).pages[0].extract_text()
    assert client.get(f"/recalls/{case}/notices/999999.pdf").status_code == 404


def test_the_legal_clock_starts_when_the_hazard_became_known_at_the_site(
    demo_db: Database, client: TestClient
) -> None:
    csrf = sign_in(client, QA_MANAGER)
    opened = client.post(
        "/recalls/new",
        data={
            "csrf_token": csrf,
            "kind": "recall",
            "trigger_kind": "supplier_lot",
            "supplier_code": "WUDELI",
            "supplier_lot_code": "WDL-260105",
            "level": "cn-1",
            "reason": "supplier called last night",
            "discovered_at": "2026-12-03T20:00",  # Shanghai: 12:00 UTC
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303
    with demo_db.transaction(read_only=True) as uow:
        case = uow.session.scalars(select(RecallCase).order_by(RecallCase.id.desc())).first()
        assert case is not None
        assert case.discovered_at == datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        assert case.start_due_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
