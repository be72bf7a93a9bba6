"""The receiving form: a header, draft lines added by scan or typed, and the buttons that post it.

Every scan, added or removed line re-renders the form with the draft kept in hidden fields.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.inbound import service
from lotline.models.catalog import Location, Partner, Product
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int, readable_sites
from lotline.web.receiving.draft import (
    MAX_DRAFT_LINES,
    decoded,
    draft_product,
    line_of,
    optional_int_or_none,
    scanned,
    typed_line,
)
from lotline.web.receiving.posting import post
from lotline.web.routing import WebRoute
from lotline.web.shell import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _form_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    header: dict[str, str],
    draft: list[dict[str, str]],
    typed: dict[str, str] | None = None,
    override_reason: str = "",
    error: str | None = None,
    error_line: int | None = None,
    short: bool = False,
    status_code: int = 200,
) -> Response:
    site_rows = readable_sites(uow, principal, Permission.STOCK_MOVE)
    locations = list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id.in_([s.id for s in site_rows]), Location.active.is_(True))
            .order_by(Location.site_id, Location.code)
        )
    )
    suppliers = list(
        uow.session.scalars(
            select(Partner)
            .where(Partner.is_supplier.is_(True), Partner.active.is_(True))
            .order_by(Partner.code)
        )
    )
    products = list(
        uow.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code))
    )
    product_by_id = {p.id: p for p in products}
    location_id = optional_int_or_none(header.get("location_id"))
    site_of_location = next((loc.site_id for loc in locations if loc.id == location_id), None)
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "receiving/new.html",
        status_code=status_code,
        active="receiving",
        header=header,
        draft=[
            {
                "fields": line,
                "encoded": json.dumps(line, sort_keys=True),
                "product": draft_product(line, product_by_id),
            }
            for line in draft
        ],
        typed=typed or {},
        override_reason=override_reason,
        error=error,
        error_line=error_line,
        short=short,
        can_override=short
        and site_of_location is not None
        and principal.can(service.OVERRIDE_PERMISSION, site_of_location),
        needs_username=session is None or session.first_signed_at is None,
        site_by_id={s.id: s for s in site_rows},
        locations=locations,
        suppliers=suppliers,
        products=products,
    )


def _site_of(uow: UnitOfWork, location_id: int | None) -> int | None:
    if location_id is None:
        return None
    location = uow.session.get(Location, location_id)
    return location.site_id if location is not None else None


@router.get("/receipts/new")
def receipt_form(
    request: Request,
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return _form_page(request, uow, principal, header={}, draft=[])


@router.post("/receipts/new")
def receipt_submit(
    request: Request,
    action: str = Form(default="scan"),
    product_id: str = Form(default=""),
    gtin: str = Form(default=""),
    supplier_lot_code: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    count: str = Form(default=""),
    net_weight_kg: str = Form(default=""),
    production_date: str = Form(default=""),
    supplier_expiry: str = Form(default=""),
    sscc: str = Form(default=""),
    location_id: str = Form(default=""),
    supplier_id: str = Form(default=""),
    purchase_order: str = Form(default=""),
    delivery_note: str = Form(default=""),
    tlc_source: str = Form(default=""),
    scan: str = Form(default=""),
    line: list[str] = Form(default=[]),
    override_reason: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    header = {
        "location_id": location_id,
        "supplier_id": supplier_id,
        "purchase_order": purchase_order,
        "delivery_note": delivery_note,
        "tlc_source": tlc_source,
    }
    draft = decoded(line)
    typed = {
        "product_id": product_id,
        "gtin": gtin,
        "supplier_lot_code": supplier_lot_code,
        "quantity": quantity,
        "unit": unit,
        "count": count,
        "net_weight_kg": net_weight_kg,
        "production_date": production_date,
        "supplier_expiry": supplier_expiry,
        "sscc": sscc,
    }
    page: dict[str, Any] = {
        "header": header,
        "draft": draft,
        "typed": typed,
        "override_reason": override_reason,
    }
    try:
        site_id = _site_of(uow, optional_int(location_id, "location_id"))
        if action.startswith("remove:"):
            index = optional_int(action.removeprefix("remove:"), "action")
            page["draft"] = [d for number, d in enumerate(draft) if number != index]
        elif action == "add":
            page["draft"] = [*draft, typed_line(typed)]
            page["typed"] = {}
        elif action == "post":
            return post(
                request,
                uow,
                principal,
                site_id=site_id,
                page=page,
                override_reason=override_reason,
                username=username,
                password=password,
            )
        elif scan.strip():
            page["draft"] = [*draft, scanned(uow, principal, site_id, scan)]
        elif any(value.strip() for value in typed.values()):  # Enter in a typed line adds it
            page["draft"] = [*draft, typed_line(typed)]
            page["typed"] = {}
    except LotlineError as error:
        uow.rollback()
        return _form_page(
            request,
            uow,
            principal,
            status_code=STATUS_BY_KIND[error.kind],
            error=error.render(_),
            error_line=line_of(error),
            short=isinstance(error, service.ShortShelfLife)
            or (action == "post" and bool(override_reason.strip())),
            **page,
        )
    if len(page["draft"]) > MAX_DRAFT_LINES:
        page["draft"] = page["draft"][:MAX_DRAFT_LINES]
    return _form_page(request, uow, principal, **page)
