"""Completions from an MES (制造执行系统), in the MES's own keys: one call, one transaction.

The MES names its order and its completion by its own ids, products by code or GTIN, lots by
product and lot code, places by their code at the site. Everything is resolved in one query per
kind of key, never one per line; an unknown key is "not found", naming the line's field
(``inputs.2.lot_code``). The order is found by its external id or opened on the spot; the
completion's external id (``{order_ref}/{completion_ref}``) makes a second post of it a
conflict that writes nothing. Then :func:`~lotline.production.service.transform` does the rest,
and its errors are renamed into the MES's terms (``lot_id`` → ``lot_code``).

The MES releases nothing: outputs land in QUARANTINE, as every production output does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_, select

from lotline.catalog import external_ids
from lotline.db import lock_for_transaction
from lotline.domain.errors import N_, Conflict, InvalidInput, LotlineError, NotFound
from lotline.domain.gs1 import GTIN_LENGTHS
from lotline.domain.permissions import Principal
from lotline.domain.status import StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.production import ProductionOrder, Transformation
from lotline.models.site import Site
from lotline.production import orders
from lotline.production.service import Loss, Make, Outcome, Request, Take, transform, writable_site
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork

ORDER = "production_order"
COMPLETION = "transformation"
# transform()'s field names → the MES's, within a line and at the top of the body.
_LINE_FIELDS = {
    "lot_id": "lot_code",
    "location_id": "location_code",
    "product_id": "product",
    "code": "lot_code",
}
_TOP_FIELDS = {"production_order_id": "order_ref", "site_id": "site", "product_id": "product"}


class CompletionExists(Conflict):
    code = "production.completion_exists"
    message = N_("Completion {completion_ref} of order {order_ref} was already posted as {number}.")


@dataclass(frozen=True)
class Taken:
    """An input (or a loss) as the MES names it: a lot of a product, at a place."""

    product: str  # code or GTIN
    lot_code: str
    location_code: str
    amount: Amount
    status: StockStatus | None = None
    sscc: str = ""
    kind: LossKind = LossKind.OTHER  # losses only
    note: str | None = None


@dataclass(frozen=True)
class Made:
    """An output as the MES names it."""

    product: str  # code or GTIN
    amount: Amount
    location_code: str
    sscc: str = ""
    lot_code: str | None = None
    production_date: date | None = None


@dataclass(frozen=True)
class Completion:
    """One completion of an order, in the MES's keys. ``product``, ``quantity`` and ``unit``
    matter only when the order is new: its product (else the first output's) and planned
    quantity (else that product's first output's)."""

    system: str
    site: str  # the site's code
    order_ref: str
    completion_ref: str
    occurred_at: datetime
    inputs: Sequence[Taken]
    outputs: Sequence[Made]
    losses: Sequence[Taken] = ()
    line: str | None = None
    product: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None

    @property
    def key(self) -> str:
        return f"{self.order_ref}/{self.completion_ref}"


@dataclass(frozen=True)
class Posted:
    outcome: Outcome
    order: ProductionOrder
    order_created: bool


@contextmanager
def _in_mes_terms() -> Iterator[None]:
    try:
        yield
    except LotlineError as error:
        error.field = _mes_field(error.field)
        raise


def _mes_field(name: str | None) -> str | None:
    if name is None:
        return None
    parts = name.split(".")
    if len(parts) == 3:
        parts[2] = _LINE_FIELDS.get(parts[2], parts[2])
    elif len(parts) == 1:
        parts[0] = _TOP_FIELDS.get(parts[0], parts[0])
    return ".".join(parts)


def _site(uow: UnitOfWork, principal: Principal | None, code: str) -> Site:
    site = uow.session.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
    if site is None:
        raise NotFound(entity=N_("site"), key=code, field="site")
    with _in_mes_terms():
        return writable_site(uow, principal, site.id)


def _as_gtin(ref: str) -> str | None:
    return ref.zfill(14) if ref.isascii() and ref.isdigit() and len(ref) in GTIN_LENGTHS else None


def _products(uow: UnitOfWork, refs: set[str]) -> dict[str, Product]:
    """Each reference → its product: by code, else by GTIN (any of its 8 to 14 digit forms)."""
    gtins = {gtin for ref in refs if (gtin := _as_gtin(ref)) is not None}
    found = list(
        uow.session.scalars(select(Product).where(or_(Product.code.in_(refs), Product.gtin.in_(gtins))))
    )
    by_code = {p.code: p for p in found}
    by_gtin = {p.gtin: p for p in found if p.gtin}
    named: dict[str, Product] = {}
    for ref in refs:
        product = by_code.get(ref) or by_gtin.get(_as_gtin(ref) or "")
        if product is not None:
            named[ref] = product
    return named


def _lots(uow: UnitOfWork, wanted: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """(product id, lot code) → lot id, for the pairs that exist."""
    if not wanted:
        return {}
    rows = uow.session.execute(
        select(Lot.product_id, Lot.code, Lot.id).where(
            Lot.product_id.in_({p for p, _ in wanted}), Lot.code.in_({c for _, c in wanted})
        )
    ).tuples()
    return {(product, code): lot for product, code, lot in rows if (product, code) in wanted}


def _places(uow: UnitOfWork, site: Site, codes: set[str]) -> dict[str, int]:
    """Location code → id, for the site's active locations among ``codes``."""
    if not codes:
        return {}
    rows = uow.session.execute(
        select(Location.code, Location.id).where(
            Location.site_id == site.id, Location.code.in_(codes), Location.active.is_(True)
        )
    ).tuples()
    return dict(rows.all())


@dataclass(frozen=True)
class _Keys:
    """What the completion's keys name, looked up once for all its lines."""

    products: Mapping[str, Product]
    lots: Mapping[tuple[int, str], int]
    places: Mapping[str, int]

    def product(self, ref: str, field: str) -> Product:
        product = self.products.get(ref)
        if product is None:
            raise NotFound(entity=N_("product"), key=ref, field=field)
        return product

    def place(self, code: str, field: str) -> int:
        place = self.places.get(code)
        if place is None:
            raise NotFound(entity=N_("location"), key=code, field=field)
        return place

    def lot(self, taken: Taken, field: str) -> tuple[int, Source]:
        """The lot and the bucket a line takes from; its product, lot and place must all exist."""
        product = self.product(taken.product, f"{field}.product")
        lot = self.lots.get((product.id, taken.lot_code))
        if lot is None:
            raise NotFound(entity=N_("lot"), key=taken.lot_code, field=f"{field}.lot_code")
        place = self.place(taken.location_code, f"{field}.location_code")
        return lot, Source(place, taken.status, taken.sscc)


def _look_up(uow: UnitOfWork, site: Site, completion: Completion) -> _Keys:
    taken = [*completion.inputs, *completion.losses]
    refs = {t.product for t in taken} | {m.product for m in completion.outputs}
    if completion.product is not None:
        refs.add(completion.product)
    products = _products(uow, refs)
    wanted = {(products[t.product].id, t.lot_code) for t in taken if t.product in products}
    codes = {t.location_code for t in taken} | {m.location_code for m in completion.outputs}
    return _Keys(products, _lots(uow, wanted), _places(uow, site, codes))


def _request(keys: _Keys, site: Site, completion: Completion) -> Request:
    """The transformation the completion asks for, in lotline ids (the order still to come)."""
    inputs: list[Take] = []
    for number, item in enumerate(completion.inputs):
        lot, source = keys.lot(item, f"inputs.{number}")
        inputs.append(Take(lot, source, item.amount))
    losses: list[Loss] = []
    for number, item in enumerate(completion.losses):
        lot, source = keys.lot(item, f"losses.{number}")
        losses.append(Loss(lot, source, item.amount, item.kind, item.note))
    outputs: list[Make] = []
    for number, made in enumerate(completion.outputs):
        field = f"outputs.{number}"
        outputs.append(
            Make(
                product_id=keys.product(made.product, f"{field}.product").id,
                amount=made.amount,
                location_id=keys.place(made.location_code, f"{field}.location_code"),
                sscc=made.sscc,
                code=made.lot_code,
                production_date=made.production_date,
            )
        )
    return Request(
        kind=TransformationKind.PRODUCTION,
        site_id=site.id,
        inputs=inputs,
        outputs=outputs,
        losses=losses,
        line=completion.line,
        occurred_at=completion.occurred_at,
    )


def _planned(keys: _Keys, completion: Completion) -> tuple[Product, Decimal, str]:
    """A new order's product and planned quantity, from the completion."""
    if completion.product is not None:
        product = keys.product(completion.product, "product")
    elif completion.outputs:
        product = keys.product(completion.outputs[0].product, "outputs.0.product")
    else:
        raise InvalidInput(N_("{field} is required."), field="product", code="production.product_required")
    if completion.quantity is not None or completion.unit is not None:
        if completion.quantity is None or completion.unit is None:
            field = "unit" if completion.unit is None else "quantity"
            raise InvalidInput(N_("{field} is required."), field=field, code="production.planned_required")
        return product, completion.quantity, completion.unit
    for made in completion.outputs:
        if keys.products.get(made.product) is product:
            return product, made.amount.qty, made.amount.unit
    raise InvalidInput(N_("{field} is required."), field="quantity", code="production.planned_required")


def _order(
    uow: UnitOfWork, principal: Principal | None, keys: _Keys, site: Site, completion: Completion
) -> tuple[ProductionOrder, bool]:
    """The order the MES's ``order_ref`` names, or a new one linked to it; True when new."""
    system, ref = completion.system, completion.order_ref
    lock_for_transaction(uow.session, f"external_id:{system}:{ORDER}:{ref}")
    known = external_ids.resolve(uow, system=system, entity_type=ORDER, key=ref)
    if known is not None:
        order = uow.session.get(ProductionOrder, known)
        if order is None or order.site_id != site.id:
            raise NotFound(entity=N_("production order"), key=ref, field="order_ref")
        return order, False
    product, quantity, unit = _planned(keys, completion)
    with _in_mes_terms():
        order = orders.create_order(
            uow,
            principal=principal,
            order=orders.OrderInput(site.id, product.id, quantity, unit, line=completion.line),
        )
    external_ids.link(uow, system=system, entity_type=ORDER, key=ref, entity_id=order.id)
    return order, True


def post_completion(uow: UnitOfWork, *, principal: Principal | None, completion: Completion) -> Posted:
    """Post one MES completion: its order found or opened, its lines resolved, then transformed."""
    site = _site(uow, principal, completion.site)
    system, key = completion.system, completion.key
    # Two posts of one completion queue here; the later one finds the first one's link.
    lock_for_transaction(uow.session, f"external_id:{system}:{COMPLETION}:{key}")
    posted = external_ids.resolve(uow, system=system, entity_type=COMPLETION, key=key)
    if posted is not None:
        number = uow.session.scalar(select(Transformation.number).where(Transformation.id == posted))
        raise CompletionExists(
            field="completion_ref",
            completion_ref=completion.completion_ref,
            order_ref=completion.order_ref,
            number=number,
        )
    keys = _look_up(uow, site, completion)
    request = _request(keys, site, completion)
    order, created = _order(uow, principal, keys, site, completion)
    with _in_mes_terms():
        outcome = transform(uow, principal=principal, request=replace(request, production_order_id=order.id))
    external_ids.link(
        uow, system=system, entity_type=COMPLETION, key=key, entity_id=outcome.transformation.id
    )
    return Posted(outcome, order, created)
