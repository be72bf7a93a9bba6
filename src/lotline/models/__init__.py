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
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Hold, Lot, LotSequence
from lotline.models.outbox import OutboxEvent
from lotline.models.quality import (
    Attachment,
    InspectionCharacteristic,
    InspectionPlan,
    InspectionRecord,
    InspectionResult,
    QualityDecision,
    ReleasePolicy,
)
from lotline.models.signature import Signature, SigningGrant
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditPending",
    "AuditRecord",
    "AuditSeal",
    "Base",
    "ConfigVersion",
    "ExternalId",
    "Hold",
    "IdempotencyRecord",
    "InspectionCharacteristic",
    "InspectionPlan",
    "InspectionRecord",
    "InspectionResult",
    "Location",
    "LoginAttempt",
    "Lot",
    "LotSequence",
    "LotType",
    "OutboxEvent",
    "Partner",
    "Product",
    "ProductPackaging",
    "QualityDecision",
    "Receipt",
    "ReceiptLine",
    "ReleasePolicy",
    "RoleGrant",
    "Signature",
    "SigningGrant",
    "Site",
    "StockMovement",
    "StockOnHand",
    "StorageCondition",
    "Unit",
    "User",
    "UserSession",
]
