"""How ``lotline`` commands show master data: table cells, JSON, local times, external ids, shelf life.

Every value is shown literally (never as Rich markup), every word through ``t()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from lotline.catalog.schemas import ConfigVersionRead
from lotline.clikit import console, errors, settings, t
from lotline.domain.errors import N_
from lotline.domain.units import plain
from lotline.models.catalog import ConfigVersion, ExternalId, Product, StorageCondition
from lotline.paging import MAX_LIMIT
from lotline.uow import UnitOfWork

JSON_OPTION = typer.Option(False, "--json", help="Print JSON (decimals as strings) instead of a table")
LIMIT_OPTION = typer.Option(200, "--limit", min=1, max=MAX_LIMIT, help="Show at most this many")
_DURATIONS = {
    "HOURS": (N_("{amount} hour"), N_("{amount} hours")),
    "DAYS": (N_("{amount} day"), N_("{amount} days")),
    "MONTHS": (N_("{amount} month"), N_("{amount} months")),
}
_EXPIRY_KINDS = {"USE_BY": N_("use-by"), "BEST_BEFORE": N_("best-before")}


def number(value: Decimal) -> str:
    """A decimal in plain digits without trailing zeros: -18, 0.5, 1000."""
    return plain(value)


def cell(value: object) -> Text:
    """A table cell showing ``value`` literally (never as Rich markup); '-' for nothing."""
    if value is None or value == "":
        return Text("-")
    if isinstance(value, bool):
        return Text(t("yes") if value else t("no"))
    if isinstance(value, Decimal):
        return Text(number(value))
    if isinstance(value, datetime):
        return Text(local_time(value))
    return Text(str(value))


def local_time(moment: datetime) -> str:
    """A stored UTC moment in the operator's time zone (LOTLINE_DEFAULT_TIME_ZONE), offset shown."""
    return moment.astimezone(ZoneInfo(settings().default_time_zone)).isoformat(timespec="seconds")


def print_json(payload: object) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def print_attributes(title: str, attributes: Iterable[tuple[str, object]]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column()
    table.add_column()
    for label, value in attributes:
        table.add_row(Text(label), value if isinstance(value, Text) else cell(value))
    console.print(table)


def note_more(shown: int) -> None:
    """Tell the operator (on stderr, so --json stays clean) that the list goes on."""
    errors.print(Text(t("showing the first {count}; raise --limit to see more", count=shown)))


def external_ids_of(uow: UnitOfWork, *, entity_type: str, entity_id: int) -> list[ExternalId]:
    """The (system, key) pairs outside systems know an entity by."""
    return list(
        uow.session.execute(
            select(ExternalId)
            .where(ExternalId.entity_type == entity_type, ExternalId.entity_id == entity_id)
            .order_by(ExternalId.system, ExternalId.external_key)
        ).scalars()
    )


def external_ids_json(rows: Sequence[ExternalId]) -> list[dict[str, str]]:
    return [{"system": row.system, "key": row.external_key} for row in rows]


def print_external_ids(rows: Sequence[ExternalId]) -> None:
    if not rows:
        console.print(Text(t("external ids: none")))
        return
    table = Table(t("system"), t("key"), t("linked"), title=t("external ids"))
    for row in rows:
        table.add_row(cell(row.system), cell(row.external_key), cell(row.created_at))
    console.print(table)


def duration(amount: int, unit: str) -> str:
    """'18 months', '1 day'; an unknown unit is shown as stored."""
    forms = _DURATIONS.get(unit)
    if forms is None:
        return f"{amount} {unit}"
    return t(forms[0] if amount == 1 else forms[1], amount=amount)


def minimum_shelf_life(days: int | None, percent: Decimal | None) -> str | None:
    if days is not None:
        return duration(days, "DAYS")
    return None if percent is None else f"{number(percent)} %"


# --- catalog wording and change history ----------------------------------------------------------


def shelf_life(product: Product) -> str:
    """'18 months use-by'."""
    kind = _EXPIRY_KINDS.get(product.expiry_kind)
    amount = duration(product.shelf_life_amount, product.shelf_life_unit)
    return f"{amount} {t(kind) if kind else product.expiry_kind}"


def temperature_band(condition: StorageCondition) -> str:
    low, high = condition.min_temp_c, condition.max_temp_c
    if low is not None and high is not None:
        band = f"{number(low)}–{number(high)} °C"
    elif high is not None:
        band = f"≤ {number(high)} °C"
    elif low is not None:
        band = f"≥ {number(low)} °C"
    else:
        band = "-"
    if condition.max_humidity_pct is not None:
        band += " " + t("humidity ≤ {percent} %", percent=number(condition.max_humidity_pct))
    return band


def _version_changes(versions: Sequence[ConfigVersion]) -> list[str]:
    """What each kept version changed against the one before it of the same aspect."""
    described: list[str] = []
    previous: dict[str, dict[str, Any]] = {}
    for version in versions:
        before = previous.get(version.aspect)
        if before is None:
            described.append(t("first version"))
        else:
            changed = sorted(
                k for k in version.content.keys() | before.keys() if before.get(k) != version.content.get(k)
            )
            described.append(
                ", ".join(f"{k}: {before.get(k)} → {version.content.get(k)}" for k in changed) or "-"
            )
        previous[version.aspect] = version.content
    return described


def print_history(versions: Sequence[ConfigVersion]) -> None:
    if not versions:
        console.print(Text(t("change history: none")))
        return
    table = Table(
        t("aspect"), t("version"), t("when"), t("who"), t("reason"), t("changes"), title=t("change history")
    )
    for version, changes in zip(versions, _version_changes(versions), strict=True):
        table.add_row(
            cell(version.aspect),
            cell(version.version),
            cell(version.changed_at),
            cell(version.changed_by),
            cell(version.reason),
            cell(changes),
        )
    console.print(table)


def history_json(versions: Sequence[ConfigVersion]) -> list[dict[str, Any]]:
    return [ConfigVersionRead.model_validate(v).model_dump(mode="json") for v in versions]
