"""All models, imported here so the metadata (and Alembic) sees every table."""

from lotline.models.audit import AuditPending, AuditRecord, AuditSeal
from lotline.models.auth import ApiToken, LoginAttempt, RoleGrant, User, UserSession
from lotline.models.base import Base
from lotline.models.idempotency import IdempotencyRecord
from lotline.models.outbox import OutboxEvent
from lotline.models.site import Site

__all__ = [
    "ApiToken",
    "AuditPending",
    "AuditRecord",
    "AuditSeal",
    "Base",
    "IdempotencyRecord",
    "LoginAttempt",
    "OutboxEvent",
    "RoleGrant",
    "Site",
    "User",
    "UserSession",
]
