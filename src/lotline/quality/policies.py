"""Auto-release policies: a product trusted enough that its lots are released when conditions hold.

Setting a policy is itself a signed decision (meaning APPROVE); a release by policy names the
policy and carries its signature, so every release traces back to a person who signed. Nothing
else — certainly not an integration token — releases stock without a signature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from lotline.audit.service import record
from lotline.catalog.service import get_product
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus
from lotline.models.catalog import Partner
from lotline.models.lot import Lot
from lotline.models.quality import Attachment, InspectionRecord, QualityDecision, ReleasePolicy
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.quality.decisions import apply_decision, lot_expired
from lotline.quality.inspections import RECORD_OWNER
from lotline.quality.plans import active_plan
from lotline.quality.scope import SOURCES, Part, stock_taken
from lotline.signatures import service as signatures
from lotline.uow import UnitOfWork

CONDITIONS = ("suppliers", "requires_coa", "requires_passing_inspection")


def _checked_conditions(uow: UnitOfWork, conditions: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        raise InvalidInput(
            N_("Unknown policy condition: {names}."),
            field="conditions",
            code="policy.unknown_condition",
            names=", ".join(unknown),
        )
    checked: dict[str, Any] = {}
    if "suppliers" in conditions:
        suppliers = conditions["suppliers"]
        if (
            not isinstance(suppliers, list)
            or not suppliers
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in suppliers)
        ):
            raise InvalidInput(
                N_("{field} must be a non-empty list of supplier ids."),
                field="conditions.suppliers",
                code="policy.bad_suppliers",
            )
        known = set(
            uow.session.scalars(select(Partner.id).where(Partner.id.in_(suppliers), Partner.is_supplier))
        )
        missing = sorted(set(suppliers) - known)
        if missing:
            raise NotFound(
                entity=N_("supplier"), key=", ".join(map(str, missing)), field="conditions.suppliers"
            )
        checked["suppliers"] = sorted(set(suppliers))
    for flag in ("requires_coa", "requires_passing_inspection"):
        if flag in conditions:
            if not isinstance(conditions[flag], bool):
                raise InvalidInput(
                    N_("{field} must be true or false."), field=f"conditions.{flag}", code="policy.bad_flag"
                )
            checked[flag] = conditions[flag]
    if not checked:
        # A policy with no condition would release every lot of the product unseen.
        raise InvalidInput(
            N_("A release policy needs at least one condition."),
            field="conditions",
            code="policy.no_conditions",
        )
    return checked


def active_policy(uow: UnitOfWork, *, product_id: int) -> ReleasePolicy | None:
    return uow.session.scalars(
        select(ReleasePolicy)
        .where(ReleasePolicy.product_id == product_id, ReleasePolicy.active)
        .order_by(ReleasePolicy.id.desc())
        .limit(1)
    ).one_or_none()


def products_with_policy(uow: UnitOfWork, product_ids: Iterable[int]) -> set[int]:
    """Which of ``product_ids`` carry an active release policy (one query)."""
    chosen = set(product_ids)
    if not chosen:
        return set()
    return set(
        uow.session.scalars(
            select(ReleasePolicy.product_id).where(ReleasePolicy.product_id.in_(chosen), ReleasePolicy.active)
        )
    )


def _retire(uow: UnitOfWork, policy: ReleasePolicy) -> None:
    policy.active = False
    policy.withdrawn_at = uow.now()
    uow.session.flush()


def set_policy(
    uow: UnitOfWork,
    *,
    product_id: int,
    conditions: Mapping[str, Any],
    reason: str,
    principal: Principal,
    signing_grant: str | None,
) -> ReleasePolicy:
    """Set the product's auto-release policy by a signed approval (replacing any in force)."""
    product = get_product(uow, product_id=product_id)
    checked = _checked_conditions(uow, conditions)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(N_("{field} is required."), field="reason", code="policy.reason_required")
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=Meaning.APPROVE,
        record_type="product",
        record_id=product.id,
        content={"product_id": product.id, "release_policy": checked, "reason": reason},
        comment=reason,
    )
    previous = active_policy(uow, product_id=product.id)
    if previous is not None:
        _retire(uow, previous)
    policy = ReleasePolicy(
        product_id=product.id,
        conditions=checked,
        active=True,
        reason=reason,
        signature_id=signature.id,
        set_at=uow.now(),
        set_by=principal.display_name,
    )
    uow.session.add(policy)
    uow.session.flush()
    record(
        uow,
        action="create",
        entity_type="release_policy",
        entity_id=policy.id,
        changes={
            "product_id": [None, product.id],
            "conditions": [None, checked],
            "signature_id": [None, signature.id],
            "replaces": [None, previous.id if previous else None],
        },
        reason=reason,
    )
    emit(
        uow,
        events.RELEASE_POLICY_SET,
        subject_type="product",
        subject_id=product.id,
        payload={"policy_id": policy.id, "conditions": checked, "signature_id": signature.id},
    )
    return policy


