"""The FSMA 204 sortable spreadsheet: the KDEs of shipping, receiving and transformation rows, whose
traceability lot code each row reports, the filters, CSV and XLSX read back, the API and the
console, and the demo company's complete spreadsheet — on both backends.

The scene, at site A (Shanghai, UTC+8), clock 2026-03-01 08:00 UTC = 16:00 local:

- Green Farm delivers pork FARM-P1 (with its TLC source) and cabbage FARM-C1 (without one): two
  receiving rows on 03-01; and the milk lot F came in from the farm as FARM-M7 (a third);
- 17:00 UTC — 01:00 local on **03-02** — pork + cabbage → filling: two transformation rows;
- 03-02 10:00 and 11:00 local, the milk lots E (made here) and F (the farm's) ship to SHOP.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from lotline import cli, demo
from lotline.app import API_PREFIX, create_app
from lotline.auth import service as auth
from lotline.config import get_settings
from lotline.domain.errors import InvalidInput, NotFound
from lotline.domain.status import QualityStatus
from lotline.domain.transformation import TransformationKind
from lotline.inbound import service as receiving
from lotline.models.catalog import Location, Partner
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.production import Transformation
from lotline.models.site import Site
from lotline.places import service as places
from lotline.production.service import Make, Request, Take
from lotline.stock.operations import Amount, Source
from lotline.trace import fsma, fsma_api, fsma_cli
from lotline.trace.engine import Direction, closure
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import AUDIT_KEY, FakeClock
from tests.outbound_fixtures import Shelf, build_shelf
from tests.production_fixtures import KG, Kitchen, build_kitchen, complete, open_order, set_quality
from tests.tracing.helpers import ship

SITE_GLN = "6901234000016"
SITE_ADDRESS = {"street": "新飞路 1500 号", "city": "上海市松江区", "postcode": "201612", "country": "CN"}
SITE_TEXT = "新飞路 1500 号, 上海市松江区 201612, CN"
FARM_ADDRESS = {"street": "1 Field Road", "city": "Jiaxing", "province": "Zhejiang", "country": "CN"}
FARM_TEXT = "1 Field Road, Jiaxing Zhejiang, CN, Tel +86 573 8000 0000"
SHOP_ADDRESS = {"street": "88 Market Street", "city": "Shanghai", "postcode": "200001", "country": "CN"}
PACKHOUSE = "Green Farm packhouse, 9 Orchard Lane, Jiaxing, Zhejiang 314000, CN"
DAIRY = "Green Farm dairy, 12 Orchard Lane, Jiaxing, Zhejiang 314000, CN"
H = {name: index for index, name in enumerate(fsma.HEADERS)}


@dataclass(frozen=True)
class Scene:
    kitchen: Kitchen
    shelf: Shelf
    farm: int
    pork: int  # received: FARM-P1
    cabbage: int  # received: FARM-C1
    filling: int  # made from both
    receipt: str
    transformation: str


def _admin(db: Database) -> Any:
    with db.transaction(read_only=True) as uow:
        found = auth.find_user(uow, username="admin")
        assert found is not None
        return auth.principal_for(found)


def _received_from_the_farm(db: Database, clock: FakeClock, shelf: Shelf, farm: int) -> None:
    """The milk lot F came from the farm as its lot FARM-M7 (its receipt, as receiving would write it)."""
    with db.transaction(clock=clock) as uow:
        lot = uow.session.get_one(Lot, shelf.lots["F"])
        lot.source, lot.supplier_id, lot.supplier_lot_code = "SUPPLIER", farm, "FARM-M7"
        receipt = Receipt(
            number="R-A-2026-900001",
            site_id=shelf.site,
            supplier_id=farm,
            location_id=shelf.bin,
            received_at=clock.now,
            received_by="test",
        )
        uow.session.add(receipt)
        uow.session.flush()
        uow.session.add(
            ReceiptLine(
                receipt_id=receipt.id,
                line_no=1,
                product_id=shelf.product,
                lot_id=lot.id,
                supplier_lot_code="FARM-M7",
                tlc_source=DAIRY,
                entered_qty=Decimal(50),
                entered_unit="EA",
                base_qty=Decimal(50),
            )
        )


@pytest.fixture
def scene(db: Database, clock: FakeClock, people: People) -> Scene:
    site = people.site_ids["A"]
    with db.transaction(clock=clock) as uow:
        found = uow.session.get_one(Site, site)
        found.gln, found.address = SITE_GLN, SITE_ADDRESS
        found.name_en = "Xianhui Foods Songjiang Plant"
    kitchen = build_kitchen(db, clock, people)
    shelf = build_shelf(db, clock, people)
    with db.transaction(clock=clock) as uow:
        farm = places.create_partner(
            uow,
            code="FARM",
            name_zh="绿色农场",
            name_en="Green Farm",
            is_supplier=True,
            address=FARM_ADDRESS,
            contacts=[{"name": "王芳", "phone": "+86 573 8000 0000"}],
        ).id
        uow.session.get_one(Partner, shelf.customer).address = SHOP_ADDRESS
    with db.transaction(clock=clock) as uow:
        receipt = receiving.create_receipt(
            uow,
            site_id=site,
            supplier_id=farm,
            location_id=kitchen.raw_bin,
            purchase_order="PO-77",
            delivery_note="DN-77",
            lines=[
                receiving.LineInput(
                    product_id=kitchen.products["PORK"],
                    supplier_lot_code="FARM-P1",
                    quantity=Decimal(60),
                    unit=KG,
                    production_date=kitchen.today,
                    tlc_source=f"  {PACKHOUSE} ",
                ),
                receiving.LineInput(
                    product_id=kitchen.products["CABBAGE"],
                    supplier_lot_code="FARM-C1",
                    quantity=Decimal(40),
                    unit=KG,
                    production_date=kitchen.today,
                ),
            ],
            principal=_admin(db),
        )
        number = receipt.number
        pork, cabbage = (
            line.lot_id for line in receiving.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id]
        )
    _received_from_the_farm(db, clock, shelf, farm)
    set_quality(db, clock, pork, kitchen.raw_bin, 60, QualityStatus.RELEASED)
    set_quality(db, clock, cabbage, kitchen.raw_bin, 40, QualityStatus.RELEASED)
    clock.now = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 March in Shanghai
    made, (filling,) = complete(
        db,
        clock,
        Request(
            kind=TransformationKind.PRODUCTION,
            site_id=site,
            production_order_id=open_order(db, clock, kitchen, "FILLING", 80),
            inputs=[
                Take(pork, Source(kitchen.raw_bin), Amount(Decimal(50), KG)),
                Take(cabbage, Source(kitchen.raw_bin), Amount(Decimal(30), KG)),
            ],
            outputs=[Make(kitchen.products["FILLING"], Amount(Decimal(80), KG), kitchen.qa_area)],
        ),
    )
    with db.transaction(read_only=True) as uow:
        transformation = uow.session.get_one(Transformation, made).number
    clock.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 local
    ship(db, clock, shelf, "30", shelf.codes["E"])
    clock.advance(hours=1)
    ship(db, clock, shelf, "30", shelf.codes["F"])
    return Scene(kitchen, shelf, farm, pork, cabbage, filling, number, transformation)


def rows_of(db: Database, **filters: Any) -> list[dict[str, Any]]:
    with db.transaction(read_only=True) as uow:
        chosen = fsma.resolve_filters(uow, **filters)
        return [dict(zip(fsma.HEADERS, row, strict=True)) for row in fsma.spreadsheet_rows(uow, chosen)]


def codes(db: Database, *lot_ids: int) -> list[str]:
    with db.transaction(read_only=True) as uow:
        return [uow.session.get_one(Lot, lot_id).code for lot_id in lot_ids]


# --- the rows ---------------------------------------------------------------------------------


def test_received_lots_carry_the_suppliers_lot_code_and_its_source_never_lotlines(
    db: Database, scene: Scene
) -> None:
    received = [row for row in rows_of(db) if row["Event Type"] == "Receiving"]
    assert [row["Traceability Lot Code"] for row in received] == ["FARM-C1", "FARM-M7", "FARM-P1"]
    cabbage, milk, pork = received
    internal_pork, internal_cabbage = codes(db, scene.pork, scene.cabbage)
    assert pork["Internal Lot Code"] == internal_pork != pork["Traceability Lot Code"]
    assert pork["Traceability Lot Code Source"] == PACKHOUSE  # as given, trimmed
    # No TLC source on the line: the supplier's own name and address stand for it.
    assert cabbage["Traceability Lot Code Source"] == f"Green Farm, {FARM_TEXT}"
    assert cabbage["Internal Lot Code"] == internal_cabbage
    assert milk["Traceability Lot Code Source"] == DAIRY
    assert (pork["Event Date"], pork["Event Time"]) == (date(2026, 3, 1), "2026-03-01T16:00:00+08:00")
    assert (pork["Quantity"], pork["Unit of Measure"]) == (Decimal(60), KG)
    assert (pork["Product Description"], pork["Product Code"]) == ("Pork", "PORK")
    # The immediate previous source ships from; the receiving site is where it went.
    assert (pork["Ship-From Name"], pork["Ship-From Address"]) == ("Green Farm", FARM_TEXT)
    assert (pork["Ship-To Name"], pork["Ship-To Address"], pork["Ship-To GLN"]) == (
        "Xianhui Foods Songjiang Plant",
        SITE_TEXT,
        SITE_GLN,
    )
    assert (pork["Reference Document Type"], pork["Reference Document Number"]) == ("Receipt", scene.receipt)
    assert pork["Other References"] == "Purchase order PO-77; Delivery note DN-77"
    assert all(fsma.missing_kdes(list(row.values())) == [] for row in received)


def test_a_transformation_has_a_row_per_input_with_the_new_lot_under_lotlines_code(
    db: Database, scene: Scene
) -> None:
    made = [row for row in rows_of(db) if row["Event Type"] == "Transformation"]
    (filling,) = codes(db, scene.filling)
    assert [row["Traceability Lot Code"] for row in made] == [filling, filling]
    assert sorted(row["Input Traceability Lot Code"] for row in made) == ["FARM-C1", "FARM-P1"]
    by_input = {row["Input Traceability Lot Code"]: row for row in made}
    pork = by_input["FARM-P1"]
    # Assigned here: the plant that transformed the food is the new lot's TLC source.
    assert pork["Traceability Lot Code Source"] == f"Xianhui Foods Songjiang Plant, {SITE_TEXT}"
    assert (pork["Transformation Location Name"], pork["Transformation Location GLN"]) == (
        "Xianhui Foods Songjiang Plant",
        SITE_GLN,
    )
    assert (pork["Product Description"], pork["Quantity"], pork["Unit of Measure"]) == (
        "Filling",
        Decimal(80),
        KG,
    )
    assert (pork["Input Product Description"], pork["Input Quantity"], pork["Input Unit of Measure"]) == (
        "Pork",
        Decimal(50),
        KG,
    )
    assert by_input["FARM-C1"]["Input Quantity"] == Decimal(30)
    # 17:00 UTC on 1 March is 01:00 on 2 March at the plant: the site's date is the event date.
    assert pork["Event Date"] == date(2026, 3, 2)
    assert (pork["Reference Document Type"], pork["Reference Document Number"]) == (
        "Transformation record",
        scene.transformation,
    )
    assert (pork["Ship-From Name"], pork["Ship-To Name"]) == (None, None)
    assert pork["Other References"].startswith("production; production order ")
    assert all(fsma.missing_kdes(list(row.values())) == [] for row in made)


def test_shipping_rows_name_the_customer_and_the_tlc_of_what_was_shipped(db: Database, scene: Scene) -> None:
    shipped = [row for row in rows_of(db) if row["Event Type"] == "Shipping"]
    made_here, from_the_farm = codes(db, scene.shelf.lots["E"], scene.shelf.lots["F"])
    by_tlc = {row["Traceability Lot Code"]: row for row in shipped}
    assert set(by_tlc) == {made_here, "FARM-M7"}
    own = by_tlc[made_here]
    assert own["Traceability Lot Code Source"] == f"Xianhui Foods Songjiang Plant, {SITE_TEXT}"
    assert by_tlc["FARM-M7"]["Traceability Lot Code Source"] == DAIRY  # its receipt line's
    assert by_tlc["FARM-M7"]["Internal Lot Code"] == from_the_farm
    assert (own["Quantity"], own["Unit of Measure"], own["Product Description"]) == (
        Decimal(30),
        "EA",
        "Milk",
    )
    assert (own["Ship-From Name"], own["Ship-From Address"], own["Ship-From GLN"]) == (
        "Xianhui Foods Songjiang Plant",
        SITE_TEXT,
        SITE_GLN,
    )
    assert (own["Ship-To Name"], own["Ship-To Address"]) == (
        "Supermarket",
        "88 Market Street, Shanghai 200001, CN",
    )
    assert (own["Event Date"], own["Event Time"]) == (date(2026, 3, 2), "2026-03-02T10:00:00+08:00")
    assert own["Reference Document Type"] == "Shipment"
    assert own["Reference Document Number"].startswith("SH")
    assert own["Other References"].startswith("Sales order ")
    assert all(fsma.missing_kdes(list(row.values())) == [] for row in shipped)


def test_rows_come_by_event_date_then_tlc_then_event_and_are_numbered(db: Database, scene: Scene) -> None:
    found = rows_of(db)
    (filling,) = codes(db, scene.filling)
    (made_here,) = codes(db, scene.shelf.lots["E"])
    assert [row["Row"] for row in found] == list(range(1, 8))
    assert [(row["Event Date"].day, row["Traceability Lot Code"], row["Event Type"]) for row in found] == [
        (1, "FARM-C1", "Receiving"),
        (1, "FARM-M7", "Receiving"),
        (1, "FARM-P1", "Receiving"),
        (2, "FARM-M7", "Shipping"),
        (2, filling, "Transformation"),
        (2, filling, "Transformation"),
        (2, made_here, "Shipping"),
    ]
    with db.transaction(read_only=True) as uow:
        assert fsma.count_rows(uow, fsma.resolve_filters(uow)) == 7


# --- filters ----------------------------------------------------------------------------------


def _events(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["Event Type"], row["Traceability Lot Code"]) for row in rows]


def test_the_spreadsheet_filters_by_food_dates_in_the_sites_zone_and_lot_codes(
    db: Database, scene: Scene
) -> None:
    (filling,) = codes(db, scene.filling)
    (made_here,) = codes(db, scene.shelf.lots["E"])
    assert _events(rows_of(db, start=date(2026, 3, 1), end=date(2026, 3, 1))) == [
        ("Receiving", "FARM-C1"),
        ("Receiving", "FARM-M7"),
        ("Receiving", "FARM-P1"),
    ]
    # 2 March at the plant began at 16:00 UTC on 1 March: the transformation at 17:00 UTC is in.
    assert [event for event, _tlc in _events(rows_of(db, start=date(2026, 3, 2)))] == [
        "Shipping",
        "Transformation",
        "Transformation",
        "Shipping",
    ]
    assert rows_of(db, start=date(2026, 3, 3)) == []
    assert len(rows_of(db, start=date.min, end=date.max)) == 7  # the calendar's ends bound nothing
    assert _events(rows_of(db, product_codes=["MILK"])) == [
        ("Receiving", "FARM-M7"),
        ("Shipping", "FARM-M7"),
        ("Shipping", made_here),
    ]
    # A food is in a transformation's row as its input or as its output.
    assert _events(rows_of(db, product_codes=["PORK"])) == [
        ("Receiving", "FARM-P1"),
        ("Transformation", filling),
    ]
    assert len(rows_of(db, product_ids=[scene.kitchen.products["FILLING"]])) == 2
    # Lot codes: a TLC or lotline's own code; a lot's transformations are those it went into and
    # the one that made it.
    assert _events(rows_of(db, lot_codes=["FARM-P1"])) == [
        ("Receiving", "FARM-P1"),
        ("Transformation", filling),
    ]
    assert _events(rows_of(db, lot_codes=[filling])) == [("Transformation", filling)] * 2
    assert _events(rows_of(db, lot_codes=["FARM-M7"], start=date(2026, 3, 2))) == [("Shipping", "FARM-M7")]
    # A recall scope: the forward closure of the pork lot.
    with db.transaction(read_only=True) as uow:
        scope = closure(uow, lot_ids=[scene.pork], direction=Direction.FORWARD)
    assert _events(rows_of(db, lot_ids=scope)) == [
        ("Receiving", "FARM-P1"),
        ("Transformation", filling),
        ("Transformation", filling),
    ]
    assert rows_of(db, site_ids=[scene.kitchen.site + 1_000]) == []


def test_filters_that_name_nothing_or_run_backwards_are_refused(db: Database, scene: Scene) -> None:
    with pytest.raises(NotFound) as unknown_product:
        rows_of(db, product_codes=["MILK", "NO-SUCH-FOOD"])
    assert (unknown_product.value.field, unknown_product.value.params["key"]) == ("product", "NO-SUCH-FOOD")
    with pytest.raises(NotFound) as unknown_lot:
        rows_of(db, lot_codes=["FARM-P1", "NO-SUCH-LOT"])
    assert unknown_lot.value.field == "lot"
    with pytest.raises(InvalidInput) as backwards:
        rows_of(db, start=date(2026, 3, 2), end=date(2026, 3, 1))
    assert backwards.value.code == "fsma.date_range"


# --- missing KDEs -----------------------------------------------------------------------------


def _incomplete(db: Database, clock: FakeClock, scene: Scene) -> None:
    """A receipt line that names no supplier lot code, and a customer whose address is unknown."""
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Partner, scene.shelf.customer).address = {}
        lot = uow.session.get_one(Lot, scene.cabbage)
        receipt = Receipt(
            number="R-A-2026-900002",
            site_id=scene.kitchen.site,
            supplier_id=scene.farm,
            location_id=scene.kitchen.raw_bin,
            received_at=clock.now,
            received_by="test",
        )
        uow.session.add(receipt)
        uow.session.flush()
        uow.session.add(
            ReceiptLine(
                receipt_id=receipt.id,
                line_no=1,
                product_id=lot.product_id,
                lot_id=lot.id,
                supplier_lot_code=None,
                entered_qty=Decimal(5),
                entered_unit=KG,
                base_qty=Decimal(5),
            )
        )


def test_a_received_lot_without_its_suppliers_lot_code_is_listed_as_missing_its_tlc(
    db: Database, clock: FakeClock, scene: Scene
) -> None:
    _incomplete(db, clock, scene)
    lacking = {
        (row["Event Type"], row["Reference Document Number"]): fsma.missing_kdes(list(row.values()))
        for row in rows_of(db)
    }
    assert lacking[("Receiving", "R-A-2026-900002")] == ["Traceability Lot Code"]
    shipped = [missing for (event, _number), missing in lacking.items() if event == "Shipping"]
    assert shipped == [["Ship-To Address"], ["Ship-To Address"]]
    assert sum(1 for missing in lacking.values() if missing) == 3


# --- files ------------------------------------------------------------------------------------


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_opens_in_excel_with_chinese_intact_and_lists_the_rows_missing_kdes_beside_it(
    db: Database, clock: FakeClock, scene: Scene, tmp_path: Path
) -> None:
    _incomplete(db, clock, scene)
    sheet_path, missing_path = tmp_path / "fsma.csv", tmp_path / "fsma-missing-kdes.csv"
    with db.transaction(read_only=True) as uow:
        rows = fsma.spreadsheet_rows(uow, fsma.resolve_filters(uow))
        with (
            sheet_path.open("w", encoding="utf-8", newline="") as sheet,
            missing_path.open("w", encoding="utf-8", newline="") as missing,
        ):
            written = fsma.write_csv(rows, sheet, missing)
    assert written == fsma.Written(rows=8, rows_missing_kdes=3)
    raw = sheet_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    table = _csv(sheet_path.read_text(encoding="utf-8-sig"))
    assert table[0] == list(fsma.HEADERS)
    assert [len(line) for line in table] == [len(fsma.HEADERS)] * 9
    pork = next(line for line in table if line[H["Traceability Lot Code"]] == "FARM-P1")
    assert pork[H["Ship-To Address"]] == SITE_TEXT  # Chinese survives
    assert (pork[H["Quantity"]], pork[H["Event Date"]]) == ("60", "2026-03-01")
    gaps = _csv(missing_path.read_text(encoding="utf-8-sig"))
    assert gaps[0] == list(fsma.MISSING_HEADERS)
    assert [line[1:] for line in gaps[1:]] == [
        ["Receiving", "", "R-A-2026-900002", "Traceability Lot Code"],
        ["Shipping", "FARM-M7", gaps[1 + 1][3], "Ship-To Address"],
        ["Shipping", table[-1][H["Traceability Lot Code"]], gaps[1 + 2][3], "Ship-To Address"],
    ]
    # The row numbers refer to the spreadsheet's rows.
    for line in gaps[1:]:
        assert table[int(line[0])][H["Reference Document Number"]] == line[3]


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _column(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference)
    assert letters is not None
    number = 0
    for letter in letters.group():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def read_xlsx(content: bytes) -> dict[str, Any]:
    """Each sheet's cells (as lists of rows), frozen pane and autofilter: zipfile and XML only."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        names = [sheet.get("name") for sheet in workbook.iter(f"{{{_NS['m']}}}sheet")]
        shared: list[str] = []
        if "xl/sharedStrings.xml" in book.namelist():
            strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in item.iter(f"{{{_NS['m']}}}t")) for item in strings]
        sheets: dict[str, Any] = {}
        for number, name in enumerate(names, start=1):
            root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{number}.xml"))
            rows: list[list[Any]] = []
            for row in root.iterfind(".//m:sheetData/m:row", _NS):
                cells: list[Any] = []
                for cell in row.iterfind("m:c", _NS):
                    column = _column(cell.get("r", ""))
                    cells.extend([None] * (column - len(cells)))
                    kind, value = cell.get("t"), cell.find("m:v", _NS)
                    if kind == "inlineStr":
                        cells.append("".join(t.text or "" for t in cell.iter(f"{{{_NS['m']}}}t")))
                    elif kind == "s" and value is not None:
                        cells.append(shared[int(value.text or 0)])
                    else:
                        cells.append(Decimal(value.text) if value is not None and value.text else None)
                rows.append(cells)
            pane = root.find(".//m:pane", _NS)
            autofilter = root.find("m:autoFilter", _NS)
            sheets[str(name)] = {
                "rows": rows,
                "frozen": pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1",
                "autofilter": autofilter.get("ref") if autofilter is not None else None,
            }
        return sheets


