"""Transformations (加工): production completions, repack, relabel, rework, split and merge.

One call is one transaction: every input and loss is resolved, converted and checked (the
site, the kind's shape, the balance of one-product kinds), then the inputs are consumed and
the losses booked through the ledger — where the status × transaction matrix refuses
quarantined, rejected, held or expired stock and a guarded update refuses taking more than is
there — the output lots are registered (expiry from the product's rule, capped by the earliest
input where the kind or the product says so, with provenance), their stock lands in QUARANTINE
(or in the input's status for a repack that keeps its lot), and one genealogy edge is written
per input lot × output lot. A trusted product's signed release policy may then release an output;
the caller (an MES's token included) never releases anything by itself. A rework is signed
(meaning ``rework``) for its first input lot: the grant is asked for record type ``lot`` and
that lot's id.

Errors name the line they concern: ``inputs.2.quantity``, ``outputs.0.location_id``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lotline.audit.service import record
from lotline.db import next_in_sequence
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.expiry import InputLot
from lotline.domain.ledger import MovementKind, Quantity
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import QualityStatus, StockStatus, Transaction
from lotline.domain.transformation import (
    SHAPES,
    LossKind,
    TransformationKind,
    caps_expiry,
    check_balance,
    check_shape,
    edges,
    must_balance,
    sub_lot_code,
)
from lotline.domain.units import Dimension, convert, resolve_unit
from lotline.lots import service as lots
from lotline.models.catalog import Product
from lotline.models.lot import Lot
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.quality import policies
from lotline.signatures import service as signatures
from lotline.stock.operations import (
    Amount,
    OtherSite,
    Source,
    Taking,
    bucket_row,
    place_by_id,
    quantity_of,
    taking_from,
)
from lotline.stock.service import Bucket, check_storage, new_txn, post
from lotline.uow import UnitOfWork

REFERENCE = "transformation"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no completion is posted for earlier
MAX_LINES = 200  # inputs, outputs or losses in one transformation
# A rework is a disposition of rejected (or re-processing of released) stock: a quality decision.
REWORK_PERMISSION = Permission.QUALITY_DECIDE


@dataclass(frozen=True)
class Take:
    """One input: a quantity of a lot taken from one bucket."""

    lot_id: int
    source: Source
    amount: Amount


@dataclass(frozen=True)
class Loss:
    """Stock of an input lot lost in the process (drip, cooking, trim), booked as LOSS."""

    lot_id: int
    source: Source
    amount: Amount
    kind: LossKind = LossKind.OTHER
    note: str | None = None


@dataclass(frozen=True)
class Make:
    """One output: a quantity of a product landing at a location, as a new lot (or the input lot,
    for a repack of a product that keeps its lot). ``code``: the lot code, else generated."""

    product_id: int
    amount: Amount
    location_id: int
    sscc: str = ""
    code: str | None = None
    production_date: date | None = None
    produced_at: datetime | None = None
    attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Request:
    """A transformation as asked for, by any interface."""

    kind: TransformationKind
    site_id: int
    inputs: Sequence[Take]
    outputs: Sequence[Make]
    losses: Sequence[Loss] = ()
    production_order_id: int | None = None
    line: str | None = None
    reason: str | None = None
    signing_grant: str | None = None
    occurred_at: datetime | None = None


@dataclass
class _Taken:
    taking: Taking
    quantity: Quantity
    amount: Amount


@dataclass
class _Made:
    product: Product
    make: Make
    quantity: Quantity
    lot: Lot | None = None


@dataclass(frozen=True)
class Outcome:
    transformation: Transformation
    output_lots: list[Lot]
    movements: list[StockMovement] = field(default_factory=list)


class ProductionOrderClosed(InvalidInput):
    code = "production.order_closed"
    message = N_("Production order {number} is {status}: nothing more can be posted to it.")


@contextmanager
def on_line(group: str, number: int) -> Iterator[None]:
    """Errors raised for line ``number`` of ``group`` name its field (``inputs.0.quantity``)."""
    try:
        yield
    except LotlineError as error:
        name = error.field or "lot_id"
        if name == "lot":
            name = "lot_id"
        if not name.startswith(f"{group}."):
            error.field = f"{group}.{number}.{name}"
        raise


def writable_site(uow: UnitOfWork, principal: Principal | None, site_id: int) -> Site:
    """The site, if the caller may post production there (404 if they cannot even see it)."""
    site = uow.session.get(Site, site_id)
    if site is not None and (principal is None or principal.can(Permission.PRODUCTION_WRITE, site_id)):
        return site
    if site is not None and principal is not None and principal.can(Permission.PRODUCTION_READ, site_id):
        raise PermissionDenied(permission=Permission.PRODUCTION_WRITE.value, field="site_id")
    raise NotFound(entity=N_("site"), key=site_id, field="site_id")


def _count(group: str, items: Sequence[object]) -> None:
    if len(items) > MAX_LINES:
        raise InvalidInput(
            N_("{field} has at most {maximum} lines."),
            field=group,
            code="transformation.too_many_lines",
            maximum=MAX_LINES,
        )


def _take(
    uow: UnitOfWork, principal: Principal | None, site: Site, lot_id: int, source: Source, amount: Amount
) -> _Taken:
    taking = taking_from(uow, principal, lot_id, source, field="location_id")
    if taking.place.site_id != site.id:
        raise OtherSite(field="location_id", location=taking.place.code)
    quantity = quantity_of(uow, taking.product, amount, whole=bucket_row(uow, lot_id, taking.bucket))
    return _Taken(taking, quantity, amount)


def _make(uow: UnitOfWork, site: Site, make: Make) -> _Made:
    product = uow.session.get(Product, make.product_id)
    if product is None or not product.active:
        raise NotFound(entity=N_("product"), key=make.product_id, field="product_id")
    place = place_by_id(uow, make.location_id, "location_id")
    if place.site_id != site.id:
        raise OtherSite(field="location_id", location=place.code)
    quantity = quantity_of(uow, product, make.amount)
    if product.catch_weight:
        _check_catch_weight(product, quantity)
    return _Made(product, make, quantity)


def _check_catch_weight(product: Product, quantity: Quantity) -> None:
    """A catch-weight output states its count and net weight, and they agree with its quantity."""
    for name, value in (("count", quantity.count), ("weight_kg", quantity.weight_kg)):
        if value is None:
            raise InvalidInput(
                N_("{product} is sold by catch weight: an output needs its count and its net weight (kg)."),
                field=name,
                code="transformation.catch_weight_required",
                product=product.code,
            )
    assert quantity.count is not None
    assert quantity.weight_kg is not None
    base = resolve_unit(product.base_unit)
    by_mass = base.dimension is Dimension.MASS
    stated = quantity.weight_kg if by_mass else quantity.count
    if convert(stated, "KGM" if by_mass else "EA", base) != quantity.base:
        raise InvalidInput(
            N_("{field} does not agree with the count and net weight of the output."),
            field="quantity",
            code="transformation.catch_weight_mismatch",
        )


def _local_day(moment: datetime, site: Site) -> date:
    return moment.astimezone(ZoneInfo(site.time_zone)).date()


def _order(
    uow: UnitOfWork, order_id: int | None, site: Site, kind: TransformationKind
) -> ProductionOrder | None:
    if order_id is None:
        if kind is TransformationKind.PRODUCTION:
            raise InvalidInput(
                N_("{field} is required: a production completion belongs to a production order."),
                field="production_order_id",
                code="production.order_required",
            )
        return None
    order = uow.session.get(ProductionOrder, order_id)
    if order is None or order.site_id != site.id:
        raise NotFound(entity=N_("production order"), key=order_id, field="production_order_id")
    if order.status != "OPEN":
        raise ProductionOrderClosed(field="production_order_id", number=order.number, status=order.status)
    return order


def _input_transaction(kind: TransformationKind, taken: _Taken) -> Transaction | None:
    """What the matrix is asked of an input: a rework of rejected stock is REWORK, else CONSUME."""
    rejected = (
        taken.taking.lot.quality_status == QualityStatus.REJECTED.value
        or taken.taking.bucket.status is StockStatus.REJECTED
    )
    return Transaction.REWORK if kind is TransformationKind.REWORK and rejected else None


def _signer(uow: UnitOfWork, principal: Principal | None, request: Request, site: Site) -> Principal:
    """Who signs a rework: whoever may decide quality at the site — the poster, or a QA person
    who countersigned on the poster's screen (the grant is theirs: they re-authenticated)."""
    holder = signatures.grant_holder(uow, grant_secret=request.signing_grant)
    signer = holder if holder is not None else principal
    if signer is None or not signer.can(REWORK_PERMISSION, site.id):
        raise PermissionDenied(permission=REWORK_PERMISSION.value, field="signing_grant")
    return signer


