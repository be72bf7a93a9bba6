"""The user administration pages: accounts, and role grants with their reasons in the change
history."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.models.audit import AuditRecord
from lotline.models.auth import RoleGrant, User
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.web.adminkit import text_of
from tests.web.webkit import alerts, count, sign_in


def test_a_role_grant_needs_a_reason_and_shows_in_the_change_history(
    client: TestClient, db: Database, people: People
) -> None:
    csrf = sign_in(client, "admin")
    viewer = people.user_ids["viewer"]
    before = (count(db, RoleGrant), count(db, AuditRecord))
    form = {"role": "qa", "site_id": str(people.site_ids["A"]), "grant_reason": "  ", "csrf_token": csrf}
    refused = client.post(f"/admin/users/{viewer}/grants", data=form)
    assert refused.status_code == 422
    assert "reason" in alerts(refused.text)[0].lower()
    assert 'name="grant_reason" value="  " maxlength="2000" aria-invalid="true"' in refused.text
    assert (count(db, RoleGrant), count(db, AuditRecord)) == before
    granted = client.post(
        f"/admin/users/{viewer}/grants",
        data={**form, "grant_reason": "covers QA release during audit week"},
        follow_redirects=False,
    )
    assert granted.status_code == 303, alerts(granted.text)
    assert "Role qa granted to viewer." in client.get(granted.headers["location"]).text
    assert count(db, RoleGrant) == before[0] + 1
    history = text_of(client.get("/admin/history?kind=role_grant").text)
    assert "covers QA release during audit week" in history
    assert "viewer" in history
    assert "Granted" in history
    assert "Site: A" in history
    with db.transaction(read_only=True) as uow:
        grant_id = uow.session.scalars(
            select(RoleGrant.id).where(RoleGrant.user_id == viewer, RoleGrant.role == "qa")
        ).one()
    revoke_url = f"/admin/users/{viewer}/grants/{grant_id}/revoke"
    no_reason = client.post(revoke_url, data={"csrf_token": csrf})
    assert no_reason.status_code == 422
    assert count(db, RoleGrant) == before[0] + 1
    revoked = client.post(
        revoke_url,
        data={f"revoke_reason.{grant_id}": "audit week over", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert count(db, RoleGrant) == before[0]
    everything = text_of(client.get("/admin/history").text)  # every kind, newest first
    assert everything.index("audit week over") < everything.index("covers QA release during audit week")
    assert "Revoked" in everything


def test_an_administrator_creates_a_user_and_deactivates_them_with_a_reason(
    client: TestClient, db: Database, people: People
) -> None:
    csrf = sign_in(client, "admin")
    new = {
        "username": "zhang.san",
        "display_name": "张三",
        "password": "short",
        "language": "zh_CN",
        "csrf_token": csrf,
    }
    too_short = client.post("/admin/users", data=new)
    assert too_short.status_code == 422
    assert "password" in alerts(too_short.text)[0]
    assert 'value="short"' not in too_short.text  # a password is never sent back
    created = client.post("/admin/users", data={**new, "password": PASSWORD}, follow_redirects=False)
    assert created.status_code == 303, alerts(created.text)
    user_url = created.headers["location"]
    assert "zhang.san" in client.get("/admin/users").text
    refused = client.post(
        f"{user_url}/active", data={"active": "no", "active_reason": "", "csrf_token": csrf}
    )
    assert refused.status_code == 422
    done = client.post(
        f"{user_url}/active",
        data={"active": "no", "active_reason": "left the company", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalars(select(User.active).where(User.username == "zhang.san")).one() is False
    own = client.post(
        f"/admin/users/{people.user_ids['admin']}/active",
        data={"active": "no", "active_reason": "x", "csrf_token": csrf},
    )
    assert own.status_code == 422
    assert "your own account" in alerts(own.text)[0]
