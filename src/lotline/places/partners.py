"""Partners: suppliers, customers and carriers (a partner may be several), with their GLN,
address, contacts, time zone and delivery rules."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select

from lotline.audit.service import record_changed, record_created, snapshot
from lotline.catalog import external_ids
from lotline.catalog.revisions import AUDIT_EXCLUDE
from lotline.domain.errors import N_, AlreadyExists, InvalidInput, NotFound
from lotline.domain.expiry import MinimumShelfLife
from lotline.domain.gs1 import validate_gln
from lotline.domain.units import quantize
from lotline.models.catalog import Partner
from lotline.paging import Page, keyset_page
from lotline.sites.service import check_time_zone
from lotline.uow import UnitOfWork

_ONE_OF = N_("{field} must be one of: {choices}.")
_WHOLE_NUMBER = N_("{field} must be a whole number from {minimum} to {maximum}.")
_UNKNOWN_FIELD = N_("{field} is not a known field.")


class PartnerRole(StrEnum):
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    CARRIER = "carrier"


ROLE_COLUMNS: Final = {
    PartnerRole.SUPPLIER: Partner.is_supplier,
    PartnerRole.CUSTOMER: Partner.is_customer,
    PartnerRole.CARRIER: Partner.is_carrier,
}
PARTNER_FIELDS: Final = frozenset(
    {
        "code",
        "name_zh",
        "name_en",
        "is_supplier",
        "is_customer",
        "is_carrier",
        "gln",
        "address",
        "contacts",
        "time_zone",
        "default_transit_days",
        "min_delivery_days",
        "min_delivery_percent",
        "active",
    }
)
ADDRESS_KEYS: Final = frozenset({"street", "city", "province", "postcode", "country"})
CONTACT_KEYS: Final = frozenset({"name", "phone", "email"})
MAX_TRANSIT_DAYS: Final = 365


def get_partner(uow: UnitOfWork, *, partner_id: int) -> Partner:
    partner = uow.session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(entity=N_("partner"), key=partner_id, field="partner_id")
    return partner


def list_partners(
    uow: UnitOfWork,
    *,
    role: str | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Partner]:
    """Partners, optionally only suppliers, customers or carriers."""
    query = select(Partner)
    if role is not None:
        try:
            column = ROLE_COLUMNS[PartnerRole(role)]
        except ValueError as exc:
            raise InvalidInput(
                _ONE_OF, field="role", code="partner.bad_role", choices=", ".join(PartnerRole)
            ) from exc
        query = query.where(column.is_(True))
    if active is not None:
        query = query.where(Partner.active.is_(active))
    return keyset_page(uow.session, query, Partner.id, cursor=cursor, limit=limit)


def _check_partner_code_free(uow: UnitOfWork, code: str) -> None:
    if uow.session.execute(select(Partner.id).where(Partner.code == code)).first() is not None:
        raise AlreadyExists(entity=N_("partner"), key=code, field="code")


def _checked_address(address: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(address, Mapping):
        raise InvalidInput(field="address", code="partner.bad_address")
    unknown = sorted(set(address) - ADDRESS_KEYS)
    if unknown:
        raise InvalidInput(_UNKNOWN_FIELD, field=f"address.{unknown[0]}", code="partner.bad_address")
    for name, value in address.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInput(field=f"address.{name}", code="partner.bad_address")
    return {name: value for name, value in address.items() if value is not None}


def _checked_contacts(contacts: list[Any]) -> list[dict[str, Any]]:
    if not isinstance(contacts, list):
        raise InvalidInput(field="contacts", code="partner.bad_contact")
    for index, contact in enumerate(contacts):
        if not isinstance(contact, Mapping):
            raise InvalidInput(field=f"contacts.{index}", code="partner.bad_contact")
        unknown = sorted(set(contact) - CONTACT_KEYS)
        if unknown:
            raise InvalidInput(
                _UNKNOWN_FIELD, field=f"contacts.{index}.{unknown[0]}", code="partner.bad_contact"
            )
        if not isinstance(contact.get("name"), str) or not contact["name"].strip():
            raise InvalidInput(
                N_("{field} is required."), field=f"contacts.{index}.name", code="partner.bad_contact"
            )
    return [{name: value for name, value in contact.items() if value is not None} for contact in contacts]


def _check_partner(partner: Partner) -> None:
    """The partner's own rules; no query, so it may run on a changed, unflushed object."""
    if not (partner.is_supplier or partner.is_customer or partner.is_carrier):
        raise InvalidInput(
            N_("A partner must be a supplier, a customer or a carrier (at least one)."),
            field="is_supplier",
            code="partner.no_role",
        )
    partner.gln = validate_gln(partner.gln) if partner.gln else None
    check_time_zone(partner.time_zone)
    partner.address = _checked_address(partner.address)
    partner.contacts = _checked_contacts(partner.contacts)
    transit = partner.default_transit_days
    if transit is not None and (
        isinstance(transit, bool) or not isinstance(transit, int) or not 0 <= transit <= MAX_TRANSIT_DAYS
    ):
        raise InvalidInput(
            _WHOLE_NUMBER,
            field="default_transit_days",
            code="partner.bad_transit_days",
            minimum=0,
            maximum=MAX_TRANSIT_DAYS,
        )
    days, percent = partner.min_delivery_days, partner.min_delivery_percent
    if days is not None or percent is not None:
        try:
            MinimumShelfLife(days=days, percent=percent)
        except InvalidInput as exc:
            exc.field = "min_delivery_days" if days is not None else "min_delivery_percent"
            raise
    if percent is not None:
        # Stored with 6 places: the audit diff then compares like with like after a reload.
        partner.min_delivery_percent = quantize(Decimal(percent), 6, field="min_delivery_percent")


