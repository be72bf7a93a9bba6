"""The checks an EPCIS document passes before lotline sends it: GS1's JSON Schema with formats
checked, and the CBV vocabulary checked by our own lists.

``jsonschema`` checks no ``format`` by default, and its ``FormatChecker`` checks ``date-time``
only with ``rfc3339-validator`` installed and ``uri`` only with ``rfc3987``/``rfc3986-validator``
(TRAPS.md): ``eventTime: "yesterday"`` would pass. Where the installed checker lacks one of the
two formats the EPCIS schema uses, a strict one of ours (RFC 3339 date-time with its field
ranges; an RFC 3986 absolute URI) stands in, so the checks do not depend on optional packages.

The schema lets bizStep and disposition be any URI outside the CBV namespace (a private
vocabulary); lotline writes only CBV 2.0 bare words, and refuses anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_FILE: Final = "EPCIS-JSON-Schema.json"
# The formats GS1's schema uses; each must be checked by something.
SCHEMA_FORMATS: Final = ("date-time", "uri")

# CBV 2.0 (GS1 Core Business Vocabulary), section 7: business steps and dispositions as bare words.
CBV_BIZ_STEPS: Final = frozenset(
    {
        "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
        "creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying",
        "disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting",
        "installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing",
        "repackaging", "repairing", "replacing", "reserving", "retail_selling", "sampling",
        "sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking", "storing",
        "transporting", "unloading", "unpacking", "void_shipping",
    }
)  # fmt: skip
CBV_DISPOSITIONS: Final = frozenset(
    {
        "active", "available", "completeness_inferred", "completeness_verified", "conformant",
        "container_closed", "container_open", "damaged", "destroyed", "dispensed", "disposed",
        "encoded", "expired", "in_progress", "in_transit", "inactive", "mismatch_class",
        "mismatch_instance", "mismatch_quantity", "needs_replacement", "no_pedigree_match",
        "non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved",
        "retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen",
        "unavailable", "unknown",
    }
)  # fmt: skip
CBV_BIZ_TRANSACTION_TYPES: Final = frozenset(
    {"bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma", "testprd",
     "testres", "upevt"}
)  # fmt: skip
CBV_SOURCE_DESTINATION_TYPES: Final = frozenset({"owning_party", "possessing_party", "location"})

_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))", re.ASCII
)
# RFC 3986 section 3: a scheme, a colon, then only unreserved, reserved or percent-encoded octets.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


def is_rfc3339_date_time(instance: object) -> bool:
    """An RFC 3339 ``date-time`` with real field values (no month 13, no 25:00, an offset)."""
    if not isinstance(instance, str):
        return True  # formats constrain strings only (JSON Schema)
    found = _DATE_TIME.fullmatch(instance)
    if found is None:
        return False
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    try:
        date(year, month, day)
    except ValueError:
        return False
    offset_ok = found.group(7) is None or (int(found.group(7)) <= 23 and int(found.group(8)) <= 59)
    return hour <= 23 and minute <= 59 and second <= 60 and offset_ok  # 60: a leap second


def is_absolute_uri(instance: object) -> bool:
    """An RFC 3986 URI with a scheme (``_:document1``, a blank node, is not one)."""
    return not isinstance(instance, str) or _URI.fullmatch(instance) is not None


_FALLBACKS: Final = {"date-time": is_rfc3339_date_time, "uri": is_absolute_uri}


@lru_cache(maxsize=1)
def format_checker() -> FormatChecker:
    """jsonschema's checker with what is installed, our own for the schema formats it lacks."""
    checker = FormatChecker()
    for name in SCHEMA_FORMATS:
        if name not in checker.checkers:
            checker.checks(name)(_FALLBACKS[name])
    return checker


def format_checks() -> dict[str, str]:
    """Which code checks each format of the schema: ``jsonschema`` (an installed package) or ``lotline``."""
    checker = format_checker()
    return {
        name: "lotline" if checker.checkers[name][0] is _FALLBACKS[name] else "jsonschema"
        for name in SCHEMA_FORMATS
    }


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """GS1's EPCIS 2.0 JSON Schema (draft-07), as shipped with lotline."""
    text = resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    Draft7Validator.check_schema(schema())
    return Draft7Validator(schema(), format_checker=format_checker())


def _where(error: ValidationError) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def _schema_problems(document: object) -> Iterator[str]:
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        # An anyOf/oneOf failure says only "not valid under any"; its closest branch says why.
        cause = best_match(error.context) if error.context else error
        yield f"{_where(cause)}: {cause.message}"


def _events(document: object) -> list[Mapping[str, Any]]:
    body = document.get("epcisBody") if isinstance(document, Mapping) else None
    found = body.get("eventList") if isinstance(body, Mapping) else None
    return [event for event in found if isinstance(event, Mapping)] if isinstance(found, list) else []


def _vocabulary_problems(document: object) -> Iterator[str]:
    for number, event in enumerate(_events(document)):
        where = f"/epcisBody/eventList/{number}"
        if "bizStep" in event and event["bizStep"] not in CBV_BIZ_STEPS:
            yield f"{where}/bizStep: {event['bizStep']!r} is not a CBV 2.0 business step"
        persistent = event.get("persistentDisposition")
        dispositions = [("disposition", event["disposition"])] if "disposition" in event else []
        if isinstance(persistent, Mapping):
            for side in ("set", "unset"):
                values = persistent.get(side)
                dispositions += [(f"persistentDisposition/{side}", v) for v in values or []]
        for name, value in dispositions:
            if value not in CBV_DISPOSITIONS:
                yield f"{where}/{name}: {value!r} is not a CBV 2.0 disposition"
        for index, transaction in enumerate(event.get("bizTransactionList") or []):
            kind = transaction.get("type") if isinstance(transaction, Mapping) else None
            if kind is not None and kind not in CBV_BIZ_TRANSACTION_TYPES:
                yield f"{where}/bizTransactionList/{index}/type: {kind!r} is not a CBV 2.0 type"
        for field in ("sourceList", "destinationList"):
            for index, entry in enumerate(event.get(field) or []):
                kind = entry.get("type") if isinstance(entry, Mapping) else None
                if kind not in CBV_SOURCE_DESTINATION_TYPES:
                    yield f"{where}/{field}/{index}/type: {kind!r} is not a CBV 2.0 source/destination type"


def validate(document: object) -> list[str]:
    """Every way ``document`` fails GS1's schema (formats checked) or the CBV; empty when valid."""
    return [*_schema_problems(document), *_vocabulary_problems(document)]


__all__ = [
    "CBV_BIZ_STEPS",
    "CBV_BIZ_TRANSACTION_TYPES",
    "CBV_DISPOSITIONS",
    "CBV_SOURCE_DESTINATION_TYPES",
    "format_checker",
    "format_checks",
    "is_absolute_uri",
    "is_rfc3339_date_time",
    "schema",
    "validate",
]
