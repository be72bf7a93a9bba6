"""Issue 5's scenario: the demo company plus every inbound flow in one database, and the books close.

One module-scoped database holds the demo company and, on top of it, built through the services
as the API calls them: receipts of every kind (the three GS1 scan forms, catch weight, cases by
packaging, a reused supplier lot, a short-shelf-life line accepted with a signed override, 40
pallets with SSCCs), putaway into QA bins and moves, inspections, usage decisions (30 of the 40
pallets, a quantity, a rejection of part of a lot), return to the supplier and scrap, QC and
retained samples, counts up and down, an inter-site transfer received short, and a product's
signed auto-release policy releasing what arrives. Each test then reads that one database.

The mass-balance identity (DESIGN.md "Quantities") is checked twice: by ``stock.check`` and,
so the test does not trust the code it checks, from raw SQL sums over the ledger and on-hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from lotline import cli, demo
from lotline.auth import service as auth
from lotline.catalog import packaging
from lotline.catalog import products as catalog_products
from lotline.config import get_settings
from lotline.domain.gs1 import gtin_check_digit
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.inbound import service as receiving
from lotline.inbound.service import LineInput
from lotline.models.catalog import Location, Partner, Product, StorageCondition
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.quality import QualityDecision, ReleasePolicy
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand
from lotline.places import service as places
from lotline.quality import decisions, inspections, policies
from lotline.quality.decisions import Part
from lotline.signatures import service as signatures
from lotline.stock import check as ledger_check
from lotline.stock import disposal, operations, transfers
from lotline.stock import service as stock
from lotline.stock.operations import Amount, Source
from lotline.stock.service import Bucket
from lotline.uow import Actor, Database, UnitOfWork
from tests.conftest import AUDIT_KEY, FakeClock

PASSWORD = demo.DEMO_PASSWORD
DEMO_LOADER = Actor(kind="system", user_id=None, name="demo loader")
Q, A, R = StockStatus.QUARANTINE, StockStatus.AVAILABLE, StockStatus.REJECTED
KG, EA, CS = "KGM", "EA", "CS"
PORK_PASSES = {"core_temp": "1.6", "odour": "正常 / normal", "quarantine_cert": "有 / present"}
PORK_FAILS = {**PORK_PASSES, "core_temp": "6.5"}

# The identity's inflow and outflow kinds, spelled out here rather than read from domain/ledger.py;
# every other kind (putaway, move, status, transfers, retained samples) keeps stock on hand.
INFLOW_KINDS = ("opening", "receipt", "produce", "customer_return", "adjust_up")
OUTFLOW_KINDS = (
    "ship",
    "consume",
    "qc_sample",
    "scrap",
    "loss",
    "transit_shortage",
    "return_to_supplier",
    "adjust_down",
)
ON_HAND_KINDS = ("putaway", "move", "status", "transfer_out", "transfer_in", "retain_sample")


def with_check_digit(body: str) -> str:
    return body + str(gtin_check_digit(body))


PORK_GTIN = with_check_digit("0690123450011")
FLOUR_GTIN = with_check_digit("0690123450012")
FLOUR_CASE_GTIN = with_check_digit("1690123450012")


def sscc(serial: int) -> str:
    """An SSCC with a valid check digit (extension 3, company prefix 6901234)."""
    return with_check_digit(f"36901234{serial:09d}")


# Produced 2026-11-24, expiring 2026-11-29 (pork keeps 5 days and needs 3 at receipt); 24 pieces,
# 12.5 kg net, on its own pallet.
def gs1_128(lot: str, pallet: str) -> str:
    return f"]C101{PORK_GTIN}10{lot}\x1d1126112417261129{'30'}24\x1d3103012500\x1d00{pallet}"


def datamatrix(lot: str, pallet: str) -> str:
    return f"]d201{PORK_GTIN}112611241726112910{lot}\x1d3024\x1d3103012500\x1d00{pallet}"


def digital_link(lot: str, pallet: str) -> str:
    return f"https://id.gs1.org/01/{PORK_GTIN}/10/{lot}?11=261124&17=261129&30=24&3103=012500&00={pallet}"


@dataclass
class Scenario:
    """What the module built: the database, the places it used and its lots by supplier lot code."""

    db: Database
    plant: int
    store: int
    dock: int
    qa_chilled: int
    qa_dry: int
    ambient: int
    store_chilled: int
    lots: dict[str, int] = field(default_factory=dict)
    pallets: list[str] = field(default_factory=list)
    policy_id: int = 0


class Builder:
    """Each business transaction in its own unit of work, as the API runs it, on a clock it moves."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
        self.people: dict[str, Principal] = {}

    def person(self, username: str) -> Principal:
        if username not in self.people:
            with self.db.transaction(read_only=True) as uow:
                user = auth.find_user(uow, username=username)
                assert user is not None
                self.people[username] = auth.principal_for(user)
        return self.people[username]

    @contextmanager
    def work(self, username: str | None = None) -> Iterator[UnitOfWork]:
        self.clock.advance(minutes=1)
        actor = Actor.of(self.person(username)) if username else DEMO_LOADER
        with self.db.transaction(clock=self.clock, actor=actor) as uow:
            yield uow

    def grant(self, username: str, meaning: Meaning, record_type: str, record_id: object) -> str:
        """A one-use signing grant: the signer's password checked for this meaning and record."""
        with self.work(username) as uow:
            secret, _ = signatures.authorize_signing(
                uow,
                principal=self.person(username),
                web_session=None,
                username=username,
                password=PASSWORD,
                meaning=meaning,
                record_type=record_type,
                record_id=str(record_id),
                client_ip=None,
            )
        return secret

    def receive(self, supplier: int, site: int, dock: int, *lines: LineInput) -> int:
        with self.work("admin") as uow:
            return receiving.create_receipt(
                uow,
                site_id=site,
                supplier_id=supplier,
                location_id=dock,
                lines=list(lines),
                principal=self.person("admin"),
                purchase_order="PO-SCENARIO",
            ).id

    def move(self, lot: int, source: Source, to: int, amount: Amount, putaway: bool = False) -> None:
        with self.work("admin") as uow:
            operations.move(
                uow,
                principal=self.person("admin"),
                lot_id=lot,
                source=source,
                to_location_id=to,
                amount=amount,
                putaway=putaway,
            )

    def inspect(self, lot: int, results: Mapping[str, object], passed: bool | None = None) -> int:
        with self.work("qa.manager") as uow:
            return inspections.record_inspection(
                uow,
                lot_id=lot,
                results=results,
                source="web",
                sampled_by="王芳",
                sampled_at=uow.now(),
                passed=passed,
            ).record.id

    def decide(
        self, lot: int, to: QualityStatus, reason: str, part: Part | None = None, cite: tuple[int, ...] = ()
    ) -> None:
        secret = self.grant("qa.manager", decisions.MEANINGS[to], "lot", lot)
        with self.work("qa.manager") as uow:
            decisions.decide_usage(
                uow,
                lot_id=lot,
                decision=to,
                reason=reason,
                principal=self.person("qa.manager"),
                signing_grant=secret,
                inspection_ids=cite,
                part=part,
            )


