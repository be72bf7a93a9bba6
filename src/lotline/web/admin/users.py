"""Users and their role grants per site. Access control is GMP-relevant: granting or revoking a
role and (de)activating an account need a reason, and every change lands in the audit trail.

Someone who administers users at some sites only may grant and revoke roles at those sites, and
may change only accounts whose every role lies within them (else they could take over an
account that reaches further than their own).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.audit.service import require_reason
from lotline.auth import service as auth
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound
from lotline.domain.permissions import ROLES, Permission, Principal
from lotline.i18n import LANGUAGES, gettext_for
from lotline.models.site import Site
from lotline.sites.service import check_time_zone
from lotline.uow import UnitOfWork
from lotline.web.admin import forms
from lotline.web.admin.forms import FormValues
from lotline.web.admin.layout import page, refused
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 100
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]+")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_ALL_SITES = "*"


def _sites(uow: UnitOfWork) -> dict[int, Site]:
    return {site.id: site for site in uow.session.scalars(select(Site).order_by(Site.code))}


def _email(values: FormValues) -> str | None:
    email = forms.text(values, "email", max_length=254)
    if email is not None and not _EMAIL.fullmatch(email):
        raise InvalidInput(field="email", code="web.bad_field")
    return email


def _time_zone(values: FormValues) -> str | None:
    zone = forms.text(values, "time_zone", max_length=64)
    return check_time_zone(zone) if zone else None


@router.get("/admin/users")
def user_list(
    request: Request,
    cursor: str | None = None,
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    found = auth.list_users(uow, cursor=cursor, limit=PAGE_SIZE)
    next_url = f"/admin/users?cursor={found.next_cursor}" if found.next_cursor else None
    return page(
        request, "admin/users.html", section="users", users=found.items, sites=_sites(uow), next_url=next_url
    )


def _new_user_context(values: FormValues) -> dict[str, Any]:
    return {"section": "users", "values": values, "languages": LANGUAGES, "zones": forms.time_zones()}


@router.get("/admin/users/new")
def new_user(request: Request, principal: Principal = requires(Permission.USER_WRITE)) -> Response:
    return page(request, "admin/user_new.html", **_new_user_context({}))


@router.post("/admin/users")
def create_user(
    request: Request,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        username = forms.required_text(values, "username", max_length=64)
        if not _USERNAME.fullmatch(username):
            raise InvalidInput(field="username", code="web.bad_field")
        user = auth.create_user(
            uow,
            username=username,
            display_name=forms.required_text(values, "display_name"),
            password=values.get("password", ""),
            email=_email(values),
            language=forms.choice(values, "language", LANGUAGES, required=False),
            time_zone=_time_zone(values),
        )
    except LotlineError as error:
        return refused(
            request, uow, error, "admin/user_new.html", lambda: _new_user_context(values | {"password": ""})
        )
    return redirect(
        f"/admin/users/{user.id}",
        flash=_("User {username} created. Grant them a role so they can work.").format(
            username=user.username
        ),
    )


def _user_context(
    uow: UnitOfWork, principal: Principal, user_id: int, values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    user = auth.get_user(uow, user_id=user_id)
    sites = _sites(uow)
    profile = {
        "display_name": user.display_name,
        "email": user.email or "",
        "language": user.language or "",
        "time_zone": user.time_zone or "",
    }
    grantable = [site for site in sites.values() if auth.may_administer_site(principal, site.id)]
    return {
        "section": "users",
        "subject": user,
        "sites": sites,
        "grantable_sites": grantable,
        "may_grant_everywhere": auth.may_administer_site(principal, None),
        "may_change": auth.administers(principal, user),
        "revocable": {g.id for g in user.grants if auth.may_administer_site(principal, g.site_id)},
        "roles": list(ROLES),
        "languages": LANGUAGES,
        "zones": forms.time_zones(),
        "values": profile | dict(values or {}),
        "is_self": user.id == principal.user_id,
    }


@router.get("/admin/users/{user_id}")
def user_page(
    request: Request,
    user_id: int,
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return page(request, "admin/user.html", **_user_context(uow, principal, user_id))


def _refused_on_user_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    error: LotlineError,
    user_id: int,
    values: FormValues,
    reason_field: str,
) -> Response:
    if error.field == "reason":
        error.field = reason_field  # the reason box of the form that was sent
    typed = values | {"password": ""}
    return refused(
        request, uow, error, "admin/user.html", lambda: _user_context(uow, principal, user_id, typed)
    )


@router.post("/admin/users/{user_id}")
def save_user(
    request: Request,
    user_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    user = auth.get_user(uow, user_id=user_id)
    user_id, username = user.id, user.username
    try:
        auth.check_administers(principal, user)
        changes: dict[str, object] = {
            "display_name": forms.required_text(values, "display_name"),
            "email": _email(values),
            "language": forms.choice(values, "language", LANGUAGES, required=False),
            "time_zone": _time_zone(values),
        }
        if values.get("password"):
            changes["password"] = values["password"]
        auth.update_user(
            uow, user_id=user_id, changes=changes, reason=forms.text(values, "reason", max_length=2000)
        )
    except LotlineError as error:
        return _refused_on_user_page(request, uow, principal, error, user_id, values, "reason")
    return redirect(f"/admin/users/{user_id}", flash=_("User {username} saved.").format(username=username))


@router.post("/admin/users/{user_id}/grants")
def grant_role(
    request: Request,
    user_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    user = auth.get_user(uow, user_id=user_id)
    user_id, username = user.id, user.username
    try:
        role = forms.choice(values, "role", list(ROLES)) or ""
        site_text = forms.required_text(values, "site_id", max_length=20)
        site_id = None if site_text == _ALL_SITES else forms.reference(values, "site_id", required=True)
        auth.check_grant_scope(principal, site_id)
        reason = forms.text(values, "grant_reason", max_length=2000, multiline=True)
        # The grant service records the reason but leaves asking for one to its callers; access
        # control is GMP configuration (LOTLINE_AUDIT_REASON_REQUIRED names role_grant.role).
        require_reason(uow, entity_type="role_grant", changed={"role"}, reason=reason)
        auth.grant_role(uow, user_id=user_id, role=role, site_id=site_id, reason=reason)
    except LotlineError as error:
        return _refused_on_user_page(request, uow, principal, error, user_id, values, "grant_reason")
    return redirect(
        f"/admin/users/{user_id}",
        flash=_("Role {role} granted to {username}.").format(role=role, username=username),
    )


@router.post("/admin/users/{user_id}/grants/{grant_id}/revoke")
def revoke_role(
    request: Request,
    user_id: int,
    grant_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    user = auth.get_user(uow, user_id=user_id)
    grant = next((g for g in user.grants if g.id == grant_id), None)
    if grant is None:
        raise NotFound(entity=N_("role grant"), key=grant_id, field="grant_id")
    user_id, username, role = user.id, user.username, grant.role
    try:
        auth.check_grant_scope(principal, grant.site_id)
        reason = forms.text(values, f"revoke_reason.{grant_id}", max_length=2000, multiline=True)
        auth.revoke_role(uow, grant_id=grant_id, reason=reason)
    except LotlineError as error:
        return _refused_on_user_page(
            request, uow, principal, error, user_id, values, f"revoke_reason.{grant_id}"
        )
    return redirect(
        f"/admin/users/{user_id}",
        flash=_("Role {role} revoked from {username}.").format(role=role, username=username),
    )


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request,
    user_id: int,
    values: FormValues = Depends(forms.form_values),
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    user = auth.get_user(uow, user_id=user_id)
    user_id, username = user.id, user.username
    active = values.get("active") == "yes"
    try:
        auth.check_administers(principal, user)
        if not active and user_id == principal.user_id:
            raise InvalidInput(
                N_("You cannot deactivate your own account."), field="active", code="web.deactivate_self"
            )
        reason = forms.text(values, "active_reason", max_length=2000, multiline=True)
        auth.update_user(uow, user_id=user_id, changes={"active": active}, reason=reason)
    except LotlineError as error:
        return _refused_on_user_page(request, uow, principal, error, user_id, values, "active_reason")
    message = (
        _("User {username} reactivated.")
        if active
        else _("User {username} deactivated; their sessions ended.")
    )
    return redirect(f"/admin/users/{user_id}", flash=message.format(username=username))
