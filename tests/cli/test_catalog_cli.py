"""``lotline product|lot-type|storage-condition|unit …`` against the demo company's master data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from lotline import clikit, demo
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ConfigVersion, ExternalId, LotType, Product, StorageCondition
from lotline.models.lot import Lot
from lotline.uow import Actor, Database
from tests.cli.conftest import Cli

WRITTEN = (Product, AuditRecord, ConfigVersion, ExternalId)


@pytest.fixture(autouse=True)
def console_width_from_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let Rich read the width from each run's COLUMNS: it keeps the one set when the consoles were
    made (pytest-xdist sets COLUMNS=80), and a wrapped cell would split the lines asserted on."""
    for console in (clikit.console, clikit.errors):
        monkeypatch.setattr(console, "_width", None)


@pytest.fixture
def demo_db(db: Database) -> Database:
    with db.transaction(actor=Actor(kind="system", user_id=None, name="demo loader")) as uow:
        demo.load(uow)
    return db


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def counts(db: Database) -> dict[str, int]:
    return {model.__name__: count(db, model) for model in WRITTEN}


def product(db: Database, code: str) -> Product:
    with db.transaction(read_only=True) as uow:
        return uow.session.execute(select(Product).where(Product.code == code)).scalar_one()


def bun(db: Database, **changes: Any) -> dict[str, Any]:
    """A new product in the shape of the API's PUT body."""
    with db.transaction(read_only=True) as uow:
        frozen = uow.session.execute(select(StorageCondition.id).where(StorageCondition.code == "FROZEN"))
        finished = uow.session.execute(select(LotType.id).where(LotType.code == "FG"))
        ids = {"storage_condition_id": frozen.scalar_one(), "lot_type_id": finished.scalar_one()}
    return {
        "code": "BUN-PORK",
        "gtin": "06901234567915",
        "name_zh": "猪肉包子",
        "name_en": "Pork buns",
        "category": "frozen",
        "base_unit": "KGM",
        "catch_weight": True,
        "shelf_life_amount": 12,
        "shelf_life_unit": "MONTHS",
        "expiry_kind": "USE_BY",
        "min_receipt_percent": 66.5,
        **ids,
        **changes,
    }


def write(tmp_path: Path, body: object, name: str = "product.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return str(path)


def lines_with(output: str, text: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


# --- reading ---------------------------------------------------------------------------------


def test_product_list_shows_every_demo_product_with_its_rule_and_references(
    run: Cli, demo_db: Database
) -> None:
    result = run("product", "list")

    assert result.exit_code == 0, result.output
    for code in ("CABBAGE", "DUMP-PORK-1KG", "DUMP-VEG-500G", "FLOUR-25KG", "PORK-MINCE"):
        assert lines_with(result.stdout, code), code
    (dumplings,) = lines_with(result.stdout, "DUMP-PORK-1KG")
    for shown in ("06901234567892", "猪肉白菜水饺 1kg", "Pork & cabbage dumplings 1 kg", "FROZEN", "FG"):
        assert shown in dumplings
    assert "12 months use-by" in dumplings
    (flour,) = lines_with(result.stdout, "FLOUR-25KG")
    assert "12 months best-before" in flour
    assert "AMBIENT" in flour
    (pork,) = lines_with(result.stdout, "PORK-MINCE")
    assert "5 days use-by" in pork
    assert "yes" in pork  # catch weight


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--category", "raw"), {"CABBAGE", "FLOUR-25KG", "PORK-MINCE"}),
        (("--category", "frozen"), {"DUMP-PORK-1KG", "DUMP-VEG-500G"}),
        (("--search", "dumplings"), {"DUMP-PORK-1KG", "DUMP-VEG-500G"}),
        (("--search", "PORK"), {"DUMP-PORK-1KG", "PORK-MINCE"}),
        (("--search", "水饺"), {"DUMP-PORK-1KG", "DUMP-VEG-500G"}),
        (("--search", "567908"), {"DUMP-VEG-500G"}),
        (("--category", "raw", "--search", "pork"), {"PORK-MINCE"}),
        (("--search", "100%_"), set()),
        (("--inactive",), set()),
    ],
)
def test_product_list_filters_narrow_the_rows(
    run: Cli, demo_db: Database, options: tuple[str, ...], expected: set[str]
) -> None:
    result = run("product", "list", *options, "--json")

    assert result.exit_code == 0, result.output
    assert {row["code"] for row in json.loads(result.stdout)} == expected


def test_product_list_as_json_keeps_decimals_as_strings_and_names_the_references(
    run: Cli, demo_db: Database
) -> None:
    result = run("product", "list", "--search", "DUMP-PORK", "--json")

    (row,) = json.loads(result.stdout)
    assert row["min_ship_percent"] == "50.000000"
    assert row["storage_condition_code"] == "FROZEN"
    assert row["lot_type_code"] == "FG"