def build(db: Database) -> Scenario:
    b = Builder(db)
    with b.work() as uow:
        demo.load(uow)

    # --- places and master data the scenario adds, through the services ------------------------
    with b.work("admin") as uow:
        session = uow.session
        site = dict(session.execute(select(Site.code, Site.id)).tuples().all())
        plant, store = site["SH01"], site["SH02"]
        place = dict(
            session.execute(select(Location.code, Location.id).where(Location.site_id == plant))
            .tuples()
            .all()
        )
        condition = dict(session.execute(select(StorageCondition.code, StorageCondition.id)).tuples().all())
        product = dict(session.execute(select(Product.code, Product.id)).tuples().all())
        supplier = dict(session.execute(select(Partner.code, Partner.id)).tuples().all())

        def location(
            site_id: int, code: str, kind: str, cond: str, parent: int | None, qa: bool = False
        ) -> int:
            return places.create_location(
                uow,
                site_id=site_id,
                code=code,
                name_zh=code,
                name_en=code,
                kind=kind,
                parent_id=parent,
                storage_condition_id=condition[cond],
                is_qa_area=qa,
            ).id

        scenario = Scenario(
            db=db,
            plant=plant,
            store=store,
            dock=place["DOCK-1"],
            qa_chilled=location(plant, "QA-CR", "BIN", "CHILLED", place["WH-SJ"], qa=True),
            qa_dry=location(plant, "QA-DRY", "BIN", "AMBIENT", place["WH-SJ"], qa=True),
            ambient=location(plant, "AMB-1", "ZONE", "AMBIENT", place["WH-SJ"]),
            store_chilled=location(store, "CR-B", "COLD_ROOM", "CHILLED", None),
        )
        pork, flour, cabbage = product["PORK-MINCE"], product["FLOUR-25KG"], product["CABBAGE"]
        catalog_products.revise_product(
            uow, product_id=pork, changes={"gtin": PORK_GTIN}, reason="GS1 labels"
        )
        catalog_products.revise_product(
            uow,
            product_id=flour,
            changes={"gtin": FLOUR_GTIN, "reuse_supplier_lot": True},
            reason="GS1 labels; one lot per mill lot",
        )
        packaging.set_packaging(
            uow, product_id=flour, levels=[packaging.LevelInput(CS, Decimal(20), FLOUR_CASE_GTIN)]
        )
        cold_bins = [place["CR-1-01"], place["CR-1-02"], place["CR-1-03"]]
    jinhua, wudeli, chongming = supplier["JINHUA-MEAT"], supplier["WUDELI"], supplier["CHONGMING-VEG"]

    # --- receipts of every kind -----------------------------------------------------------------
    short_grant = b.grant(
        "admin",
        Meaning.OVERRIDE,
        receiving.OVERRIDE_RECORD_TYPE,
        receiving.override_record_id(pork, "JH-1121"),
    )
    b.receive(
        jinhua,
        plant,
        scenario.dock,
        LineInput(scan=gs1_128("JH-1201", sscc(101))),
        LineInput(scan=datamatrix("JH-1202", sscc(102))),
        LineInput(scan=digital_link("JH-1203", sscc(103))),
        LineInput(
            product_id=pork,
            supplier_lot_code="JH-1204",
            production_date="2026-11-24",
            supplier_expiry="2026-11-29",
            count=Decimal(40),
            net_weight_kg=Decimal("498.6"),
        ),
        LineInput(  # one day left where three are required: accepted with a signed override
            product_id=pork,
            supplier_lot_code="JH-1121",
            production_date="2026-11-21",
            supplier_expiry="2026-11-26",
            count=Decimal(8),
            net_weight_kg=Decimal("100.2"),
            override_signing_grant=short_grant,
            override_reason="production needs it today; used up tomorrow",
        ),
    )
    scenario.pallets = [sscc(n) for n in range(1, 41)]
    b.receive(
        wudeli,
        plant,
        scenario.dock,
        *(
            LineInput(  # a case GTIN: 2 cases of 20 bags per pallet
                gtin=FLOUR_CASE_GTIN,
                supplier_lot_code="WDL-261120",
                quantity=Decimal(2),
                production_date="2026-11-20",
                supplier_expiry="2027-11-19",
                sscc=pallet,
            )
            for pallet in scenario.pallets
        ),
    )
    older_flour = LineInput(
        product_id=flour,
        supplier_lot_code="WDL-261101",
        quantity=Decimal(5),
        unit=CS,
        production_date="2026-11-01",
        supplier_expiry="2027-10-31",
    )
    b.receive(wudeli, plant, scenario.dock, older_flour)
    b.receive(wudeli, plant, scenario.dock, LineInput(**{**older_flour.__dict__, "quantity": Decimal(3)}))

    with b.work() as uow:
        scenario.lots = dict(
            uow.session.execute(
                select(Lot.supplier_lot_code, Lot.id).where(
                    Lot.supplier_lot_code.in_(
                        ["JH-1201", "JH-1202", "JH-1203", "JH-1204", "JH-1121", "WDL-261120", "WDL-261101"]
                    )
                )
            )
            .tuples()
            .all()
        )
    lot = scenario.lots
    assert len(lot) == 7, "each pork line its own lot; the 40 pallets one lot; the reused lot one"

    # --- putaway into the QA bins ---------------------------------------------------------------
    for code, pallet in (("JH-1201", sscc(101)), ("JH-1202", sscc(102)), ("JH-1203", sscc(103))):
        b.move(
            lot[code],
            Source(scenario.dock, Q, pallet),
            scenario.qa_chilled,
            Amount(Decimal("12.5"), KG),
            True,
        )
    b.move(lot["JH-1204"], Source(scenario.dock, Q), scenario.qa_chilled, Amount(Decimal("498.6"), KG), True)
    for pallet in scenario.pallets:
        b.move(
            lot["WDL-261120"],
            Source(scenario.dock, Q, pallet),
            scenario.qa_dry,
            Amount(Decimal(40), EA),
            True,
        )
    b.move(lot["WDL-261101"], Source(scenario.dock, Q), scenario.qa_dry, Amount(Decimal(8), CS), True)

    # --- inspections and usage decisions --------------------------------------------------------
    passed_1201 = b.inspect(lot["JH-1201"], PORK_PASSES)
    passed_1204 = b.inspect(lot["JH-1204"], PORK_PASSES)
    b.inspect(lot["JH-1203"], PORK_FAILS)
    flour_ok = b.inspect(lot["WDL-261120"], {"moisture_pct": "13.1"}, passed=True)
    older_ok = b.inspect(lot["WDL-261101"], {"moisture_pct": "13.4"}, passed=True)
    for pallet in scenario.pallets[:30]:
        b.decide(
            lot["WDL-261120"], QualityStatus.RELEASED, "CoA and moisture OK", Part(sscc=pallet), (flour_ok,)
        )
    b.decide(
        lot["WDL-261101"],
        QualityStatus.RELEASED,
        "the intact bags",
        Part(quantity=Decimal(100), unit=EA, location_id=scenario.qa_dry),
        (older_ok,),
    )
    b.decide(
        lot["WDL-261101"],
        QualityStatus.REJECTED,
        "torn and damp bags",
        Part(quantity=Decimal(2), unit=CS, location_id=scenario.qa_dry),
    )
    b.decide(
        lot["JH-1201"], QualityStatus.RELEASED, "incoming check passed", Part(sscc=sscc(101)), (passed_1201,)
    )
    b.decide(lot["JH-1204"], QualityStatus.RELEASED, "incoming check passed", None, (passed_1204,))
    b.decide(lot["JH-1203"], QualityStatus.REJECTED, "core temperature 6.5 °C on arrival")

    # --- return to supplier and scrap (signed), samples -----------------------------------------
    admin = b.person("admin")
    for action, kind, meaning, source, amount, reason in (
        (
            disposal.return_to_supplier,
            "WDL-261101",
            Meaning.RETURN_TO_SUPPLIER,
            Source(scenario.qa_dry, R),
            Amount(Decimal(30), EA),
            "back to Wudeli",
        ),
        (
            disposal.scrap,
            "WDL-261101",
            Meaning.SCRAP,
            Source(scenario.qa_dry, R),
            Amount(Decimal(10), EA),
            "wet",
        ),
        (
            disposal.scrap,
            "JH-1203",
            Meaning.SCRAP,
            Source(scenario.qa_chilled, R, sscc(103)),
            Amount(Decimal("12.5"), KG),
            "rejected on temperature",
        ),
    ):
        secret = b.grant("admin", meaning, "lot", lot[kind])
        with b.work("admin") as uow:
            action(
                uow,
                principal=admin,
                lot_id=lot[kind],
                source=source,
                amount=amount,
                reason=reason,
                signing_grant=secret,
            )
    with b.work("admin") as uow:
        operations.take_sample(
            uow,
            principal=admin,
            lot_id=lot["JH-1202"],
            source=Source(scenario.qa_chilled, Q, sscc(102)),
            amount=Amount(Decimal("1.05"), KG, count=Decimal(2), weight_kg=Decimal("1.05")),
            reference="LAB-1202",
        )
    with b.work("admin") as uow:
        operations.retain_sample(
            uow,
            principal=admin,
            lot_id=lot["JH-1202"],
            source=Source(scenario.qa_chilled, Q, sscc(102)),
            to_location_id=cold_bins[2],
            amount=Amount(Decimal("0.52"), KG, count=Decimal(1), weight_kg=Decimal("0.52")),
        )
    with b.work("admin") as uow:
        operations.take_sample(
            uow,
            principal=admin,
            lot_id=lot["WDL-261120"],
            source=Source(scenario.qa_dry, Q, sscc(35)),
            amount=Amount(Decimal(1), EA),
        )

    # --- released stock leaves the QA bins ------------------------------------------------------
    for pallet in scenario.pallets[2:7]:
        b.move(
            lot["WDL-261120"], Source(scenario.qa_dry, A, pallet), scenario.ambient, Amount(Decimal(40), EA)
        )
    b.move(
        lot["JH-1201"], Source(scenario.qa_chilled, A, sscc(101)), cold_bins[0], Amount(Decimal("12.5"), KG)
    )
    b.move(lot["JH-1204"], Source(scenario.qa_chilled, A), cold_bins[1], Amount(Decimal("498.6"), KG))

    # --- counts: small ones unsigned, a large one signed ----------------------------------------
    with b.work("admin") as uow:
        disposal.count(
            uow,
            principal=admin,
            lot_id=lot["WDL-261120"],
            source=Source(scenario.qa_dry, A, sscc(1)),
            counted=Amount(Decimal(39), EA),
            reason="one bag short",
        )
    with b.work("admin") as uow:
        disposal.count(
            uow,
            principal=admin,
            lot_id=lot["JH-1201"],
            source=Source(cold_bins[0], A, sscc(101)),
            counted=Amount(Decimal("12.4"), KG, count=Decimal(24), weight_kg=Decimal("12.4")),
            reason="drip loss on the scale",
        )
    secret = b.grant("admin", Meaning.APPROVE, "lot", lot["WDL-261120"])
    with b.work("admin") as uow:
        disposal.count(
            uow,
            principal=admin,
            lot_id=lot["WDL-261120"],
            source=Source(scenario.qa_dry, A, sscc(2)),
            counted=Amount(Decimal(44), EA),
            reason="four bags of another pallet found on it",
            signing_grant=secret,
        )

    # --- to the cold store, one case short on arrival -------------------------------------------
    with b.work("admin") as uow:
        sent = transfers.transfer_out(
            uow,
            principal=admin,
            lot_id=lot["JH-1204"],
            source=Source(cold_bins[1], A),
            to_location_id=scenario.store_chilled,
            amount=Amount(Decimal("124.6"), KG, count=Decimal(10), weight_kg=Decimal("124.6")),
        )
    b.clock.advance(hours=2)
    with b.work("admin") as uow:
        transfers.receive_transfer(
            uow,
            principal=admin,
            txn_id=sent.txn_id,
            received=Amount(Decimal("112.1"), KG, count=Decimal(9), weight_kg=Decimal("112.1")),
            reason="one case missing on arrival",
        )

    # --- a trusted supplier's cabbage: a signed policy releases what arrives --------------------
    secret = b.grant("qa.manager", Meaning.APPROVE, "product", cabbage)
    with b.work("qa.manager") as uow:
        scenario.policy_id = policies.set_policy(
            uow,
            product_id=cabbage,
            conditions={"suppliers": [chongming]},
            reason="co-op audited, two years without deviation",
            principal=b.person("qa.manager"),
            signing_grant=secret,
        ).id
    b.receive(
        chongming,
        plant,
        scenario.dock,
        LineInput(
            product_id=cabbage,
            supplier_lot_code="CM-1125",
            production_date="2026-11-24",
            supplier_expiry="2026-11-30",
            count=Decimal(20),
            net_weight_kg=Decimal("210.4"),
        ),
    )
    with b.work() as uow:
        lot["CM-1125"] = uow.session.execute(
            select(Lot.id).where(Lot.supplier_lot_code == "CM-1125")
        ).scalar_one()
    b.move(lot["CM-1125"], Source(scenario.dock, A), cold_bins[0], Amount(Decimal("210.4"), KG), True)
    return scenario


