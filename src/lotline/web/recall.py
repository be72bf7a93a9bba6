"""Recall pages: the recall board (open recalls by their deadlines, drills, closed cases), the form
that opens a recall or runs a drill, and one case — its scope, the customers it reaches with
contacts and quantities, recovery and effectiveness, stock in scope and its holds, the drill's
mass balance — with its actions: start and close (signed), notices and destructions, and the
documents (customer notices, report). Everything goes through :mod:`lotline.recall`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.api.downloads import download
from lotline.api.problems import STATUS_BY_KIND
from lotline.api.schemas import IdPath
from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.domain.recall import CaseStatus, RecallKind, RecallLevel, TriggerKind
from lotline.domain.signature import Meaning
from lotline.i18n import gettext_for
from lotline.models.recall import RecallCase
from lotline.recall import documents, files, queries, service
from lotline.recall.api import visible_case
from lotline.recall.queries import CaseView
from lotline.uow import UnitOfWork
from lotline.web import labels
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)
E = TypeVar("E", bound=StrEnum)

TRIGGER_LABELS = {
    TriggerKind.LOTS.value: N_("Lots"),
    TriggerKind.SUPPLIER_LOT.value: N_("A supplier's lot"),
    TriggerKind.PRODUCT_RANGE.value: N_("A product made or received in a date range"),
}
CHANNEL_LABELS = documents.CHANNELS
LABELS: dict[str, Any] = {
    **labels.ALL,
    "recall_kind_labels": documents.KINDS,
    "recall_level_labels": documents.LEVELS,
    "recall_status_labels": documents.STATUSES,
    "deadline_labels": documents.DEADLINE_STATES,
    "trigger_labels": TRIGGER_LABELS,
    "channel_labels": CHANNEL_LABELS,
}
FORM_FIELDS = (
    "kind",
    "trigger_kind",
    "lot_codes",
    "supplier_code",
    "supplier_lot_code",
    "product_code",
    "date_from",
    "date_to",
    "level",
    "reason",
    "discovered_at",
)


@router.get("/recalls")
def board(
    request: Request,
    closed: str | None = None,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = principal.site_ids_with(Permission.TRACE_READ)
    rows = queries.board(uow, now=uow.now(), include_closed=bool(closed), site_ids=sites)
    return render(
        request,
        "recall/board.html",
        active="recalls",
        rows=rows,
        show_closed=bool(closed),
        can_open=principal.site_ids_with(Permission.RECALL_MANAGE) != set(),
        **LABELS,
    )


def _form(
    request: Request,
    values: dict[str, str],
    *,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "recall/new.html",
        status_code=status_code,
        active="recalls",
        values=values,
        error=error,
        error_field=error_field,
        kinds=list(RecallKind),
        levels=list(RecallLevel),
        trigger_kinds=list(TriggerKind),
        **LABELS,
    )


@router.get("/recalls/new")
def new_form(
    request: Request,
    kind: str | None = None,
    lot: str | None = None,
    principal: Principal = requires(Permission.RECALL_MANAGE),
) -> Response:
    values = {name: "" for name in FORM_FIELDS}
    values.update(kind=kind if kind in {k.value for k in RecallKind} else RecallKind.RECALL.value)
    values.update(trigger_kind=TriggerKind.LOTS.value, level=RecallLevel.CN_2.value)
    if lot:
        values["lot_codes"] = lot
    return _form(request, values)


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(N_("The value of {field} is not valid."), field=field, code="web.date") from None


def _chosen(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(N_("The value of {field} is not valid."), field=field, code="web.choice") from None


def _request(values: dict[str, str]) -> service.OpenRequest:
    kind = _chosen(RecallKind, values["kind"], "kind")
    trigger_kind = _chosen(TriggerKind, values["trigger_kind"], "trigger_kind")
    level = _chosen(RecallLevel, values["level"], "level")
    trigger = service.Trigger(
        kind=trigger_kind,
        lot_codes=tuple(code for code in values["lot_codes"].replace(",", " ").split() if code),
        product_code=values["product_code"].strip() or None,
        supplier_code=values["supplier_code"].strip() or None,
        supplier_lot_code=values["supplier_lot_code"].strip() or None,
        date_from=_day(values["date_from"], "date_from"),
        date_to=_day(values["date_to"], "date_to"),
    )
    known = values["discovered_at"].strip()
    try:
        discovered = datetime.fromisoformat(known) if known else None
    except ValueError:
        raise InvalidInput(
            N_("The value of {field} is not valid."), field="discovered_at", code="web.datetime"
        ) from None
    return service.OpenRequest(
        kind=kind,
        trigger=trigger,
        level=level,
        reason=values["reason"],
        discovered_local=discovered.replace(tzinfo=None) if discovered else None,
    )


@router.post("/recalls/new")
async def open_case(
    request: Request,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    try:
        case = service.open_case(uow, _request(values), principal=principal)
    except LotlineError as error:
        uow.rollback()
        field = (error.field or "").removeprefix("trigger.")
        return _form(
            request, values, error=error.render(_), error_field=field, status_code=STATUS_BY_KIND[error.kind]
        )
    flash = (
        _("Drill %(number)s: %(lots)s lots traced in %(ms)s ms.")
        if case.kind == RecallKind.DRILL.value
        else _("Recall %(number)s opened with %(lots)s lots in scope. Nothing is held until it is started.")
    )
    return redirect(
        f"/recalls/{case.id}",
        flash=flash % {"number": case.number, "lots": case.lots_in_scope, "ms": case.scope_ms},
    )


def _case_page(
    request: Request, uow: UnitOfWork, principal: Principal, view: CaseView, **extra: Any
) -> Response:
    case = view.case
    manage = principal.can(Permission.RECALL_MANAGE, case.site_id)
    return render(
        request,
        "recall/case.html",
        active="recalls",
        view=view,
        case=case,
        zone=view.site_zone,
        can_start=manage and case.status == CaseStatus.DRAFT.value,
        can_record=manage and case.status == CaseStatus.ACTIVE.value,
        can_close=manage and case.status == CaseStatus.ACTIVE.value,
        channels=list(CHANNEL_LABELS),
        **LABELS,
        **extra,
    )


@router.get("/recalls/{case_id}")
def case_page(
    request: Request,
    case_id: IdPath,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    return _case_page(request, uow, principal, queries.case_view(uow, case, now=uow.now()))


def _sign_page(
    request: Request,
    uow: UnitOfWork,
    case: RecallCase,
    meaning: Meaning,
    *,
    note: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    session = getattr(request.state, "web_session", None)
    view = queries.case_view(uow, case, now=uow.now())
    return render(
        request,
        "recall/sign.html",
        status_code=status_code,
        active="recalls",
        meaning=meaning.value,
        case=case,
        view=view,
        note=note,
        error=error,
        action=f"/recalls/{case.id}/{'start' if meaning is Meaning.RECALL else 'close'}",
        back=f"/recalls/{case.id}",
        needs_username=session is None or session.first_signed_at is None,
        **LABELS,
    )


@router.get("/recalls/{case_id}/start")
def start_form(
    request: Request,
    case_id: IdPath,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    return _sign_page(request, uow, case, Meaning.RECALL)


def _signed(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    case_id: int,
    meaning: Meaning,
    sign: tuple[str, str],
    act: Callable[[RecallCase, str], str],
    note: str = "",
) -> Response:
    """Re-authenticate the signer for the case and ``act`` with the grant (the flash it returns);
    a refusal shows the signing dialog again with the reason, nothing written."""
    _ = gettext_for(request.state.language)
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    username, password = sign
    try:
        if meaning is Meaning.CLOSE and not note.strip():
            raise InvalidInput(N_("{field} is required."), field="note", code="recall.note_required")
        secret = authorize(
            request,
            uow,
            principal,
            username=username,
            password=password,
            meaning=meaning,
            record_type=service.RECORD_TYPE,
            record_id=case.id,
        )
        flash = act(case, secret)
    except LotlineError as error:
        uow.rollback()
        case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
        return _sign_page(
            request,
            uow,
            case,
            meaning,
            note=note,
            error=error.render(_),
            status_code=STATUS_BY_KIND[error.kind],
        )
    return redirect(f"/recalls/{case_id}", flash=flash)


@router.post("/recalls/{case_id}/start")
def start(
    request: Request,
    case_id: IdPath,
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)

    def started(case: RecallCase, grant: str) -> str:
        service.start_case(uow, case_id=case.id, principal=principal, signing_grant=grant)
        holds = len(queries.case_view(uow, case, now=uow.now()).holds)
        return _("Recall started and signed: %(holds)s lots held, their allocations given back.") % {
            "holds": holds
        }

    return _signed(request, uow, principal, case_id, Meaning.RECALL, (username, password), started)


@router.get("/recalls/{case_id}/close")
def close_form(
    request: Request,
    case_id: IdPath,
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    return _sign_page(request, uow, case, Meaning.CLOSE)


@router.post("/recalls/{case_id}/close")
def close(
    request: Request,
    case_id: IdPath,
    note: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)

    def closed(case: RecallCase, grant: str) -> str:
        service.close_case(uow, case_id=case.id, note=note, principal=principal, signing_grant=grant)
        return _("Recall closed and signed. The recall holds stay in force.")

    return _signed(request, uow, principal, case_id, Meaning.CLOSE, (username, password), closed, note)


def _refused(
    request: Request, uow: UnitOfWork, principal: Principal, case_id: int, error: LotlineError
) -> Response:
    """The case page again, with what was refused and why; nothing was written."""
    _ = gettext_for(request.state.language)
    uow.rollback()
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    response = _case_page(
        request,
        uow,
        principal,
        queries.case_view(uow, case, now=uow.now()),
        error=error.render(_),
        error_field=error.field,
    )
    response.status_code = STATUS_BY_KIND[error.kind]
    return response


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(
            N_("The value of {field} is not valid."), field=field, code="web.not_a_number"
        ) from None


@router.post("/recalls/{case_id}/notices")
def notify(
    request: Request,
    case_id: IdPath,
    customer_id: str = Form(default=""),
    channel: str = Form(default=""),
    note: str = Form(default=""),
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    try:
        service.record_notice(
            uow, case_id=case.id, customer_id=_int(customer_id, "customer_id"), channel=channel, note=note
        )
    except LotlineError as error:
        return _refused(request, uow, principal, case_id, error)
    return redirect(f"/recalls/{case_id}", flash=_("Notice recorded."))


@router.post("/recalls/{case_id}/destructions")
def destroyed(
    request: Request,
    case_id: IdPath,
    customer_id: str = Form(default=""),
    lot_id: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    note: str = Form(default=""),
    principal: Principal = requires(Permission.RECALL_MANAGE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    case = visible_case(uow, principal, case_id, Permission.RECALL_MANAGE)
    try:
        try:
            amount = Decimal(quantity.strip())
        except InvalidOperation:
            raise InvalidInput(
                N_("The value of {field} is not valid."), field="quantity", code="web.number"
            ) from None
        service.record_destruction(
            uow,
            case_id=case.id,
            customer_id=_int(customer_id, "customer_id"),
            lot_id=_int(lot_id, "lot_id"),
            quantity=amount,
            unit=unit.strip(),
            note=note,
        )
    except LotlineError as error:
        return _refused(request, uow, principal, case_id, error)
    return redirect(f"/recalls/{case_id}", flash=_("Destruction at the customer recorded."))


# --- documents ----------------------------------------------------------------------------------


def _language(request: Request, language: str | None) -> str:
    return language if language in ("zh_CN", "zh-CN", "zh", "en") else request.state.language


def _sent(file: files.File, *, inline: bool = False) -> Response:
    return download(file.content, file.media_type, file.name, inline=inline)


@router.get("/recalls/{case_id}/report.{kind}")
def report(
    request: Request,
    case_id: IdPath,
    kind: files.Report,
    language: str | None = None,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    sent = files.report(uow, case, kind, _language(request, language))
    return _sent(sent, inline=kind is files.Report.PDF)


@router.get("/recalls/{case_id}/notices.csv")
def notices_csv(
    case_id: IdPath,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return _sent(files.customer_list(uow, visible_case(uow, principal, case_id, Permission.TRACE_READ)))


@router.get("/recalls/{case_id}/notices/{customer_id}.pdf")
def notice_pdf(
    request: Request,
    case_id: IdPath,
    customer_id: IdPath,
    language: str | None = None,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    case = visible_case(uow, principal, case_id, Permission.TRACE_READ)
    return _sent(files.notice(uow, case, customer_id, _language(request, language)), inline=True)


@router.get("/recalls/{case_id}/epcis.jsonld")
def recall_epcis(
    case_id: IdPath,
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return _sent(files.events(uow, visible_case(uow, principal, case_id, Permission.TRACE_READ)))
