"""Partners: suppliers, customers and carriers with their GLN, address, contacts, time zone and
delivery rules."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.domain.errors import InvalidInput, LotlineError
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.models.catalog import Partner
from lotline.places import service as places
from lotline.places.partners import MAX_TRANSIT_DAYS, PartnerRole
from lotline.uow import UnitOfWork
from lotline.web.admin import forms
from lotline.web.admin.forms import FormValues
from lotline.web.admin.layout import page, refused
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50
MAX_CONTACTS = 20
BLANK_CONTACTS = 2
_ADDRESS = ("street", "city", "province", "postcode", "country")
_ROLES = ("is_supplier", "is_customer", "is_carrier")
_CONTACT = re.compile(r"contacts\.(\d{1,2})\.")
# The API's shapes for the parts the partner service stores as given.
_POSTCODE = re.compile(r"[A-Za-z0-9 \-]{1,20}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{0,39}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def _shaped(value: str | None, pattern: re.Pattern[str], field: str) -> str | None:
    if value is not None and not pattern.fullmatch(value):
        raise InvalidInput(field=field, code="web.bad_field")
    return value


def address_of(values: FormValues) -> dict[str, str]:
    address = {name: forms.text(values, f"address.{name}", max_length=200) for name in _ADDRESS}
    if address["country"]:
        address["country"] = address["country"].upper()
    _shaped(address["postcode"], _POSTCODE, "address.postcode")
    _shaped(address["country"], _COUNTRY, "address.country")
    return {name: value for name, value in address.items() if value}


def contacts_of(values: FormValues) -> list[dict[str, str]]:
    """The contact rows as typed; a row with no name and nothing else is left out."""
    indices = sorted({int(m.group(1)) for key in values if (m := _CONTACT.match(key))})
    contacts = []
    for index in indices[:MAX_CONTACTS]:
        prefix = f"contacts.{index}"
        name = forms.text(values, f"{prefix}.name")
        phone = _shaped(forms.text(values, f"{prefix}.phone", max_length=40), _PHONE, f"{prefix}.phone")
        email = _shaped(forms.text(values, f"{prefix}.email", max_length=254), _EMAIL, f"{prefix}.email")
        if name is None and phone is None and email is None:
            continue
        if name is None:
            forms.required_text(values, f"{prefix}.name")
        contact = {"name": name or "", "phone": phone, "email": email}
        contacts.append({key: value for key, value in contact.items() if value})
    return contacts


def partner_fields(values: FormValues) -> dict[str, Any]:
    days, percent = forms.minimum_shelf_life(values, "min_delivery")
    return {
        "code": forms.code(values, "code", max_length=40),
        "name_zh": forms.required_text(values, "name_zh"),
        "name_en": forms.required_text(values, "name_en"),
        **{role: forms.flag(values, role) for role in _ROLES},
        "gln": forms.text(values, "gln", max_length=13),
        "address": address_of(values),
        "contacts": contacts_of(values),
        "time_zone": forms.required_text(values, "time_zone", max_length=64),
        "default_transit_days": forms.whole(
            values, "default_transit_days", minimum=0, maximum=MAX_TRANSIT_DAYS
        ),
        "min_delivery_days": days,
        "min_delivery_percent": percent,
        "active": forms.flag(values, "active"),
    }


def partner_values(partner: Partner) -> FormValues:
    values = {
        "code": partner.code,
        "name_zh": partner.name_zh,
        "name_en": partner.name_en,
        "gln": partner.gln or "",
        "time_zone": partner.time_zone,
        "default_transit_days": forms.shown(partner.default_transit_days),
        "active": "on" if partner.active else "",
    }
    values |= {role: "on" if getattr(partner, role) else "" for role in _ROLES}
    values |= {f"address.{name}": str(partner.address.get(name) or "") for name in _ADDRESS}
    for index, contact in enumerate(partner.contacts):
        values |= {
            f"contacts.{index}.{key}": str(contact.get(key) or "") for key in ("name", "phone", "email")
        }
    values |= forms.minimum_fields(partner.min_delivery_days, partner.min_delivery_percent, "min_delivery")
    return values


def _contact_rows(values: FormValues) -> list[dict[str, str]]:
    """The contact rows the editor shows: those filled in, and some blank ones."""
    indices = sorted({int(m.group(1)) for key in values if (m := _CONTACT.match(key))})
    rows = [
        {key: values.get(f"contacts.{i}.{key}", "") for key in ("name", "phone", "email")}
        for i in indices[:MAX_CONTACTS]
    ]
    rows = [row for row in rows if any(row.values())]
    return rows + [{"name": "", "phone": "", "email": ""} for _ in range(BLANK_CONTACTS)]


def _editor(partner: Partner | None, values: FormValues) -> dict[str, Any]:
    return {
        "section": "partners",
        "partner": partner,
        "values": values,
        "contacts": _contact_rows(values),
        "zones": forms.time_zones(),
    }


@router.get("/admin/partners")
def partner_list(
    request: Request,
    role: str | None = None,
    active: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    chosen = forms.choice({"role": role or ""}, "role", [r.value for r in PartnerRole], required=False)
    only_active = {"yes": True, "no": False}.get(active or "")
    found = places.list_partners(uow, role=chosen, active=only_active, cursor=cursor, limit=PAGE_SIZE)
    kept = {
        k: v for k, v in {"role": chosen, "active": active if only_active is not None else None}.items() if v
    }
    next_url = (
        f"/admin/partners?{urlencode({**kept, 'cursor': found.next_cursor})}" if found.next_cursor else None
    )
    return page(
        request,
        "admin/partners.html",
        section="partners",
        partners=found.items,
        filters={"role": chosen or "", "active": active or ""},
        roles=[r.value for r in PartnerRole],
        next_url=next_url,
    )


@router.get("/admin/partners/new")
def new_partner(request: Request, principal: Principal = requires(Permission.MASTER_WRITE)) -> Response:
    values = {
        "time_zone": str(request.app.state.settings.default_time_zone),
        "active": "on",
        "is_supplier": "on",
    }
    return page(request, "admin/partner.html", **_editor(None, values))


@router.post("/admin/partners")
def create_partner(
    request: Request,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        partner = places.create_partner(uow, **partner_fields(values))
    except LotlineError as error:
        return refused(request, uow, error, "admin/partner.html", lambda: _editor(None, values))
    return redirect(
        f"/admin/partners/{partner.id}", flash=_("Partner {code} saved.").format(code=partner.code)
    )


@router.get("/admin/partners/{partner_id}")
def partner_page(
    request: Request,
    partner_id: int,
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    partner = places.get_partner(uow, partner_id=partner_id)
    return page(request, "admin/partner.html", **_editor(partner, partner_values(partner)))


@router.post("/admin/partners/{partner_id}")
def save_partner(
    request: Request,
    partner_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.MASTER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    partner = places.get_partner(uow, partner_id=partner_id)
    partner_id = partner.id
    try:
        reason = forms.text(values, "reason", max_length=2000, multiline=True)
        saved = places.update_partner(
            uow, partner_id=partner_id, changes=partner_fields(values), reason=reason
        )
    except LotlineError as error:
        return refused(
            request,
            uow,
            error,
            "admin/partner.html",
            lambda: _editor(places.get_partner(uow, partner_id=partner_id), values),
        )
    return redirect(f"/admin/partners/{partner_id}", flash=_("Partner {code} saved.").format(code=saved.code))
