"""``lotline product|lot-type|storage-condition|unit …``: read the master data, upsert a product."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table
from rich.text import Text
from sqlalchemy import or_, select

from lotline.audit.service import snapshot
from lotline.catalog import service
from lotline.catalog.schemas import (
    LotTypeRead,
    ProductRead,
    ProductUpsert,
    StorageConditionRead,
    UnitRead,
)
from lotline.clidisplay import (
    JSON_OPTION,
    LIMIT_OPTION,
    cell,
    duration,
    external_ids_json,
    external_ids_of,
    history_json,
    minimum_shelf_life,
    note_more,
    number,
    print_attributes,
    print_external_ids,
    print_history,
    print_json,
    shelf_life,
    temperature_band,
)
from lotline.clikit import cli_actor, console, open_db, reports_errors, seal, t
from lotline.db import lock_for_transaction
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.units import Dimension, convert
from lotline.domain.units import Unit as UnitOfMeasure
from lotline.models.catalog import (
    LotType,
    Product,
    ProductPackaging,
    StorageCondition,
    Unit,
)
from lotline.uow import UnitOfWork

product_app = typer.Typer(help="Products: list, show, upsert from a JSON file", no_args_is_help=True)
lot_type_app = typer.Typer(help="Lot types: list, show", no_args_is_help=True)
storage_condition_app = typer.Typer(help="Storage conditions", no_args_is_help=True)
unit_app = typer.Typer(help="Units of measure", no_args_is_help=True)

M = TypeVar("M", bound=BaseModel)
_REQUIRED = N_("{field} is required.")
_UNKNOWN_FIELD = N_("{field} is not a known field.")


# --- products -----------------------------------------------------------------------------------


def _product_by_code(uow: UnitOfWork, code: str) -> Product:
    product = uow.session.execute(select(Product).where(Product.code == code)).scalar_one_or_none()
    if product is None:
        raise NotFound(entity=N_("product"), key=code, field="code")
    return product


@product_app.command("list")
@reports_errors
def list_products(
    category: str | None = typer.Option(None, "--category"),
    search: str | None = typer.Option(None, "--search", help="Part of the code, a name or the GTIN"),
    active: bool | None = typer.Option(None, "--active/--inactive"),
    limit: int = LIMIT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Products by code, with their storage condition, shelf life and lot type."""
    query = (
        select(Product, StorageCondition.code, LotType.code)
        .join(LotType, LotType.id == Product.lot_type_id)
        .outerjoin(StorageCondition, StorageCondition.id == Product.storage_condition_id)
        .order_by(Product.code)
        .limit(limit + 1)
    )
    if category is not None:
        query = query.where(Product.category == category)
    if active is not None:
        query = query.where(Product.active.is_(active))
    if search and search.strip():
        term = search.strip()
        query = query.where(
            or_(
                *(
                    column.icontains(term, autoescape=True)
                    for column in (Product.code, Product.name_zh, Product.name_en)
                ),
                Product.gtin.contains(term, autoescape=True),
            )
        )
    with open_db().transaction(read_only=True) as uow:
        rows = list(uow.session.execute(query).tuples())
        shown = rows[:limit]
        if as_json:
            print_json(
                [
                    ProductRead.model_validate(product).model_dump(mode="json")
                    | {"storage_condition_code": condition, "lot_type_code": lot_type}
                    for product, condition, lot_type in shown
                ]
            )
        else:
            table = Table(
                t("code"),
                "GTIN",
                t("name (zh)"),
                t("name (en)"),
                t("catch weight"),
                t("storage"),
                t("shelf life"),
                t("lot type"),
                title=t("products"),
            )
            for product, condition, lot_type in shown:
                table.add_row(
                    *map(cell, (product.code, product.gtin, product.name_zh, product.name_en)),
                    cell(product.catch_weight),
                    cell(condition),
                    cell(shelf_life(product)),
                    cell(lot_type),
                )
            console.print(table)
    if len(rows) > limit:
        note_more(limit)


def _conversions(uow: UnitOfWork, base: Unit) -> list[tuple[str, Decimal]]:
    """How many of the base unit one of each other unit of its dimension is, exactly."""
    others = uow.session.execute(
        select(Unit).where(Unit.dimension == base.dimension, Unit.code != base.code).order_by(Unit.to_base)
    ).scalars()
    target = UnitOfMeasure(base.code, Dimension(base.dimension), base.to_base)
    found = []
    for other in others:
        try:
            source = UnitOfMeasure(other.code, Dimension(other.dimension), other.to_base)
            found.append((other.code, convert(Decimal(1), source, target)))
        except (InvalidInput, ValueError):
            continue  # no exact factor (or a unit the domain does not know): nothing to show
    return found


