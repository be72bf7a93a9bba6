"""The recall documents, rendered from a case view built in memory (no database): the customer
notice and the report as PDF in both languages, the notice list as CSV, the report as XLSX."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader

from lotline.domain.errors import NotFound
from lotline.domain.recall import DeadlineState
from lotline.i18n import gettext_for
from lotline.models.recall import RecallCase
from lotline.recall.documents import (
    CSV_HEADER,
    CustomerNotInCase,
    notice_pdf,
    notices_csv,
    report_pdf,
    report_xlsx,
)
from lotline.recall.queries import (
    AffectedLine,
    CaseView,
    Customer,
    PlacedHold,
    ProductTotal,
    ScopeLot,
    StockRow,
)

ZONE = "Asia/Shanghai"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ISSUED = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
MILK, CHEESE = 1, 2  # lot ids
C1, C2 = 10, 20  # customer ids


def scope_lots() -> list[ScopeLot]:
    return [
        ScopeLot(MILK, "L-A", "MILK", "牛奶", "Milk", "L", "RELEASED", date(2026, 4, 30), True, Decimal(40)),
        ScopeLot(
            CHEESE, "L-B", "CHEESE", "奶酪", "Cheese", "kg", "QUARANTINE", date(2026, 9, 1), False, Decimal(5)
        ),
    ]


def line(n: int, customer: int, lot: int, qty: str, returned: str = "0", *, hours: int = 0) -> AffectedLine:
    code, product, unit = ("L-A", "MILK", "L") if lot == MILK else ("L-B", "CHEESE", "kg")
    return AffectedLine(
        n,
        f"SH-{n:04}",
        T0 + timedelta(hours=hours),
        customer,
        lot,
        code,
        product,
        unit,
        Decimal(qty),
        Decimal(returned),
    )


def customers(lines: list[AffectedLine], destroyed: dict[tuple[int, str], Decimal]) -> list[Customer]:
    """The customers as ``case_view`` aggregates them from the lines."""
    names = {lot.product_code: (lot.product_name_zh, lot.product_name_en) for lot in scope_lots()}
    first = Customer(
        C1,
        "C1",
        "上海鲜果超市有限公司",
        "Shanghai Fresh Mart Co.",
        {"street": "南京西路 1 号", "city": "上海", "country": "CN"},
        [{"name": "王芳", "phone": "+86 21 5555 0101", "email": "wang@freshmart.example"}],
        notified_at=T0 + timedelta(days=1, minutes=30),
        notified_by="qa.li",
        channel="phone",
    )
    second = Customer(
        C2,
        "C2",
        "北京好味餐饮",
        "Beijing Good Taste Catering",
        {"street": "1 Chang'an Ave", "city": "Beijing", "country": "CN"},
        [{"name": "Li Lei", "phone": "+86 10 5555 0202"}, {"name": "张伟", "email": "zw@goodtaste.example"}],
    )
    by_id = {C1: first, C2: second}
    for item in lines:
        customer = by_id[item.customer_id]
        total = customer.products.setdefault(
            item.product_code, ProductTotal(item.product_code, *names[item.product_code], item.base_unit)
        )
        total.shipped += item.qty_base
        total.returned += item.returned_base
        total.lots.add(item.lot_code)
        customer.shipments.add(item.shipment_number)
    for (customer_id, product), qty in destroyed.items():
        by_id[customer_id].products[product].destroyed += qty
    return [first, second]


def a_view(*, kind: str = "recall", lines: list[AffectedLine] | None = None) -> CaseView:
    shipped = lines or [
        line(1, C1, MILK, "120", "20"),
        line(2, C1, CHEESE, "12.5", hours=1),
        line(3, C2, MILK, "30", hours=2),
    ]
    case = RecallCase(
        number="RC-2026-0007" if kind == "recall" else "MR-2026-0002",
        kind=kind,
        status="active" if kind == "recall" else "completed",
        level="cn-2",
        reason="沙门氏菌检测阳性 (Salmonella positive)",
        trigger={"kind": "lots", "lot_codes": ["L-A"]},
        site_id=1,
        discovered_at=T0 - timedelta(hours=5),
        opened_at=T0 - timedelta(hours=4),
        opened_by="qa.zhang",
        start_due_at=T0 + timedelta(hours=43),
        complete_due_at=T0 + timedelta(days=28),
        scope_ms=12,
        lots_in_scope=2,
        started_at=T0 - timedelta(hours=3) if kind == "recall" else None,
        started_by="QA Manager Zhang" if kind == "recall" else None,
        closed_at=None if kind == "recall" else T0 - timedelta(hours=4),
        closed_by=None if kind == "recall" else "qa.zhang",
        drill_result=None
        if kind == "recall"
        else {
            "time_to_trace_ms": 12,
            "balance_ms": 3,
            "lots": 2,
            "balanced": 1,
            "unbalanced": [{"lot_id": CHEESE, "lot": "L-B", "difference": "-0.5"}],
        },
    )
    return CaseView(
        case=case,
        site_code="SH1",
        site_zone=ZONE,
        lots=scope_lots(),
        lines=shipped,
        customers=customers(shipped, {(C1, "MILK"): Decimal(10)}),
        stock=[
            StockRow(MILK, "L-A", "SH1-A-01", "SH1", "AVAILABLE", Decimal(40), held=True),
            StockRow(CHEESE, "L-B", "SH1-QA-01", "SH1", "QUARANTINE", Decimal(5), held=False),
        ],
        holds=[PlacedHold(900, "L-A", T0 - timedelta(hours=3), "QA Manager Zhang", None)],
        destroyed_rows=1,
        start_state=DeadlineState.MET,
        complete_state=DeadlineState.ON_TRACK,
    )


def pdf_text(document: bytes) -> tuple[str, int]:
    assert document.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(document))
    return "".join(page.extract_text() for page in reader.pages), len(reader.pages)


# --- notice ---------------------------------------------------------------------------------------


def test_the_english_notice_names_the_customers_lots_quantities_and_shipments_only() -> None:
    text, _pages = pdf_text(notice_pdf(a_view(), C1, "en", issued_at=ISSUED))
    for expected in (
        "RC-2026-0007",
        "China level 2",
        "L-A",
        "L-B",
        "120 L",
        "12.5 kg",
        "SH-0001",
        "SH-0002",
        "2026-03-01 10:00",  # shipped, in the site's zone
        "2026-03-03",  # issued
        "QA department, site SH1",
        "Stop selling",
        "Salmonella positive",
    ):
        assert expected in text, expected
    assert "SH-0003" not in text  # the other customer's shipment
    assert "30 L" not in text


def test_the_chinese_notice_uses_the_cid_font_and_shows_chinese_text() -> None:
    document = notice_pdf(a_view(), C1, "zh-CN", issued_at=ISSUED)
    assert b"STSong-Light" in document
    text, _pages = pdf_text(document)
    _ = gettext_for("zh_CN")
    for expected in ("RC-2026-0007", "L-A", "120 L", "SH-0001", "上海鲜果超市有限公司", "牛奶", "沙门氏菌"):
        assert expected in text, expected
    for msgid in ("Product", "Lot", "Quantity", "Product recall notice", "What you must do"):
        assert _(msgid) in text, msgid  # Chinese once the catalog has it, English until then


def test_an_english_notice_to_a_chinese_customer_draws_its_name_in_the_cid_font() -> None:
    document = notice_pdf(a_view(), C1, "en", issued_at=ISSUED)
    assert b"STSong-Light" in document
    assert "上海鲜果超市有限公司" not in pdf_text(document)[0]  # the English notice uses the English name
    assert "Shanghai Fresh Mart Co." in pdf_text(document)[0]


def test_a_notice_for_a_customer_the_case_never_reached_is_refused_clearly() -> None:
    with pytest.raises(CustomerNotInCase) as refused:
        notice_pdf(a_view(), 999, "en")
    assert isinstance(refused.value, KeyError)
    assert isinstance(refused.value, NotFound)
    assert str(refused.value) == "customer 999 was not found."


# --- CSV ------------------------------------------------------------------------------------------


def test_the_notice_list_is_utf8_with_a_bom_one_row_per_customer_and_product() -> None:
    data = notices_csv(a_view())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0].keys()) == CSV_HEADER
    by_key = {(row["Customer code"], row["Product code"]): row for row in rows}
    assert sorted(by_key) == [("C1", "CHEESE"), ("C1", "MILK"), ("C2", "MILK")]
    milk = by_key["C1", "MILK"]
    assert milk["Customer name (zh)"] == "上海鲜果超市有限公司"
    assert (milk["Qty shipped"], milk["Unit"], milk["Returned"], milk["Destroyed"]) == (
        "120",
        "L",
        "20",
        "10",
    )
    assert (milk["Recovered"], milk["Effectiveness %"]) == ("30", "25")
    assert (milk["Lots"], milk["Shipments"]) == ("L-A", "SH-0001")  # not the cheese shipment
    assert milk["Notified at"] == "2026-03-02T10:30:00+08:00"
    assert (milk["Notified by"], milk["Channel"]) == ("qa.li", "phone")
    assert milk["Contact phones"] == "'+86 21 5555 0101"  # Excel would read +86 … as a formula
    cheese = by_key["C1", "CHEESE"]
    assert (cheese["Qty shipped"], cheese["Unit"], cheese["Shipments"]) == ("12.5", "kg", "SH-0002")
    assert cheese["Effectiveness %"] == "0"
    other = by_key["C2", "MILK"]
    assert (other["Qty shipped"], other["Notified at"], other["Channel"]) == ("30", "", "")
    assert other["Contact names"] == "Li Lei; 张伟"
    assert other["Contact emails"] == "zw@goodtaste.example"
    assert other["Address"] == "1 Chang'an Ave, Beijing, CN"


def test_text_that_excel_would_run_as_a_formula_is_made_inert_in_the_csv() -> None:
    view = a_view()
    view.customers[1].name_en = '=HYPERLINK("http://evil.example","Click")'
    rows = list(csv.DictReader(io.StringIO(notices_csv(view).decode("utf-8-sig"))))
    assert rows[-1]["Customer name (en)"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert rows[-1]["Qty shipped"] == "30"


# --- report PDF -----------------------------------------------------------------------------------


def many_lines(count: int) -> list[AffectedLine]:
    return [
        line(n, C1 if n % 2 else C2, MILK if n % 3 else CHEESE, "2.5", "1" if n % 5 == 0 else "0", hours=n)
        for n in range(1, count + 1)
    ]


def test_the_report_of_300_shipment_lines_runs_over_several_pages() -> None:
    view = a_view(lines=many_lines(300))
    text, pages = pdf_text(report_pdf(view, "en", issued_at=ISSUED))
    compact = re.sub(r"\s+", " ", text)
    assert pages > 3
    for expected in (
        "Recall report",
        "RC-2026-0007",
        "China level 2",
        "In progress",
        "Lots L-A",  # the trigger
        "QA Manager Zhang",  # started by
        "SH-0001",
        "SH-0300",
        "FDA effectiveness check level",
        "Stock rows not held by this recall",
        "Page 2",
    ):
        assert expected in compact, expected
    assert text.count("Shipment") >= pages - 2  # the header row repeats on the pages the table spans


def test_the_report_shows_recovery_notices_stock_and_holds() -> None:
    view = a_view()
    text, _pages = pdf_text(report_pdf(view, "en", issued_at=ISSUED))
    compact = re.sub(r"\s+", " ", text)
    assert view.check_level is not None
    assert view.check_level.value == "B"  # one of two customers notified
    for expected in (
        "25 %",  # C1 milk: 30 of 120 recovered
        "30 L",
        "not notified",
        "2026-03-02 10:30",
        "SH1-A-01",
        "SH1-QA-01",
        "met",
        "on track",
        "Released",
        "Quarantine",
    ):
        assert expected in compact, expected


def test_the_chinese_report_opens_and_uses_the_cid_font() -> None:
    document = report_pdf(a_view(), "zh_CN", issued_at=ISSUED)
    assert b"STSong-Light" in document
    text, _pages = pdf_text(document)
    assert "RC-2026-0007" in text
    assert "上海鲜果超市有限公司" in text
    assert gettext_for("zh_CN")("Customer") in text


def test_a_drill_report_shows_the_unbalanced_lot_and_its_difference() -> None:
    text, _pages = pdf_text(report_pdf(a_view(kind="drill"), "en", issued_at=ISSUED))
    for expected in ("MR-2026-0002", "Mock recall report", "Mass balance", "1 / 2", "-0.5 kg", "Completed"):
        assert expected in text, expected
    assert "Drill: this is an exercise" in text


# --- XLSX -----------------------------------------------------------------------------------------

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def read_xlsx(document: bytes) -> dict[str, dict[str, Any]]:
    """Sheet name → {"rows": [[value…]…], "types": [[cell type…]…], "xml": sheet XML} from the
    workbook's own XML (openpyxl is not installed)."""
    archive = zipfile.ZipFile(io.BytesIO(document))
    strings = [
        "".join(t.text or "" for t in item.iter(f"{MAIN}t"))
        for item in ElementTree.fromstring(archive.read("xl/sharedStrings.xml")).iter(f"{MAIN}si")
    ]
    rels = {
        rel.get("Id"): rel.get("Target")
        for rel in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    }
    sheets: dict[str, dict[str, Any]] = {}
    for sheet in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{MAIN}sheet"):
        xml = archive.read(f"xl/{rels[sheet.get(f'{REL}id')]}").decode()
        rows: list[list[Any]] = []
        types: list[list[str]] = []
        for row in ElementTree.fromstring(xml).iter(f"{MAIN}row"):
            values: list[Any] = []
            kinds: list[str] = []
            for cell in row.iter(f"{MAIN}c"):
                column = _column(cell.get("r", "A1"))
                while len(values) < column:
                    values.append(None)
                    kinds.append("")
                value = cell.find(f"{MAIN}v")
                kind = cell.get("t", "n")
                if value is None:
                    values.append(None)
                elif kind == "s":
                    values.append(strings[int(value.text or 0)])
                else:
                    values.append(float(value.text or 0))
                kinds.append(kind if value is not None else "")
            rows.append(values)
            types.append(kinds)
        sheets[sheet.get("name", "")] = {"rows": rows, "types": types, "xml": xml}
    return sheets


