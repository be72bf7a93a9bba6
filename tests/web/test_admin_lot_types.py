"""The lot type administration pages: the custom field editor, the raw JSON Schema editor and the
coding rule preview."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.domain.errors import InvalidInput
from lotline.lots import service as lots
from lotline.models.catalog import LotType
from lotline.models.lot import LotSequence
from lotline.uow import Database
from tests.app_fixtures import People
from tests.web.adminkit import field_values, text_of
from tests.web.webkit import alerts, sign_in


def lot_type_form(db: Database, lot_type_id: int, **changes: str) -> dict[str, str]:
    with db.transaction(read_only=True) as uow:
        lot_type = uow.session.get_one(LotType, lot_type_id)
        form = {
            "name_zh": lot_type.name_zh,
            "name_en": lot_type.name_en,
            "code_template": lot_type.code_template,
            "external_code_pattern": lot_type.external_code_pattern or "",
            "schema_mode": "fields",
        }
    return form | changes


def test_the_custom_field_editor_writes_a_json_schema_that_lots_are_then_checked_against(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    with db.transaction(read_only=True) as uow:
        lot_type_id = uow.session.scalars(select(LotType.id)).one()
    rows = {
        "fields.0.name": "farm",
        "fields.0.title": "Farm",
        "fields.0.type": "string",
        "fields.0.required": "on",
        "fields.0.maximum": "40",
        "fields.1.name": "grade",
        "fields.1.type": "enum",
        "fields.1.enum": "A, B",
        "fields.2.name": "slaughtered_on",
        "fields.2.type": "date",
        "fields.3.name": "",
        "fields.3.type": "string",
        "closed": "on",
    }
    url = f"/admin/lot-types/{lot_type_id}"
    refused = client.post(url, data=lot_type_form(db, lot_type_id, csrf_token=csrf, **rows))
    assert refused.status_code == 422
    assert "custom_schema" in alerts(refused.text)[0]  # a GMP field: no reason, no change
    assert 'value="farm"' in refused.text  # the rows as typed
    bad_row = client.post(
        url, data=lot_type_form(db, lot_type_id, csrf_token=csrf, reason="x", **{**rows, "fields.1.enum": ""})
    )
    assert bad_row.status_code == 422
    assert "fields.1.enum" in alerts(bad_row.text)[0]
    saved = client.post(
        url,
        data=lot_type_form(db, lot_type_id, csrf_token=csrf, reason="farm traceability, CAPA-7", **rows),
        follow_redirects=False,
    )
    assert saved.status_code == 303, alerts(saved.text)
    with db.transaction(read_only=True) as uow:
        lot_type = uow.session.get_one(LotType, lot_type_id)
        assert lot_type.version == 2
        assert lot_type.custom_schema == {
            "type": "object",
            "properties": {
                "farm": {"title": "Farm", "type": "string", "maxLength": 40},
                "grade": {"type": "string", "enum": ["A", "B"]},
                "slaughtered_on": {
                    "type": "string",
                    "format": "date",
                    "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
                },
            },
            "required": ["farm"],
            "additionalProperties": False,
        }
    page = client.get(url).text
    assert field_values(page)["fields.0.name"] == "farm"  # read back into rows
    assert "farm traceability, CAPA-7" in text_of(page, 'id="hist"')

    def register(attributes: dict[str, Any]) -> None:
        with db.transaction() as uow:
            lots.register_lot(
                uow,
                product_id=stock["product"],
                site_id=people.site_ids["A"],
                source="PRODUCTION",
                production_date=date(2026, 3, 2),
                attributes=attributes,
            )

    for wrong in (
        {"grade": "A"},
        {"farm": "F1", "grade": "C"},
        {"farm": "F1", "slaughtered_on": "2026-02-30x"},
    ):
        with pytest.raises(InvalidInput) as caught:
            register(wrong)
        assert caught.value.code == "lot.bad_custom_field"
    with pytest.raises(InvalidInput):
        register({"farm": "F1", "colour": "red"})  # closed: only the listed fields
    register({"farm": "F1", "grade": "B", "slaughtered_on": "2026-02-27"})


def test_the_advanced_editor_takes_raw_json_schema(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    with db.transaction(read_only=True) as uow:
        lot_type_id = uow.session.scalars(select(LotType.id)).one()
    url = f"/admin/lot-types/{lot_type_id}"
    schema = {"type": "object", "properties": {"temps": {"type": "array", "items": {"type": "number"}}}}
    form = lot_type_form(db, lot_type_id, csrf_token=csrf, reason="logger data", schema_mode="json")
    broken = client.post(url, data={**form, "custom_schema": "{not json"})
    assert broken.status_code == 422
    assert "custom_schema" in alerts(broken.text)[0]
    invalid = client.post(url, data={**form, "custom_schema": '{"type": "no-such-type"}'})
    assert invalid.status_code == 422
    assert "JSON Schema" in alerts(invalid.text)[0]
    saved = client.post(url, data={**form, "custom_schema": json.dumps(schema)}, follow_redirects=False)
    assert saved.status_code == 303, alerts(saved.text)
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(LotType, lot_type_id).custom_schema == schema
    page = client.get(url).text
    assert "the field list cannot show" in page  # an array: edited as JSON from now on
    assert "&#34;temps&#34;" in page or "&quot;temps&quot;" in page


def test_the_coding_rule_preview_shows_the_next_code_and_uses_up_no_number(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "qa_manager")
    with db.transaction(read_only=True) as uow:
        lot_type_id = uow.session.scalars(select(LotType.id)).one()
        sequences = uow.session.execute(select(LotSequence.scope, LotSequence.last_value)).all()
    site_a = people.site_ids["A"]
    url = f"/admin/lot-types/{lot_type_id}?preview_site={site_a}"
    # 1 March 2026 is day 060; the lot of the stock fixture took number 1 at site A today.
    preview = client.get(url)
    assert preview.status_code == 200
    assert "<output>A260600002</output>" in preview.text
    assert "RAW/A/2026-03-01" in preview.text
    assert "<output>A260600002</output>" in client.get(url).text  # asking again changes nothing
    draft = client.get(url + "&preview_template={product}-{yyyy}{mm}{dd}-{seq:03}&preview_product=PORK").text
    assert "<output>PORK-20260301-001</output>" in draft
    missing = client.get(url + "&preview_template={product}-{seq:03}").text
    assert "{product}" in alerts(missing)[0]
    bad = client.get(url + "&preview_template={site}{seq}{seq}").text
    assert "{seq}" in alerts(bad)[0]
    with db.transaction(read_only=True) as uow:
        assert uow.session.execute(select(LotSequence.scope, LotSequence.last_value)).all() == sequences
    with db.transaction() as uow:
        lot = lots.register_lot(
            uow,
            product_id=stock["product"],
            site_id=site_a,
            source="PRODUCTION",
            production_date=date(2026, 3, 1),
        )
        assert lot.code == "A260600002"  # the code the preview showed
