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
SIGNED: Final = "lotline.signature.signed"
SIGNATURE_FAILED: Final = "lotline.signature.failed"
RECEIPT_POSTED: Final = "lotline.receipt.posted"

ALL: Final = frozenset(
    {
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
        LOT_CREATED,
        LOT_REDATED,
        LOT_RELEASED,
        LOT_REJECTED,
        HOLD_PLACED,
        HOLD_LIFTED,
        RECEIPT_POSTED,
    }
)
