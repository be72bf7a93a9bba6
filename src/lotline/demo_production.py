"""The demo company's production (生产) at the Songjiang plant: a morning on line L1.

The released pork, cabbage and flour are put away and issued to two orders: pork + cabbage →
frozen pork-and-cabbage filling (a WIP lot, released by QA), then filling (thawed, with its drip
loss) + flour → two dumpling lots, whose expiry is capped by the filling they were made from
(the product now says so: a new version of its shelf-life rule, with its reason). QA rejects the second
dumpling lot for its bag seals and it is reworked under the plant manager's signature; the
filling left over is split into two tubs; damaged cases of an older released lot are repacked.
The dumpling order stays open half done, and tomorrow's vegetable-dumpling order waits with no
completion — so the production pages show real orders, lots and genealogy on first start.

Call after the rest of the demo (it needs its products, released raw lots and people); loading
twice adds nothing. Everything goes through the services.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select

from lotline.catalog import service as catalog
from lotline.demo_catalog.decisions import decide
from lotline.demo_catalog.people import DEMO_PASSWORD, QA_MANAGER, person
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.models.catalog import Location, Product, StorageCondition
from lotline.models.lot import Lot
from lotline.models.production import ProductionOrder
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.production import orders
from lotline.production.service import Loss, Make, Request, Take, transform
from lotline.signatures import service as signatures
from lotline.stock import operations
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork

OPERATOR = "production"  # 赵磊, who runs line L1
# A rework is a quality decision posted as production: of the demo's people only the plant
# manager holds both rights (QUALITY_DECIDE and PRODUCTION_WRITE).
REWORK_SIGNER = "admin"
FILLING = "FILLING"
DUMPLINGS = "DUMP-PORK-1KG"
AVAILABLE, REJECTED = StockStatus.AVAILABLE, StockStatus.REJECTED
KG, CS, EA = "KGM", "CS", "EA"
QA_FREEZER = "FZ-1-QA"  # the frozen QA bin: where produced lots wait for QA


def _weighed(kg: str, pieces: int) -> Amount:
    """A catch-weight quantity: kilograms and the cases or crates they are in."""
    return Amount(Decimal(kg), KG, count=Decimal(pieces), weight_kg=Decimal(kg))


def _master_data(uow: UnitOfWork, dumplings: int) -> int:
    """The frozen filling (a WIP product); the dumplings made capped by their inputs from now on."""
    wip = catalog.create_lot_type(
        uow,
        code="WIP",
        name_zh="半成品",
        name_en="Work in process",
        code_template="W{site}{yy}{doy:03}{seq:03}",
    )
    frozen = uow.session.scalars(select(StorageCondition.id).where(StorageCondition.code == "FROZEN")).one()
    filling = catalog.create_product(
        uow,
        code=FILLING,
        name_zh="饺子馅（冷冻）",
        name_en="Dumpling filling, frozen",
        base_unit=KG,
        storage_condition_id=frozen,
        lot_type_id=wip.id,
        shelf_life_amount=3,
        shelf_life_unit="MONTHS",
        expiry_kind="USE_BY",
        retest_days=None,
        category="wip",
    )
    catalog.update_product(
        uow,
        product_id=dumplings,
        changes={"expiry_capped_by_inputs": True},
        reason="饺子不晚于所用馅料与面粉到期 / dumplings never outlive their filling and flour",
    )
    return filling.id


def _put_away(uow: UnitOfWork, plant: int, places: dict[str, int]) -> dict[str, int]:
    """The released pork, cabbage and flour from the dock to their rooms; their lot ids."""
    wanted = {
        "JH-0329": ("PORK", "CR-1-02"),
        "CM-1121": ("CABBAGE", "CR-1-03"),
        "WDL-260105": ("FLOUR", "DRY-1"),
    }
    at_dock = (
        uow.session.execute(
            select(
                Lot.supplier_lot_code,
                StockOnHand.lot_id,
                StockOnHand.qty_base,
                StockOnHand.sscc,
                Product.base_unit,
            )
            .join(Lot, Lot.id == StockOnHand.lot_id)
            .join(Product, Product.id == Lot.product_id)
            .where(
                Lot.site_id == plant,
                Lot.supplier_lot_code.in_(wanted),
                StockOnHand.location_id == places["DOCK-1"],
                StockOnHand.stock_status == AVAILABLE.value,
                StockOnHand.qty_base > 0,
            )
        )
        .tuples()
        .all()
    )
    lots: dict[str, int] = {}
    for supplier_lot, lot_id, qty, sscc, unit in at_dock:
        name, room = wanted[str(supplier_lot)]  # never None: the query asks for these codes
        operations.move(
            uow,
            principal=None,
            lot_id=lot_id,
            source=Source(places["DOCK-1"], AVAILABLE, sscc),
            to_location_id=places[room],
            amount=Amount(qty, unit),
            putaway=True,
        )
        lots[name] = lot_id
    return lots


def _post(uow: UnitOfWork, request: Request, signer: str = OPERATOR, grant: str | None = None) -> list[int]:
    """One transformation as the signer posts it; the output lots' ids."""
    outcome = transform(uow, principal=person(uow, signer), request=replace(request, signing_grant=grant))
    return [lot.id for lot in outcome.output_lots]


