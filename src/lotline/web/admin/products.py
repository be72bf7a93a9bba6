"""Products: the list with search, and the editor of a product's identification, storage and
shelf-life rule (under change control: a new rule needs a reason and gets a new version)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import or_, select

from lotline.api.deps import get_uow, requires
from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.errors import N_, InvalidInput, LotlineError
from lotline.domain.expiry import MAX_AMOUNT, MAX_DAYS, ExpiryKind, ShelfLifeUnit
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import LotType, Product, ProductPackaging, StorageCondition, Unit
from lotline.paging import keyset_page
from lotline.uow import UnitOfWork
from lotline.web.admin import forms
from lotline.web.admin.forms import FormValues
from lotline.web.admin.history import revisions_of_entity
from lotline.web.admin.layout import page, refused, zone_of
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50
# Shown as typed; the checkboxes are listed apart, the minimums are a (mode, value) pair.
_TEXT_FIELDS = (
    "code",
    "gtin",
    "gs1_company_prefix_length",
    "name_zh",
    "name_en",
    "category",
    "base_unit",
    "storage_condition_id",
    "lot_type_id",
    "shelf_life_amount",
    "shelf_life_unit",
    "expiry_kind",
    "retest_days",
)
_FLAGS = (
    "catch_weight",
    "round_to_month_end",
    "supplier_date_wins",
    "reuse_supplier_lot",
    "expiry_capped_by_inputs",
    "repack_keeps_lot",
    "active",
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def product_values(product: Product) -> FormValues:
    """The editor's fields for a stored product."""
    values = {name: forms.shown(getattr(product, name)) for name in _TEXT_FIELDS}
    values |= {name: "on" if getattr(product, name) else "" for name in _FLAGS}
    values |= forms.minimum_fields(product.min_receipt_days, product.min_receipt_percent, "min_receipt")
    values |= forms.minimum_fields(product.min_ship_days, product.min_ship_percent, "min_ship")
    return values


def product_fields(values: FormValues, *, creating: bool) -> dict[str, Any]:
    """The product fields the form sets, typed; an update leaves code, unit and lot type alone."""
    receipt_days, receipt_percent = forms.minimum_shelf_life(values, "min_receipt")
    ship_days, ship_percent = forms.minimum_shelf_life(values, "min_ship")
    fields: dict[str, Any] = {
        "gtin": forms.text(values, "gtin", max_length=14),
        "gs1_company_prefix_length": forms.whole(values, "gs1_company_prefix_length", minimum=6, maximum=12),
        "name_zh": forms.required_text(values, "name_zh"),
        "name_en": forms.required_text(values, "name_en"),
        "category": forms.text(values, "category", max_length=64),
        "storage_condition_id": forms.reference(values, "storage_condition_id"),
        "shelf_life_amount": forms.required_whole(
            values, "shelf_life_amount", minimum=1, maximum=max(MAX_AMOUNT.values())
        ),
        "shelf_life_unit": forms.choice(values, "shelf_life_unit", [u.value for u in ShelfLifeUnit]),
        "expiry_kind": forms.choice(values, "expiry_kind", [k.value for k in ExpiryKind]),
        "retest_days": forms.whole(values, "retest_days", minimum=1, maximum=MAX_DAYS),
        "min_receipt_days": receipt_days,
        "min_receipt_percent": receipt_percent,
        "min_ship_days": ship_days,
        "min_ship_percent": ship_percent,
        **{name: forms.flag(values, name) for name in _FLAGS},
    }
    if creating:
        fields["code"] = forms.code(values, "code", max_length=40)
        fields["base_unit"] = forms.required_text(values, "base_unit", max_length=8)
        fields["lot_type_id"] = forms.reference(values, "lot_type_id", required=True)
    return fields


def _choices(uow: UnitOfWork) -> dict[str, Any]:
    """What the editor's selects offer."""
    return {
        "units": list(uow.session.scalars(select(Unit).order_by(Unit.dimension, Unit.to_base, Unit.code))),
        "lot_types": list(uow.session.scalars(select(LotType).order_by(LotType.code))),
        "conditions": list(uow.session.scalars(select(StorageCondition).order_by(StorageCondition.code))),
        "categories": list(
            uow.session.scalars(
                select(Product.category)
                .where(Product.category.is_not(None))
                .distinct()
                .order_by(Product.category)
            )
        ),
        "shelf_life_units": [u.value for u in ShelfLifeUnit],
        "expiry_kinds": [k.value for k in ExpiryKind],
    }


def _editor(uow: UnitOfWork, request: Request, product: Product | None) -> dict[str, Any]:
    """The product page's context besides the form values: history, packaging, choices."""
    context: dict[str, Any] = {"product": product, "section": "products", **_choices(uow)}
    if product is not None:
        context["revisions"] = revisions_of_entity(
            catalog.history(uow, entity_type="product", entity_id=product.id)
        )
        context["packaging"] = list(
            uow.session.scalars(
                select(ProductPackaging)
                .where(ProductPackaging.product_id == product.id)
                .order_by(ProductPackaging.base_per_unit)
            )
        )
        context["zone"] = zone_of(request)
    return context


