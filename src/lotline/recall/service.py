"""Recall cases and mock-recall drills.

A case is opened from lots, a supplier's lot code, or a product and a date range; its scope is
the forward trace of those lots, written to ``recall_lot`` by one INSERT … SELECT over the trace's
recursive query (the time that takes is the case's time to trace). A recall then waits as a
draft — QA sees the lots, shipments and customers it reaches — until a QA manager starts it by a
signed decision; in that one transaction the scope is topped up with anything made from it since,
every lot in scope with stock gets a recall hold, and the open allocations of those lots are given
back (the hold does that). Customers are notified, what they destroy is recorded (what they send
back citing the shipment lines counts by itself), and the case is closed by a second signature.

A drill is the same flow marked as a drill: it blocks nothing; it is complete when opened, with
its time to trace and the mass balance of every lot in scope in ``drill_result``.
"""

from __future__ import annotations

import hashlib
import time as clock
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, and_, exists, false, func, insert, literal, or_, select, union

from lotline.audit.service import record
from lotline.catalog.packaging import convert_for_product
from lotline.db import is_one_of, next_in_sequence
from lotline.domain.errors import N_, Conflict, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.domain.recall import (
    CaseStatus,
    RecallKind,
    RecallLevel,
    TriggerKind,
    check_transition,
    deadlines,
)
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType
from lotline.domain.units import quantize
from lotline.lots import service as lots
from lotline.models.catalog import Partner, Product
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.outbound import CustomerReturn, Shipment, ShipmentLine
from lotline.models.recall import RecallCase, RecallDestruction, RecallHold, RecallLot, RecallNotice
from lotline.models.site import Site
from lotline.models.stock import StockOnHand
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.recall import queries
from lotline.signatures import service as signatures
from lotline.stock.check import mass_balances
from lotline.trace.engine import Direction, reach
from lotline.uow import UnitOfWork

RECORD_TYPE = "recall_case"
QTY_PLACES = 6  # what the quantity columns keep
RECALL_LOT = cast(Table, RecallLot.__table__)


