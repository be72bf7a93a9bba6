"""A trace or a recall scope as one GS1 EPCIS 2.0 document (JSON-LD), for trading partners and
regulators who read EPCIS.

For the lots in scope the document holds: an ObjectEvent ADD ``receiving`` per receipt line,
with the lot's master data (``ilmd``); a TransformationEvent per transformation that consumed or
produced one of them, with all its inputs and outputs; an ObjectEvent OBSERVE ``shipping`` /
``in_transit`` per shipment; an ObjectEvent OBSERVE ``receiving`` / ``returned`` per customer
return; and an ObjectEvent OBSERVE ``holding`` per hold — ``recalled`` for a recall hold,
``non_sellable_other`` for any other (CBV has no "recalling" step or "quarantine" disposition).
How identifiers, times and quantities are written: ``epcis_schema.values``.

Every query takes an id list bound once (the scope, then the lots and sites the events name):
seven queries whatever the scope's size. The document is checked against GS1's schema and the
CBV before it is returned; one that fails is a bug and is never sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import aliased

from lotline.db import is_one_of
from lotline.domain import units
from lotline.domain.ledger import MovementKind
from lotline.domain.transformation import TransformationKind
from lotline.models.catalog import Location, Partner, Product
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Hold, Lot
from lotline.models.outbound import CustomerReturn, Shipment, ShipmentLine
from lotline.models.production import Transformation
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.trace.epcis_schema import validate
from lotline.trace.epcis_schema.values import (
    PRIVATE_BASE,
    business_transaction_uri,
    dumps,
    epc_class,
    epcis_uom,
    event_time,
    hold_disposition,
    lot_master_data,
    party_uri,
    site_uri,
    time_zone_offset,
    transformation_uri,
)
from lotline.uow import UnitOfWork

MEDIA_TYPE: Final = "application/ld+json"
EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
CBVMDA: Final = "urn:epcglobal:cbv:mda:"

SCOPE, LOTS, SITES = "scope", "lots", "sites"  # the bound id lists
_TRANSFORMING: Final = (MovementKind.CONSUME.value, MovementKind.PRODUCE.value)
# Repacking and relabelling put the same food in a new pack; everything else makes new lots.
_TRANSFORMATION_STEPS: Final = {
    TransformationKind.REPACK.value: "repackaging",
    TransformationKind.RELABEL.value: "repackaging",
}
# Events of one instant in the order the material moved.
RANK_RECEIVING, RANK_TRANSFORMING, RANK_SHIPPING, RANK_RETURNING, RANK_HOLDING = range(5)


class InvalidEPCISDocument(RuntimeError):
    """The export built a document that fails GS1's schema or the CBV: a bug, never sent."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


# --- queries: each takes the bound id lists, never one id at a time ----------------------------


def _receipts() -> Select[Any]:
    return (
        select(
            ReceiptLine.id,
            ReceiptLine.lot_id,
            ReceiptLine.base_qty.label("qty"),
            Receipt.site_id,
            Receipt.received_at,
            Receipt.purchase_order,
            Receipt.delivery_note,
            Partner.code.label("supplier"),
            Partner.gln.label("supplier_gln"),
        )
        .select_from(ReceiptLine)
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .join(Partner, Partner.id == Receipt.supplier_id)
        .where(is_one_of(ReceiptLine.lot_id, SCOPE))
        .order_by(ReceiptLine.id)
    )


def _shipments() -> Select[Any]:
    """Per shipment, what left of each lot in scope (a shipment's other lots are not the trace's)."""
    return (
        select(
            Shipment.id,
            Shipment.number,
            Shipment.site_id,
            Shipment.shipped_at,
            Partner.gln.label("customer_gln"),
            ShipmentLine.lot_id,
            func.sum(ShipmentLine.qty_base).label("qty"),
        )
        .select_from(ShipmentLine)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Partner, Partner.id == Shipment.customer_id)
        .where(is_one_of(ShipmentLine.lot_id, SCOPE))
        .group_by(
            Shipment.id,
            Shipment.number,
            Shipment.site_id,
            Shipment.shipped_at,
            Partner.gln,
            ShipmentLine.lot_id,
        )
        .order_by(Shipment.id, ShipmentLine.lot_id)
    )


