"""Master-data endpoints: storage conditions, lot types, products and units, with change history
and upserts by an outside system's keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdPath, PageOut
from lotline.catalog import lot_types, packaging, products, revisions, storage_conditions, units
from lotline.catalog.schemas import (
    ConfigVersionRead,
    LotCodePreview,
    LotCodePreviewRead,
    LotTypeCreate,
    LotTypeRead,
    LotTypeUpdate,
    LotTypeUpsert,
    PackagingLevelRead,
    PackagingSet,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    ProductUpsert,
    StorageConditionCreate,
    StorageConditionRead,
    StorageConditionUpdate,
    StorageConditionUpsert,
    UnitRead,
)
from lotline.domain.permissions import Permission, Principal
from lotline.uow import UnitOfWork

router = APIRouter(tags=["catalog"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)

SystemPath = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", examples=["ERP"])
]
KeyPath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["MAT-000123"])
]


def _created(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model, "description": "Created: the external key was new"}}


def _versions(uow: UnitOfWork, entity_type: str, entity_id: int) -> list[ConfigVersionRead]:
    return [
        ConfigVersionRead.model_validate(v)
        for v in revisions.history(uow, entity_type=entity_type, entity_id=entity_id)
    ]


# --- units --------------------------------------------------------------------------------------


@router.get("/units", response_model=list[UnitRead])
def list_units(
    principal: Principal = requires(Permission.MASTER_READ), uow: UnitOfWork = Depends(get_uow)
) -> list[UnitRead]:
    """Every unit of measure (UN/ECE Rec 20 codes) with its factor to the dimension's base unit."""
    return [UnitRead.model_validate(u) for u in units.list_units(uow)]


# --- storage conditions -------------------------------------------------------------------------


