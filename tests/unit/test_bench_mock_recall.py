"""The ``mock_recall`` benchmark (W5) runs end to end at the hidden ``smoke`` scale (no timing asserted).

Mirrors ``test_bench_trace.py``: ``python -m bench`` in a subprocess from the project root, on a
fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import workloads
from tests.unit.test_bench_cli import PROJECT_ROOT, run_bench

# Until bench/workloads/__init__.py lists the workload: the same command line, registered first.
_REGISTERED_FIRST = (
    "import sys; from bench import workloads; "
    "workloads.WORKLOADS.setdefault('mock_recall', 'bench.workloads.mock_recall'); "
    "from bench.cli import main; sys.exit(main(sys.argv[1:]))"
)


def run_mock_recall(*args: str) -> subprocess.CompletedProcess[str]:
    if "mock_recall" in workloads.WORKLOADS:
        return run_bench("mock_recall", *args)
    return subprocess.run(
        [sys.executable, "-c", _REGISTERED_FIRST, "mock_recall", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )


@pytest.mark.slow
def test_mock_recall_writes_the_scopes_fsma_spreadsheet_as_csv_and_xlsx() -> None:
    completed = run_mock_recall("--db", "sqlite", "--scale", "smoke", "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)  # the whole of stdout is one JSON object
    assert (document["workload"], document["db"], document["scale"]) == ("mock_recall", "sqlite", "smoke")
    dataset, metrics = document["dataset"], document["metrics"]
    assert dataset["lots"] > 0
    for name in (
        "mock_recall_csv_s",
        "mock_recall_xlsx_s",
        "fsma_rows",
        "lots_in_scope",
        "csv_mb",
        "xlsx_mb",
    ):
        assert metrics[name] > 0, name
    # A raw lot's closure is its whole family; its rows: its receipt, every edge into the family's
    # lots and the family's shipment lines — more rows than lots.
    assert metrics["lots_in_scope"] == dataset["lots"] // dataset["families"]
    assert metrics["fsma_rows"] > metrics["lots_in_scope"]
    # Only transformation rows may miss a KDE (the new lot's quantity, where the dataset has no
    # PRODUCE movements): never all rows.
    assert 0 <= metrics["fsma_rows_missing_kdes"] < metrics["fsma_rows"]
    if dataset["produce_movements"] > 0:
        assert metrics["fsma_rows_missing_kdes"] == 0
    assert document["ok"] is True
