"""Lot types: the coding rule with a preview of the next code, and the custom fields lots carry,
edited as rows (turned into a JSON Schema here) or as the JSON Schema itself."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.catalog import service as catalog
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.expiry import local_today
from lotline.domain.lotcode import parse_template
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import LotType
from lotline.models.lot import LotSequence
from lotline.models.site import Site
from lotline.uow import UnitOfWork
from lotline.web.admin import forms
from lotline.web.admin.forms import FormValues
from lotline.web.admin.history import revisions_of_entity
from lotline.web.admin.layout import page, refused, zone_of
from lotline.web.admin.schema_builder import FIELD_TYPES, FieldRow, build_schema, rows_from_schema
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MAX_ROWS = 60
BLANK_ROWS = 3
_ROW = re.compile(r"fields\.(\d{1,3})\.")
_ROW_CELLS = ("name", "title", "type", "enum", "minimum", "maximum", "pattern")


@dataclass(frozen=True)
class CodePreview:
    """The code the next lot of a lot type would get at a site today, and why."""

    code: str
    sequence: int
    scope: str
    today: date


def next_code(
    uow: UnitOfWork,
    *,
    lot_type: LotType,
    site: Site,
    template_text: str,
    product: str | None,
    line: str | None,
) -> CodePreview:
    """The code the next lot registered at ``site`` today would get; no number is used up.

    The same pure steps as registration (template, scope, render) with the scope's counter read,
    not advanced: a lot registered in the meantime takes this number first.
    """
    template = parse_template(template_text)
    today = local_today(uow.now(), site.time_zone)
    scope = template.sequence_scope(lot_type=lot_type.code, site=site.code, on=today)
    last = uow.session.scalar(select(LotSequence.last_value).where(LotSequence.scope == scope))
    sequence = (last or 0) + 1
    code = template.render(site=site.code, on=today, seq=sequence, product=product, line=line)
    return CodePreview(code=code, sequence=sequence, scope=scope, today=today)


def rows_of(values: FormValues) -> list[FieldRow]:
    """The editor's rows as typed, in order; a row is known by any cell sent for it."""
    indices = sorted({int(m.group(1)) for key in values if (m := _ROW.match(key))})
    if indices and indices[-1] >= MAX_ROWS:
        raise InvalidInput(
            N_("A lot type has at most {count} custom fields."),
            field="fields",
            code="web.bad_field",
            count=MAX_ROWS,
        )
    return [
        FieldRow(
            name=values.get(f"fields.{i}.name", ""),
            title=values.get(f"fields.{i}.title", ""),
            field_type=values.get(f"fields.{i}.type", "string"),
            required=f"fields.{i}.required" in values,
            enum_values=values.get(f"fields.{i}.enum", ""),
            minimum=values.get(f"fields.{i}.minimum", ""),
            maximum=values.get(f"fields.{i}.maximum", ""),
            pattern=values.get(f"fields.{i}.pattern", ""),
        )
        for i in range(indices[-1] + 1 if indices else 0)
    ]


def custom_schema(values: FormValues) -> dict[str, Any]:
    """The schema the form describes: from the rows, or the JSON typed in the advanced editor."""
    if values.get("schema_mode") == "json":
        raw = values.get("custom_schema", "").strip() or '{"type": "object"}'
        try:
            schema = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(
                N_("{field} is not valid JSON: {problem}"),
                field="custom_schema",
                code="web.bad_json",
                problem=exc,
            ) from None
        if not isinstance(schema, dict):
            raise InvalidInput(field="custom_schema", code="web.bad_json")
        return schema
    return build_schema(rows_of(values), closed=forms.flag(values, "closed"))


def lot_type_fields(values: FormValues, *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name_zh": forms.required_text(values, "name_zh"),
        "name_en": forms.required_text(values, "name_en"),
        "code_template": forms.required_text(values, "code_template", max_length=100),
        "external_code_pattern": forms.text(values, "external_code_pattern"),
        "custom_schema": custom_schema(values),
    }
    if creating:
        fields["code"] = forms.code(values, "code", max_length=32)
    return fields


def lot_type_values(lot_type: LotType) -> FormValues:
    values = {
        name: forms.shown(getattr(lot_type, name)) for name in ("code", "name_zh", "name_en", "code_template")
    }
    values["external_code_pattern"] = lot_type.external_code_pattern or ""
    values["custom_schema"] = json.dumps(lot_type.custom_schema, ensure_ascii=False, indent=2)
    read = rows_from_schema(lot_type.custom_schema)
    values["schema_mode"] = "fields" if read is not None else "json"
    if read is not None and read[1]:
        values["closed"] = "on"
    return values


