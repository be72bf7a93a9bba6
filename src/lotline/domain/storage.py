"""Whether a location's storage condition keeps a product within the condition it needs.

A location fits when its band lies inside the product's: a freezer (≤ −18 °C) keeps frozen
goods; a chilled room (0–4 °C) does not; a location with no stated condition (ambient) keeps
only products that need none. Humidity likewise, when the product states a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lotline.domain.errors import N_, Conflict


@dataclass(frozen=True, slots=True)
class Band:
    code: str
    min_c: Decimal | None = None
    max_c: Decimal | None = None
    max_humidity_pct: Decimal | None = None


def fits(needed: Band | None, provided: Band | None) -> bool:
    """Whether ``provided`` (the location's condition) satisfies ``needed`` (the product's)."""
    if needed is None:
        return True
    if provided is None:
        return False
    if needed.code == provided.code:
        return True
    if needed.min_c is not None and (provided.min_c is None or provided.min_c < needed.min_c):
        return False
    if needed.max_c is not None and (provided.max_c is None or provided.max_c > needed.max_c):
        return False
    return needed.max_humidity_pct is None or (
        provided.max_humidity_pct is not None and provided.max_humidity_pct <= needed.max_humidity_pct
    )


class StorageMismatch(Conflict):
    code = "storage.mismatch"
    message = N_("{product} needs {needed}, but {location} provides {provided}.")
    translated_params = ("needed", "provided")  # "no stated condition (ambient)" is a msgid
