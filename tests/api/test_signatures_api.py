"""Signing grants over the API: a person re-authenticates; a token never can."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.models.audit import AuditRecord
from lotline.models.signature import SigningGrant
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People

REQUEST = {"meaning": "release", "record_type": "lot", "record_id": "42"}


def sign_in(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/session", json={"username": username, "password": PASSWORD})
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def rows(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_signed_in_person_gets_a_grant_after_re_entering_name_and_password(
    client: TestClient, people: People
) -> None:
    csrf = sign_in(client, "qa_manager")
    missing_name = client.post(
        "/api/v1/signatures/grants", json={**REQUEST, "password": PASSWORD}, headers=csrf
    )
    assert missing_name.status_code == 422
    assert missing_name.json()["field"] == "username"
    issued = client.post(
        "/api/v1/signatures/grants",
        json={**REQUEST, "username": "qa_manager", "password": PASSWORD},
        headers=csrf,
    )
    assert issued.status_code == 201
    assert issued.json()["signing_grant"].startswith("lls_")
    again = client.post("/api/v1/signatures/grants", json={**REQUEST, "password": PASSWORD}, headers=csrf)
    assert again.status_code == 201  # after the first signing, the password alone suffices


def test_a_wrong_password_is_422_naming_the_field_and_the_attempt_is_kept(
    client: TestClient, people: People, db: Database
) -> None:
    csrf = sign_in(client, "qa_manager")
    audit_before, grants_before = rows(db, AuditRecord), rows(db, SigningGrant)
    response = client.post(
        "/api/v1/signatures/grants",
        json={**REQUEST, "username": "qa_manager", "password": "guessing"},
        headers=csrf,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "signature.bad_password"
    assert response.json()["field"] == "password"
    assert rows(db, SigningGrant) == grants_before
    assert rows(db, AuditRecord) == audit_before + 1


def test_an_integration_token_cannot_obtain_a_signing_grant(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/signatures/grants",
        json={**REQUEST, "username": "integration", "password": PASSWORD},
        headers=people.bearer("integration"),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "signature.token_cannot_sign"
