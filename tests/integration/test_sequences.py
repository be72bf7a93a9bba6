"""Lot-code sequences never issue a number twice, even under concurrency."""

from __future__ import annotations

import threading

import pytest

from lotline.db import next_in_sequence
from lotline.uow import Database


def test_numbers_count_up_per_scope_and_scopes_are_independent(db: Database) -> None:
    with db.transaction() as uow:
        first = [next_in_sequence(uow.session, "RAW|SH01|2026-03-01") for _ in range(3)]
        other = next_in_sequence(uow.session, "RAW|SH01|2026-03-02")
    assert first == [1, 2, 3]
    assert other == 1


def test_a_rolled_back_number_is_issued_again(db: Database) -> None:
    with db.transaction() as uow:
        assert next_in_sequence(uow.session, "scope") == 1
    uow = db.unit_of_work()
    assert next_in_sequence(uow.session, "scope") == 2
    uow.rollback()
    uow.close()
    with db.transaction() as uow:
        assert next_in_sequence(uow.session, "scope") == 2


@pytest.mark.parametrize("threads", [8])
def test_eight_threads_times_a_hundred_draws_give_eight_hundred_distinct_numbers(
    db: Database, threads: int
) -> None:
    drawn: list[int] = []
    guard = threading.Lock()
    failures: list[BaseException] = []

    def draw() -> None:
        try:
            for _ in range(100):
                with db.transaction() as uow:
                    number = next_in_sequence(uow.session, "FG|SH01|2026-03-01")
                with guard:
                    drawn.append(number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=draw) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert sorted(drawn) == list(range(1, threads * 100 + 1))