@product_app.command("show")
@reports_errors
def show_product(code: str, as_json: bool = JSON_OPTION) -> None:
    """One product: every attribute, units and packaging, external ids and change history."""
    with open_db().transaction(read_only=True) as uow:
        product = _product_by_code(uow, code)
        condition = (
            service.get_storage_condition(uow, storage_condition_id=product.storage_condition_id)
            if product.storage_condition_id is not None
            else None
        )
        lot_type = service.get_lot_type(uow, lot_type_id=product.lot_type_id)
        base = uow.session.get(Unit, product.base_unit)
        conversions = _conversions(uow, base) if base is not None else []
        packaging = list(
            uow.session.execute(
                select(ProductPackaging)
                .where(ProductPackaging.product_id == product.id)
                .order_by(ProductPackaging.base_per_unit)
            ).scalars()
        )
        linked = external_ids_of(uow, entity_type="product", entity_id=product.id)
        versions = service.history(uow, entity_type="product", entity_id=product.id)
        if as_json:
            print_json(
                ProductRead.model_validate(product).model_dump(mode="json")
                | {
                    "storage_condition_code": condition.code if condition else None,
                    "lot_type_code": lot_type.code,
                    "unit_conversions": [
                        {"unit": unit, "base_unit": product.base_unit, "factor": format(factor, "f")}
                        for unit, factor in conversions
                    ],
                    "packaging": [
                        {"code": level.code, "base_per_unit": str(level.base_per_unit), "gtin": level.gtin}
                        for level in packaging
                    ],
                    "external_ids": external_ids_json(linked),
                    "history": history_json(versions),
                }
            )
            return
        print_attributes(
            t("product {code}", code=product.code),
            [
                (t("code"), product.code),
                ("GTIN", product.gtin),
                (t("GS1 company prefix length"), product.gs1_company_prefix_length),
                (t("name (zh)"), product.name_zh),
                (t("name (en)"), product.name_en),
                (t("category"), product.category),
                (
                    t("base unit"),
                    f"{base.code} {base.name_en} / {base.name_zh}" if base else product.base_unit,
                ),
                (t("catch weight"), product.catch_weight),
                (
                    t("storage condition"),
                    f"{condition.code} ({temperature_band(condition)})" if condition else None,
                ),
                (t("lot type"), f"{lot_type.code} {lot_type.name_en} / {lot_type.name_zh}"),
                (t("shelf life"), shelf_life(product)),
                (t("shelf-life rule version"), product.shelf_life_version),
                (
                    t("retest interval"),
                    duration(product.retest_days, "DAYS") if product.retest_days else None,
                ),
                (t("expiry rounded to month end"), product.round_to_month_end),
                (t("supplier's expiry date wins"), product.supplier_date_wins),
                (
                    t("minimum shelf life at receipt"),
                    minimum_shelf_life(product.min_receipt_days, product.min_receipt_percent),
                ),
                (
                    t("minimum shelf life at shipment"),
                    minimum_shelf_life(product.min_ship_days, product.min_ship_percent),
                ),
                (t("reuses the supplier's lot code"), product.reuse_supplier_lot),
                (t("produced lots capped by their earliest input"), product.expiry_capped_by_inputs),
                (t("a repack keeps the lot"), product.repack_keeps_lot),
                (t("active"), product.active),
                (t("created"), product.created_at),
                (t("updated"), product.updated_at),
            ],
        )
        if conversions or packaging:
            table = Table(t("unit"), t("equals"), "GTIN", title=t("units and packaging"))
            for unit, factor in conversions:
                table.add_row(cell(f"1 {unit}"), cell(f"{number(factor)} {product.base_unit}"), cell(None))
            for level in packaging:
                table.add_row(
                    cell(f"1 {level.code}"),
                    cell(f"{number(level.base_per_unit)} {product.base_unit}"),
                    cell(level.gtin),
                )
            console.print(table)
        print_external_ids(linked)
        print_history(versions)


def _read_json(path: Path) -> Any:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not a number")

    try:
        # Decimals stay exact: 0.1 must not arrive as the float 0.1000000000000000055….
        return json.loads(
            path.read_text(encoding="utf-8"), parse_float=Decimal, parse_constant=refuse_constant
        )
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            N_("{path} cannot be read as JSON: {problem}"),
            field="file",
            code="cli.bad_file",
            path=str(path),
            problem=exc,
        ) from exc


