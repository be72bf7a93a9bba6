"""Lot types: a kind of lot with its coding rule, external-code pattern and custom-field schema
(under change control), and the preview of the codes its template gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import select

from lotline.audit.service import record_created, snapshot
from lotline.catalog import external_ids
from lotline.catalog.revisions import AUDIT_EXCLUDE, checked_changes, keep_version, revise
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.domain.lotcode import compile_code_pattern, parse_template
from lotline.models.catalog import LotType
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

CODING_FIELDS = ("code_template", "external_code_pattern", "custom_schema")
# A lot type's code is part of its lot-code sequence scope: an update may repeat it, never change it.
LOT_TYPE_FIXED = ("code",)
# Template placeholders → the preview's request fields, so a refusal names what the caller sent.
_PREVIEW_FIELDS = {"site": "site_code", "product": "product_code", "line": "line"}


@dataclass(frozen=True)
class CodePreview:
    code: str
    code_template: str
    sequence_scope: str


def _check_references(node: object, root: dict[str, Any]) -> None:
    """Every ``$ref`` must point inside the schema and resolve: a lot type must never fail later."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: object = root
            if not ref.startswith("#"):
                raise SchemaError(f"only references inside the schema are allowed, not {ref}")
            for part in [p for p in ref[1:].split("/") if p]:
                key = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and key in target:
                    target = target[key]
                elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                    target = target[int(key)]
                else:
                    raise SchemaError(f"the reference {ref} does not resolve")
        for value in node.values():
            _check_references(value, root)
    elif isinstance(node, list):
        for value in node:
            _check_references(value, root)


def check_custom_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A lot type's custom-field schema must itself be a valid JSON Schema (2020-12)."""
    try:
        Draft202012Validator.check_schema(dict(schema))
        _check_references(dict(schema), dict(schema))
    except SchemaError as exc:
        raise InvalidInput(
            N_("The custom-field schema is not a valid JSON Schema: {problem}"),
            field="custom_schema",
            code="lot_type.bad_schema",
            problem=exc.message,
        ) from exc
    return dict(schema)


def validate_custom_fields(lot_type: LotType, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Check a lot's custom fields against its lot type's schema; name the first failing field."""
    validator = Draft202012Validator(lot_type.custom_schema)
    for error in sorted(validator.iter_errors(dict(attributes)), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.absolute_path)
        raise InvalidInput(
            N_("Custom field {path} is not valid: {problem}"),
            field=f"attributes.{path}" if path else "attributes",
            code="lot.bad_custom_field",
            path=path or "-",
            problem=error.message,
        )
    return dict(attributes)


def create_lot_type(
    uow: UnitOfWork,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    code_template: str,
    external_code_pattern: str | None = None,
    custom_schema: Mapping[str, Any] | None = None,
) -> LotType:
    """A kind of lot: its coding rule, external-code pattern and custom fields."""
    if uow.session.execute(select(LotType.id).where(LotType.code == code)).first():
        raise AlreadyExists(entity=N_("lot type"), key=code, field="code")
    parse_template(code_template)
    if external_code_pattern:
        compile_code_pattern(external_code_pattern, field="external_code_pattern")
    schema = check_custom_schema(custom_schema or {"type": "object"})
    now = uow.now()
    lot_type = LotType(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        code_template=code_template,
        external_code_pattern=external_code_pattern,
        custom_schema=schema,
        version=1,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(lot_type)
    uow.session.flush()
    record_created(uow, entity_type="lot_type", entity=lot_type, entity_id=lot_type.id, exclude=AUDIT_EXCLUDE)
    keep_version(
        uow,
        entity_type="lot_type",
        entity_id=lot_type.id,
        aspect="coding",
        version=1,
        content=snapshot(lot_type, CODING_FIELDS),
        reason=None,
    )
    return lot_type


def get_lot_type(uow: UnitOfWork, *, lot_type_id: int) -> LotType:
    lot_type = uow.session.get(LotType, lot_type_id)
    if lot_type is None:
        raise NotFound(entity=N_("lot type"), key=lot_type_id, field="lot_type_id")
    return lot_type


def list_lot_types(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[LotType]:
    """Lot types in the order they were created."""
    return keyset_page(uow.session, select(LotType), LotType.id, cursor=cursor, limit=limit)


def update_lot_type(
    uow: UnitOfWork, *, lot_type_id: int, changes: Mapping[str, Any], reason: str | None
) -> LotType:
    """Change a lot type; a new coding rule or custom-field schema needs a reason and gets a new version."""
    lot_type = get_lot_type(uow, lot_type_id=lot_type_id)
    values = checked_changes(lot_type, changes, fixed=LOT_TYPE_FIXED)
    if "code_template" in values:
        parse_template(values["code_template"])
    if values.get("external_code_pattern"):
        compile_code_pattern(values["external_code_pattern"], field="external_code_pattern")
    if "custom_schema" in values:
        values["custom_schema"] = check_custom_schema(values["custom_schema"])
    revise(
        uow,
        lot_type,
        entity_type="lot_type",
        aspect="coding",
        governed=CODING_FIELDS,
        version_attr="version",
        values=values,
        reason=reason,
    )
    return lot_type


def preview_lot_code(
    uow: UnitOfWork,
    *,
    lot_type_id: int,
    site_code: str,
    production_date: date,
    product_code: str | None = None,
    line: str | None = None,
    code_template: str | None = None,
) -> CodePreview:
    """The code the first lot of a period would get, from the lot type's template or a draft; no
    sequence number is consumed."""
    lot_type = get_lot_type(uow, lot_type_id=lot_type_id)
    template = parse_template(code_template if code_template is not None else lot_type.code_template)
    try:
        code = template.render(site=site_code, on=production_date, seq=1, product=product_code, line=line)
    except InvalidInput as exc:
        exc.field = _PREVIEW_FIELDS.get(exc.field or "", exc.field)
        raise
    scope = template.sequence_scope(lot_type=lot_type.code, site=site_code, on=production_date)
    return CodePreview(code=code, code_template=template.template, sequence_scope=scope)


def upsert_lot_type(
    uow: UnitOfWork, *, system: str, key: str, fields: Mapping[str, Any], reason: str | None = None
) -> tuple[LotType, bool]:
    """Update the lot type (system, key) names, or create it; True when created."""

    def create() -> LotType:
        return create_lot_type(uow, **fields)

    def update(lot_type_id: int) -> LotType:
        return update_lot_type(uow, lot_type_id=lot_type_id, changes=fields, reason=reason)

    return external_ids.upsert(
        uow, system=system, entity_type="lot_type", key=key, create=create, update=update
    )
