"""The demo company's recall and its mock-recall drill.

The morning's dumplings (shift A, made from the pork-mince lot JH-0329 of Jinhua Meat) are
released and shipped: Hema and Lianhua each asked for the freshest lot, so each pick is a signed
FEFO deviation. Then Jinhua Meat reports Salmonella in JH-0329: QA opens a level-2 recall from the
supplier's lot code, and the QA manager starts it by her signature — every lot made from the pork
that is still in stock is held at once. Hema is phoned and sends two cases back; Lianhua destroys
one case in its store and reports it. The quarterly drill traces the flour lot and balances every
lot it reaches.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from lotline.demo_catalog.decisions import decide
from lotline.demo_catalog.people import DEMO_PASSWORD, QA_MANAGER, person
from lotline.domain.recall import RecallKind, RecallLevel, TriggerKind
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus
from lotline.models.catalog import Location, Partner, Product
from lotline.models.lot import Lot
from lotline.models.outbound import Shipment, ShipmentLine
from lotline.models.production import GenealogyEdge
from lotline.models.recall import RecallCase
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.outbound import allocation, orders, picking, returns, shipping
from lotline.quality import inspections
from lotline.recall import service as recall
from lotline.signatures import service as signatures
from lotline.stock import operations
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork

PICKER = "admin"  # 王建国 picks at the plant on the morning shift
SUPPLIER, SUPPLIER_LOT = "JINHUA-MEAT", "JH-0329"
DRILL_LOT_SUPPLIER, DRILL_SUPPLIER_LOT = "WUDELI", "WDL-260105"
DUMPLINGS = "DUMP-PORK-1KG"


def load(uow: UnitOfWork) -> None:
    """Ship the shift-A dumplings, recall the pork and run the drill, unless a case exists."""
    if uow.session.scalar(select(RecallCase.id).limit(1)) is not None:
        return
    plant = uow.session.scalars(select(Site).where(Site.code == "SH01")).one_or_none()
    pork = uow.session.scalar(
        select(Lot.id)
        .join(Partner, Partner.id == Lot.supplier_id)
        .where(Partner.code == SUPPLIER, Lot.supplier_lot_code == SUPPLIER_LOT)
    )
    if plant is None or pork is None:
        return  # the demo catalog or its receipts are not loaded
    shift_a = _shift_a_dumplings(uow, pork)
    if shift_a is not None:
        _ship_fresh(uow, plant, shift_a)
    case = recall.open_case(
        uow,
        recall.OpenRequest(
            kind=RecallKind.RECALL,
            trigger=recall.Trigger(
                TriggerKind.SUPPLIER_LOT, supplier_code=SUPPLIER, supplier_lot_code=SUPPLIER_LOT
            ),
            level=RecallLevel.CN_2,
            reason=(
                "供应商通报猪肉糜批次 JH-0329 检出沙门氏菌 / "
                "supplier reports Salmonella in pork mince lot JH-0329"
            ),
            discovered_at=uow.now() - timedelta(hours=3),
        ),
    )
    qa = person(uow, QA_MANAGER)
    secret, _grant = signatures.authorize_signing(
        uow,
        principal=qa,
        web_session=None,
        username=QA_MANAGER,
        password=DEMO_PASSWORD,
        meaning=Meaning.RECALL,
        record_type=recall.RECORD_TYPE,
        record_id=str(case.id),
        client_ip=None,
    )
    recall.start_case(uow, case_id=case.id, principal=qa, signing_grant=secret)
    if shift_a is not None:
        _recover(uow, plant, case.id, shift_a)
    recall.open_case(
        uow,
        recall.OpenRequest(
            kind=RecallKind.DRILL,
            trigger=recall.Trigger(
                TriggerKind.SUPPLIER_LOT,
                supplier_code=DRILL_LOT_SUPPLIER,
                supplier_lot_code=DRILL_SUPPLIER_LOT,
            ),
            level=RecallLevel.CN_1,
            reason="季度模拟召回演练：面粉批次 / quarterly mock recall drill: the flour lot",
        ),
    )


def _shift_a_dumplings(uow: UnitOfWork, pork: int) -> Lot | None:
    """The dumplings lot made from the pork's filling on shift A."""
    filling = select(GenealogyEdge.child_lot_id).where(GenealogyEdge.parent_lot_id == pork)
    made = uow.session.scalars(
        select(Lot)
        .join(GenealogyEdge, GenealogyEdge.child_lot_id == Lot.id)
        .join(Product, Product.id == Lot.product_id)
        .where(GenealogyEdge.parent_lot_id.in_(filling), Product.code == DUMPLINGS)
        .order_by(Lot.id)
    ).all()
    return next((lot for lot in made if (lot.attributes or {}).get("shift") == "A"), None)


