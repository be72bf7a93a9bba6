"""Reading transformations: the recent ones (the reader's sites, by kind) and one transformation —
its number, kind, time and who, the lots it consumed and lost and the lots it made (read from its
ledger movements), and the genealogy edges it left."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from lotline.api.deps import get_uow, requires
from lotline.api.schemas import IdPath
from lotline.domain.errors import N_, NotFound
from lotline.domain.ledger import MovementKind
from lotline.domain.permissions import Permission, Principal
from lotline.domain.transformation import TransformationKind
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.signature import Signature
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.paging import keyset_page
from lotline.production.service import REFERENCE
from lotline.uow import UnitOfWork
from lotline.web.fields import choice, optional_int, readable_sites
from lotline.web.outbound.labels import by_id
from lotline.web.production.labels import ALL as LABELS
from lotline.web.routing import WebRoute
from lotline.web.shell import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50
_PARTS = (MovementKind.CONSUME.value, MovementKind.LOSS.value, MovementKind.PRODUCE.value)


@router.get("/transformations")
def transformation_list(
    request: Request,
    kind: str | None = None,
    site_id: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    allowed = principal.site_ids_with(Permission.PRODUCTION_READ)
    chosen_kind = choice(kind, TransformationKind, "kind")
    chosen_site = optional_int(site_id, "site_id")
    query = select(Transformation)
    if allowed is not None:
        query = query.where(Transformation.site_id.in_(allowed))
    if chosen_site is not None:
        query = query.where(Transformation.site_id == chosen_site)
    if chosen_kind is not None:
        query = query.where(Transformation.kind == chosen_kind)
    page = keyset_page(
        uow.session, query, Transformation.id, cursor=cursor, limit=PAGE_SIZE, newest_first=True
    )
    found: list[Transformation] = list(page.items)
    sites = readable_sites(uow, principal, Permission.PRODUCTION_READ)
    filters = {"kind": chosen_kind, "site_id": chosen_site}
    kept = {name: value for name, value in filters.items() if value is not None}
    next_url = (
        f"/transformations?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None
    )
    return render(
        request,
        "production/transformations.html",
        active="production",
        transformations=found,
        orders=by_id(uow, ProductionOrder, {t.production_order_id for t in found if t.production_order_id}),
        sites=sites,
        site_by_id={site.id: site for site in sites},
        kinds=list(TransformationKind),
        chosen=filters,
        can_enter=principal.site_ids_with(Permission.PRODUCTION_WRITE) != set(),
        next_url=next_url,
        **LABELS,
    )


@dataclass(frozen=True)
class Part:
    """One ledger movement of a transformation: a lot consumed, lost or made."""

    movement: StockMovement
    lot: Lot
    product: Product
    place: Location | None


def _parts(uow: UnitOfWork, transformation: Transformation) -> list[Part]:
    """Its consumptions, losses and outputs, with their lots, products and places: one query."""
    place_id = func.coalesce(StockMovement.from_location_id, StockMovement.to_location_id)
    query = (
        select(StockMovement, Lot, Product, Location)
        .join(Lot, Lot.id == StockMovement.lot_id)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(Location, Location.id == place_id)
        .where(
            StockMovement.txn_id == transformation.txn_id,
            StockMovement.reference_type == REFERENCE,
            StockMovement.reference_id == str(transformation.id),
            StockMovement.kind.in_(_PARTS),
        )
        .order_by(StockMovement.id)
    )
    return [Part(*row) for row in uow.session.execute(query).tuples()]


@dataclass(frozen=True)
class Edge:
    parent: Lot
    child: Lot
    qty: Decimal
    unit: str


def _edges(uow: UnitOfWork, transformation_id: int) -> list[Edge]:
    parent, child = aliased(Lot), aliased(Lot)
    query = (
        select(parent, child, GenealogyEdge.qty, GenealogyEdge.unit)
        .join(parent, parent.id == GenealogyEdge.parent_lot_id)
        .join(child, child.id == GenealogyEdge.child_lot_id)
        .where(GenealogyEdge.transformation_id == transformation_id)
        .order_by(parent.code, child.code)
    )
    return [Edge(*row) for row in uow.session.execute(query).tuples()]


def visible_transformation(uow: UnitOfWork, principal: Principal, transformation_id: int) -> Transformation:
    """The transformation if the reader may read production at its site; else not found."""
    found = uow.session.get(Transformation, transformation_id)
    if found is None or not principal.can(Permission.PRODUCTION_READ, found.site_id):
        raise NotFound(entity=N_("transformation"), key=transformation_id, field="transformation_id")
    return found


@router.get("/transformations/{transformation_id}")
def transformation_page(
    request: Request,
    transformation_id: IdPath,
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    transformation = visible_transformation(uow, principal, transformation_id)
    parts = _parts(uow, transformation)
    return render(
        request,
        "production/transformation.html",
        active="production",
        transformation=transformation,
        site=uow.session.get_one(Site, transformation.site_id),
        order=(
            uow.session.get(ProductionOrder, transformation.production_order_id)
            if transformation.production_order_id
            else None
        ),
        signature=(
            uow.session.get(Signature, transformation.signature_id) if transformation.signature_id else None
        ),
        inputs=[p for p in parts if p.movement.kind == MovementKind.CONSUME.value],
        losses=[p for p in parts if p.movement.kind == MovementKind.LOSS.value],
        outputs=[p for p in parts if p.movement.kind == MovementKind.PRODUCE.value],
        edges=_edges(uow, transformation.id),
        **LABELS,
    )
