"""Production and transformations through the service: two levels of genealogy, expiry capped
by the earliest input where the product says so, blocked inputs refused with nothing written,
mass balance closing for every lot, and the other kinds of transformation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from lotline.auth import service as auth
from lotline.catalog import service as catalog
from lotline.domain.errors import LotlineError
from lotline.domain.ledger import MovementKind, Quantity, Term
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.models.audit import AuditRecord
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.outbox import OutboxEvent
from lotline.models.production import GenealogyEdge, Transformation
from lotline.models.signature import Signature
from lotline.models.stock import StockMovement
from lotline.production import genealogy, orders
from lotline.production.service import Loss, Make, Request, Take, transform
from lotline.signatures import service as signatures
from lotline.stock import check
from lotline.stock.operations import Amount, Source
from lotline.stock.service import Bucket, post
from lotline.uow import Database
from tests.app_fixtures import PASSWORD, People
from tests.conftest import FakeClock
from tests.production_fixtures import (
    Kitchen,
    build_kitchen,
    complete,
    open_order,
    set_quality,
    take,
    two_level_run,
)

KG = "KGM"


@pytest.fixture
def kitchen(db: Database, clock: FakeClock, people: People) -> Kitchen:
    return build_kitchen(db, clock, people)


_take, _order, _two_levels = take, open_order, two_level_run


def _complete(db: Database, clock: FakeClock, kitchen: Kitchen, request: Request) -> tuple[int, list[int]]:
    return complete(db, clock, request)


def test_two_levels_record_edges_and_cap_expiry_where_configured(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    made = _two_levels(db, clock, kitchen)
    with db.transaction(clock=clock) as uow:
        parents = {n.lot_code for n in genealogy.made_from(uow, lot_id=made["filling"])}
        assert parents == {kitchen.codes["PORK"], kitchen.codes["CABBAGE"]}
        dumpling_parents = genealogy.made_from(uow, lot_id=made["dumpling"])
        assert {n.lot_id for n in dumpling_parents} == {made["filling"], kitchen.lots["FLOUR"]}
        # What each parent gave is the consumption, losses apart.
        assert {n.lot_id: n.qty for n in dumpling_parents} == {
            made["filling"]: Decimal(140),
            kitchen.lots["FLOUR"]: Decimal(250),
        }
        used = {n.lot_id for n in genealogy.used_in(uow, lot_id=kitchen.lots["PORK"])}
        assert used == {made["filling"]}
        filling = uow.session.get_one(Lot, made["filling"])
        dumpling = uow.session.get_one(Lot, made["dumpling"])
        dumpling_f = uow.session.get_one(Lot, made["dumpling_f"])
        # The filling's own rule (3 days from today) ends before the pork (today + 4): rule wins.
        assert filling.expiry_date == kitchen.today + timedelta(days=2)
        assert filling.expiry_provenance["decided_by"] == "shelf_life"
        # The dumpling (180 days) is capped by its earliest input, the filling, with provenance.
        assert dumpling.expiry_date == filling.expiry_date
        assert dumpling.expiry_provenance["decided_by"] == "input_lot"
        assert dumpling.expiry_provenance["input_limited"] is True
        assert dumpling.expiry_provenance["earliest_input"]["lot"] == filling.code
        assert dumpling.expiry_provenance["transformation"]["inputs_cap_expiry"] is True
        # The same food under a product that does not cap keeps its rule's 180 days.
        assert dumpling_f.expiry_date == kitchen.today + timedelta(days=179)
        assert dumpling_f.expiry_provenance["transformation"]["inputs_cap_expiry"] is False
        assert dumpling.quality_status == "QUARANTINE"
        edges = uow.session.scalar(select(func.count()).select_from(GenealogyEdge))
        assert edges == 2 + 2 * 2  # level 1: pork, cabbage → filling; level 2: 2 inputs × 2 outputs


def test_mass_balance_closes_for_every_lot(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    made = _two_levels(db, clock, kitchen)
    with db.transaction(clock=clock) as uow:
        balances = check.mass_balances(uow)
        assert check.differences(uow) == []
        cabbage = balances[kitchen.lots["CABBAGE"]]
        assert cabbage.terms[Term.OPENING].base == 300
        assert cabbage.terms[Term.CONSUMED].base == 60
        assert cabbage.terms[Term.LOST].base == 10
        assert cabbage.on_hand.base == 230
        filling = balances[made["filling"]]
        assert filling.terms[Term.PRODUCED].base == 150
        assert filling.terms[Term.CONSUMED].base == 140
        assert filling.terms[Term.LOST].base == 10
        assert filling.on_hand.base == 0
        assert balances[made["dumpling"]].terms[Term.PRODUCED].base == 300
        assert balances[made["dumpling"]].on_hand.base == 300
        for lot_id, balance in balances.items():
            assert balance.closes, (lot_id, balance)


def _rows(db: Database) -> tuple[int, ...]:
    """Transformations, movements, lots, edges, audit records and events: what a refusal must not change."""
    with db.transaction(read_only=True) as uow:
        return tuple(
            int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Transformation, StockMovement, Lot, GenealogyEdge, AuditRecord, OutboxEvent)
        )


def _filling_request(kitchen: Kitchen, order_id: int, *inputs: Take) -> Request:
    return Request(
        kind=TransformationKind.PRODUCTION,
        site_id=kitchen.site,
        production_order_id=order_id,
        inputs=list(inputs),
        outputs=[Make(kitchen.products["FILLING"], Amount(Decimal(50), KG), kitchen.qa_area)],
    )


@pytest.mark.parametrize(("blocked", "reason"), [("PORK-Q", "quality.quarantine"), ("CABBAGE-H", "hold.qa")])
def test_a_quarantined_or_held_input_is_refused_and_nothing_is_written(
    db: Database, clock: FakeClock, kitchen: Kitchen, blocked: str, reason: str
) -> None:
    order = _order(db, clock, kitchen, "FILLING", 50)
    before = _rows(db)
    with pytest.raises(TransactionNotAllowed) as refused, db.transaction(clock=clock) as uow:
        transform(
            uow,
            principal=None,
            request=_filling_request(kitchen, order, _take(kitchen, "PORK", 20), _take(kitchen, blocked, 30)),
        )
    assert refused.value.field == "inputs.1.lot_id"
    assert reason in refused.value.params["blocked_by"]
    assert _rows(db) == before


def test_an_expired_input_is_refused(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    order = _order(db, clock, kitchen, "FILLING", 50)
    clock.advance(days=5)  # the pork (today + 4) has expired; the cabbage has not
    before = _rows(db)
    with pytest.raises(TransactionNotAllowed) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=_filling_request(kitchen, order, _take(kitchen, "PORK", 20)))
    assert "expired" in refused.value.params["blocked_by"]
    assert _rows(db) == before


def test_consuming_more_than_is_there_is_refused_naming_the_line(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    order = _order(db, clock, kitchen, "FILLING", 50)
    before = _rows(db)
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(
            uow,
            principal=None,
            request=_filling_request(
                kitchen, order, _take(kitchen, "CABBAGE", 10), _take(kitchen, "PORK", 201)
            ),
        )
    assert (refused.value.code, refused.value.field) == ("stock.insufficient", "inputs.1.quantity")
    assert _rows(db) == before


def test_a_loss_must_be_of_an_input_lot(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    order = _order(db, clock, kitchen, "FILLING", 50)
    request = _filling_request(kitchen, order, _take(kitchen, "PORK", 20))
    stray = Loss(kitchen.lots["FLOUR"], Source(kitchen.raw_bin), Amount(Decimal(1), KG), LossKind.TRIM)
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=Request(**{**vars(request), "losses": [stray]}))
    assert (refused.value.code, refused.value.field) == ("transformation.loss_not_input", "losses.0.lot_id")


def test_a_closed_order_takes_no_completion(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    order = _order(db, clock, kitchen, "FILLING", 50)
    with db.transaction(clock=clock) as uow:
        orders.finish_order(uow, principal=None, order_id=order, status=orders.OrderStatus.CLOSED)
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=_filling_request(kitchen, order, _take(kitchen, "PORK", 20)))
    assert refused.value.code == "production.order_closed"


def _lot_row(db: Database, lot_id: int) -> tuple[object, ...]:
    with db.transaction(read_only=True) as uow:
        lot = uow.session.get_one(Lot, lot_id)
        return (lot.code, lot.product_id, lot.expiry_date, lot.quality_status, lot.production_date)


def _flour_to(kitchen: Kitchen, kind: TransformationKind, *quantities: int, **extra: object) -> Request:
    return Request(
        kind=kind,
        site_id=kitchen.site,
        inputs=[_take(kitchen, "FLOUR", sum(quantities))],
        outputs=[
            Make(kitchen.products["FLOUR"], Amount(Decimal(q), KG), kitchen.raw_bin) for q in quantities
        ],
        **extra,  # type: ignore[arg-type]
    )


def test_a_repack_makes_a_new_lot_with_the_input_dates_and_an_edge(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    flour_before = _lot_row(db, kitchen.lots["FLOUR"])
    _t, (repacked,) = _complete(db, clock, kitchen, _flour_to(kitchen, TransformationKind.REPACK, 100))
    assert _lot_row(db, kitchen.lots["FLOUR"]) == flour_before  # nothing edited in place
    with db.transaction(read_only=True) as uow:
        lot = uow.session.get_one(Lot, repacked)
        flour = uow.session.get_one(Lot, kitchen.lots["FLOUR"])
        assert repacked != flour.id
        assert (lot.production_date, lot.expiry_date) == (flour.production_date, flour.expiry_date)
        assert lot.quality_status == "QUARANTINE"
        assert [n.lot_id for n in genealogy.made_from(uow, lot_id=repacked)] == [flour.id]
        transformation = uow.session.scalars(select(Transformation)).one()
        assert transformation.kind == "repack"


def test_a_repack_of_a_product_that_keeps_its_lot_writes_no_edge(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    with db.transaction(clock=clock) as uow:
        uow.session.get_one(Product, kitchen.products["FLOUR"]).repack_keeps_lot = True
    request = _flour_to(kitchen, TransformationKind.REPACK, 25, 25)
    request = Request(
        **{
            **vars(request),
            "outputs": [
                Make(kitchen.products["FLOUR"], Amount(Decimal(25), KG), kitchen.raw_bin, sscc=sscc)
                for sscc in ("000000000000000017", "000000000000000024")
            ],
        }
    )
    _t, outputs = _complete(db, clock, kitchen, request)
    assert outputs == [kitchen.lots["FLOUR"], kitchen.lots["FLOUR"]]
    with db.transaction(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(GenealogyEdge)) == 0
        assert check.differences(uow) == []
        balance = check.mass_balances(uow, [kitchen.lots["FLOUR"]])[kitchen.lots["FLOUR"]]
        assert balance.on_hand.base == 1000
        assert balance.closes


def test_a_split_makes_numbered_sub_lots_that_add_up(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    _t, subs = _complete(db, clock, kitchen, _flour_to(kitchen, TransformationKind.SPLIT, 60, 40))
    with db.transaction(read_only=True) as uow:
        codes = [uow.session.get_one(Lot, lot_id).code for lot_id in subs]
        assert codes == [f"{kitchen.codes['FLOUR']}-1", f"{kitchen.codes['FLOUR']}-2"]
        gave = {n.lot_id: n.qty for n in genealogy.used_in(uow, lot_id=kitchen.lots["FLOUR"])}
        assert gave == {subs[0]: Decimal(100), subs[1]: Decimal(100)}
    # A second split of the same lot goes on numbering.
    _t, more = _complete(db, clock, kitchen, _flour_to(kitchen, TransformationKind.SPLIT, 5, 5))
    with db.transaction(read_only=True) as uow:
        assert uow.session.get_one(Lot, more[0]).code == f"{kitchen.codes['FLOUR']}-3"


def test_a_split_that_does_not_add_up_is_refused(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    request = _flour_to(kitchen, TransformationKind.SPLIT, 60, 40)
    uneven = Request(**{**vars(request), "inputs": [_take(kitchen, "FLOUR", 101)]})
    before = _rows(db)
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=uneven)
    assert (refused.value.code, refused.value.field) == ("transformation.unbalanced", "outputs")
    assert _rows(db) == before


def test_a_merge_takes_the_earliest_expiry_of_its_lots(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    _t, subs = _complete(db, clock, kitchen, _flour_to(kitchen, TransformationKind.SPLIT, 30, 20))
    # Make the two parts differ: the second one's expiry moved earlier, by a signed re-dating in life.
    with db.transaction(clock=clock) as uow:
        for lot_id in subs:
            uow.session.get_one(Lot, lot_id).quality_status = "RELEASED"
        early = uow.session.get_one(Lot, subs[1])
        early.expiry_date = early.expiry_date - timedelta(days=30)
        post(
            uow,
            kind=MovementKind.STATUS,
            lot=uow.session.get_one(Lot, subs[0]),
            quantity=Quantity(Decimal(30)),
            entered_qty=Decimal(30),
            entered_unit=KG,
            source=Bucket(kitchen.raw_bin, StockStatus.QUARANTINE),
            target=Bucket(kitchen.raw_bin, StockStatus.AVAILABLE),
        )
        post(
            uow,
            kind=MovementKind.STATUS,
            lot=early,
            quantity=Quantity(Decimal(20)),
            entered_qty=Decimal(20),
            entered_unit=KG,
            source=Bucket(kitchen.raw_bin, StockStatus.QUARANTINE),
            target=Bucket(kitchen.raw_bin, StockStatus.AVAILABLE),
        )
        early_expiry = early.expiry_date
    request = Request(
        kind=TransformationKind.MERGE,
        site_id=kitchen.site,
        inputs=[
            Take(lot_id, Source(kitchen.raw_bin), Amount(Decimal(q), KG))
            for lot_id, q in zip(subs, (30, 20), strict=True)
        ],
        outputs=[Make(kitchen.products["FLOUR"], Amount(Decimal(50), KG), kitchen.raw_bin)],
    )
    _t, (merged,) = _complete(db, clock, kitchen, request)
    with db.transaction(read_only=True) as uow:
        lot = uow.session.get_one(Lot, merged)
        assert lot.expiry_date == early_expiry
        assert lot.expiry_provenance["decided_by"] == "input_lot"
        assert {n.lot_id for n in genealogy.made_from(uow, lot_id=merged)} == set(subs)


def test_a_merge_of_one_lot_is_refused(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    request = Request(
        kind=TransformationKind.MERGE,
        site_id=kitchen.site,
        inputs=[_take(kitchen, "FLOUR", 10)],
        outputs=[Make(kitchen.products["FLOUR"], Amount(Decimal(10), KG), kitchen.raw_bin)],
    )
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=request)
    assert (refused.value.code, refused.value.field) == ("transformation.lot_count", "inputs")


def test_genealogy_edges_are_append_only(db: Database, clock: FakeClock, kitchen: Kitchen) -> None:
    _complete(db, clock, kitchen, _flour_to(kitchen, TransformationKind.REPACK, 10))
    for statement in (update(GenealogyEdge).values(qty=Decimal(1)), delete(GenealogyEdge)):
        with pytest.raises(DBAPIError), db.transaction(clock=clock) as uow:
            uow.session.execute(statement)


def _principal(db: Database, who: str) -> Principal:
    with db.transaction(read_only=True) as uow:
        return auth.principal_for(auth.get_user_by_name(uow, username=who, field="user"))


def _rework_grant(db: Database, clock: FakeClock, who: str, lot_id: int) -> str:
    with db.transaction(clock=clock) as uow:
        secret, _grant = signatures.authorize_signing(
            uow,
            principal=_principal(db, who),
            web_session=None,
            username=who,
            password=PASSWORD,
            meaning=Meaning.REWORK,
            record_type="lot",
            record_id=str(lot_id),
            client_ip=None,
        )
        return secret


def test_a_rework_of_a_rejected_lot_is_a_signed_transformation(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    flour = kitchen.lots["FLOUR"]
    set_quality(
        db, clock, flour, kitchen.raw_bin, 1000, QualityStatus.REJECTED, stock_from=StockStatus.AVAILABLE
    )
    rejected_before = _lot_row(db, flour)
    request = Request(
        kind=TransformationKind.REWORK,
        site_id=kitchen.site,
        inputs=[Take(flour, Source(kitchen.raw_bin), Amount(Decimal(200), KG))],
        losses=[Loss(flour, Source(kitchen.raw_bin), Amount(Decimal(5), KG), LossKind.OTHER, "sieved out")],
        outputs=[Make(kitchen.products["FLOUR"], Amount(Decimal(195), KG), kitchen.qa_area)],
        reason="re-sieved after foreign-body finding",
    )
    admin = _principal(db, "admin")
    # Unsigned: refused, nothing written.
    before = _rows(db)
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=admin, request=request)
    assert (refused.value.code, refused.value.field) == ("signature.bad_grant", "signing_grant")
    assert _rows(db) == before
    # A line operator may post production at the site, but not take the quality decision a rework is.
    with db.transaction(clock=clock) as uow:
        operator = auth.create_user(uow, username="line.a", display_name="Line A", password=PASSWORD)
        auth.grant_role(uow, user_id=operator.id, role="production", site_id=kitchen.site, reason="tests")
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=_principal(db, "line.a"), request=request)
    assert (refused.value.code, refused.value.field) == ("auth.forbidden", "signing_grant")
    # The operator posts it; the QA person countersigns on the operator's screen (their grant).
    signed = Request(**{**vars(request), "signing_grant": _rework_grant(db, clock, "admin", flour)})
    with db.transaction(clock=clock) as uow:
        outcome = transform(uow, principal=_principal(db, "line.a"), request=signed)
        reworked = outcome.output_lots[0]
        signature = uow.session.get_one(Signature, outcome.transformation.signature_id)
        assert (signature.user_id, signature.meaning, signature.record_id) == (
            admin.user_id,
            "rework",
            str(flour),
        )
        assert reworked.id != flour
        assert reworked.quality_status == "QUARANTINE"
        assert reworked.expiry_date <= kitchen.expiry["FLOUR"]
        assert [n.lot_id for n in genealogy.made_from(uow, lot_id=reworked.id)] == [flour]
        kinds = set(
            uow.session.scalars(
                select(StockMovement.kind).where(StockMovement.txn_id == outcome.transformation.txn_id)
            )
        )
        assert kinds == {"consume", "loss", "produce"}
    assert _lot_row(db, flour) == rejected_before  # the rejected lot is not edited in place


def _new_product(db: Database, clock: FakeClock, code: str, **settings: object) -> int:
    with db.transaction(clock=clock) as uow:
        flour = uow.session.get_one(Product, 1)
        made = catalog.create_product(
            uow,
            code=code,
            name_zh=code,
            name_en=code.title(),
            base_unit=str(settings.pop("base_unit", "KGM")),
            lot_type_id=flour.lot_type_id,
            shelf_life_amount=int(settings.pop("amount", 30)),
            shelf_life_unit=str(settings.pop("unit", "DAYS")),
            expiry_kind="USE_BY",
            retest_days=None,
        )
        for name, value in settings.items():
            setattr(made, name, value)
        return made.id


def test_a_shelf_life_in_hours_counts_from_the_completion(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    sandwich = _new_product(db, clock, "SANDWICH", amount=24, unit="HOURS", expiry_capped_by_inputs=True)
    order = _order(db, clock, kitchen, "FILLING", 10)
    request = Request(
        kind=TransformationKind.PRODUCTION,
        site_id=kitchen.site,
        production_order_id=order,
        inputs=[_take(kitchen, "FLOUR", 5)],
        outputs=[Make(sandwich, Amount(Decimal(5), KG), kitchen.qa_area)],
    )
    _t, (made,) = _complete(db, clock, kitchen, request)
    with db.transaction(read_only=True) as uow:
        lot = uow.session.get_one(Lot, made)
        assert lot.produced_at == clock.now
        assert lot.expiry_at == clock.now + timedelta(hours=24)  # not the flour's months
        assert lot.expiry_provenance["decided_by"] == "shelf_life"


def test_a_catch_weight_output_needs_its_count_and_weight(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    ham = _new_product(db, clock, "HAM", catch_weight=True)
    order = _order(db, clock, kitchen, "FILLING", 10)

    def post_ham(amount: Amount) -> LotlineError:
        request = Request(
            kind=TransformationKind.PRODUCTION,
            site_id=kitchen.site,
            production_order_id=order,
            inputs=[_take(kitchen, "PORK", 100)],
            outputs=[Make(ham, amount, kitchen.qa_area)],
        )
        with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
            transform(uow, principal=None, request=request)
        return refused.value

    missing = post_ham(Amount(Decimal(50), KG))
    assert (missing.code, missing.field) == ("transformation.catch_weight_required", "outputs.0.count")
    disagreeing = post_ham(Amount(Decimal(100), KG, count=Decimal(3), weight_kg=Decimal(80)))
    assert (disagreeing.code, disagreeing.field) == (
        "transformation.catch_weight_mismatch",
        "outputs.0.quantity",
    )
    with db.transaction(clock=clock) as uow:
        transform(
            uow,
            principal=None,
            request=Request(
                kind=TransformationKind.PRODUCTION,
                site_id=kitchen.site,
                production_order_id=order,
                inputs=[_take(kitchen, "PORK", 100)],
                outputs=[
                    Make(
                        ham, Amount(Decimal(80), KG, count=Decimal(3), weight_kg=Decimal(80)), kitchen.qa_area
                    )
                ],
            ),
        )


def test_a_relabel_into_another_unit_of_mass_must_balance(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    grams = _new_product(db, clock, "FLOUR-G", base_unit="GRM")
    relabel = Request(
        kind=TransformationKind.RELABEL,
        site_id=kitchen.site,
        inputs=[_take(kitchen, "FLOUR", 10)],
        outputs=[Make(grams, Amount(Decimal(1000), KG), kitchen.raw_bin)],  # 1,000 kg for 10: a typo
    )
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=relabel)
    assert refused.value.code == "transformation.unbalanced"
    right = Request(**{**vars(relabel), "outputs": [Make(grams, Amount(Decimal(10), KG), kitchen.raw_bin)]})
    _t, (relabelled,) = _complete(db, clock, kitchen, right)
    with db.transaction(read_only=True) as uow:
        assert check.mass_balances(uow, [relabelled])[relabelled].on_hand.base == Decimal(10000)


def test_a_repack_that_keeps_the_lot_keeps_its_storage_condition(
    db: Database, clock: FakeClock, kitchen: Kitchen
) -> None:
    with db.transaction(clock=clock) as uow:
        frozen = catalog.create_storage_condition(
            uow,
            code="FROZEN",
            name_zh="冷冻",
            name_en="Frozen",
            min_temp_c=Decimal(-25),
            max_temp_c=Decimal(-18),
        )
        flour = uow.session.get_one(Product, kitchen.products["FLOUR"])
        flour.repack_keeps_lot, flour.storage_condition_id = True, frozen.id
    repack = Request(
        kind=TransformationKind.REPACK,
        site_id=kitchen.site,
        inputs=[_take(kitchen, "FLOUR", 10)],
        outputs=[
            Make(
                kitchen.products["FLOUR"], Amount(Decimal(10), KG), kitchen.qa_area, sscc="000000000000000017"
            )
        ],
    )
    before = _rows(db)
    with pytest.raises(LotlineError) as refused, db.transaction(clock=clock) as uow:
        transform(uow, principal=None, request=repack)
    assert (refused.value.code, refused.value.field) == ("storage.mismatch", "outputs.0.to_location_id")
    assert _rows(db) == before
