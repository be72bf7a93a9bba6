"""The QA decision on a lot as a whole: release or reject, signed, with a reason.

The usage decision itself lives in ``lotline.quality.decisions`` (partial decisions, cited
inspection records, stock moved between stock statuses on the ledger); this is its whole-lot
form, as the lot page, ``POST /lots/{id}/decision`` and ``lotline lot release|reject`` use it.
"""

from __future__ import annotations

from lotline.domain.permissions import Principal
from lotline.domain.status import QualityStatus
from lotline.lots.service import get_lot
from lotline.models.lot import Lot
from lotline.quality.decisions import LOT_EVENTS as EVENTS
from lotline.quality.decisions import MEANINGS, DecisionNotAllowed, decide_usage
from lotline.uow import UnitOfWork

__all__ = ["EVENTS", "MEANINGS", "DecisionNotAllowed", "decide"]


def decide(
    uow: UnitOfWork,
    *,
    lot_id: int,
    decision: QualityStatus,
    reason: str,
    principal: Principal,
    signing_grant: str | None,
    inspection_ids: tuple[int, ...] = (),
) -> Lot:
    """Release or reject the lot and all its stock that the decision takes: signed, audited, announced."""
    decide_usage(
        uow,
        lot_id=lot_id,
        decision=decision,
        reason=reason,
        principal=principal,
        signing_grant=signing_grant,
        inspection_ids=inspection_ids,
    )
    return get_lot(uow, lot_id=lot_id)
