"""Master data over the API: validation that names the field, change control with reasons and
kept versions, upserts by an outside system's keys, and who may change what."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.catalog import lot_types, products, revisions, storage_conditions, units
from lotline.catalog import service as catalog_service
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ConfigVersion, ExternalId, LotType, Product, StorageCondition
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock

API = "/api/v1"
GTIN = "4006381333931"  # a valid GTIN-13
WRONG_CHECK_DIGIT = "4006381333932"


@pytest.fixture
def lot_type_id(db: Database, clock: FakeClock, people: People) -> int:
    with db.transaction(clock=clock) as uow:
        return lot_types.create_lot_type(
            uow,
            code="RAW",
            name_zh="原料",
            name_en="Raw material",
            code_template="{site}{yy}{doy:03}{seq:04}",
        ).id


def product_body(lot_type_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "PORK-LOIN",
        "name_zh": "猪里脊",
        "name_en": "Pork loin",
        "base_unit": "KGM",
        "lot_type_id": lot_type_id,
        "shelf_life_amount": 10,
        "shelf_life_unit": "DAYS",
        "expiry_kind": "USE_BY",
    }
    return body | overrides


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_product_with_a_wrong_gtin_check_digit_is_refused_naming_gtin_and_nothing_is_written(
    client: TestClient, people: People, lot_type_id: int, db: Database
) -> None:
    before = (count(db, Product), count(db, AuditRecord), count(db, ConfigVersion))
    response = client.post(
        f"{API}/products",
        json=product_body(lot_type_id, gtin=WRONG_CHECK_DIGIT),
        headers=people.bearer("admin"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "gtin"
    assert response.json()["code"] == "gs1.bad_check_digit"
    assert (count(db, Product), count(db, AuditRecord), count(db, ConfigVersion)) == before


def test_a_product_is_created_read_and_found_by_its_filters(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    admin = people.bearer("admin")
    created = client.post(
        f"{API}/products",
        json=product_body(lot_type_id, gtin=GTIN, category="meat", min_receipt_percent=75),
        headers=admin,
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert product["gtin"] == "0" + GTIN  # kept as 14 digits
    assert product["min_receipt_percent"] == "75.000000"
    assert product["shelf_life_version"] == 1
    client.post(f"{API}/products", json=product_body(lot_type_id, code="BEEF", active=False), headers=admin)
    assert client.get(f"{API}/products/{product['id']}", headers=admin).json() == product

    def codes(**params: object) -> list[str]:
        listed = client.get(f"{API}/products", params=params, headers=admin)
        assert listed.status_code == 200, listed.text
        return [item["code"] for item in listed.json()["items"]]

    assert codes() == ["PORK-LOIN", "BEEF"]
    assert codes(category="meat") == ["PORK-LOIN"]
    assert codes(active=False) == ["BEEF"]
    assert codes(gtin=GTIN) == ["PORK-LOIN"]  # the 13-digit form finds the stored 14 digits
    assert codes(code="BEEF") == ["BEEF"]
    assert codes(code="LAMB") == []


def test_a_product_naming_an_unknown_storage_condition_is_refused_naming_it(
    client: TestClient, people: People, lot_type_id: int, db: Database
) -> None:
    response = client.post(
        f"{API}/products",
        json=product_body(lot_type_id, storage_condition_id=999),
        headers=people.bearer("admin"),
    )
    assert response.status_code == 404
    assert response.json()["field"] == "storage_condition_id"
    assert count(db, Product) == 0


def test_a_lot_type_whose_custom_schema_is_not_a_json_schema_is_refused_naming_custom_schema(
    client: TestClient, people: People, db: Database
) -> None:
    before = (count(db, LotType), count(db, AuditRecord))
    response = client.post(
        f"{API}/lot-types",
        json={
            "code": "FIN",
            "name_zh": "成品",
            "name_en": "Finished goods",
            "code_template": "{site}{seq:05}",
            "custom_schema": {"type": "object", "properties": {"line": {"type": "banana"}}},
        },
        headers=people.bearer("admin"),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "custom_schema"
    assert response.json()["code"] == "lot_type.bad_schema"
    assert (count(db, LotType), count(db, AuditRecord)) == before


@pytest.mark.parametrize(
    "template",
    ["{site}{yy}{doy:03}", "{site}{seq:04", "{plant}{seq:04}", "{site}{seq:>4}"],
    ids=["no sequence", "unmatched brace", "unknown placeholder", "alignment"],
)
def test_a_lot_type_with_a_bad_code_template_is_refused_naming_code_template(
    client: TestClient, people: People, db: Database, template: str
) -> None:
    response = client.post(
        f"{API}/lot-types",
        json={"code": "FIN", "name_zh": "成品", "name_en": "Finished goods", "code_template": template},
        headers=people.bearer("admin"),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "code_template"
    assert response.json()["code"] == "lotcode.bad_template"
    assert count(db, LotType) == 0


def test_changing_a_products_shelf_life_needs_a_reason_and_history_keeps_both_versions(
    client: TestClient, people: People, lot_type_id: int, clock: FakeClock
) -> None:
    qa_manager = people.bearer("qa_manager")
    product = client.post(f"{API}/products", json=product_body(lot_type_id), headers=qa_manager).json()
    url = f"{API}/products/{product['id']}"

    refused = client.patch(url, json={"shelf_life_amount": 12}, headers=qa_manager)
    assert refused.status_code == 422
    assert refused.json()["code"] == "audit.reason_required"
    assert refused.json()["field"] == "reason"
    assert client.get(url, headers=qa_manager).json()["shelf_life_amount"] == 10

    clock.advance(days=1)
    changed = client.patch(
        url, json={"shelf_life_amount": 12, "reason": "stability study SR-12"}, headers=qa_manager
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["shelf_life_amount"] == 12
    assert changed.json()["shelf_life_version"] == 2

    history = client.get(f"{url}/history", headers=people.bearer("viewer"))
    assert history.status_code == 200
    versions = history.json()
    assert [(v["aspect"], v["version"], v["content"]["shelf_life_amount"]) for v in versions] == [
        ("shelf_life", 1, 10),
        ("shelf_life", 2, 12),
    ]
    assert versions[0]["reason"] is None
    assert versions[1]["reason"] == "stability study SR-12"
    assert versions[1]["changed_by"] == versions[0]["changed_by"]
    assert versions[1]["changed_at"] > versions[0]["changed_at"]


def test_a_name_change_needs_no_reason_and_keeps_the_shelf_life_version(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    admin = people.bearer("admin")
    product = client.post(f"{API}/products", json=product_body(lot_type_id), headers=admin).json()
    url = f"{API}/products/{product['id']}"
    renamed = client.patch(url, json={"name_en": "Pork tenderloin", "category": "meat"}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["shelf_life_version"] == 1
    assert len(client.get(f"{url}/history", headers=admin).json()) == 1


def test_the_minimum_shelf_life_moves_from_days_to_percent_by_clearing_the_days(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    admin = people.bearer("admin")
    product = client.post(
        f"{API}/products", json=product_body(lot_type_id, min_receipt_days=5), headers=admin
    ).json()
    url = f"{API}/products/{product['id']}"
    both = client.patch(url, json={"min_receipt_percent": 60, "reason": "customer terms"}, headers=admin)
    assert both.status_code == 422
    moved = client.patch(
        url,
        json={"min_receipt_days": None, "min_receipt_percent": 60, "reason": "customer terms"},
        headers=admin,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["min_receipt_days"], moved.json()["min_receipt_percent"]) == (None, "60.000000")
    assert moved.json()["shelf_life_version"] == 2


def test_upserting_the_same_external_id_twice_updates_the_one_product(
    client: TestClient, people: People, lot_type_id: int, db: Database
) -> None:
    erp = people.bearer("integration")
    url = f"{API}/products/by-key/ERP/MAT-000123"
    first = client.put(url, json=product_body(lot_type_id, gtin=GTIN), headers=erp)
    assert first.status_code == 201, first.text
    second = client.put(
        url, json=product_body(lot_type_id, gtin=GTIN, name_en="Pork loin, boneless"), headers=erp
    )
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["name_en"] == "Pork loin, boneless"
    assert second.json()["catch_weight"] is False  # defaults of the first call, kept
    assert count(db, Product) == 1
    assert count(db, ExternalId) == 1


def test_an_outside_system_sending_a_new_key_several_times_at_once_gets_one_product(
    client: TestClient, people: People, lot_type_id: int, db: Database
) -> None:
    erp = people.bearer("integration")
    url = f"{API}/products/by-key/ERP/MAT-000123"
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(
            pool.map(
                lambda _: client.put(url, json=product_body(lot_type_id), headers=erp).status_code, range(6)
            )
        )
    assert statuses == [200, 200, 200, 200, 200, 201]
    assert (count(db, Product), count(db, ExternalId)) == (1, 1)


def test_an_upsert_that_changes_the_shelf_life_needs_a_reason(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    erp = people.bearer("integration")
    url = f"{API}/products/by-key/ERP/MAT-000123"
    client.put(url, json=product_body(lot_type_id), headers=erp)
    refused = client.put(url, json=product_body(lot_type_id, shelf_life_amount=14), headers=erp)
    assert refused.status_code == 422
    assert refused.json()["code"] == "audit.reason_required"
    accepted = client.put(
        url, json=product_body(lot_type_id, shelf_life_amount=14, reason="ERP change CR-88"), headers=erp
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["shelf_life_version"] == 2


def test_an_upsert_cannot_change_what_identifies_the_product(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    erp = people.bearer("integration")
    url = f"{API}/products/by-key/ERP/MAT-000123"
    client.put(url, json=product_body(lot_type_id), headers=erp)
    for change in ({"code": "PORK-2"}, {"base_unit": "GRM"}):
        refused = client.put(url, json=product_body(lot_type_id, **change), headers=erp)
        assert refused.status_code == 422
        assert refused.json()["code"] == "catalog.fixed_field"
        assert refused.json()["field"] == next(iter(change))


def test_a_storage_condition_limit_change_needs_a_reason_and_gets_a_new_version(
    client: TestClient, people: People
) -> None:
    admin = people.bearer("admin")
    created = client.post(
        f"{API}/storage-conditions",
        json={"code": "CHILLED", "name_zh": "冷藏", "name_en": "Chilled", "min_temp_c": 2, "max_temp_c": 8},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    condition = created.json()
    assert (condition["min_temp_c"], condition["max_temp_c"], condition["version"]) == (
        "2.000000",
        "8.000000",
        1,
    )
    url = f"{API}/storage-conditions/{condition['id']}"

    assert client.patch(url, json={"max_temp_c": 6}, headers=admin).json()["code"] == "audit.reason_required"
    upside_down = client.patch(url, json={"min_temp_c": 9, "reason": "typo"}, headers=admin)
    assert upside_down.status_code == 422
    assert upside_down.json()["field"] == "min_temp_c"
    changed = client.patch(url, json={"max_temp_c": "6.5", "reason": "customer spec"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["max_temp_c"], changed.json()["version"]) == ("6.500000", 2)
    renamed = client.patch(url, json={"name_en": "Chilled (2–6.5 °C)"}, headers=admin)
    assert renamed.json()["version"] == 2

    versions = client.get(f"{url}/history", headers=admin).json()
    assert [(v["aspect"], v["version"], v["content"]["max_temp_c"], v["reason"]) for v in versions] == [
        ("limits", 1, "8.000000", None),
        ("limits", 2, "6.500000", "customer spec"),
    ]


def test_resending_the_same_storage_condition_by_key_changes_nothing(
    client: TestClient, people: People, db: Database
) -> None:
    url = f"{API}/storage-conditions/by-key/WMS/FROZEN"
    body = {"code": "FROZEN", "name_zh": "冷冻", "name_en": "Frozen", "max_temp_c": -18}
    assert client.put(url, json=body, headers=people.bearer("integration")).status_code == 201
    audited = count(db, AuditRecord)
    again = client.put(url, json={**body, "max_temp_c": "-18.0"}, headers=people.bearer("integration"))
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1
    assert (count(db, StorageCondition), count(db, AuditRecord)) == (1, audited)


def test_a_lot_type_coding_change_needs_a_reason_and_its_history_shows_it(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    admin = people.bearer("admin")
    url = f"{API}/lot-types/{lot_type_id}"
    refused = client.patch(url, json={"code_template": "{site}{yyyy}{seq:05}"}, headers=admin)
    assert refused.json()["code"] == "audit.reason_required"
    bad_pattern = client.patch(
        url, json={"external_code_pattern": "[A-Z", "reason": "supplier codes"}, headers=admin
    )
    assert bad_pattern.status_code == 422
    assert bad_pattern.json()["field"] == "external_code_pattern"
    changed = client.patch(
        url, json={"code_template": "{site}{yyyy}{seq:05}", "reason": "yearly numbering"}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    versions = client.get(f"{url}/history", headers=admin).json()
    assert [(v["aspect"], v["version"], v["content"]["code_template"]) for v in versions] == [
        ("coding", 1, "{site}{yy}{doy:03}{seq:04}"),
        ("coding", 2, "{site}{yyyy}{seq:05}"),
    ]


def test_previewing_a_code_consumes_no_sequence_number(
    client: TestClient, people: People, lot_type_id: int
) -> None:
    admin = people.bearer("admin")
    preview_url = f"{API}/lot-types/{lot_type_id}/preview-code"
    body = {"site_code": "A", "production_date": "2026-03-01"}
    first = client.post(preview_url, json=body, headers=admin)
    assert first.status_code == 200, first.text
    assert first.json()["code"] == "A260600001"
    assert first.json()["sequence_scope"] == "RAW/A/2026-03-01"
    assert client.post(preview_url, json=body, headers=admin).json() == first.json()
    draft = client.post(
        preview_url, json={**body, "code_template": "{product}-{yyyy}{mm}{seq:03}"}, headers=admin
    )
    assert draft.status_code == 422
    assert draft.json()["field"] == "product_code"

    product = client.post(f"{API}/products", json=product_body(lot_type_id), headers=admin).json()
    lot = client.post(
        f"{API}/lots",
        json={
            "product_id": product["id"],
            "site_id": people.site_ids["A"],
            "source": "PRODUCTION",
            "production_date": "2026-03-01",
        },
        headers=admin,
    )
    assert lot.status_code == 201, lot.text
    assert lot.json()["code"] == first.json()["code"]


def test_the_seeded_units_are_listed(client: TestClient, people: People) -> None:
    response = client.get(f"{API}/units", headers=people.bearer("warehouse"))
    assert response.status_code == 200
    units = {unit["code"]: unit for unit in response.json()}
    assert {"KGM", "GRM", "TNE", "LTR", "MLT", "EA"} <= set(units)
    assert (units["GRM"]["dimension"], units["GRM"]["to_base"]) == ("mass", "0.001000")


@pytest.mark.parametrize("role", ["viewer", "warehouse"])
def test_a_user_without_master_write_can_read_master_data_but_not_change_it(
    client: TestClient, people: People, lot_type_id: int, db: Database, role: str
) -> None:
    admin = people.bearer("admin")
    product = client.post(f"{API}/products", json=product_body(lot_type_id), headers=admin).json()
    reader = people.bearer(role)
    for path in (
        "/products",
        f"/products/{product['id']}",
        f"/products/{product['id']}/history",
        "/lot-types",
        f"/lot-types/{lot_type_id}",
        f"/lot-types/{lot_type_id}/history",
        "/storage-conditions",
        "/units",
    ):
        assert client.get(API + path, headers=reader).status_code == 200, path
    before = (count(db, Product), count(db, LotType), count(db, AuditRecord))
    writes = [
        client.post(f"{API}/products", json=product_body(lot_type_id, code="BEEF"), headers=reader),
        client.patch(f"{API}/products/{product['id']}", json={"name_en": "x"}, headers=reader),
        client.put(f"{API}/products/by-key/ERP/1", json=product_body(lot_type_id), headers=reader),
        client.patch(f"{API}/lot-types/{lot_type_id}", json={"name_en": "x"}, headers=reader),
        client.post(
            f"{API}/lot-types/{lot_type_id}/preview-code",
            json={"site_code": "A", "production_date": "2026-03-01"},
            headers=reader,
        ),
        client.post(
            f"{API}/storage-conditions",
            json={"code": "AMBIENT", "name_zh": "常温", "name_en": "Ambient"},
            headers=reader,
        ),
    ]
    for response in writes:
        assert response.status_code == 403, response.request.url
        assert response.json()["code"] == "auth.forbidden"
    assert (count(db, Product), count(db, LotType), count(db, AuditRecord)) == before


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/missing"},
        {"type": "object", "properties": {"origin": {"$ref": "https://example.com/origin.json"}}},
    ],
)
def test_a_custom_schema_with_a_reference_that_cannot_resolve_is_refused(
    client: TestClient, people: People, schema: dict[str, object]
) -> None:
    response = client.post(
        "/api/v1/lot-types",
        json={
            "code": "BADREF",
            "name_zh": "坏",
            "name_en": "Bad",
            "code_template": "{site}{seq:04}",
            "custom_schema": schema,
        },
        headers=people.bearer("admin"),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "custom_schema"


def test_the_catalog_service_module_still_offers_every_name_it_did_before_the_split() -> None:
    homes = {
        revisions: ["AUDIT_EXCLUDE", "history"],
        storage_conditions: [
            "LIMIT_FIELDS",
            "create_storage_condition",
            "get_storage_condition",
            "list_storage_conditions",
            "update_storage_condition",
            "upsert_storage_condition",
        ],
        lot_types: [
            "CODING_FIELDS",
            "CodePreview",
            "check_custom_schema",
            "validate_custom_fields",
            "create_lot_type",
            "get_lot_type",
            "list_lot_types",
            "update_lot_type",
            "preview_lot_code",
            "upsert_lot_type",
        ],
        products: [
            "SHELF_LIFE_FIELDS",
            "shelf_life_rule",
            "get_product",
            "create_product",
            "update_product",
            "list_products",
            "add_product",
            "revise_product",
            "upsert_product",
        ],
        units: ["list_units"],
    }
    moved = {name for names in homes.values() for name in names}
    assert set(catalog_service.__all__) == moved | {"FIXED_FIELDS", "DECIMAL_FIELDS"}
    for home, names in homes.items():
        for name in names:
            assert getattr(catalog_service, name) is getattr(home, name), name
    assert catalog_service.FIXED_FIELDS == {
        "storage_condition": ("code",),
        "lot_type": ("code",),
        "product": ("code", "base_unit", "lot_type_id"),
    }
    assert catalog_service.DECIMAL_FIELDS == (
        "min_temp_c",
        "max_temp_c",
        "max_humidity_pct",
        "min_receipt_percent",
        "min_ship_percent",
    )
