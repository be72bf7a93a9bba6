"""The administration pages, driven through real requests: who may open them, what a refused
form keeps and writes, and what the change history shows afterwards."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.auth import service as auth
from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.errors import InvalidInput
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.auth import RoleGrant, User
from lotline.models.catalog import ConfigVersion, Location, LotType, Partner, Product, StorageCondition
from lotline.models.lot import LotSequence
from lotline.places import service as places
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.web.webkit import alerts, count, sign_in

ADMIN_PAGES = (
    "/admin",
    "/admin/products",
    "/admin/products/new",
    "/admin/units",
    "/admin/storage-conditions",
    "/admin/storage-conditions/new",
    "/admin/lot-types",
    "/admin/lot-types/new",
    "/admin/sites",
    "/admin/partners",
    "/admin/partners/new",
    "/admin/users",
    "/admin/history",
)


def product_form(db: Database, product_id: int, **changes: str) -> dict[str, str]:
    """The product editor's fields as the page shows them, with ``changes`` typed over them."""
    with db.transaction(read_only=True) as uow:
        product = uow.session.get_one(Product, product_id)
        form = {
            "gtin": product.gtin or "",
            "gs1_company_prefix_length": "",
            "name_zh": product.name_zh,
            "name_en": product.name_en,
            "category": product.category or "",
            "storage_condition_id": str(product.storage_condition_id or ""),
            "shelf_life_amount": str(product.shelf_life_amount),
            "shelf_life_unit": product.shelf_life_unit,
            "expiry_kind": product.expiry_kind,
            "retest_days": str(product.retest_days or ""),
            "min_receipt_mode": "",
            "min_receipt_value": "",
            "min_ship_mode": "",
            "min_ship_value": "",
            "active": "on",
            "reason": "",
        }
    return form | changes


def text_of(page: str, after: str = "<main>") -> str:
    """What a reader sees of a page from ``after`` on: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page[page.index(after) :])))


def field_values(page: str) -> dict[str, str]:
    """The values of a page's inputs, by name."""
    values = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value:
            values[name.group(1)] = html.unescape(value.group(1))
    return values


