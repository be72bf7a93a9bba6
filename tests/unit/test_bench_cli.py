"""The benchmark harness runs end to end and reports what it promises (no timing asserted).

Runs ``python -m bench`` in a subprocess from the project root, as a developer would, on a
fresh SQLite file, at the hidden ``smoke`` scale (the ``ci`` scale takes tens of seconds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.slow
def test_audit_workload_prints_one_json_object_and_a_chain_that_verifies() -> None:
    completed = run_bench("audit", "--db", "sqlite", "--scale", "smoke", "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)  # the whole of stdout is one JSON object
    assert {"workload", "db", "scale", "dataset", "metrics", "environment"} <= set(document)
    assert (document["workload"], document["db"], document["scale"]) == ("audit", "sqlite", "smoke")
    metrics = document["metrics"]
    for name in (
        "audit_writes_per_s_1",
        "audit_writes_per_s_4",
        "seal_lag_s",
        "verify_records_per_s",
        "chain_breaks",
    ):
        assert name in metrics, name
    assert metrics["chain_breaks"] == 0
    assert metrics["chain_pending"] == 0
    assert metrics["chain_links"] == document["dataset"]["audit_records"]
    assert document["dataset"]["audited_changes_4"] == 4 * document["dataset"]["writes_per_writer"]
    assert document["ok"] is True


@pytest.mark.slow
def test_stock_workload_posts_through_the_ledger_and_the_check_finds_nothing_wrong() -> None:
    completed = run_bench("stock", "--db", "sqlite", "--scale", "smoke", "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    metrics = document["metrics"]
    assert (
        metrics["ledger_movements"]
        == document["dataset"]["timed_movements"] + document["dataset"]["bulk_movements"]
    )
    assert metrics["differences"] == 0
    assert metrics["balances_not_closing"] == 0
    assert metrics["movements_per_s"] > 0
    assert document["ok"] is True


@pytest.mark.slow
def test_fefo_workload_allocates_a_wave_single_lines_and_concurrently_without_over_allocating() -> None:
    completed = run_bench("fefo", "--db", "sqlite", "--scale", "smoke", "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    dataset, metrics = document["dataset"], document["metrics"]
    assert dataset["stock_rows"] > dataset["lots"] > 0
    for mixed_in in ("holds", "quarantined_lots", "retained_samples", "expired_lots"):
        assert dataset[mixed_in] > 0, mixed_in
    assert metrics["wave_lines_per_s"] > 0
    assert metrics["wave_allocations"] >= dataset["wave_lines"] - metrics["wave_short_lines"]
    assert metrics["single_line_p99_ms"] >= metrics["single_line_p50_ms"] > 0
    assert metrics["concurrent_ops"] >= 4 * 10  # 4 allocators, smoke scale: 10 operations each
    assert metrics["retries"] >= 0
    assert metrics["over_allocations"] == 0
    assert document["ok"] is True


def test_an_unknown_workload_is_refused_with_usage_status() -> None:
    completed = run_bench("no-such-workload", "--db", "sqlite")

    assert completed.returncode == 2
    assert "unknown workload" in completed.stderr
    assert "audit" in completed.stderr  # the message names the known ones
    assert completed.stdout == ""


@pytest.mark.parametrize(
    ("database", "refusal"),
    [("test", "'test'"), ("postgres", "must contain 'bench'"), ("lotline", "must contain 'bench'")],
)
def test_the_harness_refuses_to_drop_a_database_not_meant_for_benchmarks(
    database: str, refusal: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "LOTLINE_BENCH_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    )

    status = main(["audit", "--db", "postgres", "--json"])

    captured = capsys.readouterr()
    assert status == 2
    assert refusal in " ".join(captured.err.split())  # Rich may wrap the line
    assert captured.out == ""


def test_the_workloads_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert capsys.readouterr().out.startswith("audit\t")
