"""The signed operations on a bucket: count (signed when the adjustment is large), scrap and
return to supplier — a signing dialog first where a signature is due, then the operation."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import StockStatus
from lotline.i18n import gettext_for
from lotline.stock import disposal, operations
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize
from lotline.web.stock_pages.bucket import DONE, OPERATIONS

SIGNED = {"scrap": Meaning.SCRAP, "return": Meaning.RETURN_TO_SUPPLIER, "count": Meaning.APPROVE}


def _sign_page(
    request: Request, bucket: dict[str, Any], *, operation: str, fields: dict[str, str], **extra: Any
) -> Response:
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "stock/sign.html",
        status_code=extra.pop("status_code", 200),
        active="stock",
        meaning=SIGNED[operation].value,
        operation=operation,
        operations=OPERATIONS,
        fields=fields,
        needs_username=session is None or session.first_signed_at is None,
        **bucket,
        **extra,
    )


def signed(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    bucket: dict[str, Any],
    operation: str,
    amount: Amount,
    fields: dict[str, str],
    signing: str,
    username: str,
    password: str,
) -> Response:
    """Count, scrap, return: a signing dialog first where a signature is due, then the operation."""
    _ = gettext_for(request.state.language)
    lot, place = bucket["lot"], bucket["place"]
    source = Source(place.id, StockStatus(bucket["status"]), bucket["sscc"])
    plan = None
    if operation == "count":
        counted = Amount(amount.qty, amount.unit, amount.count, amount.weight_kg)
        plan = disposal.plan_count(uow, principal=principal, lot_id=lot.id, source=source, counted=counted)
    due = operation != "count" or (plan is not None and plan.needs_signature)
    if due and not signing:
        return _sign_page(request, bucket, operation=operation, fields=fields, plan=plan, error=None)
    grant = None
    if due:
        try:
            if operation != "count" or plan is None or plan.difference != 0:
                operations.stated_reason(fields["reason"], required=True)
            grant = authorize(
                request,
                uow,
                principal,
                username=username,
                password=password,
                meaning=SIGNED[operation],
                record_type="lot",
                record_id=lot.id,
            )
        except LotlineError as error:
            uow.rollback()
            return _sign_page(
                request,
                bucket,
                operation=operation,
                fields=fields,
                plan=plan,
                error=error.render(_),
                status_code=STATUS_BY_KIND[error.kind],
            )
    reference = fields["reference"].strip() or None
    if operation == "count":
        disposal.count(
            uow,
            principal=principal,
            lot_id=lot.id,
            source=source,
            counted=amount,
            reason=fields["reason"],
            signing_grant=grant,
        )
    else:
        dispose = disposal.scrap if operation == "scrap" else disposal.return_to_supplier
        dispose(
            uow,
            principal=principal,
            lot_id=lot.id,
            source=source,
            amount=amount,
            reason=fields["reason"],
            signing_grant=grant,
            reference=reference,
        )
    return redirect(f"/stock/locations/{place.id}", flash=_(DONE[operation]))
