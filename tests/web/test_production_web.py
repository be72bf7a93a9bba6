"""Production pages: orders and the completion form in Chinese and English; an order opened and
completed through the forms with inputs issued by scan (a lot code, a GS1 (01)+(10) string), the
output lot in quarantine and the lot pages reading "made from" and "used in"; a quarantined or
held input refused with the reason beside its row and nothing written; a form sent twice posting
once; a mistake named on the row it concerns; a split and a signed rework through the
transformation form; a viewer who can read but not post."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from lotline import i18n
from lotline.audit.sealer import seal_pending
from lotline.auth import service as auth
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement, StockOnHand
from lotline.production import orders
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.production_fixtures import Kitchen, build_kitchen
from tests.web.webkit import alerts, sign_in

KG = "KGM"
CABBAGE_GTIN = "09521234543213"  # a valid GTIN-14 for the kitchen's cabbage
WRITTEN = (Transformation, StockMovement, Lot, GenealogyEdge, ProductionOrder, Signature)


@pytest.fixture
def kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    """The dumpling kitchen at site A, cabbage with a GTIN, and "cook": a production operator there."""
    built = build_kitchen(db, clock, people)
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Product, built.products["CABBAGE"]).gtin = CABBAGE_GTIN
        user = auth.create_user(uow, username="cook", display_name="Cook", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="production", site_id=built.site, reason="tests")
    seal_pending(db)
    return built


def counts(db: Database) -> dict[str, int]:
    with db.transaction(read_only=True) as uow:
        return {
            model.__tablename__: int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in WRITTEN
        }


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_rows(page: str, css_class: str) -> list[str]:
    return [text_of(row) for row in re.findall(rf'<tr class="{css_class}">(.*?)</tr>', page, flags=re.S)]


def flash_of(page: str) -> str:
    match = re.search(r'<p class="flash ok" role="status">([^<]*)<', page)
    assert match, "the page shows no confirmation"
    return html.unescape(match.group(1))


def field_alert(page: str) -> tuple[str, str]:
    """The field a form's message stands beside, and the message."""
    match = re.search(r'<p data-field="([^"]*)" role="alert">([^<]*)<', page)
    assert match, f"no message beside a field: {alerts(page)}"
    return match.group(1), html.unescape(match.group(2))