def _column(reference: str) -> int:
    index = 0
    for letter in re.match(r"[A-Z]+", reference).group(0):  # type: ignore[union-attr]
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def as_records(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    header, *body = sheet["rows"]
    return [dict(zip(header, row + [None] * (len(header) - len(row)), strict=True)) for row in body]


def excel_serial(moment: datetime) -> float:
    return (moment - datetime(1899, 12, 30)).total_seconds() / 86400


def test_the_workbook_holds_numbers_as_numbers_and_times_in_the_site_zone() -> None:
    sheets = read_xlsx(report_xlsx(a_view(), "en", issued_at=ISSUED))
    assert list(sheets) == ["Summary", "Customers", "Shipments", "Lots in scope", "Stock", "Holds"]
    for sheet in sheets.values():
        assert 'state="frozen"' in sheet["xml"]
        assert "<autoFilter" in sheet["xml"]
    customers = {(r["Customer code"], r["Product code"]): r for r in as_records(sheets["Customers"])}
    milk = customers["C1", "MILK"]
    assert (milk["Shipped"], milk["Returned"], milk["Destroyed"], milk["Recovered"]) == (120, 20, 10, 30)
    assert milk["Effectiveness"] == 0.25
    assert milk["Customer"] == "Shanghai Fresh Mart Co."
    assert milk["Notified at"] == pytest.approx(excel_serial(datetime(2026, 3, 2, 10, 30)))
    assert customers["C1", "CHEESE"]["Shipped"] == 12.5
    assert customers["C2", "MILK"]["Notified at"] is None
    header = sheets["Customers"]["rows"][0]
    shipped_column = header.index("Shipped")
    assert all(kinds[shipped_column] == "n" for kinds in sheets["Customers"]["types"][1:])
    shipments = as_records(sheets["Shipments"])
    assert [(r["Shipment"], r["Customer code"], r["Quantity"], r["Returned"]) for r in shipments] == [
        ("SH-0001", "C1", 120, 20),
        ("SH-0002", "C1", 12.5, 0),
        ("SH-0003", "C2", 30, 0),
    ]
    assert shipments[0]["Shipped at"] == pytest.approx(excel_serial(datetime(2026, 3, 1, 10, 0)))
    lots = as_records(sheets["Lots in scope"])
    assert [(r["Lot"], r["On hand"], r["Trigger lot"]) for r in lots] == [
        ("L-A", 40, "yes"),
        ("L-B", 5, "no"),
    ]
    assert lots[0]["Expiry date"] == excel_serial(datetime(2026, 4, 30))
    assert [(r["Lot"], r["Held"]) for r in as_records(sheets["Stock"])] == [("L-A", "yes"), ("L-B", "no")]
    summary = {row[0]: [*row, None][1] for row in sheets["Summary"]["rows"][1:]}
    assert summary["Closed by"] is None  # an empty cell, not an empty string
    assert summary["Recall number"] == "RC-2026-0007"
    assert summary["Overall effectiveness"] == pytest.approx(float(a_view().effectiveness or 0))
    assert summary["Customers notified"] == 1
    assert summary["FDA effectiveness check level"] == "B"


def test_the_drill_workbook_has_a_mass_balance_sheet_and_chinese_sheet_names_follow_the_catalog() -> None:
    _ = gettext_for("zh_CN")
    sheets = read_xlsx(report_xlsx(a_view(kind="drill"), "zh_CN", issued_at=ISSUED))
    assert _("Mass balance") in sheets
    assert sheets[_("Mass balance")]["rows"][1] == ["L-B", -0.5, "kg"]
    customers = sheets[_("Customers")]["rows"]
    assert customers[1][:4] == ["C1", "上海鲜果超市有限公司", "CHEESE", "奶酪"]
    assert all(len(name) <= 31 for name in sheets)


def test_a_report_of_300_lines_fills_the_shipments_sheet() -> None:
    sheets = read_xlsx(report_xlsx(a_view(lines=many_lines(300)), "en", issued_at=ISSUED))
    shipments = as_records(sheets["Shipments"])
    assert len(shipments) == 300
    assert sum(r["Quantity"] for r in shipments) == 750