@pytest.fixture(scope="module")
def scenario(scenario_db: Database) -> Scenario:
    return build(scenario_db)


# --- the checks ---------------------------------------------------------------------------------


def test_the_scenario_exercises_every_inbound_movement(scenario: Scenario) -> None:
    with scenario.db.transaction(read_only=True) as uow:
        kinds = set(uow.session.scalars(select(StockMovement.kind).distinct()))
        receipts = uow.session.execute(select(func.count()).select_from(Receipt)).scalar_one()
        overridden = uow.session.execute(
            select(func.count())
            .select_from(ReceiptLine)
            .where(ReceiptLine.override_signature_id.is_not(None))
        ).scalar_one()
        scanned = uow.session.execute(
            select(func.count()).select_from(ReceiptLine).where(ReceiptLine.scan.is_not(None))
        ).scalar_one()
    assert kinds >= {k.value for k in MovementKind} - {
        "ship",
        "customer_return",
        "consume",
        "produce",
        "loss",
    }
    assert receipts == 3 + 5  # the demo's three deliveries and ours
    assert (overridden, scanned) == (1, 3)


def test_the_on_hand_projection_matches_the_ledger(scenario: Scenario) -> None:
    with scenario.db.transaction(read_only=True) as uow:
        assert ledger_check.differences(uow) == []


