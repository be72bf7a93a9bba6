"""All models, imported here so the metadata (and Alembic) sees every table."""

from lotline.models.audit import AuditPending, AuditRecord, AuditSeal
from lotline.models.auth import ApiToken, LoginAttempt, RoleGrant, User, UserSession
from lotline.models.base import Base
from lotline.models.catalog import (
    ConfigVersion,
    ExternalId,
    Location,
    LotType,
    Partner,
    Product,
    ProductPackaging,
    StorageCondition,
    Unit,
)
from lotline.models.idempotency import IdempotencyRecord
from lotline.models.lot import Hold, Lot, LotSequence
from lotline.models.outbox import OutboxEvent
from lotline.models.signature import Signature, SigningGrant
from lotline.models.site import Site

__all__ = [
    "ApiToken",
    "AuditPending",
    "AuditRecord",
    "AuditSeal",
    "Base",
    "ConfigVersion",
    "ExternalId",
    "Hold",
    "IdempotencyRecord",
    "Location",
    "LoginAttempt",
    "Lot",
    "LotSequence",
    "LotType",
    "OutboxEvent",
    "Partner",
    "Product",
    "ProductPackaging",
    "RoleGrant",
    "Signature",
    "SigningGrant",
    "Site",
    "StorageCondition",
    "Unit",
    "User",
    "UserSession",
]
