"""Sign-in, sessions, CSRF, throttling and API tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.models.audit import AuditRecord
from lotline.models.auth import LoginAttempt
from lotline.models.outbox import OutboxEvent
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def test_signing_in_sets_an_httponly_samesite_cookie(client: TestClient, people: People) -> None:
    response = client.post("/api/v1/auth/session", json={"username": "qa", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "lotline_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert client.get("/api/v1/me").json()["username"] == "qa"


def test_a_cookie_write_without_the_csrf_token_is_refused(client: TestClient, people: People) -> None:
    csrf = sign_in(client, "admin")
    body = {"code": "CS1", "name_zh": "一", "name_en": "One", "time_zone": "UTC"}
    refused = client.post("/api/v1/sites", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.csrf"
    assert client.post("/api/v1/sites", json=body, headers=csrf).status_code == 201


def test_a_wrong_password_is_recorded_audited_and_answered_401(
    client: TestClient, people: People, db: Database
) -> None:
    response = client.post("/api/v1/auth/session", json={"username": "qa", "password": "wrong password"})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.failed"
    with db.transaction(read_only=True) as uow:
        attempts = (
            uow.session.execute(select(LoginAttempt).where(LoginAttempt.username == "qa")).scalars().all()
        )
        failed_audit = uow.session.execute(
            select(func.count()).where(AuditRecord.action == "login_failed")
        ).scalar_one()
        alerts = uow.session.execute(
            select(func.count()).where(OutboxEvent.event_type == "lotline.auth.login_failed")
        ).scalar_one()
    assert [a.succeeded for a in attempts] == [False]
    assert failed_audit == 1
    assert alerts == 1


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient, people: People) -> None:
    unknown = client.post("/api/v1/auth/session", json={"username": "nobody", "password": "whatever1"})
    wrong = client.post("/api/v1/auth/session", json={"username": "qa", "password": "whatever1"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


def test_repeated_failures_are_throttled_even_with_the_right_password(
    client: TestClient, people: People, clock: FakeClock
) -> None:
    for _ in range(5):
        client.post("/api/v1/auth/session", json={"username": "qa", "password": "wrong password"})
    throttled = client.post("/api/v1/auth/session", json={"username": "qa", "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "auth.throttled"
    assert int(throttled.headers["retry-after"]) > 0
    clock.advance(minutes=16)
    assert (
        client.post("/api/v1/auth/session", json={"username": "qa", "password": PASSWORD}).status_code == 200
    )


def test_logging_out_ends_the_session(client: TestClient, people: People) -> None:
    csrf = sign_in(client, "viewer")
    assert client.delete("/api/v1/auth/session", headers=csrf).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_expires(client: TestClient, people: People, clock: FakeClock) -> None:
    sign_in(client, "viewer")
    clock.advance(hours=13)
    assert client.get("/api/v1/me").status_code == 401


def test_a_token_is_shown_once_stored_hashed_and_works_until_revoked(
    client: TestClient, people: People, db: Database
) -> None:
    issued = client.post("/api/v1/tokens", json={"name": "LIMS", "days": 7}, headers=people.bearer("qa"))
    assert issued.status_code == 201
    secret = issued.json()["token"]
    with db.transaction(read_only=True) as uow:
        from lotline.models.auth import ApiToken

        stored = uow.session.get(ApiToken, issued.json()["id"])
        assert stored is not None
        assert secret not in (stored.token_hash, stored.prefix)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).json()["username"] == "qa"
    listed = client.get("/api/v1/tokens", headers=headers).json()["items"]
    assert all("token" not in item for item in listed)
    revoked = client.post(f"/api/v1/tokens/{issued.json()['id']}/revoke", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"]
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_token_expires(client: TestClient, people: People, clock: FakeClock) -> None:
    issued = client.post(
        "/api/v1/tokens", json={"name": "short", "days": 1}, headers=people.bearer("qa")
    ).json()
    clock.advance(days=1, seconds=1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"}).status_code == 401


def test_a_token_scope_narrows_what_it_may_do(client: TestClient, people: People) -> None:
    issued = client.post(
        "/api/v1/tokens", json={"name": "read only", "scopes": ["site.read"]}, headers=people.bearer("admin")
    ).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    denied = client.post(
        "/api/v1/sites",
        json={"code": "X1", "name_zh": "x", "name_en": "x", "time_zone": "UTC"},
        headers=headers,
    )
    assert denied.status_code == 403


def test_a_token_cannot_carry_more_than_its_user_holds(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/tokens", json={"name": "greedy", "scopes": ["user.write"]}, headers=people.bearer("qa")
    )
    assert response.status_code == 403
    assert response.json()["field"] == "scopes"


def test_a_deactivated_user_is_locked_out_at_once(client: TestClient, people: People) -> None:
    admin = people.bearer("admin")
    no_reason = client.patch(f"/api/v1/users/{people.user_ids['qa']}", json={"active": False}, headers=admin)
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "audit.reason_required"
    assert client.get("/api/v1/me", headers=people.bearer("qa")).status_code == 200
    deactivated = client.patch(
        f"/api/v1/users/{people.user_ids['qa']}",
        json={"active": False, "reason": "left the company"},
        headers=admin,
    )
    assert deactivated.status_code == 200
    assert client.get("/api/v1/me", headers=people.bearer("qa")).status_code == 401


def test_roles_are_granted_per_site_and_revoked_with_a_reason(
    client: TestClient, people: People, db: Database
) -> None:
    admin = people.bearer("admin")
    created = client.post(
        "/api/v1/users",
        json={"username": "li.na", "display_name": "李娜", "password": "long enough pw"},
        headers=admin,
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    before = audit_rows(db)
    unexplained = client.post(
        f"/api/v1/users/{user_id}/grants", json={"role": "qa", "site_id": people.site_ids["B"]}, headers=admin
    )
    assert unexplained.status_code == 422
    assert unexplained.json()["field"] == "reason"
    assert audit_rows(db) == before
    grant = client.post(
        f"/api/v1/users/{user_id}/grants",
        json={"role": "qa", "site_id": people.site_ids["B"], "reason": "new QA at B"},
        headers=admin,
    )
    assert grant.status_code == 201
    assert client.get(f"/api/v1/users/{user_id}", headers=admin).json()["grants"][0]["role"] == "qa"
    unknown = client.post(
        f"/api/v1/users/{user_id}/grants", json={"role": "superuser", "reason": "x"}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "role"
    no_reason = client.post(
        f"/api/v1/users/{user_id}/grants/{grant.json()['id']}/revoke", json={}, headers=admin
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    revoked = client.post(
        f"/api/v1/users/{user_id}/grants/{grant.json()['id']}/revoke", json={"reason": "moved"}, headers=admin
    )
    assert revoked.status_code == 204
    assert client.get(f"/api/v1/users/{user_id}", headers=admin).json()["grants"] == []


def test_a_short_password_is_refused_and_nothing_is_created(client: TestClient, people: People) -> None:
    admin = people.bearer("admin")
    response = client.post(
        "/api/v1/users", json={"username": "weak", "display_name": "Weak", "password": "short"}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["field"] == "password"
    assert response.json()["errors"][0]["code"] == "validation.string_too_short"
    names = [u["username"] for u in client.get("/api/v1/users", headers=admin).json()["items"]]
    assert "weak" not in names


def test_a_control_character_in_a_sign_in_name_is_a_clear_4xx_not_a_500(
    client: TestClient, people: People
) -> None:
    response = client.post("/api/v1/auth/session", json={"username": "qa\u0000", "password": "whatever1"})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


def audit_rows(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(AuditRecord)).scalar_one())


def test_an_administrator_of_one_site_cannot_reach_beyond_it(
    client: TestClient, people: People, db: Database
) -> None:
    with db.transaction() as uow:
        local = auth.create_user(uow, username="site.a.admin", display_name="A admin", password=PASSWORD)
        auth.grant_role(uow, user_id=local.id, role="admin", site_id=people.site_ids["A"], reason="site IT")
        newcomer = auth.create_user(uow, username="new.hire", display_name="New", password=PASSWORD)
        newcomer_id = newcomer.id
    login = client.post("/api/v1/auth/session", json={"username": "site.a.admin", "password": PASSWORD})
    headers = {"X-CSRF-Token": login.json()["csrf_token"]}
    before = audit_rows(db)
    grants = f"/api/v1/users/{newcomer_id}/grants"
    at_b = client.post(
        grants, json={"role": "qa", "site_id": people.site_ids["B"], "reason": "x"}, headers=headers
    )
    everywhere = client.post(grants, json={"role": "admin", "site_id": None, "reason": "x"}, headers=headers)
    global_admin = client.patch(
        f"/api/v1/users/{people.user_ids['admin']}", json={"password": "taken over now"}, headers=headers
    )
    for refused in (at_b, everywhere, global_admin):
        assert refused.status_code == 403, refused.text
    assert audit_rows(db) == before
    at_a = client.post(
        grants, json={"role": "qa", "site_id": people.site_ids["A"], "reason": "new QA"}, headers=headers
    )
    assert at_a.status_code == 201