def submitted(page: str, action: str) -> dict[str, str]:
    """What a browser sends for the page's form posting to ``action``, untouched by the person."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"no form posts to {action}"
    body, values = form.group(1), {}
    for tag in re.findall(r"<input\b[^>]*>", body):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]*)"', tag)
        if not name or (kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag):
            continue
        values[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select name="([^"]*)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.findall(r'<option value="([^"]*)" selected', options) or re.findall(
            r'<option value="([^"]*)"', options
        )
        values[name] = html.unescape(chosen[0]) if chosen else ""
    for name, text in re.findall(r'<textarea name="([^"]*)"[^>]*>(.*?)</textarea>', body, re.S):
        values[name] = html.unescape(text)
    return values


# --- who may open the pages ---------------------------------------------------------------------


def test_a_warehouse_user_gets_no_administration_page_and_no_link_to_one(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "warehouse")
    assert 'href="/admin"' not in client.get("/").text
    pages = [*ADMIN_PAGES, f"/admin/products/{stock['product']}", f"/admin/sites/{people.site_ids['B']}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 403, (path, response.status_code)
        assert "permission" in alerts(response.text)[0]


def test_an_administrator_sees_every_section_and_a_qa_manager_only_master_data(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "admin")
    assert 'href="/admin"' in client.get("/").text
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path
    sign_in(client, "qa_manager")  # master.write, but neither user.write nor site.write
    landing = client.get("/admin").text
    assert 'href="/admin/products"' in landing
    assert 'href="/admin/users"' not in landing
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/products").status_code == 200
    # The change history shows them the catalog's configuration, not who holds which role.
    history = client.get("/admin/history").text
    assert "Product shelf life" in history
    assert "Role grants" not in history
    assert client.get("/admin/history?kind=role_grant").status_code == 422


# --- products -----------------------------------------------------------------------------------


def test_a_shelf_life_change_without_a_reason_is_refused_and_nothing_is_written(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    product_id = stock["product"]
    before = (count(db, Product), count(db, ConfigVersion), count(db, AuditRecord))
    form = product_form(db, product_id, shelf_life_amount="14", name_en="Pork, chilled", csrf_token=csrf)
    refused = client.post(f"/admin/products/{product_id}", data=form)
    assert refused.status_code == 422
    message = alerts(refused.text)[0]
    assert "reason" in message.lower()
    assert "shelf_life_amount" in message
    shown = field_values(refused.text)
    assert shown["shelf_life_amount"] == "14"
    assert shown["name_en"] == "Pork, chilled"
    assert 'aria-invalid="true"' in refused.text
    assert (count(db, Product), count(db, ConfigVersion), count(db, AuditRecord)) == before
    with db.transaction(read_only=True) as uow:
        product = uow.session.get_one(Product, product_id)
        assert (product.shelf_life_amount, product.name_en, product.shelf_life_version) == (10, "Pork", 1)


def test_a_shelf_life_change_with_a_reason_is_saved_and_listed_with_old_and_new_values(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    product_id = stock["product"]
    form = product_form(
        db,
        product_id,
        shelf_life_amount="14",
        min_ship_mode="percent",
        min_ship_value="50",
        reason="stability study SS-2026-04",
        csrf_token=csrf,
    )
    saved = client.post(f"/admin/products/{product_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303, alerts(saved.text)
    product_page = client.get(saved.headers["location"]).text
    assert "Product PORK saved." in product_page
    with db.transaction(read_only=True) as uow:
        product = uow.session.get_one(Product, product_id)
        assert (product.shelf_life_amount, product.shelf_life_version) == (14, 2)
        assert str(product.min_ship_percent) == "50.000000"
    history = text_of(product_page, 'id="hist"')
    assert "stability study SS-2026-04" in history
    assert "Shelf life: 10 → 14" in history
    assert "Minimum at shipment (%): — → 50" in history
    assert "v2" in history
    assert "Qa_Manager User" in history
    # The page's own form sent back with a new name only: no GMP field moves, so no reason is asked.
    again = submitted(product_page, f"/admin/products/{product_id}") | {"name_en": "Pork loin"}
    renamed = client.post(f"/admin/products/{product_id}", data=again, follow_redirects=False)
    assert renamed.status_code == 303, alerts(renamed.text)
    with db.transaction(read_only=True) as uow:
        product = uow.session.get_one(Product, product_id)
        assert (product.name_en, product.shelf_life_version) == ("Pork loin", 2)
        assert str(product.min_ship_percent) == "50.000000"
    # The same change on the page of all GMP configuration changes.
    everything = text_of(client.get("/admin/history?kind=product").text)
    assert "stability study SS-2026-04" in everything
    assert "10 → 14" in everything
    # A lot registered before keeps its date; the next one is dated by the new rule.
    with db.transaction() as uow:
        later = lots.register_lot(
            uow,
            product_id=product_id,
            site_id=people.site_ids["A"],
            source="PRODUCTION",
            production_date=date(2026, 3, 1),
        )
        assert later.expiry_date == date(2026, 3, 14)
        assert uow.session.get_one(lots.Lot, stock["a"]).expiry_date == date(2026, 3, 10)


def test_a_gtin_with_a_wrong_check_digit_is_refused_naming_the_gtin(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    before = (count(db, Product), count(db, AuditRecord))
    with db.transaction(read_only=True) as uow:
        lot_type_id = uow.session.scalars(select(LotType.id)).one()
    new = {
        "code": "BEEF",
        "gtin": "6901234567891",  # the check digit of 690123456789 is 2
        "name_zh": "牛肉",
        "name_en": "Beef",
        "base_unit": "KGM",
        "lot_type_id": str(lot_type_id),
        "shelf_life_amount": "21",
        "shelf_life_unit": "DAYS",
        "expiry_kind": "USE_BY",
        "active": "on",
        "csrf_token": csrf,
    }
    refused = client.post("/admin/products", data=new)
    assert refused.status_code == 422
    assert "gtin" in alerts(refused.text)[0]
    assert "check digit" in alerts(refused.text)[0]
    assert field_values(refused.text)["code"] == "BEEF"
    edit = client.post(
        f"/admin/products/{stock['product']}",
        data=product_form(db, stock["product"], gtin="6901234567891", csrf_token=csrf),
    )
    assert edit.status_code == 422
    assert "gtin" in alerts(edit.text)[0]
    assert (count(db, Product), count(db, AuditRecord)) == before

    created = client.post("/admin/products", data={**new, "gtin": "6901234567892"}, follow_redirects=False)
    assert created.status_code == 303, alerts(created.text)
    listed = client.get("/admin/products?q=beef").text
    assert "BEEF" in listed
    assert "PORK" not in listed
    with db.transaction(read_only=True) as uow:
        assert (
            uow.session.scalars(select(Product.gtin).where(Product.code == "BEEF")).one() == "06901234567892"
        )


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "qa_manager")
    before = (count(db, ConfigVersion), count(db, AuditRecord))
    form = product_form(db, stock["product"], shelf_life_amount="12", reason="because")
    assert client.post(f"/admin/products/{stock['product']}", data=form).status_code == 403
    forged = client.post(f"/admin/products/{stock['product']}", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert (
        client.post(
            "/admin/storage-conditions", data={"code": "X", "name_zh": "x", "name_en": "x"}
        ).status_code
        == 403
    )
    assert (count(db, ConfigVersion), count(db, AuditRecord)) == before


# --- storage conditions and units ---------------------------------------------------------------


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


# --- lot types ----------------------------------------------------------------------------------


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


# --- sites and locations ------------------------------------------------------------------------


def site_admin(db: Database, clock: FakeClock, site_id: int) -> None:
    """An administrator whose only grant is at one site."""
    with db.transaction(clock=clock) as uow:
        user = auth.create_user(uow, username="site_admin", display_name="Site Admin", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="admin", site_id=site_id, reason="site IT lead")


def warehouses(db: Database, people: People) -> dict[str, int]:
    with db.transaction() as uow:
        return {
            code: places.create_location(
                uow,
                site_id=people.site_ids[code],
                code=f"WH-{code}",
                name_zh="仓库",
                name_en="Warehouse",
                kind="WAREHOUSE",
            ).id
            for code in ("A", "B")
        }


def test_a_site_administrator_neither_sees_nor_edits_another_sites_locations(
    client: TestClient, db: Database, clock: FakeClock, people: People
) -> None:
    site_a, site_b = people.site_ids["A"], people.site_ids["B"]
    located = warehouses(db, people)
    site_admin(db, clock, site_a)
    csrf = sign_in(client, "site_admin")
    sites = client.get("/admin/sites").text
    assert f'href="/admin/sites/{site_a}"' in sites
    assert f'href="/admin/sites/{site_b}"' not in sites
    assert "WH-A" in client.get(f"/admin/sites/{site_a}").text
    before = (count(db, Location), count(db, AuditRecord))
    form = {
        "code": "Z1",
        "name_zh": "区",
        "name_en": "Zone",
        "kind": "ZONE",
        "active": "on",
        "csrf_token": csrf,
    }
    for response in (
        client.get(f"/admin/sites/{site_b}"),
        client.get(f"/admin/sites/{site_b}/locations/new"),
        client.get(f"/admin/locations/{located['B']}"),
        client.post(f"/admin/locations/{located['B']}", data={**form, "kind": "WAREHOUSE"}),
        client.post(f"/admin/sites/{site_b}/locations", data=form),
        client.get(f"/admin/sites/{site_b}/edit"),
    ):
        assert response.status_code == 404, (response.request.url, response.status_code)
        assert "WH-B" not in response.text
    # Nor through a parent: a zone at A placed "inside" B's warehouse is refused as not found.
    smuggled = client.post(f"/admin/sites/{site_a}/locations", data={**form, "parent_id": str(located["B"])})
    assert smuggled.status_code == 404
    assert "parent_id" not in alerts(smuggled.text)[0] or "not found" in alerts(smuggled.text)[0]
    assert (count(db, Location), count(db, AuditRecord)) == before
    made = client.post(
        f"/admin/sites/{site_a}/locations",
        data={**form, "parent_id": str(located["A"])},
        follow_redirects=False,
    )
    assert made.status_code == 303, alerts(made.text)
    tree = text_of(client.get(f"/admin/sites/{site_a}").text, "<tbody>")
    assert tree.index("WH-A") < tree.index("Z1")
    # Role grants too stop at the site: not everywhere, not at B.
    with db.transaction(read_only=True) as uow:
        viewer = uow.session.scalars(select(User).where(User.username == "viewer")).one()
    grants = {"role": "qa", "grant_reason": "cover", "csrf_token": csrf}
    for site in ("*", str(site_b)):
        refused = client.post(f"/admin/users/{viewer.id}/grants", data={**grants, "site_id": site})
        assert refused.status_code == 403
    # The viewer holds a role at every site: a site administrator may not change their account.
    assert (
        client.post(
            f"/admin/users/{viewer.id}/active",
            data={"active": "no", "active_reason": "x", "csrf_token": csrf},
        ).status_code
        == 403
    )


def test_a_locations_storage_condition_changes_only_with_a_reason(
    client: TestClient, db: Database, people: People
) -> None:
    located = warehouses(db, people)
    with db.transaction() as uow:
        frozen = catalog.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal("-18")
        )
        frozen_id = frozen.id
    csrf = sign_in(client, "admin")
    url = f"/admin/locations/{located['A']}"
    form = {**field_values(client.get(url).text), "kind": "WAREHOUSE", "active": "on", "csrf_token": csrf}
    form["storage_condition_id"] = str(frozen_id)
    refused = client.post(url, data=form)
    assert refused.status_code == 422
    assert "storage_condition_id" in alerts(refused.text)[0]
    saved = client.post(url, data={**form, "reason": "converted to freezer"}, follow_redirects=False)
    assert saved.status_code == 303
    assert "FROZEN" in client.get(saved.headers["location"]).text
    nested = client.post(
        f"/admin/sites/{people.site_ids['A']}/locations", data={**form, "code": "B1", "kind": "ZONE"}
    )
    assert nested.status_code == 422  # a zone cannot be at the top of a site
    assert "ZONE" in alerts(nested.text)[0]


# --- partners -----------------------------------------------------------------------------------


def test_partners_are_kept_with_address_contacts_and_transit_days_and_listed_by_role(
    client: TestClient, db: Database, people: People
) -> None:
    csrf = sign_in(client, "qa_manager")
    form = {
        "code": "METRO-SH",
        "name_zh": "麦德龙上海",
        "name_en": "Metro Shanghai",
        "is_customer": "on",
        "gln": "6901234567890",  # check digit 2
        "address.city": "Shanghai",
        "address.country": "cn",
        "contacts.0.name": "Li Wei",
        "contacts.0.phone": "+86 21 5555 0000",
        "contacts.1.name": "",
        "time_zone": "Asia/Shanghai",
        "default_transit_days": "2",
        "min_delivery_mode": "percent",
        "min_delivery_value": "60",
        "active": "on",
        "csrf_token": csrf,
    }
    refused = client.post("/admin/partners", data=form)
    assert refused.status_code == 422
    assert "gln" in alerts(refused.text)[0]
    assert field_values(refused.text)["contacts.0.name"] == "Li Wei"
    assert count(db, Partner) == 0
    created = client.post("/admin/partners", data={**form, "gln": "6901234567892"}, follow_redirects=False)
    assert created.status_code == 303, alerts(created.text)
    with db.transaction(read_only=True) as uow:
        partner = uow.session.scalars(select(Partner)).one()
        assert partner.address == {"city": "Shanghai", "country": "CN"}
        assert partner.contacts == [{"name": "Li Wei", "phone": "+86 21 5555 0000"}]
        assert (partner.default_transit_days, str(partner.min_delivery_percent)) == (2, "60.000000")
    customers = client.get("/admin/partners?role=customer").text
    assert "METRO-SH" in customers
    assert "METRO-SH" not in client.get("/admin/partners?role=supplier").text
    assert client.get("/admin/partners?role=pirate").status_code == 422
    edited = client.post(
        created.headers["location"],
        data={**form, "gln": "6901234567892", "default_transit_days": "3"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalars(select(Partner.default_transit_days)).one() == 3


# --- users and role grants ----------------------------------------------------------------------


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


def test_administration_pages_speak_chinese(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "admin", language="zh_CN")
    for path in (*ADMIN_PAGES, f"/admin/products/{stock['product']}", f"/admin/sites/{people.site_ids['A']}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'lang="zh-CN"' in response.text


def test_saving_an_editor_untouched_changes_nothing_and_asks_no_reason(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    """Every editor shows stored values so that sending them back is no change at all."""
    located = warehouses(db, people)
    with db.transaction() as uow:
        chilled = catalog.create_storage_condition(
            uow,
            code="CHILLED",
            name_zh="冷藏",
            name_en="Chilled",
            min_temp_c=Decimal("0.5"),
            max_temp_c=Decimal("4"),
        )
        product = uow.session.get_one(Product, stock["product"])
        catalog.revise_product(
            uow,
            product_id=product.id,
            changes={
                "storage_condition_id": chilled.id,
                "min_receipt_percent": Decimal("66.5"),
                "min_ship_days": 3,
                "retest_days": 30,
                "gtin": "6901234567892",
                "round_to_month_end": True,
            },
            reason="setup",
        )
        lot_type = uow.session.scalars(select(LotType)).one()
        catalog.update_lot_type(
            uow,
            lot_type_id=lot_type.id,
            changes={
                "custom_schema": {
                    "type": "object",
                    "properties": {
                        "ph": {"type": "number", "minimum": 5.2},
                        "grade": {"type": "string", "enum": ["A", "B"]},
                    },
                    "required": ["ph"],
                },
                "external_code_pattern": "[A-Z]{2}[0-9]{6}",
            },
            reason="setup",
        )
        places.update_location(
            uow, location_id=located["A"], changes={"storage_condition_id": chilled.id}, reason="setup"
        )
        partner = places.create_partner(
            uow,
            code="JINHUA",
            name_zh="金华",
            name_en="Jinhua",
            is_supplier=True,
            gln="6901234567892",
            address={"city": "Jinhua", "country": "CN"},
            contacts=[{"name": "Wang", "email": "wang@example.com"}],
            min_delivery_percent=Decimal("40"),
        )
        edited = {
            f"/admin/products/{product.id}",
            f"/admin/storage-conditions/{chilled.id}",
            f"/admin/lot-types/{lot_type.id}",
            f"/admin/locations/{located['A']}",
            f"/admin/partners/{partner.id}",
            f"/admin/sites/{people.site_ids['A']}/edit",
            f"/admin/users/{people.user_ids['viewer']}",
        }
    sign_in(client, "admin")
    before = (count(db, AuditRecord), count(db, ConfigVersion))
    for url in sorted(edited):
        sent = submitted(client.get(url).text, url)
        response = client.post(url, data=sent, follow_redirects=False)
        assert response.status_code == 303, (url, alerts(response.text))
    assert (count(db, AuditRecord), count(db, ConfigVersion)) == before


def test_packaging_levels_are_edited_on_the_product_page(
    client: TestClient, db: Database, people: People
) -> None:
    with db.transaction() as uow:
        lot_type = catalog.create_lot_type(
            uow, code="PK", name_zh="成品", name_en="Finished", code_template="{site}{yy}{doy:03}{seq:04}"
        )
        product = catalog.create_product(
            uow,
            code="BAGS",
            name_zh="袋装",
            name_en="Bags",
            base_unit="EA",
            lot_type_id=lot_type.id,
            shelf_life_amount=12,
            shelf_life_unit="MONTHS",
            expiry_kind="USE_BY",
            retest_days=None,
        )
        product_id = product.id
    csrf = sign_in(client, "qa_manager")
    bad = client.post(
        f"/admin/products/{product_id}/packaging",
        data={"csrf_token": csrf, "pack.0.code": "CS", "pack.0.each": "12", "pack.0.gtin": "16901234567890"},
    )
    assert bad.status_code == 200  # back on the page, the message shown, nothing saved
    assert any("check digit" in message for message in alerts(bad.text)), alerts(bad.text)
    with db.transaction(read_only=True) as uow:
        assert packaging.packaging_of(uow, product_id=product_id) == []
    client.post(
        f"/admin/products/{product_id}/packaging",
        data={
            "csrf_token": csrf,
            "pack.0.code": "cs",
            "pack.0.each": "12",
            "pack.1.code": "PF",
            "pack.1.each": "960",
        },
    )
    page = client.get(f"/admin/products/{product_id}").text
    assert 'value="960"' in page
    with db.transaction(read_only=True) as uow:
        assert [
            (level.code, level.base_per_unit) for level in packaging.packaging_of(uow, product_id=product_id)
        ] == [
            ("CS", Decimal(12)),
            ("PF", Decimal(960)),
        ]
