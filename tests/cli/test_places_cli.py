"""``lotline location|partner …`` against the demo company's sites, locations and partners."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from lotline import clikit, demo
from lotline.catalog import external_ids
from lotline.domain.gs1 import gtin_check_digit
from lotline.models.catalog import Location, Partner
from lotline.places import service as places
from lotline.uow import Actor, Database
from tests.cli.conftest import Cli


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


def line_of(output: str, text: str) -> str:
    (line,) = [line for line in output.splitlines() if text in line]
    return line


def depth(line: str) -> int:
    """How far a tree line is indented: where its code starts."""
    return len(line) - len(line.lstrip("│├└─ "))


def codes(nodes: list[dict[str, Any]]) -> list[str]:
    return [node["code"] for node in nodes]


# --- locations -------------------------------------------------------------------------------


def test_location_list_draws_the_site_tree_with_kind_and_storage_condition(
    run: Cli, demo_db: Database
) -> None:
    result = run("location", "list", "--site", "SH01")

    assert result.exit_code == 0, result.output
    out = result.stdout
    site, warehouse, cold_room, bin_line = (
        line_of(out, "SH01"),
        line_of(out, "WH-SJ"),
        line_of(out, "CR-1 "),
        line_of(out, "CR-1-02"),
    )
    assert depth(site) < depth(warehouse) < depth(cold_room) < depth(bin_line)
    assert "WAREHOUSE" in warehouse
    assert "COLD_ROOM" in cold_room
    assert "storage: CHILLED" in cold_room
    assert "BIN" in bin_line
    assert "storage: CHILLED" in bin_line
    assert "Cold room 1 bin 2" in bin_line
    assert "QA area" in line_of(out, "QA-1")
    assert depth(line_of(out, "DRY-1")) == depth(cold_room)  # a zone beside the cold rooms
    assert "FZ-A" not in out  # SH02's


def test_location_list_without_a_site_shows_every_site(run: Cli, demo_db: Database) -> None:
    result = run("location", "list")

    assert result.exit_code == 0, result.output
    assert "Xianhui Foods Songjiang Plant" in result.stdout
    assert "VEHICLE" in line_of(result.stdout, "TRUCK-01")


def test_location_list_as_json_nests_children(run: Cli, demo_db: Database) -> None:
    result = run("location", "list", "--site", "sh01", "--json")

    (site,) = json.loads(result.stdout)
    assert site["site"] == "SH01"
    (warehouse,) = site["locations"]
    assert warehouse["code"] == "WH-SJ"
    assert codes(warehouse["children"]) == ["CR-1", "DOCK-1", "DRY-1", "FZ-1", "QA-1"]
    cold_room = warehouse["children"][0]
    assert cold_room["storage_condition_code"] == "CHILLED"
    assert codes(cold_room["children"]) == ["CR-1-01", "CR-1-02", "CR-1-03", "CR-1-QA"]


def test_a_moved_location_shows_under_its_new_parent(run: Cli, demo_db: Database) -> None:
    with demo_db.transaction() as uow:
        by_code = {
            location.code: location.id
            for location in uow.session.execute(
                select(Location).where(Location.code.in_(["DRY-1", "QA-1"]))
            ).scalars()
        }
        places.update_location(uow, location_id=by_code["QA-1"], changes={"parent_id": by_code["DRY-1"]})

    out = run("location", "list", "--site", "SH01").stdout

    assert depth(line_of(out, "QA-1")) > depth(line_of(out, "DRY-1"))


def test_location_list_for_an_unknown_site_fails_naming_it(run: Cli, demo_db: Database) -> None:
    result = run("location", "list", "--site", "XX9")

    assert result.exit_code == 1
    assert "Error (site)" in result.stderr
    assert "XX9" in result.stderr


# --- partners --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), {"JINHUA-MEAT", "WUDELI", "CHONGMING-VEG", "LIANHUA", "HEMA", "SF-COLD"}),
        (("--role", "supplier"), {"JINHUA-MEAT", "WUDELI", "CHONGMING-VEG"}),
        (("--role", "customer"), {"LIANHUA", "HEMA"}),
        (("--role", "carrier"), {"SF-COLD"}),
        (("--inactive",), set()),
    ],
)
def test_partner_list_filters_by_role(
    run: Cli, demo_db: Database, options: tuple[str, ...], expected: set[str]
) -> None:
    table = run("partner", "list", *options)
    as_json = run("partner", "list", *options, "--json")

    assert table.exit_code == 0, table.output
    assert {row["code"] for row in json.loads(as_json.stdout)} == expected
    for code in expected:
        assert code in table.stdout


def test_partner_list_shows_roles_and_transit_days(run: Cli, demo_db: Database) -> None:
    out = run("partner", "list").stdout

    hema = line_of(out, "HEMA")
    assert "customer" in hema
    assert "盒马鲜生" in hema
    assert "Asia/Shanghai" in hema
    assert " 2 " in hema  # transit days
    assert "carrier" in line_of(out, "SF-COLD")


def test_an_unknown_role_is_refused(run: Cli, demo_db: Database) -> None:
    result = run("partner", "list", "--role", "broker")

    assert result.exit_code != 0
    assert "supplier" in result.output


def test_partner_show_prints_address_gln_contacts_and_external_ids(run: Cli, demo_db: Database) -> None:
    gln = "690123400000" + str(gtin_check_digit("690123400000"))
    with demo_db.transaction() as uow:
        meat = uow.session.execute(select(Partner).where(Partner.code == "JINHUA-MEAT")).scalar_one()
        places.update_partner(uow, partner_id=meat.id, changes={"gln": gln, "default_transit_days": 1})
        external_ids.link(uow, system="ERP", entity_type="partner", key="V-100200", entity_id=meat.id)

    result = run("partner", "show", "JINHUA-MEAT")
    as_json = json.loads(run("partner", "show", "JINHUA-MEAT", "--json").stdout)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert gln in line_of(out, "GLN")
    assert "金华 Jinhua" in line_of(out, "city")
    assert "CN" in line_of(out, "country")
    assert "Asia/Shanghai" in line_of(out, "time zone")
    assert "1" in line_of(out, "transit days")
    assert "+86 579 8231 0000" in line_of(out, "周强")
    assert "V-100200" in line_of(out, "ERP")
    assert as_json["gln"] == gln
    assert as_json["external_ids"] == [{"system": "ERP", "key": "V-100200"}]
    assert as_json["contacts"][0]["name"] == "周强"


def test_partner_show_gives_minimum_delivery_shelf_life_and_decimals_as_strings(
    run: Cli, demo_db: Database
) -> None:
    shown = run("partner", "show", "LIANHUA")
    as_json = json.loads(run("partner", "show", "LIANHUA", "--json").stdout)

    assert "60 %" in line_of(shown.stdout, "minimum shelf life at delivery")
    assert "沈丽 (QA)" in shown.stdout  # the demo customer's QA contact, for recall notices
    assert as_json["min_delivery_percent"] == "60.000000"


def test_partner_show_of_an_unknown_code_fails(run: Cli, demo_db: Database) -> None:
    result = run("partner", "show", "NOBODY")

    assert result.exit_code == 1
    assert "NOBODY" in result.stderr