def _sign(
    uow: UnitOfWork,
    principal: Principal,
    request: Request,
    transformation: Transformation,
    summary: Mapping[str, object],
    first_lot_id: int,
) -> int:
    """The signed decision a rework rests on, bound to what goes in and what comes out.

    It is signed for the first input lot (the grant asked for beforehand: meaning ``rework``,
    record type ``lot``, that lot's id), as a scrap or a return is: the lot being disposed of."""
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=request.signing_grant,
        meaning=Meaning.REWORK,
        record_type="lot",
        record_id=first_lot_id,
        content={"transformation": transformation.number, **summary},
        comment=transformation.reason,
    )
    return signature.id


def _amount_text(amount: Amount) -> list[str]:
    return [str(amount.qty), amount.unit]


def transform(uow: UnitOfWork, *, principal: Principal | None, request: Request) -> Outcome:
    """Post one transformation: inputs consumed, losses booked, output lots made, edges written."""
    kind = request.kind
    site = writable_site(uow, principal, request.site_id)
    for group, items in (
        ("inputs", request.inputs),
        ("outputs", request.outputs),
        ("losses", request.losses),
    ):
        _count(group, items)
    order = _order(uow, request.production_order_id, site, kind)
    moment = request.occurred_at or uow.now()
    if moment.tzinfo is None:
        raise InvalidInput(
            N_("{field} needs a time zone (an offset or Z)."),
            field="occurred_at",
            code="transformation.naive_time",
        )
    if moment < EARLIEST or moment > uow.now():
        raise InvalidInput(
            N_("{field} must lie between 2000-01-01 and now."),
            field="occurred_at",
            code="transformation.bad_time",
        )

    # Resolve and check everything first: nothing is written until all of it holds.
    taken: list[_Taken] = []
    for number, take in enumerate(request.inputs):
        with on_line("inputs", number):
            taken.append(_take(uow, principal, site, take.lot_id, take.source, take.amount))
    lost: list[_Taken] = []
    for number, loss in enumerate(request.losses):
        with on_line("losses", number):
            lost.append(_take(uow, principal, site, loss.lot_id, loss.source, loss.amount))
            if loss.lot_id not in {t.taking.lot.id for t in taken}:
                raise InvalidInput(
                    N_("{field}: a loss is of an input lot of the same transformation."),
                    field="lot_id",
                    code="transformation.loss_not_input",
                )
    made: list[_Made] = []
    for number, make in enumerate(request.outputs):
        with on_line("outputs", number):
            made.append(_make(uow, site, make))
    input_products = [t.taking.product.id for t in taken]
    output_products = [m.product.id for m in made]
    check_shape(
        kind,
        input_lots=[t.taking.lot.id for t in taken],
        input_products=input_products,
        output_products=output_products,
        outputs=len(made),
    )
    input_units = [t.taking.product.base_unit for t in taken]
    if must_balance(kind, input_units=input_units, output_units=[m.product.base_unit for m in made]):
        unit = input_units[0]
        check_balance(
            consumed=sum(
                (convert(t.quantity.base, t.taking.product.base_unit, unit) for t in taken), Decimal(0)
            ),
            lost=sum((convert(t.quantity.base, t.taking.product.base_unit, unit) for t in lost), Decimal(0)),
            produced=sum((convert(m.quantity.base, m.product.base_unit, unit) for m in made), Decimal(0)),
            unit=unit,
        )

    summary: dict[str, object] = {
        "kind": kind.value,
        "inputs": [[t.taking.lot.id, t.taking.lot.code, *_amount_text(t.amount)] for t in taken],
        "outputs": [[m.product.id, m.product.code, *_amount_text(m.make.amount)] for m in made],
        "losses": [
            [t.taking.lot.id, loss.kind.value, *_amount_text(t.amount)]
            for t, loss in zip(lost, request.losses, strict=True)
        ],
    }
    signer = _signer(uow, principal, request, site) if SHAPES[kind].signed else None
    if SHAPES[kind].signed and not (request.reason or "").strip():
        raise InvalidInput(N_("{field} is required."), field="reason", code="transformation.reason_required")

    # Write: the transformation, its consumptions and losses, the output lots and their stock.
    year = _local_day(moment, site).year
    seq = next_in_sequence(uow.session, f"transformation:{site.id}:{year}")
    now = uow.now()
    txn = new_txn()
    transformation = Transformation(
        number=f"T-{site.code}-{year}-{seq:06}",
        kind=kind.value,
        site_id=site.id,
        production_order_id=order.id if order else None,
        txn_id=txn,
        line=request.line or (order.line if order else None),
        occurred_at=moment,
        recorded_at=now,
        actor_name=uow.actor.name,
        actor_id=uow.actor.user_id,
        reason=(request.reason or "").strip() or None,
    )
    uow.session.add(transformation)
    uow.session.flush()
    signature_id = None
    if signer is not None:
        signature_id = transformation.signature_id = _sign(
            uow, signer, request, transformation, summary, taken[0].taking.lot.id
        )
    reference = (REFERENCE, transformation.id)
    movements: list[StockMovement] = []
    consumed: dict[int, Decimal] = defaultdict(Decimal)
    for number, item in enumerate(taken):
        with on_line("inputs", number):
            movements.append(
                post(
                    uow,
                    kind=MovementKind.CONSUME,
                    lot=item.taking.lot,
                    quantity=item.quantity,
                    entered_qty=item.amount.qty,
                    entered_unit=item.amount.unit,
                    source=item.taking.bucket,
                    txn_id=txn,
                    reference=reference,
                    signature_id=signature_id,
                    occurred_at=moment,
                    transaction=_input_transaction(kind, item),
                )
            )
        consumed[item.taking.lot.id] += item.quantity.base
    for number, (item, loss) in enumerate(zip(lost, request.losses, strict=True)):
        with on_line("losses", number):
            note = (loss.note or "").strip()
            movements.append(
                post(
                    uow,
                    kind=MovementKind.LOSS,
                    lot=item.taking.lot,
                    quantity=item.quantity,
                    entered_qty=item.amount.qty,
                    entered_unit=item.amount.unit,
                    source=item.taking.bucket,
                    txn_id=txn,
                    reference=reference,
                    reason=f"{loss.kind.value}: {note}" if note else loss.kind.value,
                    signature_id=signature_id,
                    occurred_at=moment,
                    transaction=_input_transaction(kind, item),
                )
            )

    input_lots = {t.taking.lot.id: t.taking.lot for t in taken}
    output_lots: list[Lot] = []
    for number, output in enumerate(made):
        with on_line("outputs", number):
            lot, status = _output_lot(uow, request, site, transformation, output, taken, number, moment)
            output.lot = lot
            output_lots.append(lot)
            movements.append(
                post(
                    uow,
                    kind=MovementKind.PRODUCE,
                    lot=lot,
                    quantity=output.quantity,
                    entered_qty=output.make.amount.qty,
                    entered_unit=output.make.amount.unit,
                    target=Bucket(output.make.location_id, status, output.make.sscc),
                    txn_id=txn,
                    reference=reference,
                    occurred_at=moment,
                )
            )
    units = {t.taking.lot.id: t.taking.product.base_unit for t in taken}
    uow.session.add_all(
        GenealogyEdge(
            parent_lot_id=edge.parent_lot_id,
            child_lot_id=edge.child_lot_id,
            transformation_id=transformation.id,
            qty=edge.qty,
            unit=units[edge.parent_lot_id],
            occurred_at=moment,
        )
        for edge in edges(consumed, [lot.id for lot in output_lots])
    )
    uow.session.flush()

    written = {
        **summary,
        "number": transformation.number,
        "production_order_id": transformation.production_order_id,
        "outputs": [
            [
                m.product.id,
                m.lot.id if m.lot else None,
                m.lot.code if m.lot else None,
                *_amount_text(m.make.amount),
            ]
            for m in made
        ],
        "txn_id": txn,
    }
    record(
        uow,
        action="create",
        entity_type="transformation",
        entity_id=transformation.id,
        site_id=site.id,
        changes={name: [None, value] for name, value in written.items()},
        reason=transformation.reason,
    )
    emit(
        uow,
        events.TRANSFORMATION_POSTED,
        subject_type="transformation",
        subject_id=transformation.id,
        site_id=site.id,
        payload=written,
    )
    # A trusted product's signed policy may release a new output lot (never the caller itself).
    new_lots = [lot for lot in output_lots if lot.id not in input_lots]
    trusted = policies.products_with_policy(uow, {lot.product_id for lot in new_lots})
    for lot in new_lots:
        if lot.product_id in trusted:
            policies.apply_auto_release(uow, lot)
    return Outcome(transformation, output_lots, movements)