@dataclass(frozen=True)
class Trigger:
    """What the case starts from: lot codes; a supplier's lot code; or a product and a range of
    production (or, for received lots, receipt) dates, inclusive."""

    kind: TriggerKind
    lot_codes: tuple[str, ...] = ()
    product_code: str | None = None
    supplier_code: str | None = None
    supplier_lot_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trigger:
        def day(name: str) -> date | None:
            return date.fromisoformat(data[name]) if data.get(name) else None

        return cls(
            kind=TriggerKind(data["kind"]),
            lot_codes=tuple(data.get("lot_codes", ())),
            product_code=data.get("product_code"),
            supplier_code=data.get("supplier_code"),
            supplier_lot_code=data.get("supplier_lot_code"),
            date_from=day("date_from"),
            date_to=day("date_to"),
        )

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind.value}
        if self.lot_codes:
            data["lot_codes"] = list(self.lot_codes)
        for name in ("product_code", "supplier_code", "supplier_lot_code"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value.isoformat()
        return data


@dataclass(frozen=True)
class OpenRequest:
    kind: RecallKind
    trigger: Trigger
    level: RecallLevel
    reason: str
    discovered_at: datetime | None = None  # when the company learnt of it; the clock starts here
    discovered_local: datetime | None = None  # the same as a wall-clock time at the case's site (forms)
    start_due_at: datetime | None = None
    complete_due_at: datetime | None = None


class NothingInScope(InvalidInput):
    code = "recall.nothing_in_scope"
    message = N_("No lot matches the recall's trigger.")


class AmbiguousLotCode(Conflict):
    code = "recall.lot_code_ambiguous"
    message = N_("Lots of several products carry the code {lots}: name the product too.")


class NotInScope(Conflict):
    code = "recall.not_in_scope"
    message = N_("{entity} {key} is not among what this recall reaches.")


class MoreThanOut(Conflict):
    code = "recall.more_than_out"
    message = N_(
        "Only {left} {unit} of lot {lot} is still out at that customer; {wanted} {unit} cannot be destroyed."
    )


class AlreadyNotified(Conflict):
    code = "recall.already_notified"
    message = N_("That customer was already notified for this recall.")


def _required(value: str | None, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(
            N_("{field} is required."), field=name, code=f"recall.{name.rsplit('.', 1)[-1]}_required"
        )
    return text


def seed_lots(uow: UnitOfWork, trigger: Trigger) -> list[int]:
    """The lots a trigger names (one query)."""
    query = select(Lot.id)
    if trigger.kind is TriggerKind.LOTS:
        codes = sorted({code.strip() for code in trigger.lot_codes if code.strip()})
        if not codes:
            raise InvalidInput(
                N_("{field} is required."), field="trigger.lot_codes", code="recall.lots_required"
            )
        query = query.where(Lot.code.in_(codes))
        if trigger.product_code:
            query = query.join(Product, Product.id == Lot.product_id).where(
                Product.code == trigger.product_code
            )
        rows = uow.session.execute(query.add_columns(Lot.code, Lot.product_id)).tuples().all()
        products_of: dict[str, set[int]] = {}
        for _lot_id, code, product_id in rows:
            products_of.setdefault(code, set()).add(product_id)
        missing = [code for code in codes if code not in products_of]
        if missing:
            raise NotFound(entity=N_("lot"), key=", ".join(missing), field="trigger.lot_codes")
        several = sorted(code for code, products in products_of.items() if len(products) > 1)
        if several:
            raise AmbiguousLotCode(field="trigger.lot_codes", lots=", ".join(several))
        return sorted(int(lot_id) for lot_id, _code, _product in rows)
    if trigger.kind is TriggerKind.SUPPLIER_LOT:
        supplier = _required(trigger.supplier_code, "trigger.supplier_code")
        code = _required(trigger.supplier_lot_code, "trigger.supplier_lot_code")
        partner = uow.session.scalar(select(Partner.id).where(Partner.code == supplier))
        if partner is None:
            raise NotFound(entity=N_("supplier"), key=supplier, field="trigger.supplier_code")
        received = select(ReceiptLine.lot_id).where(ReceiptLine.supplier_lot_code == code)
        query = query.where(Lot.supplier_id == partner).where(
            (Lot.supplier_lot_code == code) | Lot.id.in_(received)
        )
    else:
        product_code = _required(trigger.product_code, "trigger.product_code")
        product = uow.session.scalar(select(Product.id).where(Product.code == product_code))
        if product is None:
            raise NotFound(entity=N_("product"), key=product_code, field="trigger.product_code")
        if trigger.date_from is None or trigger.date_to is None:
            name = "trigger.date_from" if trigger.date_from is None else "trigger.date_to"
            raise InvalidInput(N_("{field} is required."), field=name, code="recall.range_required")
        if trigger.date_to < trigger.date_from:
            raise InvalidInput(
                N_("{field} is before the range's start."), field="trigger.date_to", code="recall.range_order"
            )
        query = query.where(Lot.product_id == product, _made_between(uow, trigger.date_from, trigger.date_to))
    lot_ids = sorted(int(i) for i in uow.session.scalars(query))
    if not lot_ids:
        raise NothingInScope(field="trigger")
    return lot_ids


def _made_between(uow: UnitOfWork, first: date, last: date) -> ColumnElement[bool]:
    """A lot made (its production date) or received on a day from ``first`` to ``last`` — days at
    the site, whose midnight is its own; a lot with neither counts by the day it was registered."""
    created, receipts = [], []
    for site_id, zone in uow.session.execute(select(Site.id, Site.time_zone)).tuples():
        tz = ZoneInfo(zone)
        begins = datetime.combine(first, time.min, tzinfo=tz)
        ends = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
        created.append(and_(Lot.site_id == site_id, Lot.created_at >= begins, Lot.created_at < ends))
        receipts.append(
            and_(Receipt.site_id == site_id, Receipt.received_at >= begins, Receipt.received_at < ends)
        )
    received = (
        select(ReceiptLine.lot_id)
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .where(or_(false(), *receipts))
    )
    registered = and_(Lot.production_date.is_(None), or_(false(), *created))
    return or_(Lot.production_date.between(first, last), Lot.id.in_(received), registered)


def _write_scope(uow: UnitOfWork, case_id: int, seeds: list[int]) -> int:
    """Insert the forward trace of ``seeds`` into the case's scope (what is not there yet), in
    one INSERT … SELECT; returns the rows added."""
    reached = reach(Direction.FORWARD)
    missing = ~exists().where(RecallLot.case_id == case_id, RecallLot.lot_id == reached.c.lot_id)
    rows = select(
        literal(case_id),
        reached.c.lot_id,
        is_one_of(reached.c.lot_id, "seeds"),
    ).where(missing)
    before = _scope_size(uow, case_id)
    uow.session.execute(
        insert(RECALL_LOT).from_select(["case_id", "lot_id", "is_trigger"], rows), {"seeds": seeds}
    )
    return _scope_size(uow, case_id) - before  # rowcount: -1 on SQLite for INSERT … SELECT


def _scope_size(uow: UnitOfWork, case_id: int) -> int:
    return int(uow.session.scalar(select(func.count()).where(RecallLot.case_id == case_id)) or 0)


def scope_lot_ids(uow: UnitOfWork, case_id: int) -> list[int]:
    return [int(i) for i in uow.session.scalars(select(RecallLot.lot_id).where(RecallLot.case_id == case_id))]


def open_case(uow: UnitOfWork, request: OpenRequest, *, principal: Principal | None = None) -> RecallCase:
    """Open a recall (as a draft) or run a drill (complete when this returns). Audited. With a
    ``principal``, it must manage recalls at the site of the first trigger lot (the case's site)."""
    reason = _required(request.reason, "reason")
    now = uow.now()
    if request.discovered_at is not None and request.discovered_at.tzinfo is None:
        raise InvalidInput(N_("{field} needs a time zone."), field="discovered_at", code="recall.naive_time")
    seeds = seed_lots(uow, request.trigger)
    site = uow.session.get_one(Site, uow.session.get_one(Lot, seeds[0]).site_id)
    discovered = request.discovered_at or now
    if request.discovered_at is None and request.discovered_local is not None:
        discovered = request.discovered_local.replace(tzinfo=ZoneInfo(site.time_zone))
    if discovered > now:
        raise InvalidInput(N_("{field} is in the future."), field="discovered_at", code="recall.future")
    if principal is not None:
        seed_sites = uow.session.scalars(select(Lot.site_id).where(Lot.id.in_(seeds)).distinct())
        if not all(principal.can(Permission.RECALL_MANAGE, site_id) for site_id in seed_sites):
            raise PermissionDenied(field="trigger", permission=Permission.RECALL_MANAGE.value)
    due = deadlines(
        request.level,
        discovered_at=discovered,
        zone=site.time_zone,
        start_due_at=request.start_due_at,
        complete_due_at=request.complete_due_at,
    )
    year = now.astimezone(ZoneInfo(site.time_zone)).year
    prefix = "RC" if request.kind is RecallKind.RECALL else "MR"
    seq = next_in_sequence(uow.session, f"recall:{prefix}:{year}")
    case = RecallCase(
        number=f"{prefix}-{year}-{seq:04}",
        kind=request.kind.value,
        status=CaseStatus.DRAFT.value,
        level=request.level.value,
        reason=reason,
        trigger=request.trigger.as_json(),
        site_id=site.id,
        discovered_at=discovered,
        opened_at=now,
        opened_by=uow.actor.name,
        start_due_at=due.start_due_at,
        complete_due_at=due.complete_due_at,
        scope_ms=0,
        lots_in_scope=0,
        updated_at=now,
    )
    uow.session.add(case)
    uow.session.flush()
    began = clock.perf_counter()
    case.lots_in_scope = _write_scope(uow, case.id, seeds)
    case.scope_ms = max(0, round((clock.perf_counter() - began) * 1000))
    if request.kind is RecallKind.DRILL:
        case.drill_result = _drill_result(uow, case)
        case.status = CaseStatus.COMPLETED.value
        case.closed_at, case.closed_by = now, uow.actor.name
    record(
        uow,
        action="open",
        entity_type=RECORD_TYPE,
        entity_id=case.id,
        site_id=site.id,
        changes={
            "number": [None, case.number],
            "kind": [None, case.kind],
            "level": [None, case.level],
            "status": [None, case.status],
            "trigger": [None, case.trigger],
            "lots_in_scope": [None, case.lots_in_scope],
        },
        reason=reason,
    )
    emit(
        uow,
        events.RECALL_OPENED,
        subject_type=RECORD_TYPE,
        subject_id=case.id,
        site_id=site.id,
        payload={"number": case.number, "kind": case.kind, "level": case.level, "lots": case.lots_in_scope},
    )
    return case


def _drill_result(uow: UnitOfWork, case: RecallCase) -> dict[str, object]:
    """Time to trace and the mass balance of every lot in scope, differences listed."""
    began = clock.perf_counter()
    balances = mass_balances(uow, select(RecallLot.lot_id).where(RecallLot.case_id == case.id))
    unbalanced = {lot_id: b for lot_id, b in balances.items() if not b.closes}
    codes = (
        dict(
            uow.session.execute(
                select(Lot.id, Lot.code).where(is_one_of(Lot.id, "ids")), {"ids": sorted(unbalanced)}
            )
            .tuples()
            .all()
        )
        if unbalanced
        else {}
    )
    return {
        "time_to_trace_ms": case.scope_ms,
        "balance_ms": round((clock.perf_counter() - began) * 1000),
        "lots": case.lots_in_scope,
        "balanced": case.lots_in_scope - len(unbalanced),
        "unbalanced": [
            {
                "lot_id": lot_id,
                "lot": codes.get(lot_id, str(lot_id)),
                "difference": format(b.difference.base, "f"),
            }
            for lot_id, b in sorted(unbalanced.items())
        ],
    }


def get_case(uow: UnitOfWork, case_id: int, *, lock: bool = False) -> RecallCase:
    query = select(RecallCase).where(RecallCase.id == case_id)
    if lock:  # and read the row again: another transaction may have changed it meanwhile
        query = query.with_for_update().execution_options(populate_existing=True)
    case = uow.session.execute(query).scalar_one_or_none()
    if case is None:
        raise NotFound(entity=N_("recall"), key=case_id, field="case_id")
    return case


def start_case(
    uow: UnitOfWork, *, case_id: int, principal: Principal, signing_grant: str | None
) -> RecallCase:
    """Start a drafted recall by a QA manager's signature: top the scope up, hold every lot in
    scope that has stock or was shipped (its allocations given back), all in this one transaction."""
    case = get_case(uow, case_id, lock=True)
    check_transition(RecallKind(case.kind), CaseStatus(case.status), CaseStatus.ACTIVE)
    # The trigger again (a supplier lot delivered since), then all made from it since the draft.
    seeds = sorted(
        set(seed_lots(uow, Trigger.from_json(case.trigger)))
        | set(
            uow.session.scalars(
                select(RecallLot.lot_id).where(RecallLot.case_id == case.id, RecallLot.is_trigger.is_(True))
            )
        )
    )
    added = _write_scope(uow, case.id, seeds)
    case.lots_in_scope += added
    # Held: what is in stock, and what was shipped — a return of it then comes back held.
    in_scope = select(RecallLot.lot_id).where(RecallLot.case_id == case.id)
    stocked = [
        int(lot_id)
        for lot_id in uow.session.scalars(
            union(
                select(StockOnHand.lot_id).where(StockOnHand.lot_id.in_(in_scope), StockOnHand.qty_base > 0),
                select(ShipmentLine.lot_id).where(ShipmentLine.lot_id.in_(in_scope)),
            ).order_by("lot_id")
        )
    ]
    # What the signer starts: the case as it now stands and exactly the lots it holds.
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=Meaning.RECALL,
        record_type=RECORD_TYPE,
        record_id=case.id,
        content=start_content(case, stocked),
        comment=case.reason,
    )
    why = f"{case.number}: {case.reason}"
    for lot_id in stocked:
        hold = lots.place_hold(uow, lot_id=int(lot_id), hold_type=HoldType.RECALL, reason=why)
        uow.session.add(RecallHold(case_id=case.id, hold_id=hold.id))
    now = uow.now()
    case.status = CaseStatus.ACTIVE.value
    case.started_at, case.started_by, case.start_signature_id = now, principal.display_name, signature.id
    case.updated_at = now
    record(
        uow,
        action="start",
        entity_type=RECORD_TYPE,
        entity_id=case.id,
        site_id=case.site_id,
        changes={
            "status": [CaseStatus.DRAFT.value, case.status],
            "signature_id": [None, signature.id],
            "holds_placed": [None, len(stocked)],
            "lots_added_to_scope": [None, added],
        },
        reason=case.reason,
    )
    emit(
        uow,
        events.RECALL_STARTED,
        subject_type=RECORD_TYPE,
        subject_id=case.id,
        site_id=case.site_id,
        payload={"number": case.number, "holds": len(stocked), "signature_id": signature.id},
    )
    return case


def _signed_content(case: RecallCase) -> dict[str, object]:
    return {
        "number": case.number,
        "level": case.level,
        "reason": case.reason,
        "trigger": case.trigger,
        "lots_in_scope": case.lots_in_scope,
    }


def start_content(case: RecallCase, held_lot_ids: Iterable[int]) -> dict[str, object]:
    """What a start signature binds: the case, its scope's size and the lots it holds (their
    ids' SHA-256, so the record stays small however large the recall)."""
    held = sorted(held_lot_ids)
    digest = hashlib.sha256(",".join(map(str, held)).encode()).hexdigest()
    return {**_signed_content(case), "holds": len(held), "held_lots_sha256": digest}


def close_content(uow: UnitOfWork, case: RecallCase, note: str) -> dict[str, object]:
    """What a closing signature binds: the case, its note, and the recovery it closes on."""
    view = queries.case_view(uow, case, now=uow.now())
    figures = (view.shipped, view.recovered, view.effectiveness)
    shipped, recovered, share = (None if value is None else format(value, "f") for value in figures)
    return {
        **_signed_content(case),
        "close_note": note,
        "unit": view.unit,
        "shipped": shipped,
        "recovered": recovered,
        "effectiveness": share,
        "customers_notified": view.notified,
    }


def _active(uow: UnitOfWork, case_id: int) -> RecallCase:
    case = get_case(uow, case_id, lock=True)
    if case.status != CaseStatus.ACTIVE.value:
        raise Conflict(
            N_("Recall {number} is {status}: only an active recall takes this."),
            field="case_id",
            code="recall.not_active",
            number=case.number,
            status=case.status,
        )
    return case


def _customer_received(uow: UnitOfWork, case_id: int, customer_id: int, lot_id: int | None) -> Decimal:
    """What a customer was shipped of the case's lots (of one lot, if given)."""
    query = (
        select(func.coalesce(func.sum(ShipmentLine.qty_base), 0))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(RecallLot, and_(RecallLot.lot_id == ShipmentLine.lot_id, RecallLot.case_id == case_id))
        .where(Shipment.customer_id == customer_id)
    )
    if lot_id is not None:
        query = query.where(ShipmentLine.lot_id == lot_id)
    return Decimal(uow.session.scalar(query) or 0)


def _customer_recovered(uow: UnitOfWork, case_id: int, customer_id: int, lot_id: int) -> Decimal:
    returned = uow.session.scalar(
        select(func.coalesce(func.sum(CustomerReturn.qty_base), 0))
        .join(ShipmentLine, ShipmentLine.id == CustomerReturn.shipment_line_id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.customer_id == customer_id, CustomerReturn.lot_id == lot_id)
    )
    destroyed = uow.session.scalar(
        select(func.coalesce(func.sum(RecallDestruction.qty_base), 0)).where(
            RecallDestruction.case_id == case_id,
            RecallDestruction.customer_id == customer_id,
            RecallDestruction.lot_id == lot_id,
        )
    )
    return Decimal(returned or 0) + Decimal(destroyed or 0)


def record_destruction(
    uow: UnitOfWork,
    *,
    case_id: int,
    customer_id: int,
    lot_id: int,
    quantity: Decimal,
    unit: str,
    note: str | None,
) -> RecallDestruction:
    """A customer destroyed part of what it got of a lot in scope (no more than is still out
    there: shipped − returned − destroyed already). Audited."""
    case = _active(uow, case_id)
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidInput(N_("{field} must be greater than zero."), field="quantity", code="recall.quantity")
    quantity = quantize(quantity, QTY_PLACES)
    lot = uow.session.get(Lot, lot_id)
    shipped = _customer_received(uow, case.id, customer_id, lot_id) if lot is not None else Decimal(0)
    if lot is None or shipped <= 0:
        raise NotInScope(entity=N_("lot"), key=lot_id, field="lot_id")
    product = uow.session.get_one(Product, lot.product_id)
    try:
        base = convert_for_product(
            uow, product_id=product.id, quantity=quantity, from_unit=unit, to_unit=product.base_unit
        )
    except LotlineError as error:
        error.field = "unit"
        raise
    base = quantize(base, QTY_PLACES)
    left = shipped - _customer_recovered(uow, case.id, customer_id, lot_id)
    if base > left:
        raise MoreThanOut(field="quantity", left=left, wanted=base, unit=product.base_unit, lot=lot.code)
    row = RecallDestruction(
        case_id=case.id,
        customer_id=customer_id,
        lot_id=lot.id,
        qty_base=base,
        entered_qty=quantity,
        entered_unit=unit,
        note=(note or "").strip() or None,
        recorded_at=uow.now(),
        recorded_by=uow.actor.name,
    )
    _add_audited(
        uow,
        case,
        row,
        "destroyed_at_customer",
        {"customer_id": customer_id, "lot_id": lot.id, "qty_base": format(base, "f")},
    )
    return row


def _add_audited(
    uow: UnitOfWork,
    case: RecallCase,
    row: RecallDestruction | RecallNotice,
    action: str,
    facts: dict[str, object],
) -> None:
    """Write a row of the case and its audit record (the row's id and ``facts``, its note)."""
    uow.session.add(row)
    uow.session.flush()
    key = "destruction_id" if isinstance(row, RecallDestruction) else "notice_id"
    record(
        uow,
        action=action,
        entity_type=RECORD_TYPE,
        entity_id=case.id,
        site_id=case.site_id,
        changes={key: [None, row.id], **{name: [None, value] for name, value in facts.items()}},
        reason=row.note,
    )


NOTICE_CHANNELS = ("phone", "email", "letter", "visit", "edi")


def record_notice(
    uow: UnitOfWork, *, case_id: int, customer_id: int, channel: str, note: str | None
) -> RecallNotice:
    """Record that a customer in scope was told of the recall. Audited."""
    case = _active(uow, case_id)
    if channel not in NOTICE_CHANNELS:
        raise InvalidInput(N_("The value of {field} is not valid."), field="channel", code="recall.channel")
    if _customer_received(uow, case.id, customer_id, None) <= 0:
        raise NotInScope(entity=N_("customer"), key=customer_id, field="customer_id")
    if uow.session.scalar(
        select(RecallNotice.id).where(
            RecallNotice.case_id == case.id, RecallNotice.customer_id == customer_id
        )
    ):
        raise AlreadyNotified(field="customer_id")
    notice = RecallNotice(
        case_id=case.id,
        customer_id=customer_id,
        channel=channel,
        note=(note or "").strip() or None,
        notified_at=uow.now(),
        notified_by=uow.actor.name,
    )
    _add_audited(uow, case, notice, "notify", {"customer_id": customer_id, "channel": channel})
    return notice


def close_case(
    uow: UnitOfWork, *, case_id: int, note: str, principal: Principal, signing_grant: str | None
) -> RecallCase:
    """Close an active recall by a QA manager's signature, with a closing note. The recall holds
    stay: what becomes of held stock is a disposition (scrap, return, rework) of its own."""
    case = get_case(uow, case_id, lock=True)
    check_transition(RecallKind(case.kind), CaseStatus(case.status), CaseStatus.CLOSED)
    text = _required(note, "note")
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=Meaning.CLOSE,
        record_type=RECORD_TYPE,
        record_id=case.id,
        content=close_content(uow, case, text),
        comment=text,
    )
    now = uow.now()
    case.status = CaseStatus.CLOSED.value
    case.closed_at, case.closed_by, case.close_signature_id, case.close_note = (
        now,
        principal.display_name,
        signature.id,
        text,
    )
    case.updated_at = now
    record(
        uow,
        action="close",
        entity_type=RECORD_TYPE,
        entity_id=case.id,
        site_id=case.site_id,
        changes={"status": [CaseStatus.ACTIVE.value, case.status], "signature_id": [None, signature.id]},
        reason=text,
    )
    emit(
        uow,
        events.RECALL_CLOSED,
        subject_type=RECORD_TYPE,
        subject_id=case.id,
        site_id=case.site_id,
        payload={"number": case.number, "signature_id": signature.id},
    )
    return case


def list_cases(
    uow: UnitOfWork,
    *,
    statuses: Iterable[str] = (),
    kind: str | None = None,
    site_ids: set[int] | None = None,
) -> list[RecallCase]:
    """The newest 500 cases (of ``site_ids``, when given), by status and kind."""
    query = select(RecallCase).order_by(RecallCase.opened_at.desc(), RecallCase.id.desc()).limit(500)
    wanted = list(statuses)
    if wanted:
        query = query.where(RecallCase.status.in_(wanted))
    if kind:
        query = query.where(RecallCase.kind == kind)
    if site_ids is not None:
        query = query.where(RecallCase.site_id.in_(sorted(site_ids)))
    return list(uow.session.scalars(query))
