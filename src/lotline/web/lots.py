"""Lot pages: the list with filters, the lot page, holds and re-dating through the signing dialog."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.expiry import RedateKind
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType, QualityStatus
from lotline.i18n import gettext_for
from lotline.lots import decisions, overview, queries, service
from lotline.lots import view as lot_views
from lotline.models.catalog import Product
from lotline.models.quality import InspectionRecord
from lotline.models.site import Site
from lotline.production import genealogy
from lotline.trace.graph import trace_svg
from lotline.trace.graph_data import GraphLot
from lotline.uow import UnitOfWork
from lotline.web import labels
from lotline.web.fields import choice, optional_int, readable_sites
from lotline.web.production import labels as production_labels
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50


def product_choices(uow: UnitOfWork) -> list[Product]:
    return list(uow.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code)))


HOLD_CHOICES = frozenset({"any", "none"} | {h.value for h in HoldType})


@dataclass(frozen=True)
class ListFilters:
    """The lot list's filters as a person sets them in the form."""

    product_id: int | None = None
    site_id: int | None = None
    quality_status: str | None = None
    hold: str | None = None  # "any", "none" or a hold type
    expiring_within_days: int | None = None
    bucket: str | None = None  # an expiring-board bucket
    code: str | None = None

    def criteria(
        self,
        sites: set[int] | None,
        *,
        today_by_site: Callable[[], dict[int, date]],
        bounds: tuple[int, ...],
    ) -> queries.LotFilter:
        window: tuple[int | None, int | None] | None = None
        if self.expiring_within_days is not None:
            window = (None, self.expiring_within_days)
        if self.bucket:
            window = queries.window_for_bucket(self.bucket, bounds)
            if window is None:
                raise InvalidInput(
                    N_("{field} has a value that is not allowed."), field="bucket", code="web.bad_choice"
                )
        expiry = queries.ExpiryWindow(window[0], window[1], today_by_site()) if window else None
        hold_type = self.hold if self.hold not in (None, "any", "none") else None
        return queries.LotFilter(
            site_ids=frozenset(sites) if sites is not None else None,
            product_id=self.product_id,
            site_id=self.site_id,
            quality_status=self.quality_status,
            on_hold={"any": True, "none": False}.get(self.hold or ""),
            hold_type=hold_type,
            expiry=expiry,
            code=self.code,
        )