def _transformations() -> Select[Any]:
    """Every input and output, per lot, of the transformations that consumed or produced a lot
    in scope: the ledger's consume and produce movements, matched to them by transaction."""
    touched = select(StockMovement.txn_id).where(
        is_one_of(StockMovement.lot_id, SCOPE), StockMovement.kind.in_(_TRANSFORMING)
    )
    moved = aliased(StockMovement, name="moved")
    return (
        select(
            Transformation.id,
            Transformation.number,
            Transformation.kind,
            Transformation.site_id,
            Transformation.occurred_at,
            moved.kind.label("movement"),
            moved.lot_id,
            func.sum(moved.base_qty).label("qty"),
        )
        .select_from(moved)
        .join(Transformation, Transformation.txn_id == moved.txn_id)
        .where(moved.txn_id.in_(touched), moved.kind.in_(_TRANSFORMING))
        .group_by(
            Transformation.id,
            Transformation.number,
            Transformation.kind,
            Transformation.site_id,
            Transformation.occurred_at,
            moved.kind,
            moved.lot_id,
        )
        .order_by(Transformation.id, moved.kind, moved.lot_id)
    )


def _returns() -> Select[Any]:
    return (
        select(
            CustomerReturn.id,
            CustomerReturn.lot_id,
            CustomerReturn.qty_base.label("qty"),
            CustomerReturn.received_at,
            Location.site_id,
            Partner.gln.label("customer_gln"),
        )
        .select_from(CustomerReturn)
        .join(Location, Location.id == CustomerReturn.location_id)
        .join(ShipmentLine, ShipmentLine.id == CustomerReturn.shipment_line_id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Partner, Partner.id == Shipment.customer_id)
        .where(is_one_of(CustomerReturn.lot_id, SCOPE))
        .order_by(CustomerReturn.id)
    )


def _holds() -> Select[Any]:
    return (
        select(Hold.id, Hold.lot_id, Hold.site_id, Hold.hold_type, Hold.placed_at)
        .where(is_one_of(Hold.lot_id, SCOPE))
        .order_by(Hold.id)
    )


def _lots() -> Select[Any]:
    return (
        select(
            Lot.id,
            Lot.code,
            Lot.expiry_date,
            Product.code,
            Product.gtin,
            Product.gs1_company_prefix_length,
            Product.base_unit,
            Product.expiry_kind,
        )
        .join(Product, Product.id == Lot.product_id)
        .where(is_one_of(Lot.id, LOTS))
    )


def _sites() -> Select[Any]:
    return select(Site.id, Site.code, Site.time_zone, Site.gln).where(is_one_of(Site.id, SITES))


# --- the events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LotFacts:
    code: str
    expiry_date: date
    product_code: str
    gtin: str | None
    prefix_length: int | None
    base_unit: str
    expiry_kind: str


@dataclass(frozen=True)
class _SiteFacts:
    code: str
    time_zone: str
    gln: str | None


Event = dict[str, Any]
Ranked = tuple[tuple[datetime, int, int, int], Event]