def test_product_list_says_when_the_limit_cut_it_short(run: Cli, demo_db: Database) -> None:
    result = run("product", "list", "--limit", "2", "--json")

    assert [row["code"] for row in json.loads(result.stdout)] == ["CABBAGE", "DUMP-PORK-1KG"]
    assert "showing the first 2" in result.stderr


def test_product_show_prints_every_attribute(run: Cli, demo_db: Database) -> None:
    result = run("product", "show", "PORK-MINCE")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Minced pork" in out
    assert "猪肉馅" in out
    assert lines_with(out, "CHILLED (0–4 °C)")
    assert "5 days use-by" in out
    assert "3 days" in lines_with(out, "minimum shelf life at receipt")[0]
    assert lines_with(out, "minimum shelf life at shipment")[0].rstrip(" │").endswith("-")
    assert "RAW Raw material / 原料" in out
    assert lines_with(out, "1 GRM")[0].count("0.001 KGM") == 1  # the unit conversions of KGM
    assert "first version" in lines_with(out, "shelf_life")[0]
    assert "demo loader" in lines_with(out, "shelf_life")[0]


def test_product_show_of_an_unknown_code_fails_naming_it(run: Cli, demo_db: Database) -> None:
    result = run("product", "show", "NO-SUCH")

    assert result.exit_code == 1
    assert "NO-SUCH" in result.stderr
    assert "not found" in result.stderr


# --- upsert ----------------------------------------------------------------------------------


def test_upserting_the_same_file_twice_creates_once_then_updates(
    run: Cli, demo_db: Database, tmp_path: Path
) -> None:
    products_before = count(demo_db, Product)
    file = write(tmp_path, bun(demo_db))

    created = run("product", "upsert", "--file", file)
    again = run("product", "upsert", "--file", file)
    renamed = run("product", "upsert", "--file", write(tmp_path, bun(demo_db, name_en="Steamed pork buns")))

    assert created.exit_code == 0, created.output
    assert "BUN-PORK created" in created.stdout
    assert again.exit_code == 0, again.output
    assert "BUN-PORK unchanged" in again.stdout
    assert renamed.exit_code == 0, renamed.output
    assert "BUN-PORK updated" in renamed.stdout
    assert count(demo_db, Product) == products_before + 1
    stored = product(demo_db, "BUN-PORK")
    assert stored.name_en == "Steamed pork buns"
    assert str(stored.min_receipt_percent) == "66.500000"  # exact, never through a float
    assert stored.shelf_life_version == 1  # a name is no GMP change


def test_a_shelf_life_change_without_a_reason_is_refused_and_writes_nothing(
    run: Cli, demo_db: Database, tmp_path: Path
) -> None:
    assert run("product", "upsert", "--file", write(tmp_path, bun(demo_db))).exit_code == 0
    before = counts(demo_db)
    longer = write(tmp_path, bun(demo_db, shelf_life_amount=18), "longer.json")

    refused = run("product", "upsert", "--file", longer)

    assert refused.exit_code == 1
    assert "Error (reason)" in refused.stderr
    assert "shelf_life_amount" in refused.stderr
    assert counts(demo_db) == before
    assert product(demo_db, "BUN-PORK").shelf_life_amount == 12


def test_a_shelf_life_change_with_a_reason_shows_in_the_history(
    run: Cli, demo_db: Database, tmp_path: Path
) -> None:
    assert run("product", "upsert", "--file", write(tmp_path, bun(demo_db))).exit_code == 0
    longer = write(tmp_path, bun(demo_db, shelf_life_amount=18), "longer.json")

    changed = run("product", "upsert", "--file", longer, "--reason", "stability study SS-2026-04")
    shown = run("product", "show", "BUN-PORK")
    as_json = json.loads(run("product", "show", "BUN-PORK", "--json").stdout)

    assert changed.exit_code == 0, changed.output
    assert "shelf-life rule version 2" in changed.stdout
    assert "18 months use-by" in shown.stdout
    (second,) = lines_with(shown.stdout, "stability study SS-2026-04")
    assert "shelf_life_amount: 12 → 18" in second
    assert "cli:" in second  # who: the operator at the console
    assert [(v["version"], v["reason"]) for v in as_json["history"]] == [
        (1, None),
        (2, "stability study SS-2026-04"),
    ]
    assert as_json["history"][1]["changed_by"].startswith("cli:")
    assert as_json["shelf_life_version"] == 2