def _output_lot(
    uow: UnitOfWork,
    request: Request,
    site: Site,
    transformation: Transformation,
    item: _Made,
    taken: Sequence[_Taken],
    number: int,
    moment: datetime,
) -> tuple[Lot, StockStatus]:
    """The lot an output lands in, and the stock status it lands with."""
    kind = request.kind
    first = taken[0]
    if (
        kind is TransformationKind.REPACK
        and item.product.repack_keeps_lot
        and item.product.id == first.taking.product.id
    ):
        if item.make.code is not None and item.make.code != first.taking.lot.code:
            raise InvalidInput(
                N_("{field}: {product} keeps its lot when repacked; the code is {lot}."),
                field="code",
                code="transformation.repack_keeps_lot",
                product=item.product.code,
                lot=first.taking.lot.code,
            )
        # The same stock in new packaging somewhere else: as a move, it must go where the
        # product's storage condition is kept.
        check_storage(
            uow, product=item.product, location=place_by_id(uow, item.make.location_id, "location_id")
        )
        return first.taking.lot, first.taking.bucket.status
    inputs = [t.taking.lot for t in taken]
    carried = kind not in (TransformationKind.PRODUCTION, TransformationKind.REWORK)
    if carried:
        # The same material in new packaging or parts: it keeps its production date (and time).
        dated = [lot.production_date for lot in inputs if lot.production_date is not None]
        timed = [lot.produced_at for lot in inputs if lot.produced_at is not None]
        production_date = item.make.production_date or (min(dated) if dated else None)
        produced_at = item.make.produced_at or (min(timed) if timed else None)
    else:
        # Made now (or when the line says): a shelf life in hours counts from that instant.
        produced_at = item.make.produced_at or moment
        production_date = item.make.production_date or _local_day(produced_at, site)
    capped = caps_expiry(kind, product_caps=item.product.expiry_capped_by_inputs)
    code = item.make.code
    if code is None and kind is TransformationKind.SPLIT:
        code = _free_sub_lot_code(uow, first.taking.lot, number)
    return (
        lots.register_lot(
            uow,
            product_id=item.product.id,
            site_id=site.id,
            source="PRODUCTION",
            code=code,
            production_date=production_date,
            produced_at=produced_at,
            attributes=item.make.attributes,
            line=transformation.line,
            inputs=[InputLot(lot.code, lot.expiry_date, lot.expiry_at) for lot in inputs] if capped else (),
            provenance={
                "transformation": {
                    "id": transformation.id,
                    "number": transformation.number,
                    "kind": kind.value,
                    "inputs_cap_expiry": capped,
                    "input_lots": sorted({lot.code for lot in inputs}),
                }
            },
        ),
        StockStatus.QUARANTINE,
    )


def _free_sub_lot_code(uow: UnitOfWork, parent: Lot, number: int) -> str | None:
    """The first sub-lot code of ``parent`` from ``number + 1`` on that its product has not used."""
    taken = set(
        uow.session.scalars(
            select(Lot.code).where(
                Lot.product_id == parent.product_id, Lot.code.startswith(f"{parent.code}-", autoescape=True)
            )
        )
    )
    candidate = number + 1
    while (code := sub_lot_code(parent.code, candidate)) is not None and code in taken:
        candidate += 1
    return code