@dataclass(frozen=True)
class _Writer:
    """Writes events from query rows, with the lots and sites they name at hand."""

    lots: Mapping[int, _LotFacts]
    sites: Mapping[int, _SiteFacts]
    private_base: str

    def epc_class(self, lot_id: int) -> str:
        lot = self.lots[lot_id]
        return epc_class(
            gtin=lot.gtin,
            prefix_length=lot.prefix_length,
            product_code=lot.product_code,
            lot_code=lot.code,
            private_base=self.private_base,
        )

    def quantity(self, lot_id: int, qty: Decimal) -> dict[str, Any]:
        exact = Decimal(units.plain(qty))
        element: dict[str, Any] = {"epcClass": self.epc_class(lot_id), "quantity": exact}
        uom = epcis_uom(self.lots[lot_id].base_unit, exact)
        if uom is not None:
            element["uom"] = uom
        return element

    def ilmd(self, lot_id: int) -> dict[str, str]:
        lot = self.lots[lot_id]
        return lot_master_data(lot.code, lot.expiry_date, lot.expiry_kind)

    def when(self, site_id: int, instant: datetime) -> Event:
        zone = self.sites[site_id].time_zone
        return {"eventTime": event_time(instant), "eventTimeZoneOffset": time_zone_offset(instant, zone)}

    def place(self, site_id: int) -> dict[str, str]:
        site = self.sites[site_id]
        return {"id": site_uri(gln=site.gln, code=site.code, private_base=self.private_base)}

    def receiving(self, row: Row[Any]) -> Ranked:
        site = self.sites[row.site_id]
        documents = []
        if row.purchase_order:  # we issue the order: our site's GLN
            number = row.purchase_order
            uri = business_transaction_uri(site.gln, number, "po", number, base=self.private_base)
            documents.append({"type": "po", "bizTransaction": uri})
        if row.delivery_note:  # the supplier issues the despatch advice: its GLN
            number = row.delivery_note
            uri = business_transaction_uri(
                row.supplier_gln, number, "desadv", row.supplier, number, base=self.private_base
            )
            documents.append({"type": "desadv", "bizTransaction": uri})
        event: Event = {
            "type": "ObjectEvent",
            **self.when(row.site_id, row.received_at),
            "action": "ADD",
            "bizStep": "receiving",
            "disposition": "in_progress",
            "quantityList": [self.quantity(row.lot_id, row.qty)],
            "readPoint": self.place(row.site_id),
            "bizLocation": self.place(row.site_id),
        }
        if documents:
            event["bizTransactionList"] = documents
        if row.supplier_gln:
            event["sourceList"] = [{"type": "owning_party", "source": party_uri(row.supplier_gln)}]
        event["ilmd"] = self.ilmd(row.lot_id)
        return (row.received_at, RANK_RECEIVING, row.id, 0), event

    def shipping(self, rows: Sequence[Row[Any]]) -> Ranked:
        """One event per shipment, a quantity per lot in scope it carried."""
        shipment = rows[0]
        site = self.sites[shipment.site_id]
        number = shipment.number
        event: Event = {
            "type": "ObjectEvent",
            **self.when(shipment.site_id, shipment.shipped_at),
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "quantityList": [self.quantity(row.lot_id, row.qty) for row in rows],
            "readPoint": self.place(shipment.site_id),
            "bizTransactionList": [
                {
                    "type": "desadv",
                    "bizTransaction": business_transaction_uri(
                        site.gln, number, "desadv", number, base=self.private_base
                    ),
                }
            ],
            "sourceList": [{"type": "location", "source": self.place(shipment.site_id)["id"]}],
        }
        if shipment.customer_gln:
            event["destinationList"] = [
                {"type": "owning_party", "destination": party_uri(shipment.customer_gln)}
            ]
        return (shipment.shipped_at, RANK_SHIPPING, shipment.id, 0), event

    def transformation(self, rows: Sequence[Row[Any]]) -> list[Ranked]:
        """One event per transformation; with outputs of different lot master data, one per
        output lot, sharing the transformation ID (EPCIS: all inputs of events with one ID went
        into all their outputs), the first carrying the inputs."""
        made = rows[0]
        inputs = [self.quantity(r.lot_id, r.qty) for r in rows if r.movement == MovementKind.CONSUME.value]
        by_ilmd: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row.movement == MovementKind.PRODUCE.value:
                by_ilmd[tuple(self.ilmd(row.lot_id).items())].append(self.quantity(row.lot_id, row.qty))
        groups = list(by_ilmd.items()) or [((), [])]
        ranked: list[Ranked] = []
        for index, (ilmd, outputs) in enumerate(groups):
            event: Event = {"type": "TransformationEvent", **self.when(made.site_id, made.occurred_at)}
            if index == 0 and inputs:
                event["inputQuantityList"] = inputs
            if outputs:
                event["outputQuantityList"] = outputs
            event |= {
                "transformationID": transformation_uri(
                    self.sites[made.site_id].gln, made.number, base=self.private_base
                ),
                "bizStep": _TRANSFORMATION_STEPS.get(made.kind, "commissioning"),
                "disposition": "active",
                "readPoint": self.place(made.site_id),
                "bizLocation": self.place(made.site_id),
            }
            if ilmd:
                event["ilmd"] = dict(ilmd)
            ranked.append(((made.occurred_at, RANK_TRANSFORMING, made.id, index), event))
        return ranked

    def returning(self, row: Row[Any]) -> Ranked:
        """A customer return is observed, not added: the lot and its master data exist already
        (ADD, and ilmd, would say it came into being here). CBV: ``receiving`` + ``returned``."""
        event: Event = {
            "type": "ObjectEvent",
            **self.when(row.site_id, row.received_at),
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "returned",
            "quantityList": [self.quantity(row.lot_id, row.qty)],
            "readPoint": self.place(row.site_id),
            "bizLocation": self.place(row.site_id),
        }
        if row.customer_gln:
            event["sourceList"] = [{"type": "owning_party", "source": party_uri(row.customer_gln)}]
        return (row.received_at, RANK_RETURNING, row.id, 0), event

    def holding(self, row: Row[Any]) -> Ranked:
        """A hold blocks the lot, not a quantity of it: the class without a quantity."""
        event: Event = {
            "type": "ObjectEvent",
            **self.when(row.site_id, row.placed_at),
            "action": "OBSERVE",
            "bizStep": "holding",
            "disposition": hold_disposition(row.hold_type),
            "quantityList": [{"epcClass": self.epc_class(row.lot_id)}],
            "readPoint": self.place(row.site_id),
            "bizLocation": self.place(row.site_id),
        }
        return (row.placed_at, RANK_HOLDING, row.id, 0), event


