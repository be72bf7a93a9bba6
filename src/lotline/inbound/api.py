"""Receiving endpoints: post a receipt (fields or GS1 scans per line), find and read receipts,
preview a scan."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import MAX_ID, PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.inbound import service
from lotline.inbound.schemas import (
    ReceiptCreate,
    ReceiptLineRead,
    ReceiptRead,
    ScanParse,
    ScanPreview,
)
from lotline.models.inbound import Receipt
from lotline.uow import UnitOfWork

router = APIRouter(tags=["inbound"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def _read(uow: UnitOfWork, receipts: list[Receipt]) -> list[ReceiptRead]:
    """Receipts with their lines and lot codes: two queries for the whole list."""
    lines = service.receipt_lines(uow, receipt_ids=[r.id for r in receipts])
    codes = service.lot_codes(uow, [line.lot_id for found in lines.values() for line in found])
    return [
        ReceiptRead.model_validate(receipt).model_copy(
            update={
                "lines": [
                    ReceiptLineRead.model_validate(
                        {
                            **{c: getattr(line, c) for c in ReceiptLineRead.model_fields if c != "lot_code"},
                            "lot_code": codes[line.lot_id],
                        }
                    )
                    for line in lines[receipt.id]
                ]
            }
        )
        for receipt in receipts
    ]


@router.post("/receipts", response_model=ReceiptRead, status_code=201)
def create_receipt(
    body: ReceiptCreate,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> ReceiptRead:
    """Receive a supplier delivery: each line lands a lot in quarantine at the receiving location."""
    receipt = service.create_receipt(
        uow,
        site_id=body.site_id,
        supplier_id=body.supplier_id,
        location_id=body.location_id,
        purchase_order=body.purchase_order,
        delivery_note=body.delivery_note,
        note=body.note,
        lines=[service.LineInput(**line.model_dump()) for line in body.lines],
        principal=principal,
    )
    return _read(uow, [receipt])[0]


@router.get("/receipts", response_model=PageOut[ReceiptRead])
def list_receipts(
    site_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    supplier_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    since: datetime | None = Query(default=None, description="Received at or after (with a time zone)"),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[ReceiptRead]:
    """Receipts at the caller's sites, newest first, filtered by site, supplier and date."""
    if since is not None and since.tzinfo is None:
        raise InvalidInput(
            N_("{field} needs a time zone (e.g. 2026-03-01T00:00:00Z)."),
            field="since",
            code="receipt.naive_time",
        )
    sites = principal.site_ids_with(Permission.STOCK_READ)
    criteria = service.ReceiptFilter(
        site_ids=frozenset(sites) if sites is not None else None,
        site_id=site_id,
        supplier_id=supplier_id,
        since=since,
    )
    page = service.list_receipts(uow, criteria=criteria, cursor=cursor, limit=limit)
    return PageOut[ReceiptRead](items=_read(uow, list(page.items)), next_cursor=page.next_cursor)


@router.get("/receipts/{receipt_id}", response_model=ReceiptRead)
def get_receipt(
    receipt_id: IdPath,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> ReceiptRead:
    """One receipt with its lines and the lots they created."""
    return _read(uow, [service.visible_receipt(uow, principal, receipt_id)])[0]


@router.post("/scans/parse", response_model=ScanPreview)
def parse_scan(
    body: ScanParse,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> ScanPreview:
    """Preview what a GS1 scan fills on a receipt line (for those who receive); nothing is written."""
    if not principal.can(Permission.STOCK_MOVE, body.site_id):
        raise NotFound(entity=N_("site"), key=body.site_id, field="site_id")
    return ScanPreview.model_validate(service.preview_scan(uow, site_id=body.site_id, scan=body.scan))
