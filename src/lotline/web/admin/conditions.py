"""Units of measure (read only) and storage conditions, whose limits are under change control."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.catalog import service as catalog
from lotline.domain.errors import LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.domain.units import BASE_UNITS, Dimension
from lotline.i18n import gettext_for
from lotline.models.catalog import Product, StorageCondition
from lotline.uow import UnitOfWork
from lotline.web.admin import forms
from lotline.web.admin.forms import FormValues
from lotline.web.admin.history import revisions_of_entity
from lotline.web.admin.layout import page, refused, zone_of
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

_LIMITS = ("min_temp_c", "max_temp_c", "max_humidity_pct")
_ABSOLUTE_ZERO = Decimal("-273.15")


@router.get("/admin/units")
def unit_list(
    request: Request,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    units = catalog.list_units(uow)
    base_of = {dimension.value: code for dimension, code in BASE_UNITS.items()}
    return page(
        request,
        "admin/units.html",
        section="units",
        units=units,
        base_of=base_of,
        dimensions=[d.value for d in Dimension],
    )


def condition_values(condition: StorageCondition) -> FormValues:
    values = {
        name: forms.shown(getattr(condition, name)) for name in ("code", "name_zh", "name_en", *_LIMITS)
    }
    return values


def condition_fields(values: FormValues, *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name_zh": forms.required_text(values, "name_zh"),
        "name_en": forms.required_text(values, "name_en"),
        "min_temp_c": forms.decimal(values, "min_temp_c", minimum=_ABSOLUTE_ZERO, maximum=Decimal(100)),
        "max_temp_c": forms.decimal(values, "max_temp_c", minimum=_ABSOLUTE_ZERO, maximum=Decimal(100)),
        "max_humidity_pct": forms.decimal(
            values, "max_humidity_pct", minimum=Decimal(0), maximum=Decimal(100)
        ),
    }
    if creating:
        fields["code"] = forms.code(values, "code", max_length=32)
    return fields


def _editor(uow: UnitOfWork, request: Request, condition: StorageCondition | None) -> dict[str, Any]:
    context: dict[str, Any] = {"condition": condition, "section": "storage"}
    if condition is not None:
        versions = catalog.history(uow, entity_type="storage_condition", entity_id=condition.id)
        context["revisions"] = revisions_of_entity(versions)
        context["zone"] = zone_of(request)
        context["used_by"] = list(
            uow.session.scalars(
                select(Product)
                .where(Product.storage_condition_id == condition.id)
                .order_by(Product.code)
                .limit(50)
            )
        )
    return context


@router.get("/admin/storage-conditions")
def condition_list(
    request: Request,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    conditions = list(uow.session.scalars(select(StorageCondition).order_by(StorageCondition.code)))
    return page(request, "admin/conditions.html", section="storage", conditions=conditions)


@router.get("/admin/storage-conditions/new")
def new_condition(
    request: Request,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return page(request, "admin/condition.html", values={}, **_editor(uow, request, None))


@router.post("/admin/storage-conditions")
def create_condition(
    request: Request,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        condition = catalog.create_storage_condition(uow, **condition_fields(values, creating=True))
    except LotlineError as error:
        return refused(
            request,
            uow,
            error,
            "admin/condition.html",
            lambda: {"values": values, **_editor(uow, request, None)},
        )
    return redirect(
        f"/admin/storage-conditions/{condition.id}",
        flash=_("Storage condition {code} saved.").format(code=condition.code),
    )


@router.get("/admin/storage-conditions/{condition_id}")
def condition_page(
    request: Request,
    condition_id: int,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    condition = catalog.get_storage_condition(uow, storage_condition_id=condition_id)
    return page(
        request,
        "admin/condition.html",
        values=condition_values(condition),
        **_editor(uow, request, condition),
    )


@router.post("/admin/storage-conditions/{condition_id}")
def save_condition(
    request: Request,
    condition_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    condition = catalog.get_storage_condition(uow, storage_condition_id=condition_id)
    condition_id, code = condition.id, condition.code
    try:
        fields = condition_fields(values, creating=False)
        reason = forms.text(values, "reason", max_length=2000, multiline=True)
        catalog.update_storage_condition(
            uow, storage_condition_id=condition_id, changes=fields, reason=reason
        )
    except LotlineError as error:

        def again() -> dict[str, Any]:
            stored = catalog.get_storage_condition(uow, storage_condition_id=condition_id)
            return {"values": values | {"code": code}, **_editor(uow, request, stored)}

        return refused(request, uow, error, "admin/condition.html", again)
    return redirect(
        f"/admin/storage-conditions/{condition_id}",
        flash=_("Storage condition {code} saved.").format(code=code),
    )