def _rework_grant(uow: UnitOfWork, lot_id: int) -> str:
    """The plant manager signs the rework of the rejected lot, as he would in the web page."""
    secret, _grant = signatures.authorize_signing(
        uow,
        principal=person(uow, REWORK_SIGNER),
        web_session=None,
        username=REWORK_SIGNER,
        password=DEMO_PASSWORD,
        meaning=Meaning.REWORK,
        record_type="lot",
        record_id=str(lot_id),
        client_ip=None,
    )
    return secret


@dataclass(frozen=True)
class _Plant:
    """The plant as the morning's postings name it."""

    site: int
    places: dict[str, int]
    products: dict[str, int]
    raw: dict[str, int]  # PORK, CABBAGE, FLOUR → the released lots issued to production

    def order(self, uow: UnitOfWork, product: str, qty: str, unit: str, line: str, note: str) -> int:
        planned = orders.OrderInput(
            self.site, self.products[product], Decimal(qty), unit, line=line, note=note
        )
        return orders.create_order(uow, principal=None, order=planned).id


def load(uow: UnitOfWork) -> None:
    """Post the plant's production morning unless a production order exists already."""
    if uow.session.scalar(select(ProductionOrder.id).limit(1)) is not None:
        return
    site = uow.session.scalars(select(Site.id).where(Site.code == "SH01")).one_or_none()
    products = dict(uow.session.execute(select(Product.code, Product.id)).tuples().all())
    if site is None or DUMPLINGS not in products:
        return  # the demo catalog is not loaded
    places = dict(
        uow.session.execute(select(Location.code, Location.id).where(Location.site_id == site)).tuples().all()
    )
    products[FILLING] = _master_data(uow, products[DUMPLINGS])
    plant = _Plant(site, places, products, _put_away(uow, site, places))
    filling = _filling(uow, plant)
    shift_b = _dumplings(uow, plant, filling)[-1]
    _rework(uow, plant, shift_b)
    # The filling left (19.5 kg) split into two tubs for the freezer.
    _post(
        uow,
        Request(
            kind=TransformationKind.SPLIT,
            site_id=site,
            inputs=[Take(filling, Source(places[QA_FREEZER], AVAILABLE), Amount(Decimal("19.5"), KG))],
            outputs=[
                Make(products[FILLING], Amount(Decimal(10), KG), places[QA_FREEZER]),
                Make(products[FILLING], Amount(Decimal("9.5"), KG), places[QA_FREEZER]),
            ],
            reason="分装两桶冻存 / portioned into two tubs for the freezer",
        ),
    )
    _repack_damaged_cases(uow, plant)
    plant.order(uow, "DUMP-VEG-500G", "60", CS, "L2", "明日早班 / tomorrow's early shift")


def _filling(uow: UnitOfWork, plant: _Plant) -> int:
    """Level 1: pork + cabbage → frozen filling on a closed order, released by QA before it is used."""
    number = plant.order(uow, FILLING, "183.1", KG, "L1", "早班馅料 / early-shift filling")
    (filling,) = _post(
        uow,
        Request(
            kind=TransformationKind.PRODUCTION,
            site_id=plant.site,
            production_order_id=number,
            inputs=[
                Take(plant.raw["PORK"], Source(plant.places["CR-1-02"], AVAILABLE), _weighed("99.7", 8)),
                Take(plant.raw["CABBAGE"], Source(plant.places["CR-1-03"], AVAILABLE), _weighed("83.4", 8)),
            ],
            outputs=[Make(plant.products[FILLING], Amount(Decimal("183.1"), KG), plant.places[QA_FREEZER])],
        ),
    )
    orders.finish_order(uow, principal=None, order_id=number, status=orders.OrderStatus.CLOSED)
    reason = "馅料感官与中心温度合格 / filling sensory and core temperature OK"
    decide(uow, person(uow, QA_MANAGER), filling, QualityStatus.RELEASED, reason)
    return filling


