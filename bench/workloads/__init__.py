"""The workload registry: name → module. Add a workload with one line here.

A workload module defines ``DESCRIPTION: str`` and ``run(ctx: BenchContext) -> WorkloadResult``;
it is imported only when its name is asked for, so a slow import never slows the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from bench.harness import BenchContext, WorkloadResult

Runner = Callable[[BenchContext], WorkloadResult]

WORKLOADS: dict[str, str] = {
    "audit": "bench.workloads.audit",
    "fefo": "bench.workloads.fefo",
    "mock_recall": "bench.workloads.mock_recall",
    "stock": "bench.workloads.stock",
    "trace": "bench.workloads.trace",
}


def names() -> list[str]:
    return sorted(WORKLOADS)


def load(name: str) -> tuple[Runner, str]:
    """The ``run`` function and description of workload ``name`` (KeyError if unknown)."""
    module = importlib.import_module(WORKLOADS[name])
    return cast(Runner, module.run), str(getattr(module, "DESCRIPTION", ""))
