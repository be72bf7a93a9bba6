"""The demo's QA decisions and holds: released, rejected and held lots, each decision signed by
the demo's QA manager."""

from __future__ import annotations

from lotline.demo_catalog.lots import DemoLots
from lotline.demo_catalog.people import DEMO_PASSWORD, QA_MANAGER, person
from lotline.domain.permissions import Principal
from lotline.domain.status import HoldType, QualityStatus
from lotline.lots import decisions
from lotline.lots import service as lots
from lotline.signatures import service as signatures
from lotline.uow import UnitOfWork


def decide(
    uow: UnitOfWork,
    signer: Principal,
    lot_id: int,
    decision: QualityStatus,
    reason: str,
    inspection_ids: tuple[int, ...] = (),
) -> None:
    """A signed QA decision by the demo's QA manager, as she would give it in the web page."""
    meaning = decisions.MEANINGS[decision]
    secret, _grant = signatures.authorize_signing(
        uow,
        principal=signer,
        web_session=None,
        username=QA_MANAGER,
        password=DEMO_PASSWORD,
        meaning=meaning,
        record_type="lot",
        record_id=str(lot_id),
        client_ip=None,
    )
    decisions.decide(
        uow,
        lot_id=lot_id,
        decision=decision,
        reason=reason,
        principal=signer,
        signing_grant=secret,
        inspection_ids=inspection_ids,
    )


def load(uow: UnitOfWork, demo_lots: DemoLots) -> None:
    """Release the lots that passed, reject the warm pork and put the holds on."""
    signer = person(uow, QA_MANAGER)
    for lot_id, reason in (
        (demo_lots.old_fg, "放行检验合格 / release tests passed"),
        (demo_lots.older_fg, "放行检验合格 / release tests passed"),
        (demo_lots.old_veg, "放行检验合格 / release tests passed"),
        (demo_lots.pork_ok, "供应商 COA 与来料检验合格 / supplier CoA and incoming check passed"),
        (demo_lots.flour_ok, "供应商 COA 合格 / supplier CoA accepted"),
        (demo_lots.cabbage_ok, "感官检验合格 / sensory check passed"),
    ):
        decide(uow, signer, lot_id, QualityStatus.RELEASED, reason)
    decide(
        uow,
        signer,
        demo_lots.pork_bad,
        QualityStatus.REJECTED,
        "中心温度 7 °C，超出接收标准 / core temperature 7 °C on arrival, above the receiving limit",
    )
    lots.place_hold(
        uow,
        lot_id=demo_lots.held_fg,
        hold_type=HoldType.QA,
        reason="金属检测复核 / metal-detector recheck after line L1 stop",
    )
    lots.place_hold(
        uow,
        lot_id=demo_lots.excursion,
        hold_type=HoldType.EXCURSION,
        reason="冷藏库 1 温度 9 °C 持续 40 分钟 / cold room 1 at 9 °C for 40 min",
    )
    lots.place_hold(
        uow, lot_id=demo_lots.excursion, hold_type=HoldType.QA, reason="待微生物检验 / awaiting micro results"
    )