def test_the_xlsx_has_the_spreadsheet_frozen_and_filterable_and_a_missing_kdes_sheet(
    db: Database, clock: FakeClock, scene: Scene
) -> None:
    _incomplete(db, clock, scene)
    content = io.BytesIO()
    with db.transaction(read_only=True) as uow:
        written = fsma.write_xlsx(fsma.spreadsheet_rows(uow, fsma.resolve_filters(uow)), content)
    assert written == fsma.Written(rows=8, rows_missing_kdes=3)
    book = read_xlsx(content.getvalue())
    assert list(book) == ["FSMA 204", "Missing KDEs"]
    sheet, gaps = book["FSMA 204"], book["Missing KDEs"]
    assert sheet["rows"][0] == list(fsma.HEADERS)
    assert len(sheet["rows"]) == 9
    assert (sheet["frozen"], gaps["frozen"]) == (True, True)
    assert sheet["autofilter"] == "A1:AC9"
    pork = next(row for row in sheet["rows"] if len(row) > 4 and row[H["Traceability Lot Code"]] == "FARM-P1")
    assert pork[H["Row"]] == Decimal(pork[H["Row"]])  # a number, for sorting
    assert pork[H["Quantity"]] == Decimal(60)
    assert pork[H["Ship-To Address"]] == SITE_TEXT
    # Excel's serial day number of 2026-03-01 (days since 1899-12-30), shown as yyyy-mm-dd.
    assert pork[H["Event Date"]] == Decimal((date(2026, 3, 1) - date(1899, 12, 30)).days)
    assert gaps["rows"][0] == list(fsma.MISSING_HEADERS)
    assert gaps["rows"][1][1:] == [
        "Receiving",
        None,
        "R-A-2026-900002",
        "Traceability Lot Code",
    ]
    assert [row[4] for row in gaps["rows"][1:]] == [
        "Traceability Lot Code",
        "Ship-To Address",
        "Ship-To Address",
    ]
    assert gaps["autofilter"] == "A1:E4"


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(db: Database, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(db.settings, db=db, clock=clock, run_sealer=False)
    if not any(getattr(route, "path", "") == f"{API_PREFIX}/fsma204" for route in app.routes):
        app.include_router(fsma_api.router, prefix=API_PREFIX)  # until app.py registers it
    with TestClient(app) as client:
        yield client


def test_the_api_streams_the_spreadsheet_as_csv_or_xlsx_with_its_counts(
    api: TestClient, db: Database, people: People, scene: Scene
) -> None:
    answer = api.get("/api/v1/fsma204", params={"from": "2026-03-02"}, headers=people.bearer("viewer"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="fsma204-\d{8}T\d{6}Z\.csv"', answer.headers["content-disposition"]
    )
    assert (answer.headers["x-fsma-rows"], answer.headers["x-fsma-rows-missing-kdes"]) == ("4", "0")
    table = _csv(answer.content.decode("utf-8-sig"))
    assert table[0] == list(fsma.HEADERS)
    assert len(table) == 5
    by_lot = api.get(
        "/api/v1/fsma204",
        params=[("lot", "FARM-P1"), ("product", "PORK"), ("format", "xlsx")],
        headers=people.bearer("viewer"),
    )
    assert by_lot.status_code == 200, by_lot.text
    assert by_lot.headers["content-type"] == fsma.XLSX_MEDIA_TYPE
    assert by_lot.headers["content-disposition"].endswith('.xlsx"')
    sheet = read_xlsx(by_lot.content)["FSMA 204"]["rows"]
    assert [row[H["Event Type"]] for row in sheet[1:]] == ["Receiving", "Transformation"]
    companion = api.get("/api/v1/fsma204", params={"part": "missing_kdes"}, headers=people.bearer("viewer"))
    assert companion.status_code == 200
    assert companion.headers["content-disposition"].endswith('-missing-kdes.csv"')
    assert _csv(companion.content.decode("utf-8-sig")) == [list(fsma.MISSING_HEADERS)]
    # The caller's sites only: the warehouse user reads site B, where nothing happened.
    elsewhere = api.get("/api/v1/fsma204", headers=people.bearer("warehouse"))
    assert elsewhere.headers["x-fsma-rows"] == "0"


def test_the_api_refuses_bad_filters_as_problem_documents(
    api: TestClient, people: People, scene: Scene
) -> None:
    viewer = people.bearer("viewer")
    cases = [
        ({"from": "2026-03-05", "to": "2026-03-01"}, 422, "fsma.date_range"),
        ({"from": "2 March"}, 422, None),
        ({"format": "pdf"}, 422, None),
        ({"product": "NO-SUCH-FOOD"}, 404, "not_found"),
        ({"lot": "NO-SUCH-LOT"}, 404, "not_found"),
        ({"product_id": "0"}, 422, None),
    ]
    for params, status, code in cases:
        answer = api.get("/api/v1/fsma204", params=params, headers=viewer)
        assert answer.status_code == status, (params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), params
        if code is not None:
            assert answer.json()["code"] == code, params
    assert api.get("/api/v1/fsma204").status_code == 401


# --- the console ------------------------------------------------------------------------------


def _console(database_url: str, *args: str) -> Any:
    """``lotline fsma …`` as cli.py will register it (the typer group under "fsma")."""
    root = typer.Typer()
    root.add_typer(fsma_cli.app, name="fsma")
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(
            root,
            ["fsma", *args],
            env={
                "LOTLINE_DATABASE_URL": database_url,
                "LOTLINE_AUDIT_KEY": AUDIT_KEY,
                "LOTLINE_SECRET_KEY": "cli-test-secret-key-value",
                "LOTLINE_DEFAULT_LANGUAGE": "en",
                "COLUMNS": "250",
                "NO_COLOR": "1",
            },
            catch_exceptions=False,
        )
    finally:
        get_settings.cache_clear()


def test_the_console_exports_csv_and_xlsx_and_says_how_many_rows_miss_kdes(
    database_url: str,
    db: Database,
    clock: FakeClock,
    scene: Scene,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    _incomplete(db, clock, scene)
    out = tmp_path / "recall.csv"
    done = _console(database_url, "export", "--out", str(out), "--from", "2026-03-02")
    assert done.exit_code == 0, done.output
    assert "5 rows written" in done.output
    assert "3 of them miss a required KDE" in done.output
    assert "recall-missing-kdes.csv" in done.output
    assert len(_csv(out.read_text(encoding="utf-8-sig"))) == 6
    gaps = _csv((tmp_path / "recall-missing-kdes.csv").read_text(encoding="utf-8-sig"))
    assert sorted(line[4] for line in gaps[1:]) == [
        "Ship-To Address",
        "Ship-To Address",
        "Traceability Lot Code",
    ]
    book = tmp_path / "milk.xlsx"
    done = _console(
        database_url,
        "export",
        "--format",
        "xlsx",
        "--out",
        str(book),
        "--product",
        "MILK",
        "--lot",
        "FARM-M7",
    )
    assert done.exit_code == 0, done.output
    assert "2 rows written" in done.output
    assert len(read_xlsx(book.read_bytes())["FSMA 204"]["rows"]) == 3
    for args, message in (
        (["--from", "03/01/2026"], "must be a date"),
        (["--product", "NO-SUCH-FOOD"], "NO-SUCH-FOOD"),
        (["--out", str(tmp_path / "no-such-dir" / "x.csv")], "cannot write"),
    ):
        refused = _console(database_url, "export", "--out", str(tmp_path / "x.csv"), *args)
        assert refused.exit_code == 1, (args, refused.output)
        assert message in refused.output, (args, refused.output)


# --- receiving carries the TLC source ---------------------------------------------------------


def test_receiving_keeps_the_tlc_source_the_supplier_gave_through_the_api(
    api: TestClient, db: Database, people: People, scene: Scene
) -> None:
    body = {
        "site_id": scene.kitchen.site,
        "supplier_id": scene.farm,
        "location_id": scene.kitchen.raw_bin,
        "lines": [
            {
                "product_id": scene.kitchen.products["FLOUR"],
                "supplier_lot_code": "FARM-F9",
                "quantity": "10",
                "unit": "KGM",
                "production_date": "2026-03-01",
                "tlc_source": "Green Farm mill, 3 Mill Road, Jiaxing, CN",
            }
        ],
    }
    posted = api.post("/api/v1/receipts", json=body, headers=people.bearer("admin"))
    assert posted.status_code == 201, posted.text
    assert posted.json()["lines"][0]["tlc_source"] == "Green Farm mill, 3 Mill Road, Jiaxing, CN"
    (flour,) = [row for row in rows_of(db, lot_codes=["FARM-F9"])]
    assert flour["Traceability Lot Code Source"] == "Green Farm mill, 3 Mill Road, Jiaxing, CN"
    too_long = {**body, "lines": [{**body["lines"][0], "tlc_source": "x" * 201}]}
    refused = api.post("/api/v1/receipts", json=too_long, headers=people.bearer("admin"))
    assert refused.status_code == 422
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalar(
            select(ReceiptLine.tlc_source).where(ReceiptLine.supplier_lot_code == "FARM-F9")
        )


def test_the_receipt_command_gives_its_tlc_source_to_the_lines_that_name_none(
    database_url: str, db: Database, scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    flour = {"product_id": scene.kitchen.products["FLOUR"], "quantity": "5", "unit": "KGM"}
    flour["production_date"] = "2026-03-01"
    lines = tmp_path / "lines.json"
    lines.write_text(
        json.dumps(
            [
                {**flour, "supplier_lot_code": "FARM-F10"},
                {**flour, "supplier_lot_code": "FARM-F11", "tlc_source": "Own mill"},
            ]
        ),
        encoding="utf-8",
    )
    with db.transaction(read_only=True) as uow:
        site_code = uow.session.get_one(Site, scene.kitchen.site).code
        location = uow.session.get_one(Location, scene.kitchen.raw_bin).code
    args = ["receipt", "create", "--site", site_code, "--supplier", "FARM", "--location", location]
    args += ["--file", str(lines), "--user", "admin", "--tlc-source", "Green Farm mill, Jiaxing, CN"]
    env = {"LOTLINE_DATABASE_URL": database_url, "LOTLINE_AUDIT_KEY": AUDIT_KEY}
    env |= {"LOTLINE_SECRET_KEY": "cli-test-secret-key-value", "LOTLINE_DEFAULT_LANGUAGE": "en"}
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli.app, args, env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    with db.transaction(read_only=True) as uow:
        given = dict(
            uow.session.execute(
                select(ReceiptLine.supplier_lot_code, ReceiptLine.tlc_source).where(
                    ReceiptLine.supplier_lot_code.in_(["FARM-F10", "FARM-F11"])
                )
            )
            .tuples()
            .all()
        )
    assert given == {"FARM-F10": "Green Farm mill, Jiaxing, CN", "FARM-F11": "Own mill"}


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_companys_spreadsheet_has_every_kde_on_every_row(db: Database, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.transaction(clock=clock) as uow:
        demo.load(uow)
    found = rows_of(db)
    assert {row["Event Type"] for row in found} >= {"Receiving", "Transformation"}
    assert {
        row["Row"]: fsma.missing_kdes(list(row.values()))
        for row in found
        if fsma.missing_kdes(list(row.values()))
    } == {}
    received = [row for row in found if row["Event Type"] == "Receiving"]
    assert {row["Traceability Lot Code"] for row in received} >= {"JH-0329", "WDL-260105", "CM-1121"}
    assert all(
        "Jinhua" in row["Traceability Lot Code Source"]
        for row in received
        if row["Traceability Lot Code"].startswith("JH-")
    )
