"""The storage condition and unit administration pages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.models.audit import AuditRecord
from lotline.models.catalog import StorageCondition
from lotline.uow import Database
from tests.app_fixtures import People
from tests.web.adminkit import field_values, text_of
from tests.web.webkit import alerts, count, sign_in


def test_storage_condition_limits_change_only_with_a_reason(
    client: TestClient, db: Database, people: People
) -> None:
    csrf = sign_in(client, "qa_manager")
    created = client.post(
        "/admin/storage-conditions",
        data={
            "code": "CHILLED",
            "name_zh": "冷藏",
            "name_en": "Chilled",
            "min_temp_c": "2",
            "max_temp_c": "8",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, alerts(created.text)
    edit_url = created.headers["location"]
    form = {"name_zh": "冷藏", "name_en": "Chilled", "min_temp_c": "2", "max_temp_c": "6", "csrf_token": csrf}
    before = count(db, AuditRecord)
    refused = client.post(edit_url, data=form)
    assert refused.status_code == 422
    assert "max_temp_c" in alerts(refused.text)[0]
    assert field_values(refused.text)["max_temp_c"] == "6"
    assert count(db, AuditRecord) == before
    upside_down = client.post(edit_url, data={**form, "min_temp_c": "9", "reason": "typo"})
    assert upside_down.status_code == 422
    assert "9" in alerts(upside_down.text)[0]
    saved = client.post(edit_url, data={**form, "reason": "new cold-chain SOP-12"}, follow_redirects=False)
    assert saved.status_code == 303
    history = text_of(client.get(edit_url).text, 'id="hist"')
    assert "Highest temperature (°C): 8 → 6" in history
    assert "new cold-chain SOP-12" in history
    with db.transaction(read_only=True) as uow:
        condition = uow.session.scalars(select(StorageCondition)).one()
        assert (str(condition.max_temp_c), condition.version) == ("6.000000", 2)
    units = text_of(client.get("/admin/units").text)
    assert "1 GRM = 0.001 KGM" in units
