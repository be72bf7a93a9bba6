"""The QA decision on a lot as a whole: release or reject, signed, with a reason.

Partial decisions (by quantity or SSCC) and decisions citing inspection records come with the
inbound issue; this is the lot-level decision they build on.
"""

from __future__ import annotations

from lotline.audit.service import record_changed, snapshot
from lotline.domain.errors import N_, Conflict, InvalidInput
from lotline.domain.expiry import is_expired
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, decision_allowed
from lotline.lots.service import get_lot
from lotline.models.lot import Lot
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.signatures import service as signatures
from lotline.sites.service import get_site
from lotline.uow import UnitOfWork

MEANINGS = {QualityStatus.RELEASED: Meaning.RELEASE, QualityStatus.REJECTED: Meaning.REJECT}
EVENTS = {QualityStatus.RELEASED: events.LOT_RELEASED, QualityStatus.REJECTED: events.LOT_REJECTED}


class DecisionNotAllowed(Conflict):
    code = "lot.decision_not_allowed"
    message = N_("A lot in {current} cannot be given the decision {decision}.")


def decide(
    uow: UnitOfWork,
    *,
    lot_id: int,
    decision: QualityStatus,
    reason: str,
    principal: Principal,
    signing_grant: str | None,
) -> Lot:
    """Release or reject the lot: a signed decision, audited, announced."""
    lot = get_lot(uow, lot_id=lot_id)
    if decision not in MEANINGS:
        raise InvalidInput(
            N_("{field} must be RELEASED or REJECTED."), field="decision", code="lot.bad_decision"
        )
    current = QualityStatus(lot.quality_status)
    if not decision_allowed(current, decision):
        raise DecisionNotAllowed(field="decision", current=current.value, decision=decision.value)
    if not reason.strip():
        raise InvalidInput(N_("{field} is required."), field="reason", code="lot.reason_required")
    site = get_site(uow, site_id=lot.site_id)
    expired = is_expired(
        expiry_date=lot.expiry_date, expiry_at=lot.expiry_at, site_zone=site.time_zone, now=uow.now()
    )
    if decision is QualityStatus.RELEASED and expired:
        raise InvalidInput(
            N_("The lot expired on {expiry}: an expired lot cannot be released (re-date it first)."),
            field="decision",
            code="lot.expired",
            expiry=lot.expiry_date.isoformat(),
        )
    content = {
        "lot_id": lot.id,
        "code": lot.code,
        "from": current.value,
        "decision": decision.value,
        "expiry_date": lot.expiry_date.isoformat(),
        "reason": reason.strip(),
    }
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=MEANINGS[decision],
        record_type="lot",
        record_id=lot.id,
        content=content,
        comment=reason.strip(),
    )
    before = snapshot(lot, ["quality_status"])
    lot.quality_status = decision.value
    lot.updated_at = uow.now()
    record_changed(
        uow,
        entity_type="lot",
        entity_id=lot.id,
        site_id=lot.site_id,
        before=before,
        after={**snapshot(lot, ["quality_status"]), "signature_id": signature.id},
        reason=reason.strip(),
        action="decide",
    )
    emit(
        uow,
        EVENTS[decision],
        subject_type="lot",
        subject_id=lot.id,
        site_id=lot.site_id,
        payload={"from": current.value, "to": decision.value, "signature_id": signature.id},
    )
    return lot
