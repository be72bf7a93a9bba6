"""Production endpoints: orders and their progress, transformations (completions, rework,
repack, relabel, split, merge), a lot's genealogy one step each way, and MES completions.

A transformation is one transaction: refused inputs (the status × transaction matrix: ``409
matrix.not_allowed``), too little stock (``409 stock.insufficient``) or a bad line write
nothing, and the problem names the line (``inputs.1.quantity``). What a transformation took,
lost and made is read back from its ledger movements, which share its ``txn_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.errors import N_, NotFound
from lotline.domain.ledger import MovementKind
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.lots.service import visible_lot
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.stock import StockMovement
from lotline.paging import Page, keyset_page
from lotline.production import genealogy, mes, orders
from lotline.production.schemas import (
    CompletionCreate,
    EdgeRead,
    FlowRead,
    GenealogyRead,
    LineRead,
    LossRead,
    MesCompletion,
    MesCompletionRead,
    NeighbourRead,
    OrderCreate,
    OrderDetail,
    OrderFinish,
    OrderRead,
    OutputLotRead,
    ProgressRead,
    TransformationCreate,
    TransformationRead,
    TransformationSummary,
)
from lotline.production.service import Loss, Make, Outcome, Request, Take, transform
from lotline.uow import UnitOfWork

router = APIRouter(tags=["production"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


# --- reading back -------------------------------------------------------------------------------


def _order_detail(uow: UnitOfWork, order: ProductionOrder) -> OrderDetail:
    product = uow.session.get_one(Product, order.product_id)
    progress = ProgressRead(
        base_unit=product.base_unit,
        planned=order.planned_base_qty,
        produced=orders.produced_of(uow, order),
        flows=[FlowRead.model_validate(f) for f in orders.flows(uow, order_id=order.id)],
    )
    return OrderDetail(
        **OrderRead.model_validate(order).model_dump(),
        progress=progress,
        transformations=[
            TransformationSummary.model_validate(t) for t in orders.transformations_of(uow, order_id=order.id)
        ],
    )


def _line(movement: StockMovement, lot: Lot) -> LineRead:
    taken = movement.kind != MovementKind.PRODUCE.value
    location = movement.from_location_id if taken else movement.to_location_id
    status = movement.from_status if taken else movement.to_status
    # Consume and loss take from a bucket, produce puts into one.
    assert location is not None
    assert status is not None
    return LineRead(
        movement_id=movement.id,
        lot_id=lot.id,
        lot_code=lot.code,
        product_id=movement.product_id,
        location_id=location,
        stock_status=StockStatus(status),
        sscc=movement.from_sscc if taken else movement.to_sscc,
        quantity=movement.entered_qty,
        unit=movement.entered_unit,
        qty_base=movement.base_qty,
        count=movement.count,
        weight_kg=movement.weight_kg,
    )


def _loss(movement: StockMovement, lot: Lot) -> LossRead:
    # The service books a loss's reason as "<kind>" or "<kind>: <note>".
    kind, _, note = (movement.reason or LossKind.OTHER.value).partition(": ")
    return LossRead(**_line(movement, lot).model_dump(), kind=LossKind(kind), note=note or None)


def _transformation_read(
    uow: UnitOfWork, transformation: Transformation, movements: Sequence[StockMovement]
) -> TransformationRead:
    """The transformation with its lines (its movements, in the order posted), lots and edges."""
    lot_ids = {m.lot_id for m in movements}
    lots = {lot.id: lot for lot in uow.session.scalars(select(Lot).where(Lot.id.in_(lot_ids)))}
    edges = uow.session.scalars(
        select(GenealogyEdge)
        .where(GenealogyEdge.transformation_id == transformation.id)
        .order_by(GenealogyEdge.id)
    )
    ordered = sorted(movements, key=lambda m: m.id)
    made = [m for m in ordered if m.kind == MovementKind.PRODUCE.value]
    output_lots = list(dict.fromkeys(m.lot_id for m in made))
    summary = TransformationSummary.model_validate(transformation)
    return TransformationRead(
        **summary.model_dump(),
        txn_id=transformation.txn_id,
        inputs=[_line(m, lots[m.lot_id]) for m in ordered if m.kind == MovementKind.CONSUME.value],
        outputs=[_line(m, lots[m.lot_id]) for m in made],
        losses=[_loss(m, lots[m.lot_id]) for m in ordered if m.kind == MovementKind.LOSS.value],
        output_lots=[OutputLotRead.model_validate(lots[lot_id]) for lot_id in output_lots],
        edges=[EdgeRead.model_validate(e) for e in edges],
    )


def _posted(uow: UnitOfWork, outcome: Outcome) -> TransformationRead:
    return _transformation_read(uow, outcome.transformation, outcome.movements)


def _visible_transformation(uow: UnitOfWork, principal: Principal, transformation_id: int) -> Transformation:
    transformation = uow.session.get(Transformation, transformation_id)
    if transformation is None or not principal.can(Permission.PRODUCTION_READ, transformation.site_id):
        raise NotFound(entity=N_("transformation"), key=transformation_id, field="transformation_id")
    return transformation


def _request(
    body: CompletionCreate,
    *,
    kind: TransformationKind,
    site_id: int,
    production_order_id: int | None,
    signing_grant: str | None = None,
) -> Request:
    return Request(
        kind=kind,
        site_id=site_id,
        production_order_id=production_order_id,
        line=body.line,
        reason=body.reason,
        signing_grant=signing_grant,
        occurred_at=body.occurred_at,
        inputs=[Take(i.lot_id, i.source(), i.amount()) for i in body.inputs],
        losses=[
            Loss(loss.lot_id, loss.source(), loss.amount(), loss.kind, loss.note) for loss in body.losses
        ],
        outputs=[
            Make(
                product_id=o.product_id,
                amount=o.amount(),
                location_id=o.location_id,
                sscc=o.sscc,
                code=o.code,
                production_date=o.production_date,
                produced_at=o.produced_at,
                attributes=o.attributes,
            )
            for o in body.outputs
        ],
    )


# --- production orders --------------------------------------------------------------------------


@router.post("/production-orders", response_model=OrderDetail, status_code=201)
def create_order(
    body: OrderCreate,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderDetail:
    """Open a production order: a product and its planned quantity, at a site, on a line."""
    order = orders.create_order(
        uow,
        principal=principal,
        order=orders.OrderInput(
            site_id=body.site_id,
            product_id=body.product_id,
            quantity=body.quantity,
            unit=body.unit,
            line=body.line,
            note=body.note,
        ),
    )
    return _order_detail(uow, order)


@router.get("/production-orders", response_model=PageOut[OrderRead])
def list_orders(
    site_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    status: orders.OrderStatus | None = None,
    product_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[OrderRead]:
    """Production orders at the caller's sites, newest first."""
    sites = principal.site_ids_with(Permission.PRODUCTION_READ)
    criteria = orders.OrderFilter(
        site_ids=frozenset(sites) if sites is not None else None,
        site_id=site_id,
        status=status.value if status else None,
        product_id=product_id,
    )
    page = orders.list_orders(uow, criteria=criteria, cursor=cursor, limit=limit)
    return PageOut[OrderRead](
        items=[OrderRead.model_validate(o) for o in page.items], next_cursor=page.next_cursor
    )