@router.get("/admin/products")
def product_list(
    request: Request,
    q: str | None = None,
    category: str | None = None,
    active: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    query = select(Product)
    search = (q or "").strip()
    if search:
        pattern = _like(search)
        query = query.where(
            or_(
                Product.code.ilike(pattern, escape="\\"),
                Product.name_zh.ilike(pattern, escape="\\"),
                Product.name_en.ilike(pattern, escape="\\"),
                Product.gtin.like(pattern, escape="\\"),
            )
        )
    if category:
        query = query.where(Product.category == category)
    if active in ("yes", "no"):
        query = query.where(Product.active.is_(active == "yes"))
    found = keyset_page(uow.session, query, Product.id, cursor=cursor, limit=PAGE_SIZE)
    filters = {"q": search, "category": category or "", "active": active or ""}
    kept = {k: v for k, v in filters.items() if v}
    next_url = (
        f"/admin/products?{urlencode({**kept, 'cursor': found.next_cursor})}" if found.next_cursor else None
    )
    choices = _choices(uow)
    return page(
        request,
        "admin/products.html",
        section="products",
        products=found.items,
        filters=filters,
        next_url=next_url,
        lot_type_by_id={t.id: t for t in choices["lot_types"]},
        condition_by_id={c.id: c for c in choices["conditions"]},
        categories=choices["categories"],
    )


@router.get("/admin/products/new")
def new_product(
    request: Request,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    values = {"shelf_life_unit": "DAYS", "expiry_kind": "USE_BY", "active": "on", "base_unit": "KGM"}
    return page(request, "admin/product.html", values=values, **_editor(uow, request, None))


@router.post("/admin/products")
def create_product(
    request: Request,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        product = catalog.add_product(uow, **product_fields(values, creating=True))
    except LotlineError as error:
        return refused(
            request,
            uow,
            error,
            "admin/product.html",
            lambda: {"values": values, **_editor(uow, request, None)},
        )
    return redirect(
        f"/admin/products/{product.id}", flash=_("Product {code} saved.").format(code=product.code)
    )


@router.get("/admin/products/{product_id}")
def product_page(
    request: Request,
    product_id: int,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    product = catalog.get_product(uow, product_id=product_id)
    return page(
        request, "admin/product.html", values=product_values(product), **_editor(uow, request, product)
    )


@router.post("/admin/products/{product_id}")
def save_product(
    request: Request,
    product_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    product = catalog.get_product(uow, product_id=product_id)
    product_id, code = product.id, product.code
    try:
        fields = product_fields(values, creating=False)
        reason = forms.text(values, "reason", max_length=2000, multiline=True)
        catalog.revise_product(uow, product_id=product_id, changes=fields, reason=reason)
    except LotlineError as error:

        def again() -> dict[str, Any]:
            stored = catalog.get_product(uow, product_id=product_id)
            fixed = {"code": code, "base_unit": stored.base_unit, "lot_type_id": str(stored.lot_type_id)}
            return {"values": values | fixed, **_editor(uow, request, stored)}

        return refused(request, uow, error, "admin/product.html", again)
    return redirect(f"/admin/products/{product_id}", flash=_("Product {code} saved.").format(code=code))


PACKAGING_ROWS = 4


@router.post("/admin/products/{product_id}/packaging")
def save_packaging(
    request: Request,
    product_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Replace the product's packaging levels from the rows of the form (blank rows ignored)."""
    _ = gettext_for(request.state.language)
    product = catalog.get_product(uow, product_id=product_id)
    product_id, code = product.id, product.code
    try:
        levels = []
        for row in range(PACKAGING_ROWS):
            level_code = forms.text(values, f"pack.{row}.code", max_length=8)
            if level_code is None:
                continue
            each = forms.decimal(
                values, f"pack.{row}.each", minimum=Decimal("0.000001"), maximum=Decimal("999999999999")
            )
            if each is None:
                raise InvalidInput(N_("{field} is required."), field=f"pack.{row}.each", code="web.required")
            gtin = forms.text(values, f"pack.{row}.gtin", max_length=14)
            levels.append(packaging.LevelInput(level_code.upper(), each, gtin))
        packaging.set_packaging(uow, product_id=product_id, levels=levels)
    except LotlineError as error:
        uow.rollback()
        return redirect(f"/admin/products/{product_id}#pack", flash=error.render(_), kind="error")
    saved = _("Packaging of {code} saved.").format(code=code)
    return redirect(f"/admin/products/{product_id}#pack", flash=saved)