def _grouped(rows: Iterable[Row[Any]]) -> list[list[Row[Any]]]:
    """Rows grouped by their ``id`` (they come ordered by it), in order."""
    groups: dict[int, list[Row[Any]]] = {}
    for row in rows:
        groups.setdefault(row.id, []).append(row)
    return list(groups.values())


def build_document(
    uow: UnitOfWork,
    *,
    lot_ids: Iterable[int],
    created_at: datetime,
    as_of: datetime | None = None,
    private_base: str = PRIVATE_BASE,
) -> dict[str, Any]:
    """The EPCIS 2.0 document of the lots ``lot_ids`` (a trace's or recall's scope), checked."""
    run = uow.session.execute
    scope = {SCOPE: sorted(set(lot_ids))}
    receipts = run(_receipts(), scope).all()
    shipments = _grouped(run(_shipments(), scope))
    transformations = _grouped(run(_transformations(), scope))
    returns = run(_returns(), scope).all()
    holds = run(_holds(), scope).all()
    named_lots = {*scope[SCOPE], *(row.lot_id for group in transformations for row in group)}
    named_sites = {
        row.site_id for rows in (receipts, returns, holds, *shipments, *transformations) for row in rows
    }
    lots = {row[0]: _LotFacts(*row[1:]) for row in run(_lots(), {LOTS: sorted(named_lots)})}
    sites = {row[0]: _SiteFacts(*row[1:]) for row in run(_sites(), {SITES: sorted(named_sites)})}
    writer = _Writer(lots, sites, private_base)
    ranked: list[Ranked] = [
        *(writer.receiving(row) for row in receipts),
        *(writer.shipping(group) for group in shipments),
        *(event for group in transformations for event in writer.transformation(group)),
        *(writer.returning(row) for row in returns),
        *(writer.holding(row) for row in holds),
    ]
    if as_of is not None:
        ranked = [(key, event) for key, event in ranked if key[0] <= as_of]
    ranked.sort(key=lambda item: item[0])
    document: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT, {"cbvmda": CBVMDA}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": event_time(created_at),
        "epcisBody": {"eventList": [event for _key, event in ranked]},
    }
    problems = validate(document)
    if problems:
        raise InvalidEPCISDocument(problems)
    return document


__all__ = [
    "EPCIS_CONTEXT",
    "MEDIA_TYPE",
    "PRIVATE_BASE",
    "InvalidEPCISDocument",
    "build_document",
    "dumps",
    "validate",
]
