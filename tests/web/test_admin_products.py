"""The product administration pages: shelf-life changes under change control, GTIN checks and
packaging levels — what a refused form keeps and writes, and what the history shows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ConfigVersion, LotType, Product
from lotline.uow import Database
from tests.app_fixtures import People
from tests.web.adminkit import field_values, product_form, submitted, text_of
from tests.web.webkit import alerts, count, sign_in


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
