"""The demo's lots: finished goods made on the plant's lines, three supplier deliveries received at
the dock (their lots in quarantine), and one pork lot from before lotline, expired since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from lotline.demo_catalog.master_data import Products
from lotline.demo_catalog.people import RECEIVER, person
from lotline.inbound import service as receiving
from lotline.lots import service as lots
from lotline.uow import UnitOfWork

# FSMA 204: where each supplier assigns its lot codes (the traceability lot code source), as the
# suppliers print it on their delivery notes.
JINHUA_PLANT = (
    "金华肉业 Jinhua Meat Co. cutting plant, 88 Duohu Road, Jindong District, Jinhua, Zhejiang 321000, CN"
)
WUDELI_MILL = (
    "五得利 Wudeli Flour Group Handan mill, 1 Wudeli Street, Daming County, Handan, Hebei 056900, CN"
)
CHONGMING_PACKHOUSE = (
    "崇明蔬菜合作社 Chongming Vegetable Co-op packhouse, 200 Chengqiao Road, Chongming, Shanghai 202150, CN"
)


@dataclass(frozen=True)
class DemoLots:
    """The lots' ids, named for the state the demo leaves them in."""

    old_fg: int  # expires within two weeks
    older_fg: int  # expires within ~2 months
    held_fg: int
    fresh_fg: int  # still in quarantine: awaiting its micro results
    old_veg: int  # ~1 month left
    fresh_veg: int
    pork_ok: int
    excursion: int
    pork_bad: int
    flour_ok: int
    cabbage_ok: int
    expired_pork: int


def load(
    uow: UnitOfWork, *, plant: int, products: Products, suppliers: dict[str, int], dock: int
) -> DemoLots:
    """Register the plant's own lots and receive the suppliers' deliveries."""
    today = uow.now().astimezone(ZoneInfo("Asia/Shanghai")).date()

    def made(product_id: int, days_ago: int, line: str) -> int:
        return lots.register_lot(
            uow,
            product_id=product_id,
            site_id=plant,
            source="PRODUCTION",
            production_date=today - timedelta(days=days_ago),
            attributes={"line": line, "shift": "A"},
        ).id

    def bought(
        product_id: int, supplier: str, code: str, expires: date, origin: str, age_days: int = 1
    ) -> int:
        return lots.register_lot(
            uow,
            product_id=product_id,
            site_id=plant,
            source="SUPPLIER",
            supplier_id=suppliers[supplier],
            supplier_lot_code=code,
            supplier_expiry=expires,
            production_date=today - timedelta(days=age_days),
            attributes={"origin": origin},
        ).id

    old_fg = made(products.dumplings, 355, "L1")
    older_fg = made(products.dumplings, 300, "L2")
    held_fg = made(products.dumplings, 20, "L1")
    fresh_fg = made(products.dumplings, 2, "L2")
    old_veg = made(products.veggie, 250, "L1")
    fresh_veg = made(products.veggie, 10, "L2")

    receiver = person(uow, RECEIVER)

    def delivered(supplier: str, order: str, note: str, *lines: receiving.LineInput) -> list[int]:
        """A supplier's delivery received at the dock: its lots, one per line, in quarantine."""
        receipt = receiving.create_receipt(
            uow,
            site_id=plant,
            supplier_id=suppliers[supplier],
            location_id=dock,
            purchase_order=order,
            delivery_note=note,
            lines=list(lines),
            principal=receiver,
        )
        return [line.lot_id for line in receiving.receipt_lines(uow, receipt_ids=[receipt.id])[receipt.id]]

    def weighed(
        product_id: int, code: str, expires: date, count: int, kg: str, packed_at: str
    ) -> receiving.LineInput:
        return receiving.LineInput(
            product_id=product_id,
            supplier_lot_code=code,
            production_date=today - timedelta(days=1),
            supplier_expiry=expires,
            count=Decimal(count),
            net_weight_kg=Decimal(kg),
            tlc_source=packed_at,
        )

    pork = products.pork
    pork_ok, excursion, pork_bad = delivered(
        "JINHUA-MEAT",
        "PO-SH01-0311",
        "JH-DN-88231",
        weighed(pork, "JH-0329", today + timedelta(days=3), 40, "498.6", JINHUA_PLANT),  # cases of ~12.5 kg
        weighed(pork, "JH-0331", today + timedelta(days=4), 24, "301.2", JINHUA_PLANT),
        weighed(pork, "JH-0320", today + timedelta(days=4), 16, "199.8", JINHUA_PLANT),
    )
    (flour_ok,) = delivered(
        "WUDELI",
        "PO-SH01-0298",
        "WDL-DN-5521",
        receiving.LineInput(
            product_id=products.flour,
            supplier_lot_code="WDL-260105",
            production_date=today - timedelta(days=1),
            supplier_expiry=today + timedelta(days=240),
            quantity=Decimal(80),
            unit="EA",
            tlc_source=WUDELI_MILL,
        ),
    )
    (cabbage_ok,) = delivered(
        "CHONGMING-VEG",
        "PO-SH01-0312",
        "CM-DN-0417",
        # In crates.
        weighed(products.cabbage, "CM-1121", today + timedelta(days=5), 30, "312.6", CHONGMING_PACKHOUSE),
    )
    # Received before lotline took over the warehouse (and expired since): an opening balance.
    expired_pork = bought(pork, "JINHUA-MEAT", "JH-0318", today - timedelta(days=2), "金华", age_days=6)
    return DemoLots(
        old_fg=old_fg,
        older_fg=older_fg,
        held_fg=held_fg,
        fresh_fg=fresh_fg,
        old_veg=old_veg,
        fresh_veg=fresh_veg,
        pork_ok=pork_ok,
        excursion=excursion,
        pork_bad=pork_bad,
        flour_ok=flour_ok,
        cabbage_ok=cabbage_ok,
        expired_pork=expired_pork,
    )
