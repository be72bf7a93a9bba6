"""The screens in a real browser: sign in, switch language, filter, open a lot, sign, look."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lotline.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

MAIN_PAGES = {
    "overview": "/",
    "lots": "/lots",
    "expiring": "/expiring",
    "holds": "/holds",
    "receipts": "/receipts",
    "stock": "/stock",
    "transfers": "/stock/transfers",
    "quality": "/quality",
    "orders": "/orders",
    "order": "/orders/1",  # the demo's Lianhua order, allocated by FEFO
    "allocation": "/order-lines/1/allocation",  # its lots, and the lots passed over with reasons
    "fefo-deviations": "/fefo-deviations",
    "recalls": "/recalls",
    "recall": "/recalls/1",  # the demo's recall of the pork supplier lot, in progress
    "drill": "/recalls/2",  # the flour drill: time to trace, mass balance
    "recall-new": "/recalls/new",
    "admin": "/admin",
    "admin-products": "/admin/products",
    "admin-lot-types": "/admin/lot-types",
    "admin-storage-conditions": "/admin/storage-conditions",
    "admin-units": "/admin/units",
    "admin-sites": "/admin/sites",
    "admin-partners": "/admin/partners",
    "admin-history": "/admin/history",
}


def sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def choose_language(page: Any, label: str) -> None:
    page.click(f"nav.lang >> text={label}")
    page.wait_for_load_state()


def test_every_main_page_in_both_languages_with_screenshots(page: Any) -> None:
    sign_in(page, "qa.manager")
    for language, label, expected in (("en", "English", "Lots"), ("zh", "中文", "批次")):
        choose_language(page, label)
        assert page.locator("html").get_attribute("lang") == ("en" if language == "en" else "zh-CN")
        assert page.locator("nav.main").inner_text().count(expected) >= 1
        for name, path in MAIN_PAGES.items():
            response = page.goto(path)
            assert response is not None, path
            assert response.status < 400, (path, response.status)
            screenshot(page, f"{name}-{language}")
        page.goto("/lots")
        page.click("table.data tbody tr:first-child td a")
        page.wait_for_selector("header.lot-head h1")
        screenshot(page, f"lot-{language}")
        page.goto("/admin/products")
        page.click("table tbody tr:first-child td a")
        page.wait_for_load_state()
        screenshot(page, f"admin-product-{language}")
        page.goto("/admin/lot-types")
        page.click("table tbody tr:first-child td a")
        page.wait_for_load_state()
        screenshot(page, f"admin-lot-type-{language}")
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
    page.goto("/lots")
    screenshot(page, "lots-tablet")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_filtering_lots_by_hold_and_opening_one(page: Any) -> None:
    sign_in(page, "qa.manager")
    choose_language(page, "English")
    page.goto("/lots")
    assert page.evaluate("document.activeElement.name") == "code"  # the scan field has focus
    everything = page.locator("table.data tbody tr").count()
    page.select_option("select[name=hold]", "any")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*hold=any.*"))
    held = page.locator("table.data tbody tr")
    assert 0 < held.count() < everything
    for row in range(held.count()):
        assert held.nth(row).locator(".badge.hold").count() >= 1
    code = held.first.locator("td a strong").inner_text()
    held.first.locator("td a").click()
    page.wait_for_selector("header.lot-head h1")
    assert code in page.locator("header.lot-head h1").inner_text()
    # A scanned code (typed into the focused field, Enter from the scanner) finds the lot.
    page.goto("/lots")
    page.keyboard.type(code.lower())
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*code=.*"))
    assert page.locator("table.data tbody tr").count() == 1


def test_lifting_a_hold_through_the_signing_dialog(page: Any) -> None:
    sign_in(page, "qa.manager")
    choose_language(page, "English")
    page.goto("/holds")
    before = page.locator("a.button.small").count()
    assert before >= 1
    page.locator("a.button.small").first.click()
    page.wait_for_selector(".sign-dialog")
    dialog = page.locator(".sign-dialog").inner_text()
    assert "Lift hold" in dialog
    assert "What you sign" in dialog
    screenshot(page, "signing-dialog-en")
    page.fill("textarea[name=reason]", "metal detector rechecked, no finding")
    page.fill("input[name=username]", "qa.manager")
    page.fill("input[name=password]", "wrong password")
    page.click(".sign-dialog button[type=submit]")
    assert page.locator(".sign-dialog .flash.error").is_visible()
    assert page.input_value("textarea[name=reason]") == "metal detector rechecked, no finding"
    page.fill("input[name=username]", "qa.manager")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click(".sign-dialog button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "Hold lifted and signed" in page.locator(".flash.ok").inner_text()
    assert "metal detector rechecked, no finding" in page.content()
    page.goto("/holds")
    assert page.locator("a.button.small").count() == before - 1


def test_a_warehouse_user_sees_no_administration(page: Any) -> None:
    sign_in(page, "warehouse")
    choose_language(page, "English")
    assert "Administration" not in page.locator("nav.main").inner_text()
    response = page.goto("/admin")
    assert response is not None
    assert response.status == 403
    screenshot(page, "forbidden-en")
