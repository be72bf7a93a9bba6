"""Lots: registration with coded numbers and fixed expiry, holds, signed re-dating.

A lot's expiry is decided once, when it is registered, from the product's shelf-life rule
of that moment, and stored with its provenance; a later change of the rule moves no lot.
Re-dating is its own signed transaction. Holds are typed and independent: lifting one, by a
signed decision, never lifts another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lotline.audit.service import record, record_changed, record_created, snapshot
from lotline.catalog.service import get_product, shelf_life_rule, validate_custom_fields
from lotline.db import next_in_sequence
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound, PermissionDenied
from lotline.domain.expiry import InputLot, RedateKind, compute_expiry, is_expired, redate
from lotline.domain.lotcode import parse_template, validate_external_code
from lotline.domain.matrix import StockSituation
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import HoldType, QualityStatus, StockStatus
from lotline.models.catalog import LotType, Partner
from lotline.models.lot import Hold, Lot
from lotline.models.stock import StockOnHand
from lotline.outbound import allocation
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.signatures import service as signatures
from lotline.sites.service import get_site
from lotline.uow import UnitOfWork

SOURCES = ("PRODUCTION", "SUPPLIER")
AUDIT_EXCLUDE = ("created_at", "updated_at")


def get_lot(uow: UnitOfWork, *, lot_id: int) -> Lot:
    lot = uow.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(entity=N_("lot"), key=lot_id, field="lot_id")
    return lot


def visible_lot(uow: UnitOfWork, principal: Principal, lot_id: int, permission: Permission) -> Lot:
    """The lot, if the caller holds ``permission`` at its site (a read: or where it is stocked).

    Someone who may not even read the lot's site gets "not found" (no existence leak); someone
    who may read it but not do this gets "not allowed".
    """
    lot = uow.session.get(Lot, lot_id)
    if lot is not None and (
        principal.can(permission, lot.site_id) or _read_where_stocked(uow, principal, lot, permission)
    ):
        return lot
    if lot is not None and principal.can(Permission.LOT_READ, lot.site_id):
        raise PermissionDenied(permission=permission.value)
    raise NotFound(entity=N_("lot"), key=lot_id, field="lot_id")


# A lot sent to another site is read there too: the receiving warehouse and its QA see the lot
# they hold (its page, stock and movements), though its decisions stay with the home site.
STOCK_SITE_READS = frozenset({Permission.LOT_READ, Permission.STOCK_READ, Permission.QUALITY_READ})


def _read_where_stocked(uow: UnitOfWork, principal: Principal, lot: Lot, permission: Permission) -> bool:
    """Whether ``permission`` is a read the caller holds at a site where the lot has (had) stock."""
    if permission not in STOCK_SITE_READS:
        return False
    sites = principal.site_ids_with(permission)
    if not sites:
        return False
    found = uow.session.scalar(
        select(StockOnHand.id)
        .where(StockOnHand.lot_id == lot.id, StockOnHand.site_id.in_(sorted(sites)))
        .limit(1)
    )
    return found is not None


def visible_hold(uow: UnitOfWork, principal: Principal, hold_id: int, permission: Permission) -> Hold:
    """The hold, if the caller holds ``permission`` at its site; else as :func:`visible_lot`."""
    hold = uow.session.get(Hold, hold_id)
    if hold is None or not principal.can(permission, hold.site_id):
        if hold is not None and principal.can(Permission.LOT_READ, hold.site_id):
            raise PermissionDenied(permission=permission.value)
        raise NotFound(entity=N_("hold"), key=hold_id, field="hold_id")
    return hold


def register_lot(
    uow: UnitOfWork,
    *,
    product_id: int,
    site_id: int,
    source: str,
    code: str | None = None,
    production_date: date | None = None,
    produced_at: datetime | None = None,
    supplier_id: int | None = None,
    supplier_lot_code: str | None = None,
    supplier_expiry: date | None = None,
    attributes: Mapping[str, Any] | None = None,
    line: str | None = None,
    inputs: Sequence[InputLot] = (),
    provenance: Mapping[str, Any] | None = None,
) -> Lot:
    """Register a lot in QUARANTINE: its code (generated or checked), expiry and provenance.

    ``inputs``: the lots a produced lot may not outlive (compute_expiry); ``provenance``: more
    to record with the expiry decision (the transformation that made the lot)."""
    if source not in SOURCES:
        raise InvalidInput(field="source", code="lot.bad_source")
    product = get_product(uow, product_id=product_id)
    site = get_site(uow, site_id=site_id)
    lot_type = uow.session.get(LotType, product.lot_type_id)
    assert lot_type is not None  # a foreign key
    custom = validate_custom_fields(lot_type, attributes or {})
    if source == "SUPPLIER":
        supplier = uow.session.get(Partner, supplier_id) if supplier_id is not None else None
        if supplier is None or not supplier.is_supplier:
            raise NotFound(entity=N_("supplier"), key=supplier_id, field="supplier_id")
        if not supplier_lot_code:
            raise InvalidInput(
                N_("{field} is required for a supplier lot."),
                field="supplier_lot_code",
                code="lot.supplier_lot_required",
            )
        validate_external_code(supplier_lot_code, None, field="supplier_lot_code")
    decision = compute_expiry(
        shelf_life_rule(product),
        produced_on=production_date,
        produced_at=produced_at,
        supplier_expiry=supplier_expiry,
        inputs=inputs,
        site_zone=site.time_zone,
    )
    if code is None:
        template = parse_template(lot_type.code_template)
        on = production_date or uow.now().astimezone(ZoneInfo(site.time_zone)).date()
        seq = next_in_sequence(
            uow.session, template.sequence_scope(lot_type=lot_type.code, site=site.code, on=on)
        )
        code = template.render(site=site.code, on=on, seq=seq, product=product.code, line=line)
    else:
        code = validate_external_code(code, lot_type.external_code_pattern, field="code")
    if uow.session.execute(select(Lot.id).where(Lot.product_id == product.id, Lot.code == code)).first():
        raise AlreadyExists(entity=N_("lot"), key=code, field="code")
    now = uow.now()
    lot = Lot(
        product_id=product.id,
        code=code,
        site_id=site.id,
        lot_type_id=lot_type.id,
        quality_status=QualityStatus.QUARANTINE.value,
        source=source,
        production_date=production_date,
        produced_at=produced_at,
        expiry_date=decision.expiry_date,
        expiry_at=decision.expiry_at,
        retest_date=decision.retest_date,
        expiry_provenance={**decision.provenance, **(provenance or {})},
        supplier_id=supplier_id,
        supplier_lot_code=supplier_lot_code,
        supplier_expiry_date=supplier_expiry,
        attributes=custom,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(lot)
    uow.session.flush()
    record_created(
        uow, entity_type="lot", entity=lot, entity_id=lot.id, site_id=site.id, exclude=AUDIT_EXCLUDE
    )
    emit(
        uow,
        events.LOT_CREATED,
        subject_type="lot",
        subject_id=lot.id,
        site_id=site.id,
        payload={"code": code, "product_id": product.id, "expiry_date": lot.expiry_date.isoformat()},
    )
    return lot


def all_holds(uow: UnitOfWork, *, lot_id: int) -> list[Hold]:
    """Every hold a lot ever had, active and lifted, oldest first."""
    return list(uow.session.execute(select(Hold).where(Hold.lot_id == lot_id).order_by(Hold.id)).scalars())


def active_holds(uow: UnitOfWork, *, lot_id: int) -> list[Hold]:
    """The holds standing on a lot now, oldest first."""
    return list(
        uow.session.execute(
            select(Hold).where(Hold.lot_id == lot_id, Hold.lifted_at.is_(None)).order_by(Hold.id)
        ).scalars()
    )


def place_hold(uow: UnitOfWork, *, lot_id: int, hold_type: HoldType, reason: str) -> Hold:
    """Block a lot for ``reason``; other holds are untouched."""
    if not reason.strip():
        raise InvalidInput(N_("{field} is required."), field="reason", code="hold.reason_required")
    lot = get_lot(uow, lot_id=lot_id)
    hold = Hold(
        lot_id=lot.id,
        site_id=lot.site_id,
        hold_type=hold_type.value,
        reason=reason.strip(),
        placed_at=uow.now(),
        placed_by=uow.actor.name,
    )
    uow.session.add(hold)
    uow.session.flush()
    # Orders holding this lot must not ship it: their allocations are flagged for re-allocation,
    # or given back outright by a recall.
    flagged = allocation.flag_for_hold(
        uow,
        lot_id=lot.id,
        location_id=None,
        sscc=None,
        reason=f"hold.{hold_type.value.lower()}",
        release=hold_type is HoldType.RECALL,
    )
    record(
        uow,
        action="hold",
        entity_type="lot",
        entity_id=lot.id,
        site_id=lot.site_id,
        changes={
            "hold_id": [None, hold.id],
            "hold_type": [None, hold.hold_type],
            **({"allocations_flagged": [None, flagged]} if flagged else {}),
        },
        reason=hold.reason,
    )
    emit(
        uow,
        events.HOLD_PLACED,
        subject_type="lot",
        subject_id=lot.id,
        site_id=lot.site_id,
        payload={"hold_id": hold.id, "hold_type": hold.hold_type},
    )
    return hold


def lift_hold(
    uow: UnitOfWork, *, hold_id: int, reason: str, principal: Principal, signing_grant: str | None
) -> Hold:
    """Lift one hold by a signed decision; every other hold on the lot stays."""
    hold = uow.session.get(Hold, hold_id)
    if hold is None or hold.lifted_at is not None:
        raise NotFound(entity=N_("active hold"), key=hold_id, field="hold_id")
    if not reason.strip():
        raise InvalidInput(N_("{field} is required."), field="reason", code="hold.reason_required")
    content = {
        "hold_id": hold.id,
        "lot_id": hold.lot_id,
        "hold_type": hold.hold_type,
        "placed_reason": hold.reason,
        "lift_reason": reason.strip(),
    }
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=Meaning.LIFT_HOLD,
        record_type="hold",
        record_id=hold.id,
        content=content,
        comment=reason.strip(),
    )
    hold.lifted_at, hold.lifted_by, hold.lift_reason = uow.now(), principal.display_name, reason.strip()
    hold.lift_signature_id = signature.id
    record(
        uow,
        action="lift_hold",
        entity_type="lot",
        entity_id=hold.lot_id,
        site_id=hold.site_id,
        changes={"hold_id": [hold.id, None], "signature_id": [None, signature.id]},
        reason=reason.strip(),
    )
    emit(
        uow,
        events.HOLD_LIFTED,
        subject_type="lot",
        subject_id=hold.lot_id,
        site_id=hold.site_id,
        payload={"hold_id": hold.id, "hold_type": hold.hold_type, "signature_id": signature.id},
    )
    return hold


def redate_lot(
    uow: UnitOfWork,
    *,
    lot_id: int,
    new_expiry: date,
    kind: RedateKind,
    reason: str,
    principal: Principal,
    signing_grant: str | None,
) -> Lot:
    """Move one lot's expiry (retest passed, extension, thaw, shortening): signed, with a reason."""
    lot = get_lot(uow, lot_id=lot_id)
    change = redate(lot.expiry_date, new_expiry=new_expiry, reason_kind=kind)
    content = {
        "lot_id": lot.id,
        "code": lot.code,
        "old_expiry": lot.expiry_date.isoformat(),
        "new_expiry": change.expiry_date.isoformat(),
        "kind": kind.value,
        "reason": reason,
    }
    signature = signatures.sign(
        uow,
        principal=principal,
        grant_secret=signing_grant,
        meaning=Meaning.REDATE,
        record_type="lot",
        record_id=lot.id,
        content=content,
        comment=reason,
    )
    before = snapshot(lot, ["expiry_date", "expiry_at"])
    lot.expiry_date, lot.expiry_at = change.expiry_date, None
    provenance = dict(lot.expiry_provenance)
    provenance["redatings"] = [
        *provenance.get("redatings", []),
        {**change.entry, "signature_id": signature.id, "signer": principal.display_name, "reason": reason},
    ]
    lot.expiry_provenance = provenance
    lot.updated_at = uow.now()
    record_changed(
        uow,
        entity_type="lot",
        entity_id=lot.id,
        site_id=lot.site_id,
        before=before,
        after=snapshot(lot, ["expiry_date", "expiry_at"]),
        reason=reason,
        action="redate",
    )
    emit(
        uow,
        events.LOT_REDATED,
        subject_type="lot",
        subject_id=lot.id,
        site_id=lot.site_id,
        payload={
            "old": before["expiry_date"],
            "new": lot.expiry_date.isoformat(),
            "signature_id": signature.id,
        },
    )
    return lot


def situation(uow: UnitOfWork, *, lot: Lot, now: datetime) -> StockSituation:
    """The lot as the matrix sees it (lot level, until the stock ledger gives per-pallet status)."""
    site = get_site(uow, site_id=lot.site_id)
    stock = {
        QualityStatus.RELEASED.value: StockStatus.AVAILABLE,
        QualityStatus.REJECTED.value: StockStatus.REJECTED,
    }.get(lot.quality_status, StockStatus.QUARANTINE)
    return StockSituation(
        quality=QualityStatus(lot.quality_status),
        stock=stock,
        holds=frozenset(HoldType(h.hold_type) for h in active_holds(uow, lot_id=lot.id)),
        expired=is_expired(
            expiry_date=lot.expiry_date, expiry_at=lot.expiry_at, site_zone=site.time_zone, now=now
        ),
    )
