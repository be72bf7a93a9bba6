"""Recall endpoints: open a recall or run a drill, read a case with everything it reaches, start
it by a QA manager's signature (holds and released allocations in one transaction), record
notices and destructions at customers, close it signed, and fetch its notices and report.

Reading takes TRACE_READ, writing RECALL_MANAGE, at the case's site (the site of its first
trigger lot, whose time zone its deadlines are counted in); the scope itself follows the material
across sites, as a recall must.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.api.downloads import download
from lotline.api.problems import request_language
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdPath, PageOut
from lotline.domain.errors import N_, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.domain.recall import CaseStatus, RecallKind
from lotline.models.recall import RecallCase
from lotline.recall import files, queries, service
from lotline.recall.schemas import (
    AffectedLineRead,
    CaseDetail,
    CaseRead,
    CustomerRead,
    DestructionCreate,
    DestructionRead,
    NoticeCreate,
    NoticeRead,
    ProductTotalRead,
    RecallClose,
    RecallCreate,
    RecallStart,
    ScopeLotRead,
    StockRowRead,
)
from lotline.trace import epcis
from lotline.uow import UnitOfWork

router = APIRouter(prefix="/recalls", tags=["recall"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def visible_case(uow: UnitOfWork, principal: Principal, case_id: int, permission: Permission) -> RecallCase:
    """The case, if the caller holds ``permission`` at its site; otherwise it is not found."""
    case = uow.session.get(RecallCase, case_id)
    if case is None or not principal.can(permission, case.site_id):
        raise NotFound(entity=N_("recall"), key=case_id, field="case_id")
    return case


def detail(uow: UnitOfWork, case: RecallCase) -> CaseDetail:
    view = queries.case_view(uow, case, now=uow.now())
    return CaseDetail(
        **CaseRead.model_validate(case).model_dump(),
        start_state=view.start_state.value,
        complete_state=view.complete_state.value,
        unit=view.unit,
        shipped=view.shipped,
        recovered=view.recovered,
        effectiveness=view.effectiveness,
        check_level=view.check_level.value if view.check_level else None,
        customers_notified=view.notified,
        holds_placed=len(view.holds),
        lots=[ScopeLotRead.model_validate(lot, from_attributes=True) for lot in view.lots],
        customers=[
            CustomerRead(
                customer_id=c.customer_id,
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                contacts=c.contacts,
                address=c.address,
                shipments=sorted(c.shipments),
                products=[
                    ProductTotalRead(
                        product_code=p.product_code,
                        base_unit=p.base_unit,
                        lots=sorted(p.lots),
                        shipped=p.shipped,
                        returned=p.returned,
                        destroyed=p.destroyed,
                        recovered=p.recovered,
                        effectiveness=p.effectiveness,
                    )
                    for p in c.products.values()
                ],
                unit=c.unit,
                shipped=c.shipped,
                recovered=c.recovered,
                effectiveness=c.effectiveness,
                notified_at=c.notified_at,
                channel=c.channel,
            )
            for c in view.customers
        ],
        shipment_lines=[AffectedLineRead.model_validate(line, from_attributes=True) for line in view.lines],
        stock=[StockRowRead.model_validate(row, from_attributes=True) for row in view.stock],
    )


@router.post("", response_model=CaseDetail, status_code=201)
def open_case(
    body: RecallCreate,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> CaseDetail:
    """Open a recall (a draft until started) or run a drill (complete at once: time to trace and
    the mass balance of every lot in scope). The scope is the trigger lots' forward trace."""
    trigger = service.Trigger(
        kind=body.trigger.kind,
        lot_codes=tuple(body.trigger.lot_codes),
        product_code=body.trigger.product_code,
        supplier_code=body.trigger.supplier_code,
        supplier_lot_code=body.trigger.supplier_lot_code,
        date_from=body.trigger.date_from,
        date_to=body.trigger.date_to,
    )
    case = service.open_case(
        uow,
        service.OpenRequest(
            kind=body.kind,
            trigger=trigger,
            level=body.level,
            reason=body.reason,
            discovered_at=body.discovered_at,
            start_due_at=body.start_due_at,
            complete_due_at=body.complete_due_at,
        ),
        principal=principal,
    )
    return detail(uow, case)