@router.get("/production-orders/{order_id}", response_model=OrderDetail)
def read_order(
    order_id: IdPath,
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderDetail:
    """One order with its progress (planned, produced, what each lot gave, made and lost) and
    its completions."""
    return _order_detail(uow, orders.visible_order(uow, principal, order_id))


def _finish(
    uow: UnitOfWork, principal: Principal, order_id: int, status: orders.OrderStatus, body: OrderFinish | None
) -> OrderDetail:
    reason = body.reason if body else None
    order = orders.finish_order(uow, principal=principal, order_id=order_id, status=status, reason=reason)
    return _order_detail(uow, order)


@router.post("/production-orders/{order_id}/close", response_model=OrderDetail)
def close_order(
    order_id: IdPath,
    body: OrderFinish | None = None,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderDetail:
    """Close an open order: its completions are done."""
    return _finish(uow, principal, order_id, orders.OrderStatus.CLOSED, body)


@router.post("/production-orders/{order_id}/cancel", response_model=OrderDetail)
def cancel_order(
    order_id: IdPath,
    body: OrderFinish | None = None,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> OrderDetail:
    """Cancel an open order nothing was posted to."""
    return _finish(uow, principal, order_id, orders.OrderStatus.CANCELLED, body)


@router.post("/production-orders/{order_id}/completions", response_model=TransformationRead, status_code=201)
def post_completion(
    order_id: IdPath,
    body: CompletionCreate,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> TransformationRead:
    """Post a production completion of the order: inputs consumed, losses booked, output lots
    made in quarantine."""
    order = orders.visible_order(uow, principal, order_id, Permission.PRODUCTION_WRITE)
    request = _request(
        body, kind=TransformationKind.PRODUCTION, site_id=order.site_id, production_order_id=order.id
    )
    return _posted(uow, transform(uow, principal=principal, request=request))


# --- transformations ----------------------------------------------------------------------------


@router.post("/transformations", response_model=TransformationRead, status_code=201)
def create_transformation(
    body: TransformationCreate,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> TransformationRead:
    """Post any transformation: production, rework (signed, with a reason), repack, relabel,
    split or merge. Output lots are new (a repack of a product that keeps its lot excepted)."""
    request = _request(
        body,
        kind=body.kind,
        site_id=body.site_id,
        production_order_id=body.production_order_id,
        signing_grant=body.signing_grant,
    )
    return _posted(uow, transform(uow, principal=principal, request=request))


@router.get("/transformations", response_model=PageOut[TransformationSummary])
def list_transformations(
    site_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    production_order_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    kind: TransformationKind | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[TransformationSummary]:
    """Transformations at the caller's sites, newest first."""
    query = select(Transformation)
    sites = principal.site_ids_with(Permission.PRODUCTION_READ)
    if sites is not None:
        query = query.where(Transformation.site_id.in_(sites))
    if site_id is not None:
        query = query.where(Transformation.site_id == site_id)
    if production_order_id is not None:
        query = query.where(Transformation.production_order_id == production_order_id)
    if kind is not None:
        query = query.where(Transformation.kind == kind.value)
    page: Page[Transformation] = keyset_page(
        uow.session, query, Transformation.id, cursor=cursor, limit=limit, newest_first=True
    )
    return PageOut[TransformationSummary](
        items=[TransformationSummary.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.get("/transformations/{transformation_id}", response_model=TransformationRead)
def read_transformation(
    transformation_id: IdPath,
    principal: Principal = requires(Permission.PRODUCTION_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> TransformationRead:
    """One transformation: what it took, lost and made (its ledger movements) and its edges."""
    transformation = _visible_transformation(uow, principal, transformation_id)
    movements = uow.session.scalars(
        select(StockMovement).where(StockMovement.txn_id == transformation.txn_id).order_by(StockMovement.id)
    ).all()
    return _transformation_read(uow, transformation, movements)


# --- genealogy ----------------------------------------------------------------------------------


@router.get("/lots/{lot_id}/genealogy", response_model=GenealogyRead)
def lot_genealogy(
    lot_id: IdPath,
    principal: Principal = requires(Permission.LOT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> GenealogyRead:
    """What the lot was made from and what was made from it, one step each way."""
    lot = visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    sites = principal.site_ids_with(Permission.LOT_READ)  # a transformation elsewhere is not shown
    return GenealogyRead(
        lot_id=lot.id,
        lot_code=lot.code,
        made_from=[
            NeighbourRead.model_validate(n) for n in genealogy.made_from(uow, lot_id=lot.id, sites=sites)
        ],
        used_in=[NeighbourRead.model_validate(n) for n in genealogy.used_in(uow, lot_id=lot.id, sites=sites)],
    )


# --- MES ----------------------------------------------------------------------------------------


@router.post("/mes/completions", response_model=MesCompletionRead, status_code=201)
def post_mes_completion(
    body: MesCompletion,
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> MesCompletionRead:
    """One completion from an MES, in its own keys; its order is opened if the order_ref is new.
    Posting a completion_ref again is 409 production.completion_exists (send the same
    Idempotency-Key to get the first answer back instead)."""
    completion = mes.Completion(
        system=body.system,
        site=body.site,
        order_ref=body.order_ref,
        completion_ref=body.completion_ref,
        occurred_at=body.occurred_at,
        line=body.line,
        product=body.product,
        quantity=body.quantity,
        unit=body.unit,
        inputs=[
            mes.Taken(i.product, i.lot_code, i.location_code, i.amount(), i.stock_status, i.sscc)
            for i in body.inputs
        ],
        losses=[
            mes.Taken(
                loss.product,
                loss.lot_code,
                loss.location_code,
                loss.amount(),
                loss.stock_status,
                loss.sscc,
                loss.kind,
                loss.note,
            )
            for loss in body.losses
        ],
        outputs=[
            mes.Made(o.product, o.amount(), o.location_code, o.sscc, o.lot_code, o.production_date)
            for o in body.outputs
        ],
    )
    posted = mes.post_completion(uow, principal=principal, completion=completion)
    return MesCompletionRead(
        production_order=OrderRead.model_validate(posted.order),
        order_created=posted.order_created,
        transformation=_posted(uow, posted.outcome),
    )
