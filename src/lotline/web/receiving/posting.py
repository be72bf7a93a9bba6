"""Posting a receipt, with the signed shelf-life override for a line short of its minimum."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.i18n import gettext_for
from lotline.inbound import service
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int
from lotline.web.receiving.draft import line_input, line_of
from lotline.web.shell import redirect
from lotline.web.signing import authorize


def post(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    site_id: int | None,
    page: dict[str, Any],
    override_reason: str,
    username: str,
    password: str,
) -> Response:
    """Post the draft as a receipt; a short line is signed over (by a permitted user) and posted again."""
    _ = gettext_for(request.state.language)
    header, draft = page["header"], page["draft"]
    if site_id is None:
        raise InvalidInput(N_("{field} is required."), field="location_id", code="receipt.location_required")
    supplier = optional_int(header["supplier_id"], "supplier_id")
    if supplier is None:
        raise InvalidInput(N_("{field} is required."), field="supplier_id", code="receipt.supplier_required")
    lines = []
    # FSMA 204: where the supplier's lot codes were assigned, as its documents say (every line).
    tlc_source = (header.get("tlc_source") or "").strip() or None
    for number, entered in enumerate(draft):
        try:
            lines.append(replace(line_input(entered), tlc_source=tlc_source))
        except LotlineError as error:
            error.field = f"lines.{number}.{error.field}"
            raise
    receipt = None
    for _attempt in range(len(lines) + 1):
        try:
            receipt = service.create_receipt(
                uow,
                site_id=site_id,
                supplier_id=supplier,
                location_id=int(header["location_id"]),
                purchase_order=header["purchase_order"].strip() or None,
                delivery_note=header["delivery_note"].strip() or None,
                lines=lines,
                principal=principal,
            )
            break
        except service.ShortShelfLife as short:
            short_line = line_of(short)
            signing = bool(override_reason.strip() and password)
            if not signing or short_line is None or not principal.can(service.OVERRIDE_PERMISSION, site_id):
                raise
            # Nothing was written: the user signs the override for this line, and it is posted again.
            grant = authorize(
                request,
                uow,
                principal,
                username=username,
                password=password,
                meaning=Meaning.OVERRIDE,
                record_type=service.OVERRIDE_RECORD_TYPE,
                record_id=service.override_record_id(
                    int(str(short.params["product_id"])), str(short.params["lot"])
                ),
            )
            lines[short_line] = replace(
                lines[short_line], override_signing_grant=grant, override_reason=override_reason.strip()
            )
    if receipt is None:  # pragma: no cover - every line was signed and it still came back short
        raise InvalidInput(N_("{field} is required."), field="override_reason", code="receipt.override")
    return redirect(
        f"/receipts/{receipt.id}",
        flash=_("Receipt %(number)s posted: the goods are in quarantine.") % {"number": receipt.number},
    )
