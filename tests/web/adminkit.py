"""Helpers for the administration page tests: a product editor's fields, what a reader sees of a
page, what a browser sends back for a form, and two warehouses to administer."""

from __future__ import annotations

import html
import re

from lotline.models.catalog import Product
from lotline.places import service as places
from lotline.uow import Database
from tests.app_fixtures import People


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


def warehouses(db: Database, people: People) -> dict[str, int]:
    """A warehouse at each of the sites A and B: location ids by site."""
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