@router.get("/storage-conditions", response_model=PageOut[StorageConditionRead])
def list_storage_conditions(
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[StorageConditionRead]:
    """Storage conditions in the order they were created."""
    page = storage_conditions.list_storage_conditions(uow, cursor=cursor, limit=limit)
    return PageOut[StorageConditionRead](
        items=[StorageConditionRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.post("/storage-conditions", response_model=StorageConditionRead, status_code=201)
def create_storage_condition(
    body: StorageConditionCreate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> StorageConditionRead:
    """Define a temperature band (and optional humidity limit); its limits are version 1."""
    condition = storage_conditions.create_storage_condition(uow, **body.model_dump())
    return StorageConditionRead.model_validate(condition)


@router.get("/storage-conditions/{storage_condition_id}", response_model=StorageConditionRead)
def get_storage_condition(
    storage_condition_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> StorageConditionRead:
    """One storage condition."""
    condition = storage_conditions.get_storage_condition(uow, storage_condition_id=storage_condition_id)
    return StorageConditionRead.model_validate(condition)


@router.patch("/storage-conditions/{storage_condition_id}", response_model=StorageConditionRead)
def update_storage_condition(
    storage_condition_id: IdPath,
    body: StorageConditionUpdate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> StorageConditionRead:
    """Rename a storage condition or change its limits; new limits need a reason and get a new version."""
    condition = storage_conditions.update_storage_condition(
        uow, storage_condition_id=storage_condition_id, changes=body.changes(), reason=body.reason
    )
    return StorageConditionRead.model_validate(condition)


@router.get("/storage-conditions/{storage_condition_id}/history", response_model=list[ConfigVersionRead])
def storage_condition_history(
    storage_condition_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[ConfigVersionRead]:
    """Every version of the limits, oldest first, with who changed them, when and why."""
    condition = storage_conditions.get_storage_condition(uow, storage_condition_id=storage_condition_id)
    return _versions(uow, "storage_condition", condition.id)


@router.put(
    "/storage-conditions/by-key/{system}/{key}",
    response_model=StorageConditionRead,
    responses=_created(StorageConditionRead),
)
def upsert_storage_condition(
    system: SystemPath,
    key: KeyPath,
    body: StorageConditionUpsert,
    response: Response,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> StorageConditionRead:
    """Create or update the storage condition an outside system knows by (system, key): 201 when new.

    Fields left out are kept; the code cannot change; new limits need a ``reason``.
    """
    condition, created = storage_conditions.upsert_storage_condition(
        uow, system=system, key=key, fields=body.changes(), reason=body.reason
    )
    response.status_code = 201 if created else 200
    return StorageConditionRead.model_validate(condition)


# --- lot types ----------------------------------------------------------------------------------


@router.get("/lot-types", response_model=PageOut[LotTypeRead])
def list_lot_types(
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[LotTypeRead]:
    """Lot types in the order they were created."""
    page = lot_types.list_lot_types(uow, cursor=cursor, limit=limit)
    return PageOut[LotTypeRead](
        items=[LotTypeRead.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.post("/lot-types", response_model=LotTypeRead, status_code=201)
def create_lot_type(
    body: LotTypeCreate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LotTypeRead:
    """Define a kind of lot: its code template, external-code pattern and custom-field schema."""
    lot_type = lot_types.create_lot_type(uow, **body.model_dump())
    return LotTypeRead.model_validate(lot_type)


@router.get("/lot-types/{lot_type_id}", response_model=LotTypeRead)
def get_lot_type(
    lot_type_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> LotTypeRead:
    """One lot type."""
    return LotTypeRead.model_validate(lot_types.get_lot_type(uow, lot_type_id=lot_type_id))


@router.patch("/lot-types/{lot_type_id}", response_model=LotTypeRead)
def update_lot_type(
    lot_type_id: IdPath,
    body: LotTypeUpdate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LotTypeRead:
    """Change a lot type; a new template, pattern or schema needs a reason and gets a new version."""
    lot_type = lot_types.update_lot_type(
        uow, lot_type_id=lot_type_id, changes=body.changes(), reason=body.reason
    )
    return LotTypeRead.model_validate(lot_type)


@router.get("/lot-types/{lot_type_id}/history", response_model=list[ConfigVersionRead])
def lot_type_history(
    lot_type_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[ConfigVersionRead]:
    """Every version of the coding rule and schema, oldest first, with who changed them, when and why."""
    lot_type = lot_types.get_lot_type(uow, lot_type_id=lot_type_id)
    return _versions(uow, "lot_type", lot_type.id)


# A POST that writes nothing: under master.write because it is the editing screen's tool and
# every POST needs a write permission.
@router.post("/lot-types/{lot_type_id}/preview-code", response_model=LotCodePreviewRead)
def preview_lot_code(
    lot_type_id: IdPath,
    body: LotCodePreview,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LotCodePreviewRead:
    """The code the template (or a draft of it) gives the first lot of a period; consumes no number."""
    preview = lot_types.preview_lot_code(uow, lot_type_id=lot_type_id, **body.model_dump())
    return LotCodePreviewRead.model_validate(preview)


@router.put("/lot-types/by-key/{system}/{key}", response_model=LotTypeRead, responses=_created(LotTypeRead))
def upsert_lot_type(
    system: SystemPath,
    key: KeyPath,
    body: LotTypeUpsert,
    response: Response,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> LotTypeRead:
    """Create or update the lot type an outside system knows by (system, key): 201 when new.

    Fields left out are kept; the code cannot change; a new template, pattern or schema needs a
    ``reason``.
    """
    lot_type, created = lot_types.upsert_lot_type(
        uow, system=system, key=key, fields=body.changes(), reason=body.reason
    )
    response.status_code = 201 if created else 200
    return LotTypeRead.model_validate(lot_type)


# --- products -----------------------------------------------------------------------------------


@router.get("/products", response_model=PageOut[ProductRead])
def list_products(
    category: str | None = Query(default=None, max_length=64),
    active: bool | None = None,
    gtin: str | None = Query(default=None, max_length=14, description="8 to 14 digits"),
    code: str | None = Query(default=None, max_length=40),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[ProductRead]:
    """Products filtered by category, active flag, GTIN and code."""
    page = products.list_products(
        uow, cursor=cursor, limit=limit, category=category, active=active, gtin=gtin, code=code
    )
    return PageOut[ProductRead](
        items=[ProductRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/products", response_model=ProductRead, status_code=201)
def create_product(
    body: ProductCreate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> ProductRead:
    """Define a product: identification (GTIN check digit checked), unit, storage and shelf-life rule."""
    return ProductRead.model_validate(products.add_product(uow, **body.model_dump()))


@router.get("/products/{product_id}", response_model=ProductRead)
def get_product(
    product_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> ProductRead:
    """One product with its current shelf-life rule."""
    return ProductRead.model_validate(products.get_product(uow, product_id=product_id))


@router.patch("/products/{product_id}", response_model=ProductRead)
def update_product(
    product_id: IdPath,
    body: ProductUpdate,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> ProductRead:
    """Change a product; a new shelf-life or minimum shelf-life rule or storage condition needs a
    reason, and a new rule gets a new version (existing lots keep their dates)."""
    product = products.revise_product(uow, product_id=product_id, changes=body.changes(), reason=body.reason)
    return ProductRead.model_validate(product)


@router.get("/products/{product_id}/packaging", response_model=list[PackagingLevelRead])
def get_packaging(
    product_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[PackagingLevelRead]:
    """The product's packaging levels (case, pallet …) in each, smallest first."""
    products.get_product(uow, product_id=product_id)
    return [
        PackagingLevelRead.model_validate(level)
        for level in packaging.packaging_of(uow, product_id=product_id)
    ]


@router.put("/products/{product_id}/packaging", response_model=list[PackagingLevelRead])
def set_packaging(
    product_id: IdPath,
    body: PackagingSet,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> list[PackagingLevelRead]:
    """Replace the product's packaging levels (a case of 12, a pallet of 960 …); audited."""
    levels = [packaging.LevelInput(level.code, level.each_per_unit, level.gtin) for level in body.levels]
    saved = packaging.set_packaging(uow, product_id=product_id, levels=levels, reason=body.reason)
    return [PackagingLevelRead.model_validate(level) for level in saved]


@router.get("/products/{product_id}/history", response_model=list[ConfigVersionRead])
def product_history(
    product_id: IdPath,
    principal: Principal = requires(Permission.MASTER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> list[ConfigVersionRead]:
    """Every version of the shelf-life rule, oldest first, with who changed it, when and why."""
    product = products.get_product(uow, product_id=product_id)
    return _versions(uow, "product", product.id)


@router.put("/products/by-key/{system}/{key}", response_model=ProductRead, responses=_created(ProductRead))
def upsert_product(
    system: SystemPath,
    key: KeyPath,
    body: ProductUpsert,
    response: Response,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> ProductRead:
    """Create or update the product an outside system knows by (system, key): 201 when new.

    Fields left out are kept; code, base unit and lot type cannot change; a new shelf-life rule
    needs a ``reason``.
    """
    product, created = products.upsert_product(
        uow, system=system, key=key, fields=body.changes(), reason=body.reason
    )
    response.status_code = 201 if created else 200
    return ProductRead.model_validate(product)
