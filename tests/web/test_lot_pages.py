"""The lot pages, the boards and the signing dialog, driven through real requests."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from lotline.domain.inspection import CharacteristicKind
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.status import StockStatus
from lotline.models.audit import AuditRecord
from lotline.models.lot import Hold, Lot
from lotline.models.signature import Signature
from lotline.places import service as places
from lotline.quality import inspections, plans
from lotline.stock import service as ledger
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.web.webkit import alerts, count, csrf_of, sign_in


def lot_code(db: Database, lot_id: int) -> str:
    with db.transaction(read_only=True) as uow:
        return uow.session.get_one(Lot, lot_id).code


def test_a_page_asks_for_sign_in_and_returns_to_where_the_user_was_going(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    response = client.get("/lots?hold=any", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Flots%3Fhold%3Dany"
    form = client.get(response.headers["location"])
    assert 'name="next" value="/lots?hold=any"' in form.text
    signed = client.post(
        "/login",
        data={
            "username": "qa",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/lots?hold=any",
        },
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/lots?hold=any"
    # A crafted "next" pointing off-site lands on the start page instead.
    client.cookies.clear()
    form = client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in form.text


def test_the_lot_list_shows_only_the_users_sites_and_filters(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    code_a, code_b = lot_code(db, stock["a"]), lot_code(db, stock["b"])
    sign_in(client, "qa")  # qa at site A only
    page = client.get("/lots").text
    assert code_a in page
    assert code_b not in page
    assert code_b not in client.get(f"/lots?site_id={people.site_ids['B']}").text

    sign_in(client, "qa_manager")  # every site
    both = client.get("/lots").text
    assert code_a in both
    assert code_b in both
    held = client.get("/lots?hold=any").text
    assert code_b in held
    assert code_a not in held
    assert code_a in client.get("/lots?hold=none").text
    assert code_b not in client.get("/lots?hold=none").text
    by_code = client.get(f"/lots?code={code_a.lower()}").text
    assert code_a in by_code
    assert code_b not in by_code
    bad = client.get("/lots?product_id=abc")
    assert bad.status_code == 422
    assert "product_id" in alerts(bad.text)[0]


def test_the_lot_page_shows_expiry_with_provenance_holds_and_history(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "qa_manager")
    page = client.get(f"/lots/{stock['b']}").text
    assert lot_code(db, stock["b"]) in page
    assert "Mar 10, 2026" in page  # 1 March + 10 days, use-by: last day of use 10 March
    assert "10 days, use by" in page  # the rule in the provenance
    assert "sampling" in page  # the active hold's reason
    assert f'href="/holds/{stock["hold_b"]}/lift"' in page
    assert "Hold placed" in page
    assert "Created" in page


def test_a_user_of_site_a_gets_nothing_of_site_bs_lots_and_holds_through_the_web(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa")
    before = (count(db, Lot), count(db, Hold), count(db, AuditRecord))
    lot_b, hold_b = stock["b"], stock["hold_b"]
    responses = [
        client.get(f"/lots/{lot_b}"),
        client.get(f"/lots/{lot_b}/redate"),
        client.get(f"/holds/{hold_b}/lift"),
        client.post(f"/lots/{lot_b}/holds", data={"hold_type": "QA", "reason": "x", "csrf_token": csrf}),
        client.post(
            f"/holds/{hold_b}/lift",
            data={"reason": "x", "password": PASSWORD, "username": "qa", "csrf_token": csrf},
        ),
        client.post(
            f"/lots/{lot_b}/redate",
            data={
                "new_expiry": "2026-04-01",
                "kind": "EXTENSION",
                "reason": "x",
                "password": PASSWORD,
                "csrf_token": csrf,
            },
        ),
    ]
    for response in responses:
        assert response.status_code in (403, 404), (response.request.url, response.status_code)
    assert lot_code(db, lot_b) not in client.get("/holds").text
    assert lot_code(db, lot_b) not in client.get("/lots?bucket=expired").text
    assert (count(db, Lot), count(db, Hold), count(db, AuditRecord)) == before


def test_placing_a_hold_through_the_form_blocks_the_lot_and_a_forged_form_is_refused(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa")
    before = (count(db, Hold), count(db, AuditRecord))
    forged = client.post(
        f"/lots/{stock['a']}/holds", data={"hold_type": "QA", "reason": "x", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    missing = client.post(f"/lots/{stock['a']}/holds", data={"hold_type": "QA", "reason": "x"})
    assert missing.status_code == 403
    assert (count(db, Hold), count(db, AuditRecord)) == before

    no_reason = client.post(
        f"/lots/{stock['a']}/holds", data={"hold_type": "QA", "reason": " ", "csrf_token": csrf}
    )
    assert no_reason.status_code == 200  # back on the lot page with the message
    assert "reason" in " ".join(alerts(no_reason.text))
    assert (count(db, Hold), count(db, AuditRecord)) == before

    placed = client.post(
        f"/lots/{stock['a']}/holds",
        data={"hold_type": "DEVIATION", "reason": "seal broken on pallet 3", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert placed.status_code == 303
    page = client.get(placed.headers["location"]).text
    assert "Hold placed" in page
    assert "seal broken on pallet 3" in page
    assert count(db, Hold) == before[0] + 1


def test_lifting_a_hold_through_the_signing_dialog(
    client: TestClient, db: Database, people: People, stock: dict[str, int], clock: FakeClock
) -> None:
    csrf = sign_in(client, "qa_manager")
    dialog = client.get(f"/holds/{stock['hold_b']}/lift").text
    assert "Qa_Manager User" in dialog  # the printed name
    assert "Lift hold" in dialog
    assert "sampling" in dialog
    assert 'name="username"' in dialog  # all components at the first signing in a session

    audit_before = count(db, AuditRecord)
    wrong = client.post(
        f"/holds/{stock['hold_b']}/lift",
        data={"reason": "retest passed", "username": "qa_manager", "password": "nope", "csrf_token": csrf},
    )
    assert wrong.status_code == 422
    assert alerts(wrong.text)
    assert "retest passed" in wrong.text  # what the user typed is kept
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(Hold, stock["hold_b"]).lifted_at is None
        failed = uow.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "signature_failed")
        ).all()
    assert len(failed) == 1
    assert count(db, AuditRecord) == audit_before + 1

    lifted = client.post(
        f"/holds/{stock['hold_b']}/lift",
        data={"reason": "retest passed", "username": "qa_manager", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert lifted.status_code == 303, lifted.text
    page = client.get(lifted.headers["location"]).text
    assert "Hold lifted and signed" in page
    assert "retest passed" in page
    with db.transaction(read_only=True) as uow:
        signature = uow.session.scalars(select(Signature).where(Signature.record_type == "hold")).one()
    assert signature.meaning == "lift_hold"
    assert signature.printed_name == "Qa_Manager User"
    # The next signing in the same session needs the password only.
    assert 'name="username"' not in client.get(f"/lots/{stock['b']}/redate").text


def test_redating_through_the_dialog_moves_one_lot_and_shows_in_its_history(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    form = {
        "kind": "EXTENSION",
        "reason": "stability data 2026-02",
        "username": "qa_manager",
        "csrf_token": csrf,
    }
    bad_date = client.post(
        f"/lots/{stock['a']}/redate", data={**form, "new_expiry": "tomorrow", "password": PASSWORD}
    )
    assert bad_date.status_code == 422
    assert "new_expiry" in " ".join(alerts(bad_date.text))
    done = client.post(
        f"/lots/{stock['a']}/redate",
        data={**form, "new_expiry": "2026-03-20", "password": PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    with db.transaction(read_only=True) as uow:
        assert str(uow.session.get_one(Lot, stock["a"]).expiry_date) == "2026-03-20"
        assert str(uow.session.get_one(Lot, stock["b"]).expiry_date) == "2026-03-10"
    page = client.get(f"/lots/{stock['a']}").text
    assert "Re-dated" in page
    assert "stability data 2026-02" in page
    assert "2026-03-20" in page


def test_the_expiring_board_counts_per_site_and_drills_down(
    client: TestClient, db: Database, people: People, stock: dict[str, int], clock: FakeClock
) -> None:
    sign_in(client, "qa_manager")
    # On 1 March both lots (expiry 10 March) have 9 days left: bucket "≤ 30 d".
    board = client.get("/expiring").text
    cells = re.findall(r'href="/lots\?site_id=(\d+)&amp;product_id=\d+&amp;bucket=(\w+)">(\d+)<', board)
    assert sorted(cells) == sorted(
        [(str(people.site_ids["A"]), "30", "1"), (str(people.site_ids["B"]), "30", "1")]
    )
    clock.advance(days=5)  # 6 March: 4 days left
    sign_in(client, "qa_manager")  # (the session of 1 March has ended)
    assert "bucket=7" in client.get("/expiring").text
    clock.advance(days=5)  # 11 March: both expired
    sign_in(client, "qa_manager")
    drill = client.get(f"/lots?site_id={people.site_ids['A']}&bucket=expired").text
    assert lot_code(db, stock["a"]) in drill
    assert lot_code(db, stock["b"]) not in drill
    assert "expired" in drill


def test_pages_speak_chinese(client: TestClient, people: People, stock: dict[str, int]) -> None:
    sign_in(client, "qa_manager", language="zh_CN")
    page = client.get(f"/lots/{stock['b']}").text
    assert 'lang="zh-CN"' in page
    assert "批次" in page
    assert "冻结" in page


def test_releasing_a_lot_through_the_signing_dialog(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    csrf = sign_in(client, "qa_manager")
    page = client.get(f"/lots/{stock['a']}").text
    assert f'href="/lots/{stock["a"]}/decision?to=RELEASED"' in page
    dialog = client.get(f"/lots/{stock['a']}/decision?to=RELEASED").text
    assert "Release" in dialog
    assert "Quarantine" in dialog
    no_reason = client.post(
        f"/lots/{stock['a']}/decision",
        data={
            "to": "RELEASED",
            "reason": "",
            "username": "qa_manager",
            "password": PASSWORD,
            "csrf_token": csrf,
        },
    )
    assert no_reason.status_code == 422
    released = client.post(
        f"/lots/{stock['a']}/decision",
        data={
            "to": "RELEASED",
            "reason": "micro conform",
            "username": "qa_manager",
            "password": PASSWORD,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert released.status_code == 303
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(Lot, stock["a"]).quality_status == "RELEASED"
    assert "Lot released and signed." in client.get(f"/lots/{stock['a']}").text
    # The qa role may look but not decide.
    sign_in(client, "qa")
    assert client.get(f"/lots/{stock['a']}/decision?to=REJECTED").status_code == 403


def test_the_expiring_board_buckets_are_configured_per_installation(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    db.settings.expiry_buckets = [3, 14]  # LOTLINE_EXPIRY_BUCKETS='[3,14]'
    sign_in(client, "qa_manager")
    board = client.get("/expiring").text
    assert "≤ 3 d" in board
    assert "≤ 14 d" in board
    assert "≤ 30 d" not in board
    # Both lots have 9 days left on 1 March: the "≤ 14 d" bucket, and its drill-down finds them.
    assert "bucket=14" in board
    drill = client.get("/lots?bucket=14").text
    assert lot_code(db, stock["a"]) in drill
    assert client.get("/lots?bucket=30").status_code == 422


def test_the_expiring_board_shows_the_quantity_on_hand(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    with db.transaction() as uow:
        bin_a = places.create_location(
            uow, site_id=people.site_ids["A"], code="B1", name_zh="货位", name_en="Bin", kind="WAREHOUSE"
        )
        lot = uow.session.get_one(Lot, stock["a"])
        ledger.post(
            uow,
            kind=MovementKind.OPENING,
            lot=lot,
            quantity=Quantity(Decimal("37.5")),
            entered_qty=Decimal("37.5"),
            entered_unit="KGM",
            target=ledger.Bucket(bin_a.id, StockStatus.QUARANTINE),
        )
    sign_in(client, "qa_manager")
    board = client.get("/expiring").text
    assert "37.5 KGM" in board


def test_the_lot_page_shows_its_stock_and_movements(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    with db.transaction() as uow:
        store = places.create_location(
            uow, site_id=people.site_ids["A"], code="WH-A", name_zh="仓库", name_en="Store", kind="WAREHOUSE"
        )
        lot = uow.session.get_one(Lot, stock["a"])
        ledger.post(
            uow,
            kind=MovementKind.RECEIPT,
            lot=lot,
            quantity=Quantity(Decimal("12.25")),
            entered_qty=Decimal("12250"),
            entered_unit="GRM",
            target=ledger.Bucket(store.id, StockStatus.QUARANTINE, "006141411234567890"),
        )
    sign_in(client, "qa_manager")
    page = client.get(f"/lots/{stock['a']}").text
    assert "WH-A" in page
    assert "006141411234567890" in page
    assert "12.25 KGM" in page
    assert "12,250 GRM" in page  # as entered, with the base quantity beside it
    assert "Receipt" in page


def test_a_release_in_the_dialog_cites_the_passing_inspection_when_the_product_has_a_plan(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    with db.transaction() as uow:
        lot = uow.session.get_one(Lot, stock["a"])
        plans.set_plan(
            uow,
            product_id=lot.product_id,
            characteristics=[
                plans.CharacteristicInput(
                    "TEMP", "中心温度", "Core temperature", CharacteristicKind.NUMERIC, "°C", None, Decimal(4)
                )
            ],
            sample_size=None,
            sample_unit=None,
            reason="incoming control",
        )
        failed = inspections.record_inspection(
            uow, lot_id=lot.id, results={"TEMP": "7.5"}, source="web"
        ).record
        good = inspections.record_inspection(uow, lot_id=lot.id, results={"TEMP": "2.0"}, source="web").record
        failed_id, good_id = failed.id, good.id
    csrf = sign_in(client, "qa_manager")
    dialog = client.get(f"/lots/{stock['a']}/decision?to=RELEASED").text
    assert f'name="inspection_ids" value="{good_id}" checked' in dialog  # the passing record is offered
    assert f'name="inspection_ids" value="{failed_id}" >' in dialog
    form = {
        "to": "RELEASED",
        "reason": "conforms",
        "username": "qa_manager",
        "password": PASSWORD,
        "csrf_token": csrf,
    }
    uncited = client.post(f"/lots/{stock['a']}/decision", data=form)
    assert uncited.status_code in (409, 422)
    assert alerts(uncited.text)
    cited = client.post(
        f"/lots/{stock['a']}/decision",
        data={**form, "inspection_ids": [str(good_id)]},
        follow_redirects=False,
    )
    assert cited.status_code == 303, cited.text
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(Lot, stock["a"]).quality_status == "RELEASED"


def test_a_refused_form_sent_again_is_refused_again_not_replayed_as_done(
    client: TestClient, db: Database, people: People, stock: dict[str, int]
) -> None:
    """A form refused with a message (here: a hold without a type) did nothing; the same form sent
    again must say so again, not "already sent", and the corrected form is carried out."""
    csrf = sign_in(client, "qa")
    before = count(db, Hold)
    form = {"hold_type": "", "reason": "seal broken", "csrf_token": csrf, "idempotency_key": "a" * 32}
    for _ in range(2):
        refused = client.post(f"/lots/{stock['a']}/holds", data=form, follow_redirects=False)
        assert refused.status_code == 303
        assert refused.headers.get("idempotent-replayed") is None
        assert "Choose a hold type." in alerts(client.get(refused.headers["location"]).text)
    assert count(db, Hold) == before
    fixed = client.post(f"/lots/{stock['a']}/holds", data={**form, "hold_type": "QA"}, follow_redirects=False)
    assert fixed.status_code == 303
    assert count(db, Hold) == before + 1
