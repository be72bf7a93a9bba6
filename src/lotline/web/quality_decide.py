"""The usage decision on a lot's quality page: what it covers, the signing dialog, the signed decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.domain.status import QualityStatus
from lotline.i18n import gettext_for
from lotline.lots.service import visible_lot
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.quality import InspectionRecord
from lotline.models.site import Site
from lotline.quality import decisions
from lotline.quality.scope import checked_part
from lotline.uow import UnitOfWork
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)

SCOPES = ("lot", "quantity", "sscc")
SCOPE_LABELS = {
    "lot": N_("The whole lot (all of its quarantined stock)"),
    "quantity": N_("A quantity at one location"),
    "sscc": N_("Selected SSCCs"),
}


# --- the usage decision, through the signing dialog ---------------------------------------------


def whole_number(value: str | None, field: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a whole number."), field=field, code="web.not_a_number"
        ) from None


@dataclass(frozen=True)
class Choice:
    """What the person chose on the quality page, before signing."""

    decision: QualityStatus
    scope: str
    parts: tuple[decisions.Part, ...]
    ssccs: tuple[str, ...]
    cited: tuple[int, ...]
    location_code: str | None = None

    def hidden(self) -> list[tuple[str, str]]:
        pairs = [("decision", self.decision.value), ("scope", self.scope)]
        if self.scope == "quantity":
            part = self.parts[0]
            pairs += [
                ("location_id", str(part.location_id)),
                ("quantity", str(part.quantity)),
                ("unit", part.unit or ""),
            ]
        pairs += [("sscc", code) for code in self.ssccs]
        pairs += [("inspection_ids", str(i)) for i in self.cited]
        return pairs


def _choice(
    uow: UnitOfWork,
    lot: Lot,
    *,
    decision: str,
    scope: str,
    location_id: str,
    quantity: str,
    unit: str,
    sscc: Sequence[str],
    inspection_ids: Sequence[str],
) -> Choice:
    if decision not in (QualityStatus.RELEASED.value, QualityStatus.REJECTED.value):
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="decision", code="web.bad_choice"
        )
    if scope not in SCOPES:
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="scope", code="web.bad_choice"
        )
    cited = tuple(sorted({whole_number(i, "inspection_ids") for i in inspection_ids}))
    chosen = QualityStatus(decision)
    if scope == "lot":
        return Choice(chosen, scope, (decisions.Part(),), (), cited)
    if scope == "sscc":
        codes = tuple(dict.fromkeys(code.strip() for code in sscc if code.strip()))
        if not codes:
            raise InvalidInput(N_("Tick at least one SSCC."), field="sscc", code="web.no_sscc")
        parts = tuple(checked_part(decisions.Part(sscc=code)) for code in codes)
        return Choice(chosen, scope, parts, codes, cited)
    place = whole_number(location_id, "location_id")
    try:
        amount = Decimal(quantity.strip())
    except InvalidOperation:
        raise InvalidInput(
            N_("{field} must be a number."), field="quantity", code="decision.quantity"
        ) from None
    location = uow.session.get(Location, place)
    if location is None or location.site_id != lot.site_id:
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="location_id", code="web.bad_choice"
        )
    part = checked_part(decisions.Part(quantity=amount, unit=unit.strip() or None, location_id=place))
    return Choice(chosen, scope, (part,), (), cited, location.code)


def _signing(uow: UnitOfWork, lot: Lot, choice: Choice) -> dict[str, Any]:
    product = uow.session.get_one(Product, lot.product_id)
    cited = (
        list(
            uow.session.scalars(
                select(InspectionRecord)
                .where(InspectionRecord.id.in_(choice.cited))
                .order_by(InspectionRecord.id)
            )
        )
        if choice.cited
        else []
    )
    part = choice.parts[0]
    return {
        "lot": lot.code,
        "product": product,
        "expiry_date": lot.expiry_date,
        "quality_from": lot.quality_status,
        "quality_to": choice.decision.value,
        "zone": uow.session.get_one(Site, lot.site_id).time_zone,
        "part": {
            "scope": choice.scope,
            "label": SCOPE_LABELS[choice.scope],
            "quantity": part.quantity,
            "unit": part.unit,
            "location": choice.location_code,
            "ssccs": list(choice.ssccs),
        },
        "cited": cited,
    }


def _dialog(
    request: Request,
    lot: Lot,
    choice: Choice,
    signing: dict[str, Any],
    *,
    reason: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "sign.html",
        status_code=status_code,
        active="quality",
        meaning=decisions.MEANINGS[choice.decision].value,
        action=f"/quality/lots/{lot.id}/decide",
        signing=signing,
        fields={"reason": reason, "hidden": choice.hidden()},
        back=f"/quality/lots/{lot.id}",
        error=error,
        needs_username=session is None or session.first_signed_at is None,
    )


@router.get("/quality/lots/{lot_id}/decide")
def decision_dialog(
    request: Request,
    lot_id: int,
    decision: str = "",
    scope: str = "lot",
    location_id: str = "",
    quantity: str = "",
    unit: str = "",
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    try:
        choice = _choice(
            uow,
            lot,
            decision=decision,
            scope=scope,
            location_id=location_id,
            quantity=quantity,
            unit=unit,
            sscc=request.query_params.getlist("sscc"),
            inspection_ids=request.query_params.getlist("inspection_ids"),
        )
    except LotlineError as error:
        return redirect(f"/quality/lots/{lot.id}", flash=error.render(_), kind="error")
    return _dialog(request, lot, choice, _signing(uow, lot, choice))


@router.post("/quality/lots/{lot_id}/decide")
def decide(
    request: Request,
    lot_id: int,
    decision: str = Form(default=""),
    scope: str = Form(default=""),
    location_id: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    sscc: list[str] = Form(default=[]),
    inspection_ids: list[str] = Form(default=[]),
    reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.QUALITY_DECIDE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot = visible_lot(uow, principal, lot_id, Permission.QUALITY_DECIDE)
    lot_id = lot.id
    try:
        choice = _choice(
            uow,
            lot,
            decision=decision,
            scope=scope,
            location_id=location_id,
            quantity=quantity,
            unit=unit,
            sscc=sscc,
            inspection_ids=inspection_ids,
        )
    except LotlineError as error:  # nothing was written yet
        return redirect(f"/quality/lots/{lot_id}", flash=error.render(_), kind="error")
    signing = _signing(uow, lot, choice)
    try:
        if not reason.strip():
            raise InvalidInput(N_("{field} is required."), field="reason", code="lot.reason_required")
        # One signed decision per part (an SSCC each), as over the API; the password is checked
        # for each grant. A refused first attempt is committed so that it stays on record.
        meaning = decisions.MEANINGS[choice.decision]
        grants = [
            authorize(
                request,
                uow,
                principal,
                username=username,
                password=password,
                meaning=meaning,
                record_type="lot",
                record_id=lot_id,
                keep_failure=i == 0,
            )
            for i in range(len(choice.parts))
        ]
        for part, grant in zip(choice.parts, grants, strict=True):
            decisions.decide_usage(
                uow,
                lot_id=lot_id,
                decision=choice.decision,
                reason=reason,
                principal=principal,
                signing_grant=grant,
                inspection_ids=choice.cited,
                part=part,
            )
    except LotlineError as error:
        uow.rollback()
        return _dialog(
            request,
            lot,
            choice,
            signing,
            reason=reason,
            error=error.render(_),
            status_code=STATUS_BY_KIND[error.kind],
        )
    done = (
        _("Released and signed: %(n)s decision(s).")
        if choice.decision is QualityStatus.RELEASED
        else _("Rejected and signed: %(n)s decision(s).")
    )
    return redirect(f"/quality/lots/{lot_id}", flash=done % {"n": len(choice.parts)})
