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
from lotline.models.outbound import (
    Allocation,
    CategoryAllocation,
    CustomerReturn,
    Pick,
    SalesOrder,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
    TransportLeg,
)
from lotline.models.outbox import OutboxEvent
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.quality import (
    Attachment,
    InspectionCharacteristic,
    InspectionPlan,
    InspectionRecord,
    InspectionResult,
    QualityDecision,
    ReleasePolicy,
)
from lotline.models.recall import RecallCase, RecallDestruction, RecallHold, RecallLot, RecallNotice
from lotline.models.signature import Signature, SigningGrant
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand

__all__ = [
    "Allocation",
    "ApiToken",
    "Attachment",
    "AuditPending",
    "AuditRecord",
    "AuditSeal",
    "Base",
    "CategoryAllocation",
    "ConfigVersion",
    "CustomerReturn",
    "ExternalId",
    "GenealogyEdge",
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
    "Pick",
    "Product",
    "ProductPackaging",
    "ProductionOrder",
    "QualityDecision",
    "RecallCase",
    "RecallDestruction",
    "RecallHold",
    "RecallLot",
    "RecallNotice",
    "Receipt",
    "ReceiptLine",
    "ReleasePolicy",
    "RoleGrant",
    "SalesOrder",
    "SalesOrderLine",
    "Shipment",
    "ShipmentLine",
    "Signature",
    "SigningGrant",
    "Site",
    "StockMovement",
    "StockOnHand",
    "StorageCondition",
    "Transformation",
    "TransportLeg",
    "Unit",
    "User",
    "UserSession",
]