def _rows_shown(values: FormValues, stored: dict[str, Any] | None) -> list[FieldRow]:
    """The rows the editor shows: as typed after a refusal, else as stored, and some blank ones."""
    if any(_ROW.match(key) for key in values):
        try:
            rows = rows_of(values)
        except InvalidInput:
            rows = []
    else:
        read = rows_from_schema(stored) if stored is not None else None
        rows = read[0] if read is not None else []
    rows = [row for row in rows if not row.is_blank]
    return rows + [FieldRow() for _ in range(BLANK_ROWS)]


def _editor(
    uow: UnitOfWork, request: Request, principal: Principal, lot_type: LotType | None, values: FormValues
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "lot_type": lot_type,
        "section": "lot_types",
        "values": values,
        "rows": _rows_shown(values, lot_type.custom_schema if lot_type is not None else None),
        "field_types": FIELD_TYPES,
        "representable": lot_type is None or rows_from_schema(lot_type.custom_schema) is not None,
    }
    if lot_type is not None:
        context["revisions"] = revisions_of_entity(
            catalog.history(uow, entity_type="lot_type", entity_id=lot_type.id)
        )
        context["zone"] = zone_of(request)
        allowed = principal.site_ids_with(Permission.MASTER_WRITE)
        query = select(Site).where(Site.active.is_(True)).order_by(Site.code)
        if allowed is not None:
            query = query.where(Site.id.in_(allowed))
        context["sites"] = list(uow.session.scalars(query))
    return context


@router.get("/admin/lot-types")
def lot_type_list(
    request: Request,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    lot_types = list(uow.session.scalars(select(LotType).order_by(LotType.code)))
    return page(request, "admin/lot_types.html", section="lot_types", lot_types=lot_types)


@router.get("/admin/lot-types/new")
def new_lot_type(
    request: Request,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    values = {"code_template": "{site}{yy}{doy:03}{seq:04}", "schema_mode": "fields", "closed": "on"}
    values["custom_schema"] = '{"type": "object"}'
    return page(request, "admin/lot_type.html", **_editor(uow, request, principal, None, values))


@router.post("/admin/lot-types")
def create_lot_type(
    request: Request,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        lot_type = catalog.create_lot_type(uow, **lot_type_fields(values, creating=True))
    except LotlineError as error:
        return refused(
            request, uow, error, "admin/lot_type.html", lambda: _editor(uow, request, principal, None, values)
        )
    return redirect(
        f"/admin/lot-types/{lot_type.id}", flash=_("Lot type {code} saved.").format(code=lot_type.code)
    )


@router.get("/admin/lot-types/{lot_type_id}")
def lot_type_page(
    request: Request,
    lot_type_id: int,
    preview_site: str | None = None,
    preview_template: str | None = None,
    preview_product: str | None = None,
    preview_line: str | None = None,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot_type = catalog.get_lot_type(uow, lot_type_id=lot_type_id)
    context = _editor(uow, request, principal, lot_type, lot_type_values(lot_type))
    asked = {
        "site": preview_site or "",
        "template": preview_template if preview_template is not None else lot_type.code_template,
        "product": (preview_product or "").strip(),
        "line": (preview_line or "").strip(),
    }
    preview: CodePreview | None = None
    preview_error: str | None = None
    if preview_site:
        site = next((s for s in context["sites"] if str(s.id) == preview_site), None)
        try:
            if site is None:
                raise NotFound(entity=N_("site"), key=preview_site, field="preview_site")
            preview = next_code(
                uow,
                lot_type=lot_type,
                site=site,
                template_text=asked["template"],
                product=asked["product"] or None,
                line=asked["line"] or None,
            )
        except LotlineError as error:
            preview_error = error.render(_)
    return page(
        request, "admin/lot_type.html", preview=preview, preview_error=preview_error, asked=asked, **context
    )


@router.post("/admin/lot-types/{lot_type_id}")
def save_lot_type(
    request: Request,
    lot_type_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    lot_type = catalog.get_lot_type(uow, lot_type_id=lot_type_id)
    lot_type_id, code = lot_type.id, lot_type.code
    try:
        fields = lot_type_fields(values, creating=False)
        reason = forms.text(values, "reason", max_length=2000, multiline=True)
        catalog.update_lot_type(uow, lot_type_id=lot_type_id, changes=fields, reason=reason)
    except LotlineError as error:

        def again() -> dict[str, Any]:
            stored = catalog.get_lot_type(uow, lot_type_id=lot_type_id)
            context = _editor(uow, request, principal, stored, values | {"code": code})
            return {
                **context,
                "asked": {"site": "", "template": stored.code_template, "product": "", "line": ""},
            }

        return refused(request, uow, error, "admin/lot_type.html", again)
    return redirect(f"/admin/lot-types/{lot_type_id}", flash=_("Lot type {code} saved.").format(code=code))
