"""What the outbound pages show for codes: order, line and allocation statuses, and each reason a
lot was passed over (from the one table of reason texts, so a hold or a retained sample reads
the same wherever it stops stock, on a page or at the console)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from lotline.domain.allocation import Passed, Strategy
from lotline.domain.errors import N_
from lotline.domain.reason_text import REASON_TEXT
from lotline.models.catalog import Partner
from lotline.models.outbound import SalesOrderLine
from lotline.uow import UnitOfWork

Translate = Callable[[str], str]

STRATEGY = {
    Strategy.FEFO.value: N_("FEFO (first expiry, first out)"),
    Strategy.FIFO.value: N_("FIFO (first in, first out)"),
}


def _shortfall(_: Translate, shortfall: Any) -> str | None:
    """How far short a lot falls (the detail ``domain.expiry.minimum_shortfall`` gives), or None."""
    if not isinstance(shortfall, dict):
        return None
    if shortfall.get("measure") == "days":
        return _("%(remaining)s days left, %(required)s required") % shortfall
    if shortfall.get("remaining") is None:
        return _("%(required)s%% required; the share left is unknown (no production date)") % shortfall
    return _("%(remaining)s%% left, %(required)s%% required") % shortfall


def reason_text(_: Translate, code: str) -> str:
    """A reason code (``hold.qa``, ``expires_before_delivery`` …) as the reader reads it."""
    return _(REASON_TEXT[code]) if code in REASON_TEXT else code


def reasons_of(_: Translate, passed: Passed) -> list[dict[str, str | None]]:
    """Each reason a lot was passed over, in the reader's language, with its shortfall if any."""
    return [
        {
            "code": code,
            "text": reason_text(_, code),
            "detail": _shortfall(_, passed.detail.get(code)),
        }
        for code in passed.reasons
    ]


def minimum_text(_: Translate, line: SalesOrderLine) -> str:
    """The customer's minimum shelf life at delivery a line keeps, as the reader reads it."""
    if line.min_days is not None:
        return _("%(days)s d") % {"days": line.min_days}
    if line.min_percent is not None:
        return f"{line.min_percent.normalize():f} %"
    return "—"


def by_id(uow: UnitOfWork, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(select(model).where(model.id.in_(sorted(ids))))}


def customers(uow: UnitOfWork) -> list[Partner]:
    return list(
        uow.session.scalars(
            select(Partner)
            .where(Partner.is_customer.is_(True), Partner.active.is_(True))
            .order_by(Partner.code)
        )
    )