def validated(schema: type[M], data: object) -> M:
    """``data`` checked by the API's own request schema; every problem names its field."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            field = ".".join(str(part) for part in item["loc"]) or "file"
            template = {"missing": _REQUIRED, "extra_forbidden": _UNKNOWN_FIELD}.get(item["type"])
            problems.append((field, t(template, field=field) if template else f"{field}: {item['msg']}"))
        raise InvalidInput(
            N_("The file is not valid:{problems}"),
            field=problems[0][0],
            code="validation_error",
            problems="".join(f"\n  {message}" for _field, message in problems),
        ) from None


@product_app.command("upsert")
@reports_errors
def upsert_product(
    file: Path = typer.Option(..., "--file", exists=True, dir_okay=False, help="The API's product body"),
    reason: str | None = typer.Option(None, "--reason", help="Why; required to change a GMP field"),
) -> None:
    """Create the product the file's code names, or update it (fields left out are kept)."""
    data = _read_json(file)
    if reason is not None and isinstance(data, dict):
        data["reason"] = reason
    body = validated(ProductUpsert, data)
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        # Two operators upserting one new code queue here; the later one then updates.
        lock_for_transaction(uow.session, f"product:code:{body.code}")
        existing = uow.session.execute(select(Product).where(Product.code == body.code)).scalar_one_or_none()
        if existing is None:
            product = service.add_product(uow, **body.changes())
            message = t("product {code} created (id {id})", code=product.code, id=product.id)
        else:
            before = snapshot(existing)
            product = service.revise_product(
                uow, product_id=existing.id, changes=body.changes(), reason=body.reason
            )
            message = (
                t(
                    "product {code} updated; shelf-life rule version {version}",
                    code=product.code,
                    version=product.shelf_life_version,
                )
                if snapshot(product) != before
                else t("product {code} unchanged", code=product.code)
            )
    seal(db)
    console.print(Text(message))


# --- lot types, storage conditions, units -------------------------------------------------------


@lot_type_app.command("list")
@reports_errors
def list_lot_types(limit: int = LIMIT_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Lot types in the order they were created, with their coding rule."""
    with open_db().transaction(read_only=True) as uow:
        page = service.list_lot_types(uow, cursor=None, limit=limit)
        if as_json:
            print_json([LotTypeRead.model_validate(row).model_dump(mode="json") for row in page.items])
        else:
            table = Table(
                t("code"),
                t("name (zh)"),
                t("name (en)"),
                t("code template"),
                t("external code pattern"),
                t("version"),
                title=t("lot types"),
            )
            for row in page.items:
                table.add_row(
                    *map(cell, (row.code, row.name_zh, row.name_en, row.code_template)),
                    cell(row.external_code_pattern),
                    cell(row.version),
                )
            console.print(table)
    if page.next_cursor:
        note_more(limit)


@lot_type_app.command("show")
@reports_errors
def show_lot_type(code: str, as_json: bool = JSON_OPTION) -> None:
    """One lot type: coding rule, custom-field schema, external ids and change history."""
    with open_db().transaction(read_only=True) as uow:
        lot_type = uow.session.execute(select(LotType).where(LotType.code == code)).scalar_one_or_none()
        if lot_type is None:
            raise NotFound(entity=N_("lot type"), key=code, field="code")
        linked = external_ids_of(uow, entity_type="lot_type", entity_id=lot_type.id)
        versions = service.history(uow, entity_type="lot_type", entity_id=lot_type.id)
        if as_json:
            print_json(
                LotTypeRead.model_validate(lot_type).model_dump(mode="json")
                | {"external_ids": external_ids_json(linked), "history": history_json(versions)}
            )
            return
        print_attributes(
            t("lot type {code}", code=lot_type.code),
            [
                (t("code"), lot_type.code),
                (t("name (zh)"), lot_type.name_zh),
                (t("name (en)"), lot_type.name_en),
                (t("code template"), lot_type.code_template),
                (t("external code pattern"), lot_type.external_code_pattern),
                (t("coding rule version"), lot_type.version),
                (
                    t("custom fields (JSON Schema)"),
                    json.dumps(lot_type.custom_schema, ensure_ascii=False, indent=2),
                ),
                (t("created"), lot_type.created_at),
                (t("updated"), lot_type.updated_at),
            ],
        )
        print_external_ids(linked)
        print_history(versions)


@storage_condition_app.command("list")
@reports_errors
def list_storage_conditions(limit: int = LIMIT_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Storage conditions with their temperature (and humidity) limits."""
    with open_db().transaction(read_only=True) as uow:
        page = service.list_storage_conditions(uow, cursor=None, limit=limit)
        if as_json:
            print_json(
                [StorageConditionRead.model_validate(row).model_dump(mode="json") for row in page.items]
            )
        else:
            table = Table(
                t("code"),
                t("name (zh)"),
                t("name (en)"),
                t("limits"),
                t("version"),
                title=t("storage conditions"),
            )
            for row in page.items:
                table.add_row(
                    *map(cell, (row.code, row.name_zh, row.name_en, temperature_band(row))), cell(row.version)
                )
            console.print(table)
    if page.next_cursor:
        note_more(limit)


@unit_app.command("list")
@reports_errors
def list_units(as_json: bool = JSON_OPTION) -> None:
    """Units of measure (UN/ECE Rec 20 codes) with their factor to the dimension's base unit."""
    with open_db().transaction(read_only=True) as uow:
        units = service.list_units(uow)
        if as_json:
            print_json([UnitRead.model_validate(unit).model_dump(mode="json") for unit in units])
            return
        table = Table(
            t("code"), t("dimension"), t("in base units"), t("name (zh)"), t("name (en)"), title=t("units")
        )
        for unit in units:
            table.add_row(*map(cell, (unit.code, unit.dimension, unit.to_base, unit.name_zh, unit.name_en)))
        console.print(table)