def open_order(
    client: TestClient, kitchen: Kitchen, csrf: str, product: str = "FILLING", qty: str = "150"
) -> int:
    response = client.post(
        "/production/orders/new",
        data={
            "csrf_token": csrf,
            "site_id": str(kitchen.site),
            "product_id": str(kitchen.products[product]),
            "quantity": qty,
            "unit": "",
            "line": "L1",
            "note": "morning shift",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/production/orders/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def completion(
    kitchen: Kitchen,
    csrf: str,
    inputs: Sequence[tuple[str, str]],
    outputs: Sequence[tuple[str, str]],
    losses: Sequence[tuple[str, str, str]] = (),
    **extra: object,
) -> dict[str, object]:
    """A completion form: inputs (scan, kg), outputs (product, kg) into QA-1, losses (lot, kg, kind)."""
    return {
        "csrf_token": csrf,
        "action": "post",
        "line": "L1",
        "in_scan": [scan for scan, _qty in inputs],
        "in_location": ["" for _ in inputs],
        "in_quantity": [qty for _scan, qty in inputs],
        "in_unit": [KG for _ in inputs],
        "out_product": [str(kitchen.products[product]) for product, _qty in outputs],
        "out_quantity": [qty for _product, qty in outputs],
        "out_unit": [KG for _ in outputs],
        "out_location": [str(kitchen.qa_area) for _ in outputs],
        "out_code": ["" for _ in outputs],
        "loss_lot": [lot for lot, _qty, _kind in losses],
        "loss_quantity": [qty for _lot, qty, _kind in losses],
        "loss_unit": [KG for _ in losses],
        "loss_kind": [kind for _lot, _qty, kind in losses],
        "loss_note": ["" for _ in losses],
        **extra,
    }


def english_date(day: date) -> str:
    """A date as the English pages print it (``Mar 5, 2026``)."""
    return f"{day:%b} {day.day}, {day.year}"


def complete(client: TestClient, order_id: int, form: dict[str, object]) -> Response:
    return client.post(f"/production/orders/{order_id}/complete", data=form, follow_redirects=False)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_order_pages_and_the_completion_form_render_in_chinese_and_english(
    client: TestClient, kitchen: Kitchen, language: str
) -> None:
    _ = i18n.gettext_for(language)
    csrf = sign_in(client, "cook", language=language)
    home = client.get("/").text
    nav = re.search(r'<nav class="main"[^>]*>(.*?)</nav>', home, flags=re.S)
    assert nav
    assert re.search(rf'<a href="/production/orders"\s*>{_("Production")}</a>', nav.group(1))
    order_id = open_order(client, kitchen, csrf)
    pages = {
        "/production/orders": ("Production orders", "New production order", "Status"),
        "/production/orders/new": ("New production order", "Planned quantity", "Site"),
        f"/production/orders/{order_id}": ("Planned and produced", "Post a completion", "Close the order"),
        f"/production/orders/{order_id}/complete": ("Inputs", "Outputs", "Losses", "Post the completion"),
        "/transformations": ("Transformations", "New transformation", "Kind"),
        "/transformations/new": ("New transformation", "Post the transformation", "Repack"),
    }
    for path, texts in pages.items():
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert f'<html lang="{"zh-CN" if language == "zh_CN" else "en"}">' in page.text
        for text in texts:
            assert html.escape(_(text), quote=False) in page.text, (path, text)
    form = client.get(f"/production/orders/{order_id}/complete").text
    assert _("Quantity") in form
    assert len(re.findall(r'<input name="in_scan"[^>]*data-scan', form)) == 1
    # The outputs default to the order's product, landing in the site's QA area.
    assert re.search(rf'<option value="{kitchen.products["FILLING"]}" selected>FILLING', form)
    assert re.search(rf'<option value="{kitchen.qa_area}" selected>QA-1', form)


def test_enter_after_a_scan_adds_a_row_and_the_scanner_goes_to_the_next_empty_one(
    client: TestClient, db: Database, kitchen: Kitchen
) -> None:
    csrf = sign_in(client, "cook")
    order_id = open_order(client, kitchen, csrf)
    before = counts(db)
    form = completion(kitchen, csrf, inputs=[(kitchen.codes["PORK"], "")], outputs=[("FILLING", "")])
    grown = complete(client, order_id, {**form, "action": "add:inputs"})
    assert grown.status_code == 200
    scans = re.findall(r'<input name="in_scan"[^>]*>', grown.text)
    assert len(scans) == 4
    assert f'value="{kitchen.codes["PORK"]}"' in scans[0]
    assert "data-scan" not in scans[0]
    assert 'value=""' in scans[1]
    assert "data-scan" in scans[1]
    assert counts(db) == before


def test_an_order_is_opened_through_the_form_and_a_bad_quantity_is_named_with_nothing_written(
    client: TestClient, db: Database, clock: FakeClock, people: People, kitchen: Kitchen
) -> None:
    csrf = sign_in(client, "cook")
    before = counts(db)
    refused = client.post(
        "/production/orders/new",
        data={
            "csrf_token": csrf,
            "site_id": str(kitchen.site),
            "product_id": str(kitchen.products["FILLING"]),
            "quantity": "-5",
            "unit": "",
            "line": "L1",
            "note": "",
        },
    )
    assert refused.status_code == 422
    assert alerts(refused.text) == ["quantity must be greater than zero."]
    assert 'value="-5"' in refused.text
    assert 'value="L1"' in refused.text
    assert counts(db) == before

    order_id = open_order(client, kitchen, csrf)
    page = client.get(f"/production/orders/{order_id}").text
    with db.transaction(read_only=True) as uow:
        order = uow.session.get_one(ProductionOrder, order_id)
        assert (order.status, order.planned_qty, order.planned_unit, order.line) == (
            "OPEN",
            Decimal(150),
            KG,
            "L1",
        )
        number = order.number
    assert flash_of(page) == f"Production order {number} opened."
    assert "150 KGM" in text_of(page)
    assert "Nothing has been posted to this order yet." in page
    with db.transaction(clock=clock) as uow:  # an order at site B, where the cook has no role
        orders.create_order(
            uow,
            principal=None,
            order=orders.OrderInput(people.site_ids["B"], kitchen.products["FILLING"], Decimal(5), KG),
        )
    listed = client.get("/production/orders?status=OPEN").text
    assert [row.split()[0] for row in table_rows(listed, "production-order")] == [number]
    assert table_rows(client.get("/production/orders?status=CLOSED").text, "production-order") == []

    cancelled = client.post(
        f"/production/orders/{order_id}/cancel",
        data={"csrf_token": csrf, "reason": "no pork"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert flash_of(client.get(cancelled.headers["location"]).text) == f"Production order {number} cancelled."
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(ProductionOrder, order_id).status == "CANCELLED"


def test_a_completion_by_scan_makes_a_quarantined_lot_made_from_its_inputs(
    client: TestClient, db: Database, kitchen: Kitchen
) -> None:
    csrf = sign_in(client, "cook")
    order_id = open_order(client, kitchen, csrf)
    pork, cabbage = kitchen.codes["PORK"], kitchen.codes["CABBAGE"]
    form = completion(
        kitchen,
        csrf,
        # Pork by its lot code as printed, cabbage by its GS1 element string (01) GTIN + (10) lot.
        inputs=[(pork, "100"), (f"(01){CABBAGE_GTIN}(10){cabbage}", "60"), ("", "")],
        outputs=[("FILLING", "150"), ("FILLING", "")],
        losses=[(cabbage, "10", "drip")],
    )
    done = complete(client, order_id, form)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/production/orders/{order_id}"
    with db.transaction(read_only=True) as uow:
        made = uow.session.scalars(select(Lot).where(Lot.product_id == kitchen.products["FILLING"])).one()
        made_id, made_code = made.id, made.code
        assert made.quality_status == "QUARANTINE"
        buckets = [
            (row.location_id, row.stock_status, row.qty_base)
            for row in uow.session.scalars(select(StockOnHand).where(StockOnHand.lot_id == made.id))
        ]
        assert buckets == [(kitchen.qa_area, "QUARANTINE", Decimal(150))]
        left = dict(
            uow.session.execute(
                select(StockOnHand.lot_id, StockOnHand.qty_base).where(
                    StockOnHand.lot_id.in_([kitchen.lots["PORK"], kitchen.lots["CABBAGE"]])
                )
            )
            .tuples()
            .all()
        )
        assert left == {kitchen.lots["PORK"]: Decimal(100), kitchen.lots["CABBAGE"]: Decimal(230)}
        number = uow.session.scalars(select(Transformation.number)).one()
    order_page = client.get(done.headers["location"]).text
    assert flash_of(order_page) == f"Completion {number} posted: lot {made_code} made."
    assert table_rows(order_page, "flow flow-consume") == [
        f"Consumed {pork} PORK Pork 100 KGM {english_date(kitchen.expiry['PORK'])}",
        f"Consumed {cabbage} CABBAGE Cabbage 60 KGM {english_date(kitchen.expiry['CABBAGE'])}",
    ]
    assert [row.split()[:2] for row in table_rows(order_page, "flow flow-produce")] == [
        ["Produced", made_code]
    ]
    assert [row.split()[:4] for row in table_rows(order_page, "flow flow-loss")] == [
        ["Production", "loss", cabbage, "CABBAGE"]
    ]
    assert "<strong>150 KGM</strong>" in order_page
    assert [row.split()[0] for row in table_rows(order_page, "completion")] == [number]

    output_page = client.get(f"/lots/{made_id}").text
    made_from = table_rows(output_page, "made-from")
    assert [row.split()[0] for row in made_from] == [pork, cabbage]
    assert all(number in row and "Production" in row for row in made_from)
    assert "100 KGM" in made_from[0]
    assert "60 KGM" in made_from[1]
    assert "This lot has not gone into other lots." in output_page
    for name in ("PORK", "CABBAGE"):
        input_page = client.get(f"/lots/{kitchen.lots[name]}").text
        used_in = table_rows(input_page, "used-in")
        assert len(used_in) == 1
        assert used_in[0].startswith(made_code)
        assert number in used_in[0]
        assert "This lot was not made from other lots." in input_page
        assert f'href="/lots/{made_id}"' in input_page

    detail = client.get(f"/transformations/{transformation_id(db)}").text
    assert [row.split()[0] for row in table_rows(detail, "input")] == [pork, cabbage]
    assert [row.split()[0] for row in table_rows(detail, "output")] == [made_code]
    assert "Drip loss" in table_rows(detail, "loss")[0]
    assert [row.split()[:3] for row in table_rows(detail, "edge")] == [
        [pork, "→", made_code],
        [cabbage, "→", made_code],
    ]

    closed = client.post(
        f"/production/orders/{order_id}/close",
        data={"csrf_token": csrf, "reason": ""},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    closed_page = client.get(closed.headers["location"]).text
    assert "/complete" not in closed_page
    assert client.get(f"/production/orders/{order_id}/complete").status_code == 422


def transformation_id(db: Database) -> int:
    with db.transaction(read_only=True) as uow:
        return uow.session.scalars(select(Transformation.id).order_by(Transformation.id.desc())).first() or 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [("PORK-Q", "the lot is in quarantine"), ("CABBAGE-H", "QA hold")],
)
def test_a_quarantined_or_held_input_is_refused_beside_its_row_with_nothing_written(
    client: TestClient, db: Database, kitchen: Kitchen, name: str, reason: str
) -> None:
    csrf = sign_in(client, "cook")
    order_id = open_order(client, kitchen, csrf)
    before = counts(db)
    form = completion(
        kitchen,
        csrf,
        inputs=[(kitchen.codes["FLOUR"], "10"), (kitchen.codes[name], "50")],
        outputs=[("FILLING", "60")],
    )
    refused = complete(client, order_id, form)
    assert refused.status_code == 409, refused.text
    field, message = field_alert(refused.text)
    assert field == "inputs.1.scan"
    assert message.startswith("Input 2: ")
    assert "not allowed" in message
    assert reason.lower() in text_of(refused.text).lower()
    assert f'value="{kitchen.codes[name]}"' in refused.text  # what was typed is kept
    assert 'class="line-error"' in refused.text
    assert counts(db) == before


def test_a_completion_sent_twice_posts_once(client: TestClient, db: Database, kitchen: Kitchen) -> None:
    csrf = sign_in(client, "cook")
    order_id = open_order(client, kitchen, csrf)
    form = completion(
        kitchen,
        csrf,
        inputs=[(kitchen.codes["PORK"], "20")],
        outputs=[("FILLING", "20")],
        idempotency_key="b" * 32,
    )
    first = complete(client, order_id, form)
    again = complete(client, order_id, form)
    assert first.status_code == again.status_code == 303
    assert again.headers.get("idempotent-replayed") == "true"
    assert (
        "This form had already been sent; it was carried out once, not twice."
        in client.get(again.headers["location"]).text
    )
    assert counts(db)["transformation"] == 1


def test_a_mistake_is_named_on_the_row_it_concerns_and_add_a_row_keeps_the_values(
    client: TestClient, db: Database, kitchen: Kitchen
) -> None:
    csrf = sign_in(client, "cook")
    order_id = open_order(client, kitchen, csrf)
    before = counts(db)
    form = completion(
        kitchen,
        csrf,
        inputs=[("", ""), (kitchen.codes["PORK"], "20"), (kitchen.codes["CABBAGE"], "0")],
        outputs=[("FILLING", "20")],
    )
    refused = complete(client, order_id, form)
    assert refused.status_code == 422
    assert field_alert(refused.text) == ("inputs.2.quantity", "Input 3: quantity must be greater than zero.")
    unknown = complete(
        client,
        order_id,
        {**form, "in_quantity": ["", "20", "5"], "in_scan": ["", "NO-SUCH-LOT", kitchen.codes["CABBAGE"]]},
    )
    assert unknown.status_code == 404
    assert field_alert(unknown.text) == ("inputs.1.scan", "Input 2: lot NO-SUCH-LOT was not found.")
    too_much = complete(client, order_id, {**form, "in_quantity": ["", "500", "5"]})
    assert too_much.status_code == 409
    assert field_alert(too_much.text)[0] == "inputs.1.quantity"
    nothing_in = complete(client, order_id, {**form, "in_scan": ["", "", ""], "in_quantity": ["", "", ""]})
    assert nothing_in.status_code == 422
    assert field_alert(nothing_in.text) == ("inputs", "A production needs at least 1 lots in inputs.")
    assert counts(db) == before

    grown = complete(client, order_id, {**form, "action": "add:losses"})
    assert grown.status_code == 200
    assert grown.text.count('name="loss_lot"') == 3
    assert f'value="{kitchen.codes["CABBAGE"]}"' in grown.text
    assert counts(db) == before


def transformation_form(kitchen: Kitchen, csrf: str, kind: str, **fields: object) -> dict[str, object]:
    return {
        "csrf_token": csrf,
        "action": "post",
        "kind": kind,
        "site_id": str(kitchen.site),
        "line": "",
        "reason": "",
        "in_scan": [],
        "in_location": [],
        "in_quantity": [],
        "in_unit": [],
        "out_product": [],
        "out_quantity": [],
        "out_unit": [],
        "out_location": [],
        "out_code": [],
        **fields,
    }


def test_a_split_through_the_form_makes_sub_lots_of_the_same_product(
    client: TestClient, db: Database, kitchen: Kitchen
) -> None:
    csrf = sign_in(client, "cook")
    flour = kitchen.codes["FLOUR"]
    form = transformation_form(
        kitchen,
        csrf,
        "split",
        in_scan=[flour],
        in_location=[""],
        in_quantity=["100"],
        in_unit=[""],
        # No product chosen: the input's.
        out_product=["", ""],
        out_quantity=["60", "40"],
        out_unit=["", ""],
        out_location=[str(kitchen.raw_bin), str(kitchen.raw_bin)],
        out_code=["", ""],
    )
    done = client.post("/transformations/new", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get(done.headers["location"]).text
    assert flash_of(page) == f"Transformation {number_of(db)} posted: lot {flour}-1, {flour}-2 made."
    assert [row.split()[:3] for row in table_rows(page, "edge")] == [
        [flour, "→", f"{flour}-1"],
        [flour, "→", f"{flour}-2"],
    ]
    listed = client.get("/transformations?kind=split").text
    assert [row.split()[:2] for row in table_rows(listed, "transformation")] == [[number_of(db), "Split"]]
    assert table_rows(client.get("/transformations?kind=merge").text, "transformation") == []

    unbalanced = client.post(
        "/transformations/new", data={**form, "out_quantity": ["60", "30"]}, follow_redirects=False
    )
    assert unbalanced.status_code == 422
    assert "must add up to the inputs" in alerts(unbalanced.text)[0]


def number_of(db: Database) -> str:
    with db.transaction(read_only=True) as uow:
        return (
            uow.session.scalars(select(Transformation.number).order_by(Transformation.id.desc())).first()
            or ""
        )


def test_a_rework_asks_for_a_signature_and_is_posted_signed(
    client: TestClient, db: Database, kitchen: Kitchen
) -> None:
    csrf = sign_in(client, "admin")
    form = transformation_form(
        kitchen,
        csrf,
        "rework",
        reason="re-sieved after a sieve check",
        in_scan=[kitchen.codes["FLOUR"]],
        in_location=[""],
        in_quantity=["50"],
        in_unit=[""],
        out_product=[""],
        out_quantity=["48"],
        out_unit=[""],
        out_location=[str(kitchen.qa_area)],
        out_code=[""],
    )
    before = counts(db)
    client.cookies.clear()
    cook = sign_in(client, "cook")  # a production operator may not take a quality decision
    refused = client.post("/transformations/new", data={**form, "csrf_token": cook}, follow_redirects=False)
    assert refused.status_code == 403
    assert alerts(refused.text) == ["You do not have the permission quality.decide."]
    client.cookies.clear()
    csrf = sign_in(client, "admin")
    form["csrf_token"] = csrf
    dialog = client.post("/transformations/new", data=form, follow_redirects=False)
    assert dialog.status_code == 200
    assert "Electronic signature" in dialog.text
    assert kitchen.codes["FLOUR"] in dialog.text
    assert counts(db) == before
    signing = {
        "csrf_token": csrf,
        "signing": "1",
        "site_id": str(kitchen.site),
        "kind": "rework",
        "line": "",
        "reason": "re-sieved after a sieve check",
        "username": "admin",
        **dict(
            re.findall(r'<input type="hidden" name="((?:in|out|loss)_[a-z]+)" value="([^"]*)">', dialog.text)
        ),
    }
    wrong = client.post("/transformations/new", data={**signing, "password": "wrong"}, follow_redirects=False)
    assert wrong.status_code == 422
    assert alerts(wrong.text) == ["The user name or password is not correct; nothing was signed."]
    assert counts(db)["transformation"] == before["transformation"]
    signed = client.post(
        "/transformations/new", data={**signing, "password": PASSWORD}, follow_redirects=False
    )
    assert signed.status_code == 303, signed.text
    page = client.get(signed.headers["location"]).text
    assert "Rework" in page
    assert "Admin User" in text_of(page)
    with db.transaction(read_only=True) as uow:
        transformation = uow.session.scalars(select(Transformation)).one()
        signature = uow.session.get_one(Signature, transformation.signature_id)
        assert (signature.meaning, signature.record_type, signature.record_id) == (
            "rework",
            "lot",
            str(kitchen.lots["FLOUR"]),
        )


def test_a_viewer_reads_production_but_cannot_post(
    client: TestClient, db: Database, kitchen: Kitchen
) -> None:
    cook_csrf = sign_in(client, "cook")
    order_id = open_order(client, kitchen, cook_csrf)
    client.cookies.clear()
    csrf = sign_in(client, "viewer")
    listed = client.get("/production/orders")
    assert listed.status_code == 200
    assert 'href="/production/orders/new"' not in listed.text
    order_page = client.get(f"/production/orders/{order_id}").text
    assert "/complete" not in order_page
    assert "/close" not in order_page
    before = counts(db)
    posts: dict[str, dict[str, object]] = {
        "/production/orders/new": {
            "site_id": str(kitchen.site),
            "product_id": str(kitchen.products["FILLING"]),
            "quantity": "5",
        },
        f"/production/orders/{order_id}/complete": completion(
            kitchen, csrf, [(kitchen.codes["PORK"], "5")], [("FILLING", "5")]
        ),
        f"/production/orders/{order_id}/close": {},
        "/transformations/new": transformation_form(kitchen, csrf, "repack"),
    }
    for path, data in posts.items():
        assert (
            client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False).status_code == 403
        ), path
    assert client.get(f"/production/orders/{order_id}/complete").status_code == 403
    assert counts(db) == before
