"""The usage decision (放行): release or reject a lot, or part of it, signed, citing inspections.

A decision changes two things in one transaction: the stock it covers moves between stock
statuses on the ledger (QUARANTINE → AVAILABLE on release; QUARANTINE or AVAILABLE → REJECTED on
rejection), and the lot's quality status follows (RELEASED once anything is released, REJECTED
when the whole lot is). Part of a lot is a quantity from one bucket, or every bucket of one SSCC;
whatever the decision does not cover stays where and as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select

from lotline.audit.service import record
from lotline.domain.errors import N_, Conflict, InvalidInput, NotFound
from lotline.domain.expiry import is_expired
from lotline.domain.ledger import MovementKind
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus, decision_allowed
from lotline.domain.units import plain
from lotline.lots.service import get_lot
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord, QualityDecision
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.quality.plans import active_plan
from lotline.quality.scope import SOURCES, NothingToDecide, Part, Take, buckets_of, checked_part, stock_taken
from lotline.signatures import service as signatures
from lotline.sites.service import get_site
from lotline.stock import service as stock
from lotline.stock.service import Bucket
from lotline.uow import UnitOfWork

__all__ = [
    "LOT_EVENTS",
    "MEANINGS",
    "SOURCES",
    "DecisionNotAllowed",
    "NoPassingInspection",
    "NothingToDecide",
    "Part",
    "apply_decision",
    "decide_usage",
    "decisions_of_lot",
    "stock_taken",
]

MEANINGS = {QualityStatus.RELEASED: Meaning.RELEASE, QualityStatus.REJECTED: Meaning.REJECT}
LOT_EVENTS = {QualityStatus.RELEASED: events.LOT_RELEASED, QualityStatus.REJECTED: events.LOT_REJECTED}
TARGETS = {QualityStatus.RELEASED: StockStatus.AVAILABLE, QualityStatus.REJECTED: StockStatus.REJECTED}


class DecisionNotAllowed(Conflict):
    code = "lot.decision_not_allowed"
    message = N_("A lot in {current} cannot be given the decision {decision}.")


class NoPassingInspection(Conflict):
    code = "decision.no_passing_inspection"
    message = N_(
        "The product has an inspection plan: a release must cite at least one passing inspection"
        " record of this lot."
    )


def _cited(uow: UnitOfWork, lot: Lot, inspection_ids: Sequence[int]) -> list[InspectionRecord]:
    """The cited records, all of which must be this lot's."""
    wanted = sorted(set(inspection_ids))
    if not wanted:
        return []
    found = list(uow.session.scalars(select(InspectionRecord).where(InspectionRecord.id.in_(wanted))))
    foreign = sorted(set(wanted) - {r.id for r in found if r.lot_id == lot.id})
    if foreign:
        raise InvalidInput(
            N_("Inspection records {ids} are not records of lot {lot}."),
            field="inspection_ids",
            code="decision.inspection_not_of_lot",
            ids=", ".join(map(str, foreign)),
            lot=lot.code,
        )
    return found


def _move(
    uow: UnitOfWork,
    lot: Lot,
    takes: Sequence[Take],
    target: StockStatus,
    *,
    decision_id: int,
    reason: str,
    signature_id: int | None,
) -> None:
    """One STATUS movement per bucket, sharing one transaction id."""
    txn = stock.new_txn()
    for take in takes:
        stock.post(
            uow,
            kind=MovementKind.STATUS,
            lot=lot,
            quantity=take.quantity,
            entered_qty=take.entered_qty,
            entered_unit=take.entered_unit,
            source=take.bucket,
            target=Bucket(take.bucket.location_id, target, take.bucket.sscc),
            txn_id=txn,
            reason=reason,
            reference=("quality_decision", decision_id),
            signature_id=signature_id,
        )


def lot_expired(uow: UnitOfWork, lot: Lot) -> bool:
    site = get_site(uow, site_id=lot.site_id)
    return is_expired(
        expiry_date=lot.expiry_date, expiry_at=lot.expiry_at, site_zone=site.time_zone, now=uow.now()
    )