@router.get("", response_model=PageOut[CaseRead])
def list_cases(
    status: list[CaseStatus] = Query(default_factory=list),
    kind: RecallKind | None = None,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[CaseRead]:
    """Recall cases and drills, newest first (at most 500)."""
    cases = service.list_cases(
        uow,
        statuses=[s.value for s in status],
        kind=kind.value if kind else None,
        site_ids=principal.site_ids_with(Permission.TRACE_READ),
    )
    return PageOut[CaseRead](items=[CaseRead.model_validate(c) for c in cases])


@router.get("/{case_id}", response_model=CaseDetail)
def read_case(
    case_id: IdPath,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> CaseDetail:
    """A case with its lots, every affected shipment line, each customer (contacts, quantities per
    product, recovery, effectiveness, notified), stock in scope and whether it is held."""
    return detail(uow, visible_case(uow, principal, case_id, Permission.TRACE_READ))


@router.post("/{case_id}/start", response_model=CaseDetail)
def start_case(
    case_id: IdPath,
    body: RecallStart,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> CaseDetail:
    """Start a drafted recall, signed: every lot in scope with stock gets a recall hold and its
    open allocations are given back, in this one transaction."""
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    started = service.start_case(uow, case_id=case.id, principal=principal, signing_grant=body.signing_grant)
    return detail(uow, started)


@router.post("/{case_id}/notices", response_model=NoticeRead, status_code=201)
def record_notice(
    case_id: IdPath,
    body: NoticeCreate,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> NoticeRead:
    """Record that a customer the recall reaches was told, and how."""
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    notice = service.record_notice(
        uow, case_id=case.id, customer_id=body.customer_id, channel=body.channel, note=body.note
    )
    return NoticeRead.model_validate(notice)


@router.post("/{case_id}/destructions", response_model=DestructionRead, status_code=201)
def record_destruction(
    case_id: IdPath,
    body: DestructionCreate,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> DestructionRead:
    """Record what a customer destroyed of a lot in scope (at most what is still out there)."""
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    row = service.record_destruction(
        uow,
        case_id=case.id,
        customer_id=body.customer_id,
        lot_id=body.lot_id,
        quantity=body.quantity,
        unit=body.unit,
        note=body.note,
    )
    return DestructionRead.model_validate(row)


@router.post("/{case_id}/close", response_model=CaseDetail)
def close_case(
    case_id: IdPath,
    body: RecallClose,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> CaseDetail:
    """Close an active recall, signed, with a closing note; the recall holds stay."""
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    closed = service.close_case(
        uow, case_id=case.id, note=body.note, principal=principal, signing_grant=body.signing_grant
    )
    return detail(uow, closed)


# --- documents ----------------------------------------------------------------------------------

_LANGUAGE = Query(default=None, pattern=r"^(zh|zh-CN|zh_CN|en)$", description="Default: yours")


def _sent(file: files.File) -> Response:
    return download(file.content, file.media_type, file.name)


@router.get("/{case_id}/report.pdf", response_class=Response, responses={200: {"content": {files.PDF: {}}}})
def report_pdf(
    case_id: IdPath,
    request: Request,
    language: str | None = _LANGUAGE,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The recall (or drill) report: timeline, deadlines, scope, customers and effectiveness,
    shipments, stock and holds, the drill's mass balance."""
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    return _sent(files.report(uow, case, files.Report.PDF, language or request_language(request)))


@router.get("/{case_id}/report.xlsx", response_class=Response, responses={200: {"content": {files.XLSX: {}}}})
def report_xlsx(
    case_id: IdPath,
    request: Request,
    language: str | None = _LANGUAGE,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The report as a workbook: summary, customers, shipments, lots, stock, holds, mass balance."""
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    return _sent(files.report(uow, case, files.Report.XLSX, language or request_language(request)))


@router.get("/{case_id}/notices.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def notices_csv(
    case_id: IdPath,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """One row per customer and product: contacts, lots, shipments, quantities, recovery, notice."""
    return _sent(files.customer_list(uow, visible_case(uow, principal, case_id, Permission.TRACE_READ)))


@router.get(
    "/{case_id}/notices/{customer_id}.pdf",
    response_class=Response,
    responses={200: {"content": {files.PDF: {}}}},
)
def notice_pdf(
    case_id: IdPath,
    customer_id: IdPath,
    request: Request,
    language: str | None = _LANGUAGE,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """One customer's recall notice in Chinese or English."""
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    return _sent(files.notice(uow, case, customer_id, language or request_language(request)))


@router.get("/{case_id}/epcis", response_class=Response, responses={200: {"content": {epcis.MEDIA_TYPE: {}}}})
def recall_epcis(
    case_id: IdPath,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The scope's EPCIS 2.0 document: receiving, shipping and holding ObjectEvents (recall holds as
    holding + recalled), one TransformationEvent per production; validated before it is sent."""
    return _sent(files.events(uow, visible_case(uow, principal, case_id, Permission.TRACE_READ)))
