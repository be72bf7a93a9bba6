"""The demo company's quality data: inspection plans for minced pork and pork dumplings, incoming
checks on the pork deliveries (one with its supplier CoA), and a LIMS micro result for the
newest dumpling lot — so the QA queue shows a lot ready to release on a passing record.

Call after ``demo.load(uow)`` (it needs the demo products and lots); loading twice adds nothing.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from lotline.domain.inspection import CharacteristicKind
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.quality import InspectionPlan
from lotline.quality import inspections, plans
from lotline.uow import UnitOfWork

NUMERIC, CHOICE = CharacteristicKind.NUMERIC, CharacteristicKind.CHOICE

PORK_PLAN = (
    plans.CharacteristicInput("core_temp", "中心温度", "Core temperature", NUMERIC, "°C", None, Decimal(4)),
    plans.CharacteristicInput("odour", "气味", "Odour", CHOICE, accepted_values=("正常 / normal",)),
    plans.CharacteristicInput(
        "quarantine_cert",
        "动物检疫合格证明",
        "Animal quarantine certificate",
        CHOICE,
        accepted_values=("有 / present",),
    ),
)
DUMPLING_PLAN = (
    plans.CharacteristicInput("core_temp", "中心温度", "Core temperature", NUMERIC, "°C", None, Decimal(-18)),
    plans.CharacteristicInput(
        "tpc", "菌落总数", "Total plate count", NUMERIC, "CFU/g", None, Decimal(100000)
    ),
    plans.CharacteristicInput(
        "salmonella", "沙门氏菌", "Salmonella", CHOICE, accepted_values=("未检出 / not detected",)
    ),
    plans.CharacteristicInput(
        "net_weight", "净含量", "Net content", NUMERIC, "g", Decimal(985), Decimal(1030), required=False
    ),
)

CERT_OK = "有 / present"
NORMAL = "正常 / normal"
COA = (
    "Certificate of analysis / 检验报告\n"
    "Supplier: Jinhua Meat / 金华肉联厂   Lot: JH-0329\n"
    "Core temperature at loading: 1.8 °C   Salmonella: not detected   E. coli O157: not detected\n"
).encode()


def _product_id(uow: UnitOfWork, code: str) -> int | None:
    return uow.session.scalar(select(Product.id).where(Product.code == code))


def load(uow: UnitOfWork) -> None:
    """Add the demo's inspection plans and records unless they are there already."""
    pork = _product_id(uow, "PORK-MINCE")
    dumplings = _product_id(uow, "DUMP-PORK-1KG")
    if pork is None or dumplings is None:
        return  # the demo catalog is not loaded
    if uow.session.scalar(select(InspectionPlan.id).where(InspectionPlan.product_id == pork).limit(1)):
        return
    plans.set_plan(uow, product_id=pork, characteristics=PORK_PLAN, sample_size=Decimal(2), sample_unit="KGM")
    plans.set_plan(
        uow, product_id=dumplings, characteristics=DUMPLING_PLAN, sample_size=Decimal(5), sample_unit="EA"
    )
    pork_lots = dict(
        uow.session.execute(select(Lot.supplier_lot_code, Lot.id).where(Lot.product_id == pork))
        .tuples()
        .all()
    )
    sampled_at = uow.now()
    if "JH-0329" in pork_lots:
        checked = inspections.record_inspection(
            uow,
            lot_id=pork_lots["JH-0329"],
            results={"core_temp": "1.8", "odour": NORMAL, "quarantine_cert": CERT_OK},
            source="web",
            sampled_by="王芳",
            sampled_at=sampled_at,
            comment="来料检验 / incoming check at the dock",
        ).record
        inspections.attach(
            uow, record_id=checked.id, filename="COA-JH-0329.txt", media_type="text/plain", content=COA
        )
    if "JH-0320" in pork_lots:
        inspections.record_inspection(
            uow,
            lot_id=pork_lots["JH-0320"],
            results={"core_temp": "7.0", "odour": NORMAL, "quarantine_cert": CERT_OK},
            source="web",
            sampled_by="王芳",
            sampled_at=sampled_at,
            comment="到货中心温度超标 / core temperature above the limit on arrival",
        )
    newest = uow.session.scalars(
        select(Lot)
        .where(Lot.product_id == dumplings, Lot.quality_status == "QUARANTINE")
        .order_by(Lot.production_date.desc(), Lot.id.desc())
        .limit(1)
    ).one_or_none()
    if newest is not None:
        inspections.record_inspection(
            uow,
            lot_id=newest.id,
            results={
                "core_temp": "-21.5",
                "tpc": "3200",
                "salmonella": "未检出 / not detected",
                "net_weight": "1004",
            },
            source="LabWare",
            external_ref=f"LW-{newest.code}",
            sampled_by="QC Lab / 品控实验室",
            sampled_at=sampled_at,
        )
