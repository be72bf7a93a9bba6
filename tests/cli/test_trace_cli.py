"""``lotline trace``: the engine's summary at the console, as JSON and as tables."""

from __future__ import annotations

import csv
import io
import json

from lotline.models.lot import Lot
from lotline.uow import Database
from tests.app_fixtures import People
from tests.cli.conftest import Cli
from tests.conftest import FakeClock
from tests.production_fixtures import build_kitchen, two_level_run


def test_the_console_traces_backward_to_the_raw_materials(
    run: Cli, db: Database, clock: FakeClock, people: People
) -> None:
    kitchen = build_kitchen(db, clock, people)
    made = two_level_run(db, clock, kitchen)
    with db.transaction(read_only=True) as uow:
        dumpling = uow.session.get_one(Lot, made["dumpling"]).code
    traced = run("trace", dumpling, "--backward", "--format", "json")
    assert traced.exit_code == 0, traced.output
    body = json.loads(traced.output)
    reached = {lot["lot"] for lot in body["lots"]}
    assert reached >= {kitchen.codes["FLOUR"], kitchen.codes["PORK"], kitchen.codes["CABBAGE"], dumpling}
    assert kitchen.codes["PORK-Q"] not in reached
    table = run("trace", dumpling, "--backward")
    assert table.exit_code == 0
    assert kitchen.codes["PORK"] in table.output
    both = run("trace", dumpling, "--backward", "--forward")
    assert both.exit_code != 0


def test_the_console_writes_the_traces_fsma_rows_as_csv(
    run: Cli, db: Database, clock: FakeClock, people: People
) -> None:
    kitchen = build_kitchen(db, clock, people)
    made = two_level_run(db, clock, kitchen)
    with db.transaction(read_only=True) as uow:
        dumpling = uow.session.get_one(Lot, made["dumpling"]).code
    traced = run("trace", dumpling, "--backward", "--format", "csv")
    assert traced.exit_code == 0, traced.output
    rows = list(csv.DictReader(io.StringIO(traced.output.lstrip("\ufeff"))))
    kinds = {row["Event Type"] for row in rows}
    assert "Transformation" in kinds
    made_here = {row["Traceability Lot Code"] for row in rows if row["Event Type"] == "Transformation"}
    assert dumpling in made_here
    assert all(row["Internal Lot Code"] != kitchen.codes["PORK-Q"] for row in rows)
