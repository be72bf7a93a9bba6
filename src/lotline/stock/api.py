"""Stock endpoints: on hand and movements; moves, transfers, samples, counts, scrap, returns.

Every operation is one transaction (the route commits); a refusal by the status × transaction
matrix is ``409 matrix.not_allowed`` with ``blocked_by``, a storage mismatch ``409
storage.mismatch`` naming both conditions, too little stock ``409 stock.insufficient``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.errors import N_, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import StockStatus
from lotline.lots.service import visible_lot
from lotline.models.catalog import Location
from lotline.stock import disposal, operations, queries, transfers
from lotline.stock.operations import Amount, Outcome, Source
from lotline.stock.schemas import (
    CountCreate,
    DisposalCreate,
    MoveCreate,
    MovementRead,
    OperationRead,
    RetainedSampleCreate,
    SampleCreate,
    StockLineRead,
    Taken,
    TransferCreate,
    TransferReceive,
)
from lotline.uow import UnitOfWork

router = APIRouter(tags=["stock"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def _page(page: queries.Page[queries.StockLine]) -> PageOut[StockLineRead]:
    return PageOut[StockLineRead](
        items=[StockLineRead.model_validate(line) for line in page.items], next_cursor=page.next_cursor
    )


def _read(outcome: Outcome) -> OperationRead:
    return OperationRead(
        txn_id=outcome.txn_id,
        movements=[MovementRead.model_validate(m) for m in outcome.movements],
        signature_id=outcome.signature_id,
    )


def _source(body: Taken) -> Source:
    return Source(body.from_location_id, body.from_status, body.from_sscc)


def _amount(body: Taken) -> Amount:
    return Amount(body.quantity, body.unit, body.count, body.weight_kg)


def _readable(principal: Principal) -> frozenset[int] | None:
    sites = principal.site_ids_with(Permission.STOCK_READ)
    return frozenset(sites) if sites is not None else None


@router.get("/stock", response_model=PageOut[StockLineRead])
def list_stock(
    lot_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    product_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    site_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    location_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="With its whole subtree"),
    stock_status: StockStatus | None = None,
    nonzero: bool = Query(default=True, description="Leave out empty buckets"),
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[StockLineRead]:
    """On hand per (lot, location, stock status, SSCC) at the caller's sites."""
    criteria = queries.StockFilter(
        site_ids=_readable(principal),
        lot_id=lot_id,
        product_id=product_id,
        site_id=site_id,
        location_id=location_id,
        stock_status=stock_status,
        nonzero=nonzero,
    )
    return _page(queries.on_hand(uow, criteria=criteria, cursor=cursor, limit=limit))


@router.get("/lots/{lot_id}/stock", response_model=PageOut[StockLineRead])
def lot_stock(
    lot_id: IdPath,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[StockLineRead]:
    """Where a lot is: its buckets with stock, at the caller's sites."""
    lot = visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    criteria = queries.StockFilter(site_ids=_readable(principal), lot_id=lot.id)
    return _page(queries.on_hand(uow, criteria=criteria, cursor=cursor, limit=limit))


@router.get("/lots/{lot_id}/movements", response_model=PageOut[MovementRead])
def lot_movements(
    lot_id: IdPath,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[MovementRead]:
    """A lot's movements, newest first."""
    lot = visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    # At the lot's home site every movement; elsewhere (stock sent there) that site's own.
    sites = None if principal.can(Permission.STOCK_READ, lot.site_id) else _readable(principal)
    page = queries.movements(uow, lot_id=lot.id, site_ids=sites, cursor=cursor, limit=limit)
    return PageOut[MovementRead](
        items=[MovementRead.model_validate(m) for m in page.items], next_cursor=page.next_cursor
    )


@router.get("/locations/{location_id}/stock", response_model=PageOut[StockLineRead])
def location_stock(
    location_id: IdPath,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[StockLineRead]:
    """What is in a location and everything under it."""
    place = uow.session.get(Location, location_id)
    if place is None or not principal.can(Permission.STOCK_READ, place.site_id):
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    criteria = queries.StockFilter(location_id=place.id)
    return _page(queries.on_hand(uow, criteria=criteria, cursor=cursor, limit=limit))


@router.post("/stock/moves", response_model=OperationRead, status_code=201)
def move(
    body: MoveCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Put away or move stock within its site; into a QA area this is a move to QA."""
    return _read(
        operations.move(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=_source(body),
            to_location_id=body.to_location_id,
            amount=_amount(body),
            to_sscc=body.to_sscc,
            putaway=body.putaway,
            reason=body.reason,
        )
    )


@router.post("/stock/transfers", response_model=OperationRead, status_code=201)
def transfer(
    body: TransferCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Send stock to another site: in transit at the destination until received."""
    return _read(
        transfers.transfer_out(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=_source(body),
            to_location_id=body.to_location_id,
            amount=_amount(body),
            reason=body.reason,
        )
    )


@router.post("/stock/transfers/{txn_id}/receive", response_model=OperationRead, status_code=201)
def receive_transfer(
    body: TransferReceive,
    txn_id: str = Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$"),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Receive a transfer in the status it left with; a shortage is booked with the reason."""
    received = None
    if body.quantity is not None:
        unit = body.unit or transfers.transfer_sent(uow, txn_id=txn_id).entered_unit
        received = Amount(body.quantity, unit, body.count, body.weight_kg)
    return _read(
        transfers.receive_transfer(
            uow,
            principal=principal,
            txn_id=txn_id,
            received=received,
            to_location_id=body.to_location_id,
            reason=body.reason,
        )
    )


@router.post("/stock/samples", response_model=OperationRead, status_code=201)
def sample(
    body: SampleCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Take a QC sample for testing (consumed by the test)."""
    return _read(
        operations.take_sample(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=_source(body),
            amount=_amount(body),
            reason=body.reason,
            reference=body.reference,
        )
    )


@router.post("/stock/retained-samples", response_model=OperationRead, status_code=201)
def retained_sample(
    body: RetainedSampleCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Keep a retained sample (留样): on hand, never allocated."""
    return _read(
        operations.retain_sample(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=_source(body),
            to_location_id=body.to_location_id,
            amount=_amount(body),
            reason=body.reason,
        )
    )


@router.post("/stock/counts", response_model=OperationRead, status_code=201)
def count(
    body: CountCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Book a count: the difference is adjusted, with a reason; a large one must be signed (APPROVE)."""
    return _read(
        disposal.count(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=Source(body.location_id, body.stock_status, body.sscc),
            counted=Amount(body.counted, body.unit, body.count, body.weight_kg),
            reason=body.reason,
            signing_grant=body.signing_grant,
        )
    )


@router.post("/stock/scraps", response_model=OperationRead, status_code=201)
def scrap(
    body: DisposalCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Scrap or destroy stock: signed (SCRAP), with a reason."""
    return _read(
        disposal.scrap(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=_source(body),
            amount=_amount(body),
            reason=body.reason,
            signing_grant=body.signing_grant,
            reference=body.reference,
        )
    )


@router.post("/stock/returns", response_model=OperationRead, status_code=201)
def return_to_supplier(
    body: DisposalCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> OperationRead:
    """Return stock to its supplier: signed (RETURN_TO_SUPPLIER), with a reason."""
    return _read(
        disposal.return_to_supplier(
            uow,
            principal=principal,
            lot_id=body.lot_id,
            source=_source(body),
            amount=_amount(body),
            reason=body.reason,
            signing_grant=body.signing_grant,
            reference=body.reference,
        )
    )