def _exact(db: Database, value: object) -> Decimal:
    """A raw SQL sum as a Decimal: SQLite keeps quantities as integer millionths (models/types.py)."""
    if value is None:
        return Decimal(0)
    if db.backend == "sqlite":
        return Decimal(int(value)).scaleb(-6)  # type: ignore[call-overload]
    return Decimal(value)  # type: ignore[arg-type]


def test_every_lots_mass_balance_closes_also_from_raw_sql(scenario: Scenario) -> None:
    db = scenario.db
    with db.transaction(read_only=True) as uow:
        balances = ledger_check.mass_balances(uow)
        moved = uow.session.execute(
            text(
                "SELECT lot_id, kind, SUM(base_qty), SUM(count), SUM(weight_kg) "
                "FROM stock_movement GROUP BY lot_id, kind"
            )
        ).all()
        held = uow.session.execute(
            text(
                "SELECT lot_id, SUM(qty_base), SUM(count), SUM(weight_kg) FROM stock_on_hand GROUP BY lot_id"
            )
        ).all()
        catch_weight = set(
            uow.session.scalars(
                text(
                    "SELECT l.id FROM lot l JOIN product p ON p.id = l.product_id WHERE p.catch_weight = :yes"
                ),
                {"yes": True},
            )
        )
        weighed_without_count = uow.session.execute(
            text(
                "SELECT COUNT(*) FROM stock_movement m JOIN product p ON p.id = m.product_id "
                "WHERE p.catch_weight = :yes AND (m.count IS NULL OR m.weight_kg IS NULL)"
            ),
            {"yes": True},
        ).scalar_one()
    # on hand + outflows − inflows, per lot, in base quantity, count and weight
    by_kind = {(lot_id, kind): tuple(_exact(db, v) for v in sums) for lot_id, kind, *sums in moved}
    on_hand = {lot_id: tuple(_exact(db, v) for v in sums) for lot_id, *sums in held}
    lot, zero = scenario.lots, Decimal(0)
    # What the scenario did, read back raw: the sums are the quantities, not something near them.
    assert by_kind[lot["WDL-261101"], "receipt"] == (Decimal(160), zero, zero)  # 5 + 3 cases of 20
    assert by_kind[lot["WDL-261101"], "return_to_supplier"] == (Decimal(30), zero, zero)
    assert by_kind[lot["WDL-261101"], "scrap"] == (Decimal(10), zero, zero)
    assert on_hand[lot["WDL-261101"]] == (Decimal(120), zero, zero)
    assert by_kind[lot["WDL-261120"], "adjust_up"] == (Decimal(4), zero, zero)
    assert by_kind[lot["WDL-261120"], "adjust_down"] == (Decimal(1), zero, zero)
    assert on_hand[lot["WDL-261120"]] == (Decimal(1600 + 4 - 1 - 1), zero, zero)
    assert by_kind[lot["JH-1204"], "receipt"] == (Decimal("498.6"), Decimal(40), Decimal("498.6"))
    assert by_kind[lot["JH-1204"], "transit_shortage"] == (Decimal("12.5"), Decimal(1), Decimal("12.5"))
    assert on_hand[lot["JH-1204"]] == (Decimal("486.1"), Decimal(39), Decimal("486.1"))
    assert by_kind[lot["JH-1202"], "qc_sample"] == (Decimal("1.05"), Decimal(2), Decimal("1.05"))
    assert on_hand[lot["JH-1202"]] == (Decimal("11.45"), Decimal(22), Decimal("11.45"))  # retained inside
    assert by_kind[lot["JH-1203"], "scrap"] == (Decimal("12.5"), Decimal(24), Decimal("12.5"))
    assert lot["JH-1203"] not in on_hand or on_hand[lot["JH-1203"]] == (zero, zero, zero)

    gap: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for lot_id, kind, *sums in moved:
        assert kind in INFLOW_KINDS + OUTFLOW_KINDS + ON_HAND_KINDS, f"unknown movement kind {kind}"
        if kind in ON_HAND_KINDS:
            _ = gap[lot_id]  # the lot has movements, even if none counts in the identity
            continue
        sign = -1 if kind in INFLOW_KINDS else 1
        for i, value in enumerate(sums):
            gap[lot_id][i] += sign * _exact(db, value)
    for lot_id, *sums in held:
        for i, value in enumerate(sums):
            gap[lot_id][i] += _exact(db, value)

    assert set(scenario.lots.values()) <= set(gap), "every scenario lot has movements"
    assert set(gap) == set(balances), "stock check saw every lot with movements"
    assert catch_weight & set(gap), "catch-weight lots are among them"
    assert weighed_without_count == 0, "every catch-weight movement carries its count and weight"
    for lot_id, (base, count, weight) in sorted(gap.items()):
        assert base == 0, f"lot {lot_id}: base quantity off by {base}"
        assert count == 0, f"lot {lot_id}: count off by {count}"
        assert weight == 0, f"lot {lot_id}: weight off by {weight}"
        balance = balances[lot_id]
        assert balance.closes, lot_id
        if lot_id in catch_weight:
            assert (balance.difference.count or 0, balance.difference.weight_kg or 0) == (0, 0), lot_id
            assert balance.on_hand.count is not None or balance.on_hand.base == 0, lot_id


