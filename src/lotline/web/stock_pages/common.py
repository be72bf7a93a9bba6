"""What the stock pages share: the sites and locations a person may see, and numbers as typed."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.permissions import Permission, Principal
from lotline.models.catalog import Location
from lotline.uow import UnitOfWork

PAGE_SIZE = 200


def readable_site_ids(principal: Principal) -> frozenset[int] | None:
    """The sites whose stock the person may read (``None``: every site)."""
    sites = principal.site_ids_with(Permission.STOCK_READ)
    return frozenset(sites) if sites is not None else None


def decimal_field(text: str | None, field: str, *, required: bool = False) -> Decimal | None:
    """A number typed into a form; blank means "not given" unless ``required``."""
    if text is None or not text.strip():
        if required:
            raise InvalidInput(N_("{field} is required."), field=field, code="web.required")
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal") from None
    if not value.is_finite():
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal")
    return value


def active_locations(uow: UnitOfWork, site_ids: list[int]) -> list[Location]:
    return list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id.in_(site_ids), Location.active.is_(True))
            .order_by(Location.site_id, Location.code)
        )
    )


def visible_location(uow: UnitOfWork, principal: Principal, location_id: int) -> Location:
    """The location if the person may read its stock; otherwise not found, as if it did not exist."""
    place = uow.session.get(Location, location_id)
    if place is None or not principal.can(Permission.STOCK_READ, place.site_id):
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    return place
