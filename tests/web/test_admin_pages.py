"""What holds on every administration page, driven through real requests: who may open them,
the language they speak, forms refused without their CSRF token, and editors sent back untouched."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.catalog import service as catalog
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ConfigVersion, LotType, Product
from lotline.places import service as places
from lotline.uow import Database
from tests.app_fixtures import People
from tests.web.adminkit import product_form, submitted, warehouses
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
