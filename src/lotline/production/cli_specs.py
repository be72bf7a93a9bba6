"""The specs ``lotline production`` names stock by, parsed and resolved into a transformation
request: ``[PRODUCT/]LOT@LOCATION=QTYUNIT[#SSCC][:STATUS][:KIND]`` for inputs and losses,
``PRODUCT[/LOT]@LOCATION=QTYUNIT[#SSCC]`` for outputs. Codes are resolved with one query per kind
of key; a refusal names the option and its position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.status import StockStatus
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.production.service import Loss, Make, Request, Take
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork

_AMOUNT = re.compile(r"(?P<qty>[0-9]+(?:\.[0-9]+)?)(?P<unit>[A-Za-z][A-Za-z0-9_]*)")
# What the service calls a line's field, as the console names it ("" : the line itself).
_PARTS = {
    "lot_id": "",
    "lot": "",
    "location_id": "location",
    "product_id": "product",
    "stock_status": "status",
}
_FIELDS = {
    "occurred_at": "--at",
    "reason": "--reason",
    "signing_grant": "--user",
    "site_id": "--site",
    "production_order_id": "NUMBER",
}


class OtherKind(StrEnum):
    """The transformations posted without a production order."""

    REPACK = "repack"
    RELABEL = "relabel"
    REWORK = "rework"
    SPLIT = "split"
    MERGE = "merge"


# --- specs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One ``--input``, ``--loss`` or ``--output`` as typed, taken apart."""

    option: str
    position: int
    text: str
    product: str | None
    lot: str | None
    location: str
    amount: Amount
    sscc: str = ""
    status: StockStatus | None = None
    loss_kind: LossKind = LossKind.OTHER

    @property
    def label(self) -> str:
        return f"{self.option} #{self.position} {self.text}"


def parse_spec(option: str, position: int, text: str) -> Spec:
    """``text`` of the ``position``-th ``option`` (1-based), taken apart; nothing is looked up."""
    label = f"{option} #{position} {text}"
    output = option == "--output"
    where, equals, rest = text.strip().partition("=")
    what, at, location = where.rpartition("@")
    if not equals or not at or not what.strip() or not location.strip():
        form = "PRODUCT[/LOT]@LOCATION=QTYUNIT" if output else "[PRODUCT/]LOT@LOCATION=QTYUNIT"
        raise InvalidInput(N_("{field} must be written {form}."), field=label, code="cli.bad_spec", form=form)
    product, slash, lot = (part.strip() for part in what.partition("/"))
    if not slash:
        product, lot = (product, "") if output else ("", product)
    amount_text, *suffixes = rest.split(":")
    quantity, _hash, sscc = (part.strip() for part in amount_text.partition("#"))
    matched = _AMOUNT.fullmatch(quantity)
    if matched is None:
        raise InvalidInput(
            N_("{field}: write the quantity with its unit, e.g. 100KGM."),
            field=label,
            code="cli.bad_quantity",
        )
    status: StockStatus | None = None
    kind = LossKind.OTHER
    allowed = [] if output else [s.value for s in StockStatus]
    allowed += [k.value for k in LossKind] if option == "--loss" else []
    for suffix in (s.strip() for s in suffixes):
        if not output and suffix.upper() in {s.value for s in StockStatus}:
            status = StockStatus(suffix.upper())
        elif option == "--loss" and suffix.lower() in {k.value for k in LossKind}:
            kind = LossKind(suffix.lower())
        else:
            raise InvalidInput(
                N_("{field}: {suffix} is not one of {allowed}."),
                field=label,
                code="cli.bad_spec",
                suffix=suffix,
                allowed=", ".join(allowed) or "-",
            )
    amount = Amount(Decimal(matched["qty"]), matched["unit"])
    return Spec(
        option, position, text, product or None, lot or None, location.strip(), amount, sscc, status, kind
    )


@dataclass(frozen=True)
class Specs:
    inputs: list[Spec]
    outputs: list[Spec]
    losses: list[Spec]

    @classmethod
    def parse(cls, inputs: Sequence[str], outputs: Sequence[str], losses: Sequence[str]) -> Specs:
        def each(option: str, texts: Sequence[str]) -> list[Spec]:
            return [parse_spec(option, n, text) for n, text in enumerate(texts, 1)]

        return cls(each("--input", inputs), each("--output", outputs), each("--loss", losses))

    def group(self, name: str) -> list[Spec] | None:
        return {"inputs": self.inputs, "outputs": self.outputs, "losses": self.losses}.get(name)