def test_a_reason_in_the_file_is_taken_too(run: Cli, demo_db: Database, tmp_path: Path) -> None:
    assert run("product", "upsert", "--file", write(tmp_path, bun(demo_db))).exit_code == 0
    body = bun(demo_db, retest_days=90, reason="retest programme introduced")

    result = run("product", "upsert", "--file", write(tmp_path, body, "retest.json"))

    assert result.exit_code == 0, result.output
    assert product(demo_db, "BUN-PORK").retest_days == 90


def test_a_gtin_with_a_wrong_check_digit_is_refused_naming_the_field_and_writes_nothing(
    run: Cli, demo_db: Database, tmp_path: Path
) -> None:
    before = counts(demo_db)

    refused = run("product", "upsert", "--file", write(tmp_path, bun(demo_db, gtin="06901234567916")))

    assert refused.exit_code == 1
    assert "Error (gtin)" in refused.stderr
    assert "check digit" in refused.stderr
    assert counts(demo_db) == before


def test_a_file_the_api_schema_refuses_names_every_field_and_writes_nothing(
    run: Cli, demo_db: Database, tmp_path: Path
) -> None:
    before = counts(demo_db)
    body = {
        key: value for key, value in bun(demo_db, gtin="123", colour="red").items() if key != "lot_type_id"
    }

    refused = run("product", "upsert", "--file", write(tmp_path, body))

    assert refused.exit_code == 1
    assert "Error (gtin)" in refused.stderr
    for field in ("gtin", "lot_type_id is required", "colour is not a known field"):
        assert field in refused.stderr
    assert counts(demo_db) == before


@pytest.mark.parametrize("content", ['{"code": ', "[1, 2]", '{"code": "X", "min_ship_percent": NaN}'])
def test_a_file_that_is_not_a_json_object_is_refused(
    run: Cli, demo_db: Database, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    before = counts(demo_db)

    refused = run("product", "upsert", "--file", str(path))

    assert refused.exit_code == 1
    assert "Error (file)" in refused.stderr
    assert counts(demo_db) == before


# --- lot types, storage conditions, units ------------------------------------------------------


def test_lot_type_list_and_show(run: Cli, demo_db: Database) -> None:
    listed = run("lot-type", "list")
    shown = run("lot-type", "show", "FG")
    as_json = json.loads(run("lot-type", "show", "FG", "--json").stdout)

    assert listed.exit_code == 0, listed.output
    assert "R{site}{yy}{doy:03}{seq:03}" in lines_with(listed.stdout, "RAW")[0]
    assert "Finished goods" in lines_with(listed.stdout, "FG")[0]
    assert shown.exit_code == 0, shown.output
    assert "{site}{yy}{doy:03}{seq:04}" in shown.stdout
    assert '"shift"' in shown.stdout  # the custom-field schema
    assert "first version" in lines_with(shown.stdout, "│ coding │")[0]
    assert as_json["custom_schema"]["additionalProperties"] is False
    assert as_json["history"][0]["aspect"] == "coding"


def test_storage_condition_list_shows_the_limits(run: Cli, demo_db: Database) -> None:
    result = run("storage-condition", "list")
    as_json = json.loads(run("storage-condition", "list", "--json").stdout)

    assert result.exit_code == 0, result.output
    (frozen,) = lines_with(result.stdout, "FROZEN")
    assert frozen.count("≤ -18 °C") == 3  # both names, then the limits
    (ambient,) = lines_with(result.stdout, "AMBIENT")
    assert "10–25 °C" in ambient
    assert "humidity ≤ 65 %" in ambient
    assert {row["code"]: row["max_temp_c"] for row in as_json}["FROZEN"] == "-18.000000"


def test_unit_list_shows_the_factors(run: Cli, db: Database) -> None:
    result = run("unit", "list")
    as_json = json.loads(run("unit", "list", "--json").stdout)

    assert result.exit_code == 0, result.output
    assert "0.001" in lines_with(result.stdout, "GRM")[0]
    assert {row["code"]: row["to_base"] for row in as_json}["TNE"] == "1000.000000"


# --- lot list --------------------------------------------------------------------------------


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs while the test does."""
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


def test_lot_list_shows_product_codes_looked_up_once_for_the_page(
    run: Cli, demo_db: Database, statements: list[str]
) -> None:
    result = run("lot", "list")
    product_queries = [s for s in statements if "FROM product" in s]

    assert result.exit_code == 0, result.output
    with demo_db.transaction(read_only=True) as uow:
        lots_per_product = uow.session.execute(
            select(Product.code, func.count(Lot.id))
            .join(Lot, Lot.product_id == Product.id)
            .group_by(Product.code)
        ).tuples()
        expected = {code: lots for code, lots in lots_per_product}
    assert len(expected) >= 3
    shown = {code: len(lines_with(result.stdout, f"│ {code} ")) for code in expected}
    assert shown == expected
    assert len(product_queries) == 1, product_queries
