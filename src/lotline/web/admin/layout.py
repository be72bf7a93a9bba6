"""What every administration page shares: its sections, who may open them, and how it renders.

Reading an administration page needs the permission that editing it needs: a person who may not
change products does not browse the product editor either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from lotline.api.deps import Authenticated, current_principal
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, LotlineError, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.i18n import gettext_for
from lotline.uow import UnitOfWork
from lotline.web.admin import labels
from lotline.web.shell import render


@dataclass(frozen=True)
class Section:
    key: str
    href: str
    label: str  # a msgid
    summary: str  # a msgid
    permissions: tuple[Permission, ...]  # any one of them opens it


SECTIONS = (
    Section(
        "products",
        "/admin/products",
        N_("Products"),
        N_("Identification, units, storage and the shelf-life rule of each product."),
        (Permission.MASTER_WRITE,),
    ),
    Section(
        "units",
        "/admin/units",
        N_("Units of measure"),
        N_("Units and how they convert to their base unit."),
        (Permission.MASTER_WRITE,),
    ),
    Section(
        "storage",
        "/admin/storage-conditions",
        N_("Storage conditions"),
        N_("Temperature and humidity bands that products need and locations provide."),
        (Permission.MASTER_WRITE,),
    ),
    Section(
        "lot_types",
        "/admin/lot-types",
        N_("Lot types"),
        N_("Lot-code rules and the custom fields lots carry."),
        (Permission.MASTER_WRITE,),
    ),
    Section(
        "sites",
        "/admin/sites",
        N_("Sites and locations"),
        N_("Sites with their time zones, and each site's warehouses, zones, bins, cold rooms and vehicles."),
        (Permission.MASTER_WRITE, Permission.SITE_WRITE),
    ),
    Section(
        "partners",
        "/admin/partners",
        N_("Partners"),
        N_("Suppliers, customers and carriers."),
        (Permission.MASTER_WRITE,),
    ),
    Section(
        "users",
        "/admin/users",
        N_("Users and roles"),
        N_("Accounts and the roles they hold at each site."),
        (Permission.USER_WRITE,),
    ),
    Section(
        "history",
        "/admin/history",
        N_("Change history"),
        N_("Every change of GMP configuration: who, when, why and what changed."),
        (Permission.MASTER_WRITE, Permission.USER_WRITE),
    ),
)


def sections_for(principal: Principal) -> list[Section]:
    """The sections this principal may open."""
    return [s for s in SECTIONS if any(principal.can(p) for p in s.permissions)]


class RequiresAny(Authenticated):
    """Dependency: the principal holds at least one of ``permissions`` (at some site)."""

    def __init__(self, *permissions: Permission) -> None:
        self.permissions = permissions

    def __call__(self, principal: Principal = Depends(current_principal)) -> Principal:
        if not any(principal.can(p) for p in self.permissions):
            raise PermissionDenied(permission=" | ".join(p.value for p in self.permissions))
        return principal

    def __repr__(self) -> str:
        return f"RequiresAny({', '.join(p.value for p in self.permissions)})"


def requires_any(*permissions: Permission) -> Any:
    """``principal: Principal = requires_any(Permission.X, Permission.Y)`` — any one suffices."""
    return Depends(RequiresAny(*permissions))


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render an administration page: the admin navigation entry, its sections, its labels."""
    principal: Principal = request.state.principal
    return render(
        request,
        template,
        status_code,
        active="admin",
        sections=sections_for(principal),
        **labels.ALL,
        **context,
    )


def refused(
    request: Request,
    uow: UnitOfWork,
    error: LotlineError,
    template: str,
    context: Callable[[], Mapping[str, Any]],
) -> HTMLResponse:
    """The form again, with the message and what the person typed; nothing of it is written.

    ``context`` is built after the rollback, so the page shows the data as stored.
    """
    uow.rollback()
    _ = gettext_for(request.state.language)
    return page(
        request,
        template,
        STATUS_BY_KIND[error.kind],
        error=error.render(_),
        error_field=error.field,
        **context(),
    )


def zone_of(request: Request) -> str:
    """The time zone changes to global configuration are shown in (the server's default)."""
    return str(request.app.state.settings.default_time_zone)
