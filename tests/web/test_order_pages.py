"""Order pages: the A–F allocation scenario through the web forms (in English and Chinese), a bad
line that re-renders the form and writes nothing, release, CSRF and site scoping."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline import i18n
from lotline.audit.sealer import seal_pending
from lotline.auth import service as auth
from lotline.domain.reason_text import REASON_TEXT
from lotline.domain.status import HoldType
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.outbound import Allocation, SalesOrder, SalesOrderLine
from lotline.models.stock import StockOnHand
from lotline.uow import Database
from lotline.web.outbound import orders as order_list_module
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.outbound_fixtures import PASSED_OVER, SHIP_DATE, Shelf, build_shelf
from tests.web.webkit import alerts, count, sign_in


@pytest.fixture
def shelf(db: Database, clock: FakeClock, people: People) -> Shelf:
    """The A–F shelf at site A, and "picker": a warehouse user of site A."""
    built = build_shelf(db, clock, people)
    with db.transaction(clock=clock) as uow:
        user = auth.create_user(uow, username="picker", display_name="Picker", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="warehouse", site_id=built.site, reason="tests")
    seal_pending(db)
    return built


def order_form(shelf: Shelf, csrf: str, **changes: object) -> dict[str, object]:
    """The order the scenario enters: 5 cases (60 EA) of milk for SHOP, shipped 03-03."""
    form: dict[str, object] = {
        "csrf_token": csrf,
        "action": "post",
        "customer_id": str(shelf.customer),
        "site_id": str(shelf.site),
        "ship_date": SHIP_DATE.isoformat(),
        "customer_ref": "PO-778",
        "product_id": [str(shelf.product), ""],
        "quantity": ["5", ""],
        "unit": ["CS", ""],
        "delivery_date": ["", ""],
        "min_days": ["", ""],
        "min_percent": ["", ""],
    }
    form.update(changes)
    return form


def enter_order(client: TestClient, shelf: Shelf, csrf: str) -> int:
    response = client.post("/orders/new", data=order_form(shelf, csrf), follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/orders/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def line_of(db: Database, order_id: int) -> int:
    with db.transaction(read_only=True) as uow:
        return uow.session.scalars(select(SalesOrderLine.id).where(SalesOrderLine.order_id == order_id)).one()


def reserved(db: Database) -> dict[int, Decimal]:
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.lot_id, StockOnHand.qty_allocated).where(StockOnHand.qty_allocated > 0)
        )
        return {lot_id: Decimal(qty) for lot_id, qty in rows}


def table_rows(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<tr class="{css_class}">(.*?)</tr>', page, flags=re.S)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_scenario_through_the_forms_allocates_e_then_f_and_says_why_a_to_d_were_passed_over(
    client: TestClient, db: Database, shelf: Shelf, language: str
) -> None:
    i18n.MISSING.clear()
    translate = i18n.gettext_for(language)
    csrf = sign_in(client, "picker", language=language)
    assert 'href="/orders/new"' in client.get("/orders").text
    form = client.get("/orders/new").text
    assert 'name="ship_date" type="date" required value="2026-03-01"' in form  # today at site A

    order_id = enter_order(client, shelf, csrf)
    page = client.get(f"/orders/{order_id}").text
    assert f'action="/orders/{order_id}/allocate"' in page
    allocated = client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf}, follow_redirects=False)
    assert allocated.status_code == 303
    assert allocated.headers["location"] == f"/orders/{order_id}"
    order_page = client.get(f"/orders/{order_id}").text
    assert not alerts(order_page), alerts(order_page)
    assert translate("Allocated %(lines)s lines in full.") % {"lines": 1} in order_page
    assert reserved(db) == {shelf.lots["E"]: Decimal(30), shelf.lots["F"]: Decimal(30)}

    line_id = line_of(db, order_id)
    assert f'href="/order-lines/{line_id}/allocation"' in order_page
    view = client.get(f"/order-lines/{line_id}/allocation")
    assert view.status_code == 200
    chosen = [text_of(row).split() for row in table_rows(view.text, "chosen-lot")]
    assert [(cells[1], cells[2], cells[4]) for cells in chosen] == [
        (shelf.codes["E"], "AMB-1", "30"),
        (shelf.codes["F"], "AMB-1", "30"),
    ]
    left = translate("%(days)s d")
    assert left % {"days": 15} in text_of(table_rows(view.text, "chosen-lot")[0])  # 03-20 vs delivery 03-05
    assert f'href="/lots/{shelf.lots["E"]}"' in view.text

    passed = {
        shelf.letter_of(re.search(r"<strong>([^<]+)</strong>", row).group(1)): row  # type: ignore[union-attr]
        for row in table_rows(view.text, "passed-lot")
    }
    assert set(passed) == set(PASSED_OVER)
    for letter, code in PASSED_OVER.items():
        shown = translate(REASON_TEXT[code])
        if language == "zh_CN":
            assert shown != REASON_TEXT[code], f"{code} has no Chinese text"
        assert f'data-reason="{code}"' in passed[letter]
        assert shown in text_of(passed[letter]), (letter, code, text_of(passed[letter]))
    assert translate("%(remaining)s days left, %(required)s required") % {
        "remaining": 5,
        "required": 10,
    } in text_of(passed["C"])
    if language == "zh_CN":
        assert "有质量冻结" in text_of(passed["A"])  # a QA hold is on it
        assert "这是留样" in text_of(passed["D"])  # this is a retained sample
        assert not i18n.MISSING, f"shown in English on a Chinese page: {sorted(i18n.MISSING)}"


def test_releasing_a_line_gives_its_stock_back_and_needs_a_reason(
    client: TestClient, db: Database, shelf: Shelf
) -> None:
    csrf = sign_in(client, "picker")
    order_id = enter_order(client, shelf, csrf)
    client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf})
    line_id = line_of(db, order_id)
    view = client.get(f"/order-lines/{line_id}/allocation").text
    assert f'action="/order-lines/{line_id}/release"' in view

    refused = client.post(f"/order-lines/{line_id}/release", data={"csrf_token": csrf, "reason": "  "})
    assert alerts(refused.text) == ["Give the reason for releasing the allocation."]
    assert sum(reserved(db).values()) == Decimal(60)

    released = client.post(
        f"/order-lines/{line_id}/release", data={"csrf_token": csrf, "reason": "customer moved the date"}
    )
    assert "2 allocations released; the stock is free again." in released.text
    assert reserved(db) == {}
    assert "Nothing is allocated to this line." in released.text
    with db.transaction(read_only=True) as uow:
        assert set(uow.session.scalars(select(Allocation.status))) == {"released"}
        assert uow.session.get_one(SalesOrderLine, line_id).status == "open"
        audit = uow.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "release_allocation")
        ).one()
        assert audit.reason == "customer moved the date"
    # Allocated again, it gets the same lots.
    client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf})
    assert reserved(db) == {shelf.lots["E"]: Decimal(30), shelf.lots["F"]: Decimal(30)}


def written(db: Database) -> tuple[int, ...]:
    return tuple(count(db, model) for model in (SalesOrder, SalesOrderLine, AuditRecord))


def test_a_bad_line_re_renders_the_form_with_the_error_and_the_values_and_writes_nothing(
    client: TestClient, db: Database, shelf: Shelf
) -> None:
    csrf = sign_in(client, "picker")
    before = written(db)
    bad = order_form(
        shelf,
        csrf,
        product_id=[str(shelf.product), "", str(shelf.product)],
        quantity=["5", "", "3"],
        unit=["CS", "", "PALLET"],
        delivery_date=["", "", "2026-03-09"],
        min_days=["", "", "12"],
        min_percent=["", "", ""],
    )
    response = client.post("/orders/new", data=bad)
    assert response.status_code in (404, 422)
    (message,) = alerts(response.text)
    assert message.startswith("Line 3: "), message
    assert 'class="line-error"' in response.text
    kept = response.text
    for value in ('value="PO-778"', 'value="PALLET"', 'value="2026-03-09"', 'value="12"', 'value="3"'):
        assert value in kept, value
    assert f'<option value="{shelf.customer}" selected>' in kept
    assert written(db) == before

    zero = client.post("/orders/new", data=order_form(shelf, csrf, quantity=["0", ""]))
    assert zero.status_code == 422
    assert alerts(zero.text) == ["Line 1: quantity must be greater than zero."]
    both = client.post(
        "/orders/new", data=order_form(shelf, csrf, min_days=["10", ""], min_percent=["50", ""])
    )
    assert alerts(both.text) == [
        "Line 1: Give the minimum shelf life either in days or as a percentage, not both."
    ]
    no_lines = client.post(
        "/orders/new", data=order_form(shelf, csrf, product_id=["", ""], quantity=["", ""], unit=["", ""])
    )
    assert alerts(no_lines.text) == ["Enter at least one line."]
    assert written(db) == before

    grown = client.post("/orders/new", data={**order_form(shelf, csrf), "action": "add"})
    assert grown.status_code == 200
    assert grown.text.count('name="quantity"') == 3
    assert written(db) == before


def test_forms_without_a_csrf_token_are_refused_and_write_nothing(
    client: TestClient, db: Database, shelf: Shelf
) -> None:
    csrf = sign_in(client, "picker")
    order_id = enter_order(client, shelf, csrf)
    line_id = line_of(db, order_id)
    before = written(db)
    no_token = {k: v for k, v in order_form(shelf, csrf).items() if k != "csrf_token"}
    assert client.post("/orders/new", data=no_token).status_code == 403
    assert client.post(f"/orders/{order_id}/allocate", data={"csrf_token": "forged"}).status_code == 403
    assert client.post(f"/orders/{order_id}/allocate", data={}).status_code == 403
    assert written(db) == before
    assert reserved(db) == {}
    client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf})
    assert client.post(f"/order-lines/{line_id}/release", data={"reason": "forged"}).status_code == 403
    assert sum(reserved(db).values()) == Decimal(60)


def test_a_user_of_another_site_gets_not_found_and_a_reader_may_not_allocate(
    client: TestClient, db: Database, shelf: Shelf
) -> None:
    csrf = sign_in(client, "picker")
    order_id = enter_order(client, shelf, csrf)
    line_id = line_of(db, order_id)
    with db.transaction(read_only=True) as uow:
        number = uow.session.get_one(SalesOrder, order_id).number

    client.cookies.clear()
    csrf = sign_in(client, "warehouse")  # site B only
    assert number not in client.get("/orders").text
    assert client.get(f"/orders/{order_id}").status_code == 404
    assert client.get(f"/order-lines/{line_id}/allocation").status_code == 404
    assert client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf}).status_code == 404
    assert (
        client.post(f"/order-lines/{line_id}/release", data={"csrf_token": csrf, "reason": "x"}).status_code
        == 404
    )
    entered = client.post("/orders/new", data=order_form(shelf, csrf))
    assert entered.status_code == 404
    assert count(db, SalesOrder) == 1

    client.cookies.clear()
    csrf = sign_in(client, "qa")  # site A, reads orders but may not allocate
    assert number in client.get("/orders").text
    page = client.get(f"/orders/{order_id}").text
    assert "/allocate" not in page
    assert client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf}).status_code == 403
    assert client.get("/orders/new").status_code == 403
    assert reserved(db) == {}


def test_a_hold_after_allocation_flags_the_line_and_allocating_again_moves_it_off_the_held_lot(
    client: TestClient, db: Database, clock: FakeClock, shelf: Shelf
) -> None:
    csrf = sign_in(client, "picker")
    order_id = enter_order(client, shelf, csrf)
    client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf})
    with db.transaction(clock=clock) as uow:
        lots.place_hold(uow, lot_id=shelf.lots["E"], hold_type=HoldType.QA, reason="damaged cartons")
    line_id = line_of(db, order_id)

    page = client.get(f"/orders/{order_id}").text
    assert "30 on hold since allocated" in page
    assert f'action="/orders/{order_id}/allocate"' in page  # nothing is short, yet it must be redone
    view = client.get(f"/order-lines/{line_id}/allocation").text
    (flagged,) = [row for row in table_rows(view, "chosen-lot") if shelf.codes["E"] in row]
    assert "Flagged: on hold since allocated, re-allocate" in text_of(flagged)
    assert "a QA hold is on it" in text_of(flagged)

    again = client.post(f"/orders/{order_id}/allocate", data={"csrf_token": csrf})
    assert alerts(again.text) == ["Allocated 1 lines; 1 of them are short of eligible stock."]
    assert reserved(db) == {shelf.lots["F"]: Decimal(50)}
    view = client.get(f"/order-lines/{line_id}/allocation").text
    chosen = [text_of(row).split() for row in table_rows(view, "chosen-lot")]
    assert sorted((cells[1], cells[4]) for cells in chosen) == [
        (shelf.codes["F"], "20"),
        (shelf.codes["F"], "30"),
    ]
    passed_e = [row for row in table_rows(view, "passed-lot") if shelf.codes["E"] in row]
    assert len(passed_e) == 1
    assert 'data-reason="hold.qa"' in passed_e[0]
    assert "10 EA short" in text_of(view)


def test_the_order_list_filters_by_status_and_customer_and_pages(
    client: TestClient, db: Database, clock: FakeClock, shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = sign_in(client, "picker")
    first, second, third = (enter_order(client, shelf, csrf) for _ in range(3))
    client.post(f"/orders/{first}/allocate", data={"csrf_token": csrf})
    with db.transaction(read_only=True) as uow:
        numbers = {i: uow.session.get_one(SalesOrder, i).number for i in (first, second, third)}

    def listed(query: str) -> list[str]:
        page = client.get(f"/orders{query}")
        assert page.status_code == 200, page.text
        return re.findall(r"<strong>(SO-\d+)</strong>", page.text)

    assert listed("") == [numbers[third], numbers[second], numbers[first]]  # newest first
    assert listed("?status=allocated") == [numbers[first]]
    assert listed("?status=open") == [numbers[third], numbers[second]]
    assert listed(f"?customer_id={shelf.customer}&site_id={shelf.site}") == listed("")
    assert listed(f"?customer_id={shelf.customer + 1000}") == []
    assert client.get("/orders?status=lost").status_code == 422

    monkeypatch.setattr(order_list_module, "PAGE_SIZE", 2)
    page = client.get("/orders?status=open").text
    assert re.findall(r"<strong>(SO-\d+)</strong>", page) == [numbers[third], numbers[second]]
    assert "Next page" not in page
    page = client.get("/orders").text
    (next_url,) = re.findall(r'class="pager"><a class="button secondary" href="([^"]+)"', page)
    assert listed(html.unescape(next_url).removeprefix("/orders")) == [numbers[first]]


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_an_order_form_sent_twice_creates_one_order_and_both_land_on_it(
    client: TestClient, db: Database, shelf: Shelf, language: str
) -> None:
    """A double tap or the browser's resend posts the same rendered form again: every form carries
    a fresh ``idempotency_key``, so the second post replays the first one's answer (the same
    order's page, with a note saying so) and creates nothing; a newly opened form is new work."""
    csrf = sign_in(client, "picker", language=language)
    form_page = client.get("/orders/new").text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form_page)
    assert key, "the order form carries no idempotency key"
    assert key.group(1) not in client.get("/orders/new").text  # each rendering its own
    sent = order_form(shelf, csrf, idempotency_key=key.group(1))
    before = count(db, SalesOrder)

    first = client.post("/orders/new", data=sent, follow_redirects=False)
    again = client.post("/orders/new", data=sent, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert count(db, SalesOrder) == before + 1
    landed = client.get(again.headers["location"]).text
    note = i18n.gettext_for(language)("This form had already been sent; it was carried out once, not twice.")
    assert html.escape(note, quote=False) in landed or note in html.unescape(landed)

    other = client.post(
        "/orders/new", data=order_form(shelf, csrf, idempotency_key="f" * 32), follow_redirects=False
    )
    assert other.status_code == 303
    assert other.headers["location"] != first.headers["location"]
    assert count(db, SalesOrder) == before + 2

    # Back to the form, a field changed, sent again with the page's old key: new work, not an error.
    changed = client.post(
        "/orders/new",
        data=order_form(shelf, csrf, customer_ref="PO-999", idempotency_key=key.group(1)),
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert changed.headers.get("idempotent-replayed") is None
    assert count(db, SalesOrder) == before + 3


def test_an_order_form_with_a_malformed_idempotency_key_is_refused_and_writes_nothing(
    client: TestClient, db: Database, shelf: Shelf
) -> None:
    csrf = sign_in(client, "picker")
    before = count(db, SalesOrder)
    sent = client.post(
        "/orders/new", data=order_form(shelf, csrf, idempotency_key="k" * 300), follow_redirects=False
    )
    assert sent.status_code == 422
    assert count(db, SalesOrder) == before
