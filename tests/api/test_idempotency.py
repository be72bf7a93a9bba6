"""Every POST honours Idempotency-Key: a replay returns the first response and writes nothing."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.models.audit import AuditRecord
from lotline.models.idempotency import IdempotencyRecord
from lotline.models.outbox import OutboxEvent
from lotline.models.site import Site
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock

SITE = {"code": "HZ01", "name_zh": "杭州仓", "name_en": "Hangzhou DC", "time_zone": "Asia/Shanghai"}


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction(read_only=True) as uow:
        return tuple(  # type: ignore[return-value]
            uow.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Site, AuditRecord, OutboxEvent)
        )


def test_a_replay_returns_the_identical_response_and_writes_nothing(
    client: TestClient, people: People, db: Database
) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "create-hz01"}
    first = client.post("/api/v1/sites", json=SITE, headers=headers)
    assert first.status_code == 201, first.text
    after_first = counts(db)
    replay = client.post("/api/v1/sites", json=SITE, headers=headers)
    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert counts(db) == after_first


def test_the_same_key_with_a_different_body_is_409_and_writes_nothing(
    client: TestClient, people: People, db: Database
) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/sites", json=SITE, headers=headers).status_code == 201
    before = counts(db)
    other = client.post("/api/v1/sites", json={**SITE, "code": "HZ02"}, headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency.key_reused"
    assert other.json()["field"] == "Idempotency-Key"
    assert counts(db) == before


def test_keys_belong_to_the_caller_so_two_callers_cannot_collide(
    client: TestClient, people: People, db: Database
) -> None:
    first = client.post(
        "/api/v1/sites", json=SITE, headers={**people.bearer("admin"), "Idempotency-Key": "same"}
    )
    assert first.status_code == 201
    # Another caller using the same key is a different request, not a replay of admin's.
    second = client.post(
        "/api/v1/tokens", json={"name": "mine"}, headers={**people.bearer("qa"), "Idempotency-Key": "same"}
    )
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers


def test_a_failed_request_is_not_stored_so_it_can_be_retried(client: TestClient, people: People) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "retry-me"}
    bad = client.post("/api/v1/sites", json={**SITE, "time_zone": "Mars/Olympus"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "time_zone"
    good = client.post("/api/v1/sites", json=SITE, headers=headers)
    assert good.status_code == 201


def test_an_expired_key_may_be_used_again(client: TestClient, people: People, clock: FakeClock) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "old"}
    assert client.post("/api/v1/sites", json=SITE, headers=headers).status_code == 201
    clock.advance(hours=25)
    again = client.post("/api/v1/sites", json={**SITE, "code": "HZ09"}, headers=headers)
    assert again.status_code == 201
    assert again.json()["code"] == "HZ09"


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_unusable_key_is_refused(client: TestClient, people: People, db: Database, key: str) -> None:
    before = counts(db)
    response = client.post(
        "/api/v1/sites", json=SITE, headers={**people.bearer("admin"), "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency.bad_key"
    assert counts(db) == before


def test_concurrent_requests_with_one_key_write_once(
    client: TestClient, people: People, db: Database
) -> None:
    headers = {**people.bearer("admin"), "Idempotency-Key": "race"}
    responses = []

    def send() -> None:
        responses.append(client.post("/api/v1/sites", json=SITE, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in responses) == [201] * 4
    assert len({r.content for r in responses}) == 1
    with db.transaction(read_only=True) as uow:
        created = uow.session.execute(select(func.count()).where(Site.code == "HZ01")).scalar_one()
        stored = uow.session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one()
    assert created == 1
    assert stored == 1
