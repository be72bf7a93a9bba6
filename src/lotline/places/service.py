"""Locations (a tree per site) and partners (suppliers, customers, carriers).

The functions live in ``locations`` and ``partners``; this module offers them under one name,
as it did before they were split, for callers that use places as a whole.
"""

from __future__ import annotations

from typing import Final

from lotline.catalog.revisions import AUDIT_EXCLUDE
from lotline.config import DEFAULT_REASON_REQUIRED
from lotline.places.locations import (
    ALLOWED_PARENTS,
    LOCATION_FIELDS,
    MAX_DEPTH,
    Descendant,
    LocationKind,
    create_location,
    get_location,
    list_locations,
    location_subtree,
    update_location,
    upsert_location,
)
from lotline.places.partners import (
    ADDRESS_KEYS,
    CONTACT_KEYS,
    MAX_TRANSIT_DAYS,
    PARTNER_FIELDS,
    ROLE_COLUMNS,
    PartnerRole,
    create_partner,
    get_partner,
    list_partners,
    update_partner,
    upsert_partner,
)

# The location fields whose change needs a reason by default. Which fields need one is
# configuration (LOTLINE_AUDIT_REASON_REQUIRED, checked by audit.service.require_reason), as for
# every other entity; this name stays for callers that read it.
LOCATION_REASON_FIELDS: Final = frozenset(
    name.removeprefix("location.") for name in DEFAULT_REASON_REQUIRED if name.startswith("location.")
)

__all__ = [
    "ADDRESS_KEYS",
    "ALLOWED_PARENTS",
    "AUDIT_EXCLUDE",
    "CONTACT_KEYS",
    "LOCATION_FIELDS",
    "LOCATION_REASON_FIELDS",
    "MAX_DEPTH",
    "MAX_TRANSIT_DAYS",
    "PARTNER_FIELDS",
    "ROLE_COLUMNS",
    "Descendant",
    "LocationKind",
    "PartnerRole",
    "create_location",
    "create_partner",
    "get_location",
    "get_partner",
    "list_locations",
    "list_partners",
    "location_subtree",
    "update_location",
    "update_partner",
    "upsert_location",
    "upsert_partner",
]