def _dumplings(uow: UnitOfWork, plant: _Plant, filling: int) -> list[int]:
    """Level 2: thawed filling (its drip booked in shift A) + flour → dumplings, two shifts, one order;
    the lots made, shift A's first."""
    number = plant.order(uow, DUMPLINGS, "40", CS, "L1", "联华、盒马补货 / restocking Lianhua and Hema")
    from_filling = Source(plant.places[QA_FREEZER], AVAILABLE)
    drip = Loss(filling, from_filling, Amount(Decimal("3.6"), KG), LossKind.DRIP, "解冻滴水 / thaw drip")
    made: list[int] = []
    for shift, filling_kg, bags, cases, losses in (("A", 120, 4, 18, [drip]), ("B", 40, 2, 7, [])):
        made += _post(
            uow,
            Request(
                kind=TransformationKind.PRODUCTION,
                site_id=plant.site,
                production_order_id=number,
                inputs=[
                    Take(filling, from_filling, Amount(Decimal(filling_kg), KG)),
                    Take(
                        plant.raw["FLOUR"],
                        Source(plant.places["DRY-1"], AVAILABLE),
                        Amount(Decimal(bags), EA),
                    ),
                ],
                losses=losses,
                outputs=[
                    Make(
                        plant.products[DUMPLINGS],
                        Amount(Decimal(cases), CS),
                        plant.places[QA_FREEZER],
                        attributes={"line": "L1", "shift": shift},
                    )
                ],
            ),
        )
    return made


def _rework(uow: UnitOfWork, plant: _Plant, lot_id: int) -> None:
    """QA rejects shift B's lot; it is re-bagged under a signed rework, four torn bags lost."""
    decide(
        uow,
        person(uow, QA_MANAGER),
        lot_id,
        QualityStatus.REJECTED,
        "封口检漏不合格 / bag seals failed the leak test",
    )
    rejected = Source(plant.places[QA_FREEZER], REJECTED)
    _post(
        uow,
        Request(
            kind=TransformationKind.REWORK,
            site_id=plant.site,
            inputs=[Take(lot_id, rejected, Amount(Decimal(80), EA))],
            losses=[Loss(lot_id, rejected, Amount(Decimal(4), EA), LossKind.OTHER, "破袋 / torn bags")],
            outputs=[
                Make(
                    plant.products[DUMPLINGS],
                    Amount(Decimal(80), EA),
                    plant.places[QA_FREEZER],
                    attributes={"line": "L1", "shift": "B"},
                )
            ],
            reason="重新装袋封口 / re-bagged and re-sealed",
        ),
        signer=REWORK_SIGNER,
        grant=_rework_grant(uow, lot_id),
    )


def _repack_damaged_cases(uow: UnitOfWork, plant: _Plant) -> None:
    """Ten cases of the older released line-L2 lot, their outer cases crushed in the freezer, re-cased."""
    released = uow.session.scalars(
        select(Lot)
        .join(StockOnHand, StockOnHand.lot_id == Lot.id)
        .where(
            Lot.product_id == plant.products[DUMPLINGS],
            Lot.quality_status == QualityStatus.RELEASED.value,
            StockOnHand.location_id == plant.places["FZ-1-01"],
            StockOnHand.stock_status == AVAILABLE.value,
        )
        .order_by(Lot.production_date)
    ).all()
    older = next((lot for lot in released if (lot.attributes or {}).get("line") == "L2"), None)
    if older is None:
        return
    _post(
        uow,
        Request(
            kind=TransformationKind.REPACK,
            site_id=plant.site,
            inputs=[Take(older.id, Source(plant.places["FZ-1-01"], AVAILABLE), Amount(Decimal(10), CS))],
            outputs=[
                Make(
                    plant.products[DUMPLINGS],
                    Amount(Decimal(10), CS),
                    plant.places[QA_FREEZER],
                    attributes={"line": "L2"},
                )
            ],
            reason="外箱冻损，更换外箱 / outer cases crushed in the freezer, re-cased",
        ),
    )