def console_field(field: str | None, specs: Specs) -> str | None:
    """The service's name for a field (``inputs.0.quantity``) as the console names it."""
    if field is None:
        return None
    group, _dot, rest = field.partition(".")
    lines = specs.group(group)
    if lines is None:
        return _FIELDS.get(field, field)
    index, _dot, part = rest.partition(".")
    if not index.isdigit() or int(index) >= len(lines):
        return {"inputs": "--input", "outputs": "--output", "losses": "--loss"}[group]
    part = _PARTS.get(part, part)
    return f"{lines[int(index)].label}: {part}" if part else lines[int(index)].label


@contextmanager
def naming(specs: Specs) -> Iterator[None]:
    """A refusal names the option and position it concerns, not the service's field."""
    try:
        yield
    except LotlineError as error:
        error.field = console_field(error.field, specs)
        raise


def request_of(
    uow: UnitOfWork,
    kind: TransformationKind,
    site_id: int,
    specs: Specs,
    *,
    at: str | None,
    attributes: list[str],
    order_id: int | None = None,
    reason: str | None = None,
) -> Request:
    """The specs resolved at the site with one query per kind of code, as the service takes them."""
    every = [*specs.inputs, *specs.losses, *specs.outputs]
    session = uow.session
    places = dict(
        session.execute(
            select(Location.code, Location.id).where(
                Location.site_id == site_id, Location.code.in_({s.location for s in every})
            )
        )
        .tuples()
        .all()
    )
    products = dict(
        session.execute(
            select(Product.code, Product.id).where(Product.code.in_({s.product for s in every if s.product}))
        )
        .tuples()
        .all()
    )
    taken = [*specs.inputs, *specs.losses]
    lots = list(
        session.execute(
            select(Lot.id, Lot.code, Product.code)
            .join(Product, Product.id == Lot.product_id)
            .where(Lot.code.in_({s.lot for s in taken if s.lot}))
        )
        .tuples()
        .all()
    )

    def place(spec: Spec) -> int:
        if spec.location not in places:
            raise NotFound(entity=N_("location"), key=spec.location, field=spec.label)
        return places[spec.location]

    def lot(spec: Spec) -> int:
        found = [i for i, code, product in lots if code == spec.lot and spec.product in (None, product)]
        if len(found) > 1:
            raise InvalidInput(SEVERAL_PRODUCTS, field=spec.label, code="cli.ambiguous_lot", lot=spec.lot)
        if not found:
            key = f"{spec.product}/{spec.lot}" if spec.product else spec.lot
            raise NotFound(entity=N_("lot"), key=key, field=spec.label)
        return found[0]

    def source(spec: Spec) -> Source:
        return Source(place(spec), spec.status, spec.sscc)

    def product(spec: Spec) -> int:
        if spec.product not in products:
            raise NotFound(entity=N_("product"), key=spec.product, field=spec.label)
        return products[spec.product]

    custom = _attributes(attributes)
    return Request(
        kind=kind,
        site_id=site_id,
        inputs=[Take(lot(s), source(s), s.amount) for s in specs.inputs],
        losses=[Loss(lot(s), source(s), s.amount, s.loss_kind) for s in specs.losses],
        outputs=[
            Make(product(s), s.amount, place(s), s.sscc, code=s.lot, attributes=custom or None)
            for s in specs.outputs
        ],
        production_order_id=order_id,
        reason=reason,
        occurred_at=instant(at) if at else None,
    )


SEVERAL_PRODUCTS = N_("{field}: lot {lot} exists for several products; name the product.")


def _attributes(pairs: list[str]) -> dict[str, str]:
    custom: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise InvalidInput(
                N_("{field} must be CODE=VALUE."), field="--attribute", code="cli.bad_attribute"
            )
        custom[key.strip()] = value.strip()
    return custom


def instant(text: str, field: str = "--at") -> datetime:
    """An ISO time with its UTC offset, as typed at the console."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            N_("{field} must be an ISO time with its UTC offset."),
            field=field,
            code="cli.not_an_instant",
        )
    return moment


def lot_by_code(uow: UnitOfWork, code: str, product: str | None) -> tuple[Lot, str]:
    """The lot a code names (with its product's code); ``product`` where the code is not unique."""
    query = select(Lot, Product.code).join(Product, Product.id == Lot.product_id).where(Lot.code == code)
    if product:
        query = query.where(Product.code == product)
    found = list(uow.session.execute(query.limit(2)).tuples())
    if len(found) > 1:
        raise InvalidInput(SEVERAL_PRODUCTS, field="--product", code="cli.ambiguous_lot", lot=code)
    if not found:
        raise NotFound(entity=N_("lot"), key=f"{product}/{code}" if product else code, field="lot")
    return found[0]