@router.get("/lots")
def lot_list(
    request: Request,
    product_id: str | None = None,
    site_id: str | None = None,
    quality_status: str | None = None,
    hold: str | None = None,
    expiring_within_days: str | None = None,
    bucket: str | None = None,
    code: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.LOT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = principal.site_ids_with(Permission.LOT_READ)
    wanted = ListFilters(
        product_id=optional_int(product_id, "product_id"),
        site_id=optional_int(site_id, "site_id"),
        quality_status=choice(quality_status, QualityStatus, "quality_status"),
        hold=hold if hold in HOLD_CHOICES else None,
        expiring_within_days=optional_int(expiring_within_days, "expiring_within_days"),
        bucket=bucket or None,
        code=(code or "").strip().upper() or None,
    )
    now = uow.now()
    criteria = wanted.criteria(
        sites,
        today_by_site=lambda: queries.site_todays(uow, sites, now),
        bounds=tuple(uow.settings.expiry_buckets),
    )
    page = queries.list_lots(uow, criteria=criteria, cursor=cursor, limit=PAGE_SIZE)
    lots = page.items
    site_rows = readable_sites(uow, principal, Permission.LOT_READ)
    zones = {site.id: site.time_zone for site in site_rows}
    products = {
        p.id: p
        for p in uow.session.scalars(select(Product).where(Product.id.in_({lot.product_id for lot in lots})))
    }
    holds = queries.active_holds_of(uow, [lot.id for lot in lots])
    rows = [
        {
            "lot": lot,
            "product": products.get(lot.product_id),
            "holds": holds[lot.id],
            "remaining": overview.remaining_of(lot, zones[lot.site_id], now),
        }
        for lot in lots
    ]
    kept = {k: v for k, v in asdict(wanted).items() if v is not None}
    next_url = f"/lots?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None
    return render(
        request,
        "lots.html",
        active="lots",
        rows=rows,
        filters=wanted,
        sites=site_rows,
        site_by_id={site.id: site for site in site_rows},
        products=product_choices(uow),
        next_url=next_url,
    )


# What the lot page's timeline calls each kind of event (lots.view.TimelineEvent.kind).
TIMELINE = {
    "created": N_("Lot registered"),
    "receipt": N_("Receipt"),
    "produced_by": N_("Made by a transformation"),
    "movement": N_("Stock movement"),
    "inspection": N_("Inspection recorded"),
    "decision": N_("QA decision"),
    "hold_placed": N_("Hold placed"),
    "hold_lifted": N_("Hold lifted"),
    "redated": N_("Re-dated"),
    "consumed_in": N_("Used in a transformation"),
    "shipment": N_("Shipment"),
    "customer_return": N_("Customer return"),
}
PASSED = {"passed": N_("passed"), "failed": N_("failed")}


# Per kind, the display names of the codes its ``detail`` holds.
TIMELINE_DETAILS = {
    "movement": labels.MOVEMENT,
    "inspection": PASSED,
    "decision": labels.QUALITY,
    "hold_placed": labels.HOLD,
    "hold_lifted": labels.HOLD,
    "consumed_in": production_labels.KIND,
    "produced_by": production_labels.KIND,
}


def _graph_svg(whole: lot_views.LotView, language: str) -> Markup | None:
    """The trace graph drawn inline (escaped by the drawing itself), or None when not traced."""
    if whole.trace is None:
        return None
    chinese = language == "zh_CN"

    def name(lot: GraphLot) -> str:
        first, second = (
            (lot.product_name_zh, lot.product_name_en)
            if chinese
            else (lot.product_name_en, lot.product_name_zh)
        )
        return first or second

    nodes = whole.trace.graph.nodes(href=lambda lot: f"/lots/{lot.lot_id}", name=name)
    drawn = trace_svg(
        nodes,
        whole.trace.graph.edges,
        translate=gettext_for(language),
        group_href=lambda product_id: f"/lots?product_id={product_id}",
    )
    return Markup(drawn)  # trace.graph escapes every text and attribute value it writes


@router.get("/lots/{lot_id}")
def lot_page(
    request: Request,
    lot_id: int,
    principal: Principal = requires(Permission.LOT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    lot = service.visible_lot(uow, principal, lot_id, Permission.LOT_READ)
    whole = lot_views.lot_view(
        uow,
        lot=lot,
        now=uow.now(),
        quality=lot_views.may_read(uow, principal, lot, Permission.QUALITY_READ),
        trace=lot_views.may_read(uow, principal, lot, Permission.TRACE_READ),
    )
    language = request.state.language
    return render(
        request,
        "lot.html",
        active="lots",
        view=whole.overview,
        whole=whole,
        graph_svg=_graph_svg(whole, language),
        timeline_labels=TIMELINE,
        timeline_details=TIMELINE_DETAILS,
        can_hold=principal.can(Permission.HOLD_PLACE, lot.site_id),
        can_lift=principal.can(Permission.HOLD_LIFT, lot.site_id),
        can_redate=principal.can(Permission.QUALITY_DECIDE, lot.site_id),
        hold_types=list(HoldType),
        made_from=genealogy.made_from(uow, lot_id=lot.id, sites=principal.site_ids_with(Permission.LOT_READ)),
        used_in=genealogy.used_in(uow, lot_id=lot.id, sites=principal.site_ids_with(Permission.LOT_READ)),
        transformation_kind_labels=production_labels.KIND,
    )


@router.post("/lots/{lot_id}/holds")
def place_hold(
    request: Request,
    lot_id: int,
    hold_type: str = Form(default=""),
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.HOLD_PLACE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = service.visible_lot(uow, principal, lot_id, Permission.HOLD_PLACE)
    target = f"/lots/{lot.id}"
    try:
        kind = HoldType(choice(hold_type, HoldType, "hold_type") or "")
        service.place_hold(uow, lot_id=lot.id, hold_type=kind, reason=reason)
    except (LotlineError, ValueError) as error:
        uow.rollback()
        message = error.render(_) if isinstance(error, LotlineError) else _("Choose a hold type.")
        return redirect(target, flash=message, kind="error")
    return redirect(target, flash=_("Hold placed. The lot is blocked until every hold is lifted."))


# --- signing dialog -----------------------------------------------------------------------------


def _sign_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    meaning: Meaning,
    action: str,
    signing: Mapping[str, Any],
    fields: Mapping[str, Any],
    back: str,
) -> Response:
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "sign.html",
        status_code=status_code,
        active="lots",
        meaning=meaning.value,
        action=action,
        signing=signing,
        fields=fields,
        back=back,
        error=error,
        needs_username=session is None or session.first_signed_at is None,
    )


def _hold_summary(uow: UnitOfWork, hold_id: int, principal: Principal) -> tuple[Any, Any, dict[str, Any]]:
    hold = service.visible_hold(uow, principal, hold_id, Permission.HOLD_LIFT)
    if hold.lifted_at is not None:
        raise NotFound(entity=N_("active hold"), key=hold_id, field="hold_id")
    lot = service.get_lot(uow, lot_id=hold.lot_id)
    product = uow.session.get_one(Product, lot.product_id)
    signing = {
        "lot": lot.code,
        "product": product,
        "hold_type": hold.hold_type,
        "placed_by": hold.placed_by,
        "placed_at": hold.placed_at,
        "placed_reason": hold.reason,
        "zone": uow.session.get_one(Site, lot.site_id).time_zone,
    }
    return hold, lot, signing


@router.get("/holds/{hold_id}/lift")
def lift_hold_form(
    request: Request,
    hold_id: int,
    principal: Principal = requires(Permission.HOLD_LIFT),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    hold, lot, signing = _hold_summary(uow, hold_id, principal)
    return _sign_page(
        request,
        meaning=Meaning.LIFT_HOLD,
        action=f"/holds/{hold.id}/lift",
        signing=signing,
        fields={"reason": ""},
        back=f"/lots/{lot.id}",
    )


@router.post("/holds/{hold_id}/lift")
def lift_hold(
    request: Request,
    hold_id: int,
    reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.HOLD_LIFT),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    hold, lot, signing = _hold_summary(uow, hold_id, principal)
    lot_id = lot.id
    page: dict[str, Any] = {
        "meaning": Meaning.LIFT_HOLD,
        "action": f"/holds/{hold.id}/lift",
        "signing": signing,
        "fields": {"reason": reason},
        "back": f"/lots/{lot_id}",
    }
    try:
        if not reason.strip():
            raise InvalidInput(N_("{field} is required."), field="reason", code="hold.reason_required")
        secret = authorize(
            request,
            uow,
            principal,
            username=username,
            password=password,
            meaning=Meaning.LIFT_HOLD,
            record_type="hold",
            record_id=hold.id,
        )
        service.lift_hold(uow, hold_id=hold.id, reason=reason, principal=principal, signing_grant=secret)
    except LotlineError as error:
        uow.rollback()
        return _sign_page(request, status_code=STATUS_BY_KIND[error.kind], error=error.render(_), **page)
    return redirect(f"/lots/{lot_id}", flash=_("Hold lifted and signed. Any other holds stay in force."))


def _redate_summary(uow: UnitOfWork, lot_id: int, principal: Principal) -> tuple[Any, dict[str, Any]]:
    lot = service.visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    product = uow.session.get_one(Product, lot.product_id)
    signing = {"lot": lot.code, "product": product, "expiry_date": lot.expiry_date}
    return lot, signing


@router.get("/lots/{lot_id}/redate")
def redate_form(
    request: Request,
    lot_id: int,
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    lot, signing = _redate_summary(uow, lot_id, principal)
    return _sign_page(
        request,
        meaning=Meaning.REDATE,
        action=f"/lots/{lot.id}/redate",
        signing=signing,
        fields={"reason": "", "new_expiry": "", "kind": "", "kinds": list(RedateKind)},
        back=f"/lots/{lot.id}",
    )


@router.post("/lots/{lot_id}/redate")
def redate(
    request: Request,
    lot_id: int,
    new_expiry: str = Form(default=""),
    kind: str = Form(default=""),
    reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot, signing = _redate_summary(uow, lot_id, principal)
    lot_id = lot.id
    page: dict[str, Any] = {
        "meaning": Meaning.REDATE,
        "action": f"/lots/{lot_id}/redate",
        "signing": signing,
        "fields": {"reason": reason, "new_expiry": new_expiry, "kind": kind, "kinds": list(RedateKind)},
        "back": f"/lots/{lot_id}",
    }
    try:
        try:
            new_date = date.fromisoformat(new_expiry)
        except ValueError:
            raise InvalidInput(
                N_("{field} must be a date (YYYY-MM-DD)."), field="new_expiry", code="web.bad_date"
            ) from None
        chosen = RedateKind(choice(kind, RedateKind, "kind") or "")
        if not reason.strip():
            raise InvalidInput(N_("{field} is required."), field="reason", code="redate.reason_required")
        secret = authorize(
            request,
            uow,
            principal,
            username=username,
            password=password,
            meaning=Meaning.REDATE,
            record_type="lot",
            record_id=lot_id,
        )
        service.redate_lot(
            uow,
            lot_id=lot_id,
            new_expiry=new_date,
            kind=chosen,
            reason=reason,
            principal=principal,
            signing_grant=secret,
        )
    except LotlineError as error:
        uow.rollback()
        return _sign_page(request, status_code=STATUS_BY_KIND[error.kind], error=error.render(_), **page)
    except ValueError:
        uow.rollback()
        return _sign_page(request, status_code=422, error=_("Choose why the lot is re-dated."), **page)
    return redirect(f"/lots/{lot_id}", flash=_("Expiry changed and signed."))


DECISION_MEANINGS = {"RELEASED": Meaning.RELEASE, "REJECTED": Meaning.REJECT}


def _decision_summary(
    uow: UnitOfWork, lot_id: int, principal: Principal, to: str
) -> tuple[Any, Meaning, dict[str, Any]]:
    lot = service.visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    if to not in DECISION_MEANINGS:
        raise InvalidInput(N_("{field} has a value that is not allowed."), field="to", code="web.bad_choice")
    product = uow.session.get_one(Product, lot.product_id)
    records = list(
        uow.session.scalars(
            select(InspectionRecord)
            .where(InspectionRecord.lot_id == lot.id)
            .order_by(InspectionRecord.passed.desc(), InspectionRecord.id.desc())
            .limit(50)
        )
    )
    signing = {
        "lot": lot.code,
        "product": product,
        "expiry_date": lot.expiry_date,
        "quality_from": lot.quality_status,
        "quality_to": to,
        "inspections": records,
        "zone": uow.session.get_one(Site, lot.site_id).time_zone,
    }
    return lot, DECISION_MEANINGS[to], signing


@router.get("/lots/{lot_id}/decision")
def decision_form(
    request: Request,
    lot_id: int,
    to: str = "",
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    lot, meaning, signing = _decision_summary(uow, lot_id, principal, to)
    return _sign_page(
        request,
        meaning=meaning,
        action=f"/lots/{lot.id}/decision",
        signing=signing,
        fields={"reason": "", "to": to, "cited": [r.id for r in signing["inspections"] if r.passed]},
        back=f"/lots/{lot.id}",
    )


@router.post("/lots/{lot_id}/decision")
def decide(
    request: Request,
    lot_id: int,
    to: str = Form(default=""),
    reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    inspection_ids: list[int] = Form(default=[]),
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot, meaning, signing = _decision_summary(uow, lot_id, principal, to)
    lot_id = lot.id
    page: dict[str, Any] = {
        "meaning": meaning,
        "action": f"/lots/{lot_id}/decision",
        "signing": signing,
        "fields": {"reason": reason, "to": to, "cited": inspection_ids},
        "back": f"/lots/{lot_id}",
    }
    try:
        if not reason.strip():
            raise InvalidInput(N_("{field} is required."), field="reason", code="lot.reason_required")
        secret = authorize(
            request,
            uow,
            principal,
            username=username,
            password=password,
            meaning=meaning,
            record_type="lot",
            record_id=lot_id,
        )
        decisions.decide(
            uow,
            lot_id=lot_id,
            decision=QualityStatus(to),
            reason=reason,
            principal=principal,
            signing_grant=secret,
            inspection_ids=tuple(inspection_ids),
        )
    except LotlineError as error:
        uow.rollback()
        return _sign_page(request, status_code=STATUS_BY_KIND[error.kind], error=error.render(_), **page)
    done = _("Lot released and signed.") if to == "RELEASED" else _("Lot rejected and signed.")
    return redirect(f"/lots/{lot_id}", flash=done)
