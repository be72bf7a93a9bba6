"""What the production pages show for codes: order statuses, transformation kinds, loss kinds and
the three parts a lot plays in an order (consumed, produced, lost)."""

from __future__ import annotations

from typing import Any

from lotline.domain.errors import N_
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.production.orders import OrderStatus

ORDER_STATUS = {
    OrderStatus.OPEN.value: N_("In progress"),
    OrderStatus.CLOSED.value: N_("Closed"),
    OrderStatus.CANCELLED.value: N_("Cancelled"),
}

KIND = {
    TransformationKind.PRODUCTION.value: N_("Production"),
    TransformationKind.REWORK.value: N_("Rework"),
    TransformationKind.REPACK.value: N_("Repack"),
    TransformationKind.RELABEL.value: N_("Relabel"),
    TransformationKind.SPLIT.value: N_("Split"),
    TransformationKind.MERGE.value: N_("Merge"),
}

LOSS_KIND = {
    LossKind.DRIP.value: N_("Drip loss"),
    LossKind.COOKING.value: N_("Cooking loss"),
    LossKind.TRIM.value: N_("Trim loss"),
    LossKind.OTHER.value: N_("Other loss"),
}

# A lot's part in an order, by the ledger movement that records it (production.orders.flows).
FLOW = {
    "consume": N_("Consumed"),
    "produce": N_("Produced"),
    "loss": N_("Production loss"),
}

# Keyword arguments of render() for every production page.
ALL: dict[str, Any] = {
    "production_status_labels": ORDER_STATUS,
    "transformation_kind_labels": KIND,
    "loss_kind_labels": LOSS_KIND,
    "flow_labels": FLOW,
}
