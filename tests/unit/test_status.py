"""Which lot-level QA decisions are allowed from which quality status (cases written by hand)."""

from __future__ import annotations

import pytest

from lotline.domain.status import QualityStatus, decision_allowed

Q, R, X = QualityStatus.QUARANTINE, QualityStatus.RELEASED, QualityStatus.REJECTED


@pytest.mark.parametrize(
    ("current", "decision", "allowed"),
    [
        (Q, R, True),  # release after inspection
        (Q, X, True),  # reject after inspection
        (R, X, True),  # a complaint or a late result rejects a released lot
        (R, R, False),  # already released
        (X, R, False),  # rejected is final: rework makes a new lot
        (X, X, False),
        (Q, Q, False),  # quarantine is not a decision
        (R, Q, False),  # to block a released lot, place a hold
        (X, Q, False),
    ],
)
def test_decisions(current: QualityStatus, decision: QualityStatus, allowed: bool) -> None:
    assert decision_allowed(current, decision) is allowed
