"""The QA decision on a lot: release or reject, signed; wrong moves write nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from lotline.domain.errors import InvalidInput
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus
from lotline.lots import decisions
from lotline.lots import service as lots
from lotline.models.audit import AuditRecord
from lotline.models.lot import Lot
from lotline.models.outbox import OutboxEvent
from lotline.models.signature import Signature
from lotline.signatures import service as signatures
from lotline.uow import Database
from tests.conftest import FakeClock
from tests.integration.test_lots import Plant, grant, plant, register
from tests.integration.test_lots import rows as count

__all__ = ["plant"]  # the fixture, shared with the lot tests


def decide(
    db: Database, clock: FakeClock, plant: Plant, lot: Lot, to: QualityStatus, reason: str = "ok"
) -> Lot:
    meaning = Meaning.RELEASE if to is QualityStatus.RELEASED else Meaning.REJECT
    secret = grant(db, clock, plant, meaning, "lot", lot.id)
    with db.transaction(clock=clock) as uow:
        return decisions.decide(
            uow, lot_id=lot.id, decision=to, reason=reason, principal=plant.qa, signing_grant=secret
        )


def test_a_release_is_signed_audited_and_announced(db: Database, clock: FakeClock, plant: Plant) -> None:
    lot = register(db, clock, plant)
    released = decide(db, clock, plant, lot, QualityStatus.RELEASED, "micro and sensory conform")
    assert released.quality_status == "RELEASED"
    with db.transaction(read_only=True) as uow:
        signature = uow.session.scalars(select(Signature).where(Signature.meaning == "release")).one()
        assert signature.record_id == str(lot.id)
        assert signature.printed_name == "李秀英"
        audit = uow.session.scalars(select(AuditRecord).where(AuditRecord.action == "decide")).one()
        assert audit.reason == "micro and sensory conform"
        assert '"RELEASED"' in audit.changes
        assert uow.session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "lotline.lot.released")
        ).one()


def test_a_released_lot_may_still_be_rejected_but_a_rejected_lot_never_released(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    lot = register(db, clock, plant)
    decide(db, clock, plant, lot, QualityStatus.RELEASED)
    decide(db, clock, plant, lot, QualityStatus.REJECTED, "customer complaint confirmed")
    before = (count(db, AuditRecord), count(db, Signature))
    with pytest.raises(decisions.DecisionNotAllowed) as refused:
        decide(db, clock, plant, lot, QualityStatus.RELEASED)
    assert refused.value.field == "decision"
    with db.transaction(read_only=True) as uow:
        assert lots.get_lot(uow, lot_id=lot.id).quality_status == "REJECTED"
    assert count(db, Signature) == before[1]


def test_an_expired_lot_cannot_be_released(db: Database, clock: FakeClock, plant: Plant) -> None:
    lot = register(db, clock, plant, production_date=date(2024, 1, 1))  # expired long ago
    with pytest.raises(InvalidInput) as refused:
        decide(db, clock, plant, lot, QualityStatus.RELEASED)
    assert refused.value.code == "lot.expired"
    with db.transaction(read_only=True) as uow:
        assert lots.get_lot(uow, lot_id=lot.id).quality_status == "QUARANTINE"
    rejected = decide(db, clock, plant, lot, QualityStatus.REJECTED, "expired in quarantine")
    assert rejected.quality_status == "REJECTED"


def test_a_decision_without_a_grant_for_this_lot_and_meaning_changes_nothing(
    db: Database, clock: FakeClock, plant: Plant
) -> None:
    lot, other = register(db, clock, plant), register(db, clock, plant)
    for_other = grant(db, clock, plant, Meaning.RELEASE, "lot", other.id)
    for_reject = grant(db, clock, plant, Meaning.REJECT, "lot", lot.id)
    before = (count(db, AuditRecord), count(db, Signature))
    for secret in (for_other, for_reject, None):
        with pytest.raises(signatures.SigningGrantInvalid), db.transaction(clock=clock) as uow:
            decisions.decide(
                uow,
                lot_id=lot.id,
                decision=QualityStatus.RELEASED,
                reason="x",
                principal=plant.qa,
                signing_grant=secret,
            )
    assert (count(db, AuditRecord), count(db, Signature)) == before