def decide_usage(
    uow: UnitOfWork,
    *,
    lot_id: int,
    decision: QualityStatus,
    reason: str,
    principal: Principal,
    signing_grant: str | None,
    inspection_ids: Sequence[int] = (),
    part: Part | None = None,
) -> QualityDecision:
    """Release or reject the lot or part of it: signed, citing inspections, moving the stock."""
    lot = get_lot(uow, lot_id=lot_id)
    if decision not in MEANINGS:
        raise InvalidInput(
            N_("{field} must be RELEASED or REJECTED."), field="decision", code="lot.bad_decision"
        )
    part = checked_part(part or Part())
    current = QualityStatus(lot.quality_status)
    # A whole-lot decision follows the lifecycle; a part may be decided while the lot is
    # released (the rest of its pallets), never once it is rejected as a whole. Releasing "the
    # whole lot" again when part of it was released releases whatever is still quarantined.
    if part.whole:
        allowed = decision_allowed(current, decision) or (
            current is QualityStatus.RELEASED
            and decision is QualityStatus.RELEASED
            and bool(buckets_of(uow, lot, SOURCES[decision], location_id=None, sscc=None))
        )
    else:
        allowed = current is not QualityStatus.REJECTED
    if not allowed:
        raise DecisionNotAllowed(field="decision", current=current.value, decision=decision.value)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(N_("{field} is required."), field="reason", code="lot.reason_required")
    if decision is QualityStatus.RELEASED and lot_expired(uow, lot):
        raise InvalidInput(
            N_("The lot expired on {expiry}: an expired lot cannot be released (re-date it first)."),
            field="decision",
            code="lot.expired",
            expiry=lot.expiry_date.isoformat(),
        )
    cited = _cited(uow, lot, inspection_ids)
    if (
        decision is QualityStatus.RELEASED
        and active_plan(uow, product_id=lot.product_id) is not None
        and not any(r.passed for r in cited)
    ):
        raise NoPassingInspection(field="inspection_ids")
    takes = stock_taken(uow, lot, part, decision)
    cited_ids = sorted(r.id for r in cited)
    content = {
        "lot_id": lot.id,
        "code": lot.code,
        "from": current.value,
        "decision": decision.value,
        "expiry_date": lot.expiry_date.isoformat(),
        "reason": reason,
        "inspection_ids": cited_ids,
        "quantity": str(part.quantity) if part.quantity is not None else None,
        "unit": part.unit,
        "location_id": part.location_id,
        "sscc": part.sscc,
    }
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=MEANINGS[decision],
        record_type="lot",
        record_id=lot.id,
        content=content,
        comment=reason,
    )
    return apply_decision(
        uow,
        lot,
        decision,
        part,
        takes,
        reason=reason,
        cited_ids=cited_ids,
        signature_id=signature.id,
        policy_id=None,
        decided_by=principal.display_name,
    )


def apply_decision(
    uow: UnitOfWork,
    lot: Lot,
    decision: QualityStatus,
    part: Part,
    takes: Sequence[Take],
    *,
    reason: str,
    cited_ids: list[int],
    signature_id: int | None,
    policy_id: int | None,
    decided_by: str,
) -> QualityDecision:
    """Write the decision, move its stock, set the lot's status; audited and announced."""
    now = uow.now()
    moved = sum((take.quantity.base for take in takes), Decimal(0))
    row = QualityDecision(
        lot_id=lot.id,
        decision=decision.value,
        base_qty=None if part.whole else moved,
        sscc=part.sscc,
        location_id=part.location_id,
        reason=reason,
        inspection_ids=cited_ids,
        signature_id=signature_id,
        policy_id=policy_id,
        decided_at=now,
        decided_by=decided_by,
    )
    uow.session.add(row)
    uow.session.flush()
    _move(uow, lot, takes, TARGETS[decision], decision_id=row.id, reason=reason, signature_id=signature_id)
    before = QualityStatus(lot.quality_status)
    after = before
    if decision is QualityStatus.RELEASED and before is QualityStatus.QUARANTINE:
        after = QualityStatus.RELEASED
    elif decision is QualityStatus.REJECTED and part.whole:
        after = QualityStatus.REJECTED
    if after is not before:
        lot.quality_status = after.value
        lot.updated_at = now
    changes: dict[str, object] = {
        "decision_id": [None, row.id],
        "decision": [None, decision.value],
        "scope": [None, _scope(part)],
        "base_qty_moved": [None, plain(moved) if takes else "0"],
        "inspection_ids": [None, cited_ids],
        "signature_id": [None, signature_id],
    }
    if policy_id is not None:
        changes["policy_id"] = [None, policy_id]
    if after is not before:
        changes["quality_status"] = [before.value, after.value]
    record(
        uow,
        action="decide",
        entity_type="lot",
        entity_id=lot.id,
        site_id=lot.site_id,
        changes=changes,
        reason=reason,
    )
    if after is not before:
        emit(
            uow,
            LOT_EVENTS[after],
            subject_type="lot",
            subject_id=lot.id,
            site_id=lot.site_id,
            payload={"from": before.value, "to": after.value, "signature_id": signature_id},
        )
    emit(
        uow,
        events.USAGE_DECIDED,
        subject_type="lot",
        subject_id=lot.id,
        site_id=lot.site_id,
        payload={
            "decision_id": row.id,
            "decision": decision.value,
            "scope": _scope(part),
            "base_qty": plain(moved),
            "inspection_ids": cited_ids,
            "signature_id": signature_id,
            "policy_id": policy_id,
        },
    )
    return row


def _scope(part: Part) -> str:
    if part.whole:
        return "lot"
    if part.quantity is not None:
        return f"{plain(part.quantity)} {part.unit} @ location {part.location_id}" + (
            f" SSCC {part.sscc}" if part.sscc else ""
        )
    return f"SSCC {part.sscc}"


def decisions_of_lot(uow: UnitOfWork, *, lot_id: int) -> list[QualityDecision]:
    """The lot's decisions, oldest first."""
    return list(
        uow.session.scalars(
            select(QualityDecision).where(QualityDecision.lot_id == lot_id).order_by(QualityDecision.id)
        )
    )


def get_decision(uow: UnitOfWork, *, decision_id: int) -> QualityDecision:
    found = uow.session.get(QualityDecision, decision_id)
    if found is None:
        raise NotFound(entity=N_("quality decision"), key=decision_id, field="decision_id")
    return found
