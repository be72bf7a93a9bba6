"""The ``trace`` benchmark runs end to end at the hidden ``smoke`` scale (no timing asserted).

Mirrors ``test_bench_cli.py``: ``python -m bench`` in a subprocess from the project root, on a
fresh SQLite file.
"""

from __future__ import annotations

import json

import pytest

from tests.unit.test_bench_cli import run_bench


@pytest.mark.slow
def test_trace_workload_reports_the_floor_and_summaries_whose_closures_match_it() -> None:
    completed = run_bench("trace", "--db", "sqlite", "--scale", "smoke", "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)  # the whole of stdout is one JSON object
    assert (document["workload"], document["db"], document["scale"]) == ("trace", "sqlite", "smoke")
    dataset, metrics = document["dataset"], document["metrics"]
    assert dataset["depth"] == 8
    assert dataset["edges"] > dataset["lots"] > 0
    assert dataset["diamonds"] > 0
    assert 0 < dataset["max_fanout"] <= 20
    for name in (
        "floor_p50_ms",
        "trace_forward_p50_ms",
        "trace_over_floor",
        "trace_backward_p50_ms",
        "lots_reached",
        "shipment_lines_reached",
    ):
        assert metrics[name] > 0, name
    assert metrics["lots_reached"] == sum(dataset["lots_per_level"])  # a raw lot reaches its family
    assert metrics["closure_mismatches"] == 0
    assert document["ok"] is True