def test_lotline_stock_check_reports_zero_differences(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    opened: list[Database] = []
    real_open_db = cli.open_db

    def tracked_open_db() -> Database:
        database = real_open_db()
        opened.append(database)
        return database

    monkeypatch.setattr(cli, "open_db", tracked_open_db)
    env = {
        "LOTLINE_DATABASE_URL": scenario.db.engine.url.render_as_string(hide_password=False),
        "LOTLINE_AUDIT_KEY": AUDIT_KEY,
        "LOTLINE_SECRET_KEY": "scenario-secret-key-value",
        "LOTLINE_DEFAULT_LANGUAGE": "en",
        "COLUMNS": "250",
        "NO_COLOR": "1",
    }
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["stock", "check"], env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
        for database in opened:
            database.dispose()
    with scenario.db.transaction(read_only=True) as uow:
        lots = len(ledger_check.mass_balances(uow))
    assert result.exit_code == 0, result.output
    assert f"{lots} lots checked: 0 on-hand differences, 0 mass balances not closing" in result.output


def test_the_ten_unreleased_pallets_stay_quarantined_and_cannot_leave_the_qa_area(scenario: Scenario) -> None:
    db, flour = scenario.db, scenario.lots["WDL-261120"]
    with db.transaction(read_only=True) as uow:
        rows = uow.session.execute(
            select(StockOnHand.sscc, StockOnHand.stock_status, StockOnHand.location_id).where(
                StockOnHand.lot_id == flour, StockOnHand.qty_base > 0
            )
        ).all()
        movements = uow.session.execute(select(func.count()).select_from(StockMovement)).scalar_one()
    status = defaultdict(set)
    for pallet, stock_status, location_id in rows:
        status[pallet].add((stock_status, location_id))
    unreleased = scenario.pallets[30:]
    assert {pallet: status[pallet] for pallet in unreleased} == {
        pallet: {("QUARANTINE", scenario.qa_dry)} for pallet in unreleased
    }
    assert all({s for s, _ in status[pallet]} == {"AVAILABLE"} for pallet in scenario.pallets[:30])

    clock = FakeClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    for target in (scenario.ambient, scenario.dock):
        with pytest.raises(TransactionNotAllowed) as caught, db.transaction(clock=clock) as uow:
            stock.post(
                uow,
                kind=MovementKind.MOVE,
                lot=uow.session.get_one(Lot, flour),
                quantity=Quantity(Decimal(40)),
                entered_qty=Decimal(40),
                entered_unit=EA,
                source=Bucket(scenario.qa_dry, Q, unreleased[0]),
                target=Bucket(target, Q, unreleased[0]),
            )
        assert caught.value.params["transaction"] == "move"
        assert "stock.quarantine" in caught.value.params["blocked_by"]
    with db.transaction(read_only=True) as uow:
        assert uow.session.execute(select(func.count()).select_from(StockMovement)).scalar_one() == movements


def test_received_stock_lands_in_quarantine_first_and_only_the_policy_releases_unsigned(
    scenario: Scenario,
) -> None:
    with scenario.db.transaction(read_only=True) as uow:
        received = dict(
            uow.session.execute(
                select(ReceiptLine.lot_id, Receipt.location_id).join(
                    Receipt, Receipt.id == ReceiptLine.receipt_id
                )
            )
            .tuples()
            .all()
        )
        firsts = {
            m.lot_id: m
            for m in uow.session.scalars(
                select(StockMovement).where(
                    StockMovement.id.in_(select(func.min(StockMovement.id)).group_by(StockMovement.lot_id))
                )
            )
        }
        receipt_statuses = set(
            uow.session.scalars(select(StockMovement.to_status).where(StockMovement.kind == "receipt"))
        )
        made = {d.id: d for d in uow.session.scalars(select(QualityDecision))}
        releases = uow.session.execute(
            select(StockMovement.lot_id, StockMovement.reference_id).where(
                StockMovement.kind == "status", StockMovement.to_status == "AVAILABLE"
            )
        ).all()
        policy = uow.session.get_one(ReleasePolicy, scenario.policy_id)
    assert set(scenario.lots.values()) <= set(received)
    for lot_id, location_id in received.items():
        first = firsts[lot_id]
        assert (first.kind, first.to_status, first.to_location_id) == ("receipt", "QUARANTINE", location_id)
    assert receipt_statuses == {"QUARANTINE"}

    by_policy = {d.lot_id for d in made.values() if d.policy_id is not None}
    assert by_policy == {scenario.lots["CM-1125"]}
    for lot_id, decision_id in releases:
        decision = made[int(decision_id)]
        assert decision.lot_id == lot_id
        assert decision.signature_id is not None, "every release is signed, by a person or by the policy"
        if lot_id in by_policy:
            assert decision.policy_id == policy.id
            assert decision.signature_id == policy.signature_id
            assert decision.reason.startswith(f"auto-release policy {policy.id}")
        else:
            assert decision.policy_id is None
