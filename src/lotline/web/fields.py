"""Reading page form and query fields: blank means "not given", bad input a clear 422 naming the
field — shared by every page module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lotline.domain.errors import N_, InvalidInput
from lotline.domain.permissions import Permission, Principal
from lotline.models.site import Site
from lotline.uow import UnitOfWork


def optional_int(value: str | None, field: str) -> int | None:
    """A whole number from a form or query field; blank means "not given"."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(
            N_("{field} must be a whole number."), field=field, code="web.not_a_number"
        ) from None
    if number < 0 or number > 2**53 - 1:
        raise InvalidInput(N_("{field} must be a whole number."), field=field, code="web.not_a_number")
    return number


def choice(value: str | None, allowed: type[Any], field: str) -> str | None:
    """An enum value from a form or query field; blank means "not given"."""
    if value is None or not value.strip():
        return None
    if value not in {member.value for member in allowed}:
        raise InvalidInput(N_("{field} has a value that is not allowed."), field=field, code="web.bad_choice")
    return value


def readable_sites(uow: UnitOfWork, principal: Principal, permission: Permission) -> list[Site]:
    allowed = principal.site_ids_with(permission)
    query = select(Site).order_by(Site.code)
    if allowed is not None:
        query = query.where(Site.id.in_(allowed))
    return list(uow.session.scalars(query))