def _ship_fresh(uow: UnitOfWork, plant: Site, lot: Lot) -> None:
    """QA releases shift A; it goes to the freezer; Hema (10 cases) and Lianhua (5) get it."""
    if lot.quality_status == QualityStatus.QUARANTINE.value:
        checked = inspections.record_inspection(
            uow,
            lot_id=lot.id,
            results={
                "core_temp": "-20.8",
                "tpc": "2100",
                "salmonella": "未检出 / not detected",
                "net_weight": "1001",
            },
            source="LabWare",
            external_ref=f"LW-{lot.code}",
            sampled_by="QC Lab / 品控实验室",
            sampled_at=uow.now(),
        ).record
        decide(
            uow,
            person(uow, QA_MANAGER),
            lot.id,
            QualityStatus.RELEASED,
            "感官、中心温度与微生物快检合格 / sensory, core temperature and rapid micro tests passed",
            (checked.id,),
        )
    places = dict(
        uow.session.execute(select(Location.code, Location.id).where(Location.site_id == plant.id))
        .tuples()
        .all()
    )
    row = uow.session.scalars(
        select(StockOnHand).where(StockOnHand.lot_id == lot.id, StockOnHand.qty_base > 0)
    ).first()
    if row is None:
        return
    if row.location_id != places["FZ-1-01"]:
        operations.move(
            uow,
            principal=None,
            lot_id=lot.id,
            source=Source(row.location_id, StockStatus(row.stock_status), row.sscc),
            to_location_id=places["FZ-1-01"],
            amount=Amount(row.qty_base, "EA"),
        )
    customers = dict(
        uow.session.execute(select(Partner.code, Partner.id).where(Partner.is_customer)).tuples().all()
    )
    product = uow.session.scalar(select(Product.id).where(Product.code == DUMPLINGS))
    assert product is not None  # the lot is one
    today = uow.now().date()
    picker = person(uow, PICKER)
    for customer, cases, ref in (("HEMA", "10", "HM-20950"), ("LIANHUA", "5", "LH-PO-88140")):
        order = orders.create_order(
            uow,
            order=orders.OrderInput(
                customer_id=customers[customer],
                site_id=plant.id,
                ship_date=today,
                customer_ref=ref,
                lines=[orders.LineInput(product_id=product, quantity=Decimal(cases), unit="CS")],
            ),
        )
        allocation.allocate_order(uow, order_id=order.id)
        (line,) = orders.order_lines(uow, order_id=order.id)
        secret, _grant = signatures.authorize_signing(
            uow,
            principal=picker,
            web_session=None,
            username=PICKER,
            password=DEMO_PASSWORD,
            meaning=Meaning.OVERRIDE,
            record_type=picking.SIGNED_RECORD,
            record_id=str(line.id),
            client_ip=None,
        )
        picking.pick(
            uow,
            line_id=line.id,
            scanned=lot.code,
            quantity=Decimal(cases),
            unit="CS",
            principal=picker,
            deviation_reason="客户要求最新批次 / the customer asked for the freshest lot",
            signing_grant=secret,
        )
        shipping.ship(uow, order_id=order.id, carrier_id=None, vehicle="沪A·C7321", legs=[], principal=picker)


def _recover(uow: UnitOfWork, plant: Site, case_id: int, lot: Lot) -> None:
    """Hema is phoned and sends two cases back; Lianhua destroys one case and reports it."""
    customers = dict(
        uow.session.execute(select(Partner.code, Partner.id).where(Partner.is_customer)).tuples().all()
    )
    recall.record_notice(
        uow,
        case_id=case_id,
        customer_id=customers["HEMA"],
        channel="phone",
        note="门店质量经理 / store QA manager",
    )
    hema_line = uow.session.scalar(
        select(ShipmentLine.id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.customer_id == customers["HEMA"], ShipmentLine.lot_id == lot.id)
    )
    qa_freezer = uow.session.scalar(
        select(Location.id).where(Location.site_id == plant.id, Location.code == "FZ-1-QA")
    )
    if hema_line is not None and qa_freezer is not None:
        returns.receive_return(
            uow,
            shipment_line_id=hema_line,
            quantity=Decimal(2),
            unit="CS",
            location_id=qa_freezer,
            reason="召回退回 / returned under the recall",
        )
    recall.record_destruction(
        uow,
        case_id=case_id,
        customer_id=customers["LIANHUA"],
        lot_id=lot.id,
        quantity=Decimal(1),
        unit="CS",
        note="门店就地销毁，附照片 / destroyed in store, photos attached",
    )