def create_partner(
    uow: UnitOfWork,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    is_supplier: bool = False,
    is_customer: bool = False,
    is_carrier: bool = False,
    gln: str | None = None,
    address: Mapping[str, Any] | None = None,
    contacts: list[Mapping[str, Any]] | None = None,
    time_zone: str | None = None,
    default_transit_days: int | None = None,
    min_delivery_days: int | None = None,
    min_delivery_percent: Decimal | None = None,
    active: bool = True,
) -> Partner:
    """A supplier, customer or carrier (or several); its code is unique."""
    code = code.strip()
    _check_partner_code_free(uow, code)
    now = uow.now()
    partner = Partner(
        code=code,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        is_supplier=is_supplier,
        is_customer=is_customer,
        is_carrier=is_carrier,
        gln=gln,
        address=dict(address or {}),
        contacts=[dict(c) for c in contacts or []],
        time_zone=time_zone or uow.settings.default_time_zone,
        default_transit_days=default_transit_days,
        min_delivery_days=min_delivery_days,
        min_delivery_percent=min_delivery_percent,
        active=active,
        created_at=now,
        updated_at=now,
    )
    _check_partner(partner)
    uow.session.add(partner)
    uow.session.flush()
    record_created(uow, entity_type="partner", entity=partner, entity_id=partner.id, exclude=AUDIT_EXCLUDE)
    return partner


def update_partner(
    uow: UnitOfWork, *, partner_id: int, changes: Mapping[str, Any], reason: str | None = None
) -> Partner:
    """Change a partner; the same rules as at creation hold afterwards."""
    partner = get_partner(uow, partner_id=partner_id)
    unknown = sorted(set(changes) - PARTNER_FIELDS)
    if unknown:
        raise InvalidInput(_UNKNOWN_FIELD, field=unknown[0], code="partner.unknown_field")
    values = dict(changes)
    for name in ("code", "name_zh", "name_en"):
        if name in values:
            values[name] = str(values[name]).strip()
    if "code" in values and values["code"] != partner.code:
        _check_partner_code_free(uow, values["code"])
    before = snapshot(partner, exclude=AUDIT_EXCLUDE)
    for name, value in values.items():
        setattr(partner, name, value)
    _check_partner(partner)
    after = snapshot(partner, exclude=AUDIT_EXCLUDE)
    if after != before:
        partner.updated_at = uow.now()
    record_changed(
        uow, entity_type="partner", entity_id=partner.id, before=before, after=after, reason=reason
    )
    return partner


def upsert_partner(
    uow: UnitOfWork, *, system: str, key: str, fields: Mapping[str, Any], reason: str | None = None
) -> tuple[Partner, bool]:
    """Update the partner (system, key) names, or create it; True when created."""

    def create() -> Partner:
        return create_partner(uow, **fields)

    def update(partner_id: int) -> Partner:
        return update_partner(uow, partner_id=partner_id, changes=fields, reason=reason)

    return external_ids.upsert(
        uow, system=system, entity_type="partner", key=key, create=create, update=update
    )