def withdraw_policy(uow: UnitOfWork, *, product_id: int, reason: str) -> ReleasePolicy:
    """Withdraw the product's policy: from now on every lot needs a signed release."""
    get_product(uow, product_id=product_id)
    policy = active_policy(uow, product_id=product_id)
    if policy is None:
        raise NotFound(entity=N_("release policy"), key=product_id, field="product_id")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(N_("{field} is required."), field="reason", code="policy.reason_required")
    _retire(uow, policy)
    record(
        uow,
        action="withdraw",
        entity_type="release_policy",
        entity_id=policy.id,
        changes={"active": [True, False]},
        reason=reason,
    )
    emit(
        uow,
        events.RELEASE_POLICY_WITHDRAWN,
        subject_type="product",
        subject_id=product_id,
        payload={"policy_id": policy.id},
    )
    return policy


def _policy_holds(uow: UnitOfWork, lot: Lot, policy: ReleasePolicy) -> list[int] | None:
    """The passing records the release rests on when the policy holds for ``lot``; else None."""
    conditions = policy.conditions
    if "suppliers" in conditions and lot.supplier_id not in conditions["suppliers"]:
        return None
    passing = list(
        uow.session.scalars(
            select(InspectionRecord.id)
            .where(InspectionRecord.lot_id == lot.id, InspectionRecord.passed)
            .order_by(InspectionRecord.id)
        )
    )
    needs_passing = conditions.get("requires_passing_inspection", False) or (
        active_plan(uow, product_id=lot.product_id) is not None
    )
    if needs_passing and not passing:
        return None
    if conditions.get("requires_coa", False):
        has_coa = uow.session.scalar(
            select(Attachment.id)
            .join(InspectionRecord, InspectionRecord.id == Attachment.owner_id)
            .where(Attachment.owner_type == RECORD_OWNER, InspectionRecord.lot_id == lot.id)
            .limit(1)
        )
        if has_coa is None:
            return None
    return passing


def apply_auto_release(uow: UnitOfWork, lot: Lot) -> QualityDecision | None:
    """Release the lot's quarantined stock if its product's policy holds; None when it does not.

    Call it after stock of the lot lands in quarantine (a receipt line, more of a reused supplier
    lot) and after an inspection record or a CoA is added: whichever completes the conditions.
    A rejected or expired lot, or one with nothing in quarantine, is left alone.
    """
    policy = active_policy(uow, product_id=lot.product_id)
    if policy is None or lot.quality_status == QualityStatus.REJECTED.value or lot_expired(uow, lot):
        return None
    cited = _policy_holds(uow, lot, policy)
    if cited is None:
        return None
    takes = stock_taken(uow, lot, Part(), QualityStatus.RELEASED)
    if not takes:
        return None
    assert all(take.bucket.status in SOURCES[QualityStatus.RELEASED] for take in takes)
    return apply_decision(
        uow,
        lot,
        QualityStatus.RELEASED,
        Part(),
        takes,
        reason=f"auto-release policy {policy.id}: {policy.reason}",
        cited_ids=cited,
        signature_id=policy.signature_id,
        policy_id=policy.id,
        decided_by=uow.actor.name,
    )
