"""The request owns the transaction: commit before the response, a failed commit is an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from lotline.models.site import Site
from lotline.uow import Database
from tests.app_fixtures import People

SITE = {"code": "CF1", "name_zh": "提交失败", "name_en": "Commit fails", "time_zone": "UTC"}


def site_count(db: Database) -> int:
    with db.engine.connect() as connection:  # not through the session factory the fault is on
        return connection.execute(select(func.count()).select_from(Site)).scalar_one()


@pytest.fixture
def failing_commits(db: Database) -> Iterator[None]:
    """Every commit of the app's sessions fails, as a lost connection or full disk would."""

    def refuse(session: Session) -> None:
        if not session.in_nested_transaction():  # savepoints release; the real COMMIT fails
            raise OSError("disk full")

    event.listen(db.session_factory, "before_commit", refuse)
    yield
    event.remove(db.session_factory, "before_commit", refuse)


def test_a_failing_commit_is_a_503_problem_and_nothing_is_written(
    client: TestClient, people: People, db: Database, failing_commits: None
) -> None:
    before = site_count(db)
    response = client.post(
        "/api/v1/sites", json=SITE, headers={**people.bearer("admin"), "Idempotency-Key": "cf"}
    )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "db.commit_failed"
    assert site_count(db) == before


def test_after_a_failed_commit_the_same_idempotency_key_can_be_retried(
    client: TestClient, people: People, db: Database
) -> None:
    def refuse(session: Session) -> None:
        if not session.in_nested_transaction():  # savepoints release; the real COMMIT fails
            raise OSError("disk full")

    headers = {**people.bearer("admin"), "Idempotency-Key": "retry-after-failure"}
    event.listen(db.session_factory, "before_commit", refuse)
    try:
        assert client.post("/api/v1/sites", json=SITE, headers=headers).status_code == 503
    finally:
        event.remove(db.session_factory, "before_commit", refuse)
    retried = client.post("/api/v1/sites", json=SITE, headers=headers)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


@pytest.mark.postgres
def test_a_constraint_checked_at_commit_time_fails_the_request_not_after_it(
    client: TestClient, people: People, db: Database
) -> None:
    """A deferred check runs inside COMMIT; the client must see it fail, never a 201."""
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_site() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF NEW.name_en = 'Commit fails' THEN RAISE EXCEPTION 'refused at commit'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER site_checked_at_commit AFTER INSERT ON site "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_site()"
            )
        )
    before = site_count(db)
    response = client.post("/api/v1/sites", json=SITE, headers=people.bearer("admin"))
    assert response.status_code == 503
    assert response.json()["code"] == "db.commit_failed"
    assert site_count(db) == before


def test_a_service_error_rolls_back_everything_the_request_did(
    client: TestClient, people: People, db: Database
) -> None:
    """A site update that fails its reason check leaves neither the change nor its audit."""
    admin = people.bearer("admin")
    site_id = people.site_ids["A"]
    before = client.get(f"/api/v1/sites/{site_id}", headers=admin).json()
    audit_before = client.get("/api/v1/audit/records", params={"entity_type": "site"}, headers=admin).json()
    response = client.patch(
        f"/api/v1/sites/{site_id}", json={"name_en": "Renamed", "active": False}, headers=admin
    )
    assert response.status_code == 422
    assert client.get(f"/api/v1/sites/{site_id}", headers=admin).json() == before
    audit_after = client.get("/api/v1/audit/records", params={"entity_type": "site"}, headers=admin).json()
    assert audit_after == audit_before
