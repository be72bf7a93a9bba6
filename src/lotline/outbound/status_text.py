"""The words for order, line and allocation statuses, for every interface (pages and console)."""

from __future__ import annotations

from lotline.domain.errors import N_
from lotline.outbound.orders import LineStatus, OrderStatus
from lotline.outbound.reservations import AllocationStatus

ORDER_STATUS = {
    OrderStatus.OPEN.value: N_("Open"),
    OrderStatus.ALLOCATED.value: N_("Allocated"),
    OrderStatus.PICKED.value: N_("Picked"),
    OrderStatus.SHIPPED.value: N_("Shipped"),
    OrderStatus.CANCELLED.value: N_("Cancelled"),
}
LINE_STATUS = {
    LineStatus.OPEN.value: N_("Open"),
    LineStatus.SHORT.value: N_("Short"),
    LineStatus.ALLOCATED.value: N_("Allocated"),
    LineStatus.PICKED.value: N_("Picked"),
    LineStatus.SHIPPED.value: N_("Shipped"),
    LineStatus.CANCELLED.value: N_("Cancelled"),
}
ALLOCATION_STATUS = {
    AllocationStatus.OPEN.value: N_("Reserved"),
    AllocationStatus.PICKED.value: N_("Picked"),
    AllocationStatus.SHIPPED.value: N_("Shipped"),
    AllocationStatus.RELEASED.value: N_("Given back"),  # not "Released", which is QA's word
    AllocationStatus.FLAGGED.value: N_("Flagged: on hold since allocated, re-allocate"),
}
