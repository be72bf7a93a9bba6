"""Names of the domain events lotline publishes (CloudEvents ``type`` values)."""

from __future__ import annotations

from typing import Final

SOURCE: Final = "urn:lotline"

SITE_CREATED: Final = "lotline.site.created"
SITE_UPDATED: Final = "lotline.site.updated"
USER_CREATED: Final = "lotline.user.created"
USER_UPDATED: Final = "lotline.user.updated"
ROLE_GRANTED: Final = "lotline.user.role_granted"
ROLE_REVOKED: Final = "lotline.user.role_revoked"
TOKEN_CREATED: Final = "lotline.token.created"
TOKEN_REVOKED: Final = "lotline.token.revoked"
LOGIN_FAILED: Final = "lotline.auth.login_failed"
LOGIN_THROTTLED: Final = "lotline.auth.login_throttled"
AUDIT_RECORD_REJECTED: Final = "lotline.audit.record_rejected"
LOT_CREATED: Final = "lotline.lot.created"
LOT_REDATED: Final = "lotline.lot.redated"
LOT_RELEASED: Final = "lotline.lot.released"
LOT_REJECTED: Final = "lotline.lot.rejected"
HOLD_PLACED: Final = "lotline.hold.placed"
HOLD_LIFTED: Final = "lotline.hold.lifted"
STOCK_MOVED: Final = "lotline.stock.moved"
STOCK_TRANSFER_SENT: Final = "lotline.stock.transfer_sent"
STOCK_TRANSFER_RECEIVED: Final = "lotline.stock.transfer_received"
STOCK_SAMPLED: Final = "lotline.stock.sampled"
STOCK_RETAINED: Final = "lotline.stock.retained"
STOCK_COUNTED: Final = "lotline.stock.counted"
STOCK_SCRAPPED: Final = "lotline.stock.scrapped"
STOCK_RETURNED_TO_SUPPLIER: Final = "lotline.stock.returned_to_supplier"
SIGNED: Final = "lotline.signature.signed"
SIGNATURE_FAILED: Final = "lotline.signature.failed"
RECEIPT_POSTED: Final = "lotline.receipt.posted"
INSPECTION_PLAN_SET: Final = "lotline.inspection_plan.set"
INSPECTION_RECORDED: Final = "lotline.inspection.recorded"
USAGE_DECIDED: Final = "lotline.lot.usage_decided"
RELEASE_POLICY_SET: Final = "lotline.release_policy.set"
RELEASE_POLICY_WITHDRAWN: Final = "lotline.release_policy.withdrawn"
ORDER_CREATED: Final = "lotline.order.created"
ORDER_ALLOCATED: Final = "lotline.order.allocated"
ORDER_PICKED: Final = "lotline.order.picked"
ALLOCATIONS_FLAGGED: Final = "lotline.allocation.flagged"
SHIPMENT_SHIPPED: Final = "lotline.shipment.shipped"
SHIPMENT_LEG_ARRIVED: Final = "lotline.shipment.leg_arrived"
CUSTOMER_RETURN_RECEIVED: Final = "lotline.customer_return.received"
PRODUCTION_ORDER_CREATED: Final = "lotline.production_order.created"
PRODUCTION_ORDER_CLOSED: Final = "lotline.production_order.closed"
TRANSFORMATION_POSTED: Final = "lotline.transformation.posted"
RECALL_OPENED: Final = "lotline.recall.opened"
RECALL_STARTED: Final = "lotline.recall.started"
RECALL_CLOSED: Final = "lotline.recall.closed"

ALL: Final = frozenset(
    {
        ORDER_CREATED,
        ORDER_ALLOCATED,
        ORDER_PICKED,
        ALLOCATIONS_FLAGGED,
        SHIPMENT_SHIPPED,
        SHIPMENT_LEG_ARRIVED,
        CUSTOMER_RETURN_RECEIVED,
        PRODUCTION_ORDER_CREATED,
        PRODUCTION_ORDER_CLOSED,
        TRANSFORMATION_POSTED,
        RECALL_OPENED,
        RECALL_STARTED,
        RECALL_CLOSED,
        SITE_CREATED,
        SITE_UPDATED,
        USER_CREATED,
        USER_UPDATED,
        ROLE_GRANTED,
        ROLE_REVOKED,
        TOKEN_CREATED,
        TOKEN_REVOKED,
        LOGIN_FAILED,
        LOGIN_THROTTLED,
        AUDIT_RECORD_REJECTED,
        SIGNED,
        SIGNATURE_FAILED,
        STOCK_MOVED,
        STOCK_TRANSFER_SENT,
        STOCK_TRANSFER_RECEIVED,
        STOCK_SAMPLED,
        STOCK_RETAINED,
        STOCK_COUNTED,
        STOCK_SCRAPPED,
        STOCK_RETURNED_TO_SUPPLIER,
        LOT_CREATED,
        LOT_REDATED,
        LOT_RELEASED,
        LOT_REJECTED,
        HOLD_PLACED,
        HOLD_LIFTED,
        RECEIPT_POSTED,
        INSPECTION_PLAN_SET,
        INSPECTION_RECORDED,
        USAGE_DECIDED,
        RELEASE_POLICY_SET,
        RELEASE_POLICY_WITHDRAWN,
    }
)
