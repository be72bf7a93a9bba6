"""``lotline location|partner …``: each site's location tree, the partners and their details."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree
from sqlalchemy import select

from lotline.clidisplay import (
    JSON_OPTION,
    LIMIT_OPTION,
    cell,
    external_ids_json,
    external_ids_of,
    minimum_shelf_life,
    note_more,
    print_attributes,
    print_external_ids,
    print_json,
)
from lotline.clikit import console, open_db, reports_errors, t
from lotline.domain.errors import N_, NotFound
from lotline.models.catalog import Location, Partner, StorageCondition
from lotline.models.site import Site
from lotline.places import service
from lotline.places.schemas import LocationRead, PartnerRead
from lotline.places.service import PartnerRole

location_app = typer.Typer(help="Locations: each site's tree", no_args_is_help=True)
partner_app = typer.Typer(help="Partners: suppliers, customers, carriers", no_args_is_help=True)

_ROLES = {
    PartnerRole.SUPPLIER: N_("supplier"),
    PartnerRole.CUSTOMER: N_("customer"),
    PartnerRole.CARRIER: N_("carrier"),
}
_ADDRESS = (
    ("street", N_("street")),
    ("city", N_("city")),
    ("province", N_("province")),
    ("postcode", N_("postcode")),
    ("country", N_("country")),
)


# --- locations --------------------------------------------------------------------------------


def _label(location: Location, condition: str | None) -> Text:
    label = Text(f"{location.code}  {location.name_zh} / {location.name_en}  {location.kind}")
    if condition:
        label.append("  " + t("storage: {code}", code=condition))
    if location.is_qa_area:
        label.append("  " + t("QA area"))
    if not location.active:
        label.append("  " + t("(inactive)"))
    return label


@location_app.command("list")
@reports_errors
def list_locations(
    site: str | None = typer.Option(None, "--site", help="Site code; every site when left out"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Locations as a tree per site: warehouse → zone → bin, with kind and storage condition."""
    sites_query = select(Site).order_by(Site.code)
    if site is not None:
        sites_query = sites_query.where(Site.code == site.upper())
    with open_db().transaction(read_only=True) as uow:
        sites = list(uow.session.execute(sites_query).scalars())
        if site is not None and not sites:
            raise NotFound(entity=N_("site"), key=site, field="site")
        # One query for every location of the chosen sites; the tree is built in memory.
        query = (
            select(Location, StorageCondition.code)
            .outerjoin(StorageCondition, StorageCondition.id == Location.storage_condition_id)
            .where(Location.site_id.in_([s.id for s in sites]))
            .order_by(Location.code)
        )
        rows = list(uow.session.execute(query).tuples())
    known = {location.id for location, _condition in rows}
    children: dict[tuple[int, int | None], list[tuple[Location, str | None]]] = defaultdict(list)
    for location, condition in rows:
        # The tree rules keep a parent at its child's site; were one missing, show the child anyway.
        parent = location.parent_id if location.parent_id in known else None
        children[(location.site_id, parent)].append((location, condition))

    def as_dict(location: Location, condition: str | None) -> dict[str, Any]:
        return LocationRead.model_validate(location).model_dump(mode="json") | {
            "storage_condition_code": condition,
            "children": [as_dict(*child) for child in children[(location.site_id, location.id)]],
        }

    def grow(branch: Tree, site_id: int, parent_id: int | None) -> None:
        for location, condition in children[(site_id, parent_id)]:
            grow(branch.add(_label(location, condition)), site_id, location.id)

    if as_json:
        print_json(
            [
                {
                    "site": s.code,
                    "locations": [as_dict(*top) for top in children[(s.id, None)]],
                }
                for s in sites
            ]
        )
        return
    for each in sites:
        tree = Tree(Text(f"{each.code}  {each.name_zh} / {each.name_en}"))
        grow(tree, each.id, None)
        if not children[(each.id, None)]:
            tree.add(Text(t("no locations")))
        console.print(tree)


# --- partners ---------------------------------------------------------------------------------


def _roles(partner: Partner) -> str:
    held = (
        (PartnerRole.SUPPLIER, partner.is_supplier),
        (PartnerRole.CUSTOMER, partner.is_customer),
        (PartnerRole.CARRIER, partner.is_carrier),
    )
    return ", ".join(t(_ROLES[role]) for role, has in held if has)


@partner_app.command("list")
@reports_errors
def list_partners(
    role: PartnerRole | None = typer.Option(None, "--role"),
    active: bool | None = typer.Option(None, "--active/--inactive"),
    limit: int = LIMIT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Partners in the order they were created, optionally only suppliers, customers or carriers."""
    with open_db().transaction(read_only=True) as uow:
        page = service.list_partners(
            uow, role=role.value if role else None, active=active, cursor=None, limit=limit
        )
        if as_json:
            print_json([PartnerRead.model_validate(row).model_dump(mode="json") for row in page.items])
        else:
            table = Table(
                t("code"),
                t("name (zh)"),
                t("name (en)"),
                t("roles"),
                "GLN",
                t("time zone"),
                t("transit days"),
                t("active"),
                title=t("partners"),
            )
            for row in page.items:
                table.add_row(
                    *map(cell, (row.code, row.name_zh, row.name_en, _roles(row), row.gln, row.time_zone)),
                    cell(row.default_transit_days),
                    cell(row.active),
                )
            console.print(table)
    if page.next_cursor:
        note_more(limit)


@partner_app.command("show")
@reports_errors
def show_partner(code: str, as_json: bool = JSON_OPTION) -> None:
    """One partner: roles, address, GLN, contacts, time zone, transit days, external ids."""
    with open_db().transaction(read_only=True) as uow:
        partner = uow.session.execute(select(Partner).where(Partner.code == code)).scalar_one_or_none()
        if partner is None:
            raise NotFound(entity=N_("partner"), key=code, field="code")
        linked = external_ids_of(uow, entity_type="partner", entity_id=partner.id)
        if as_json:
            print_json(
                PartnerRead.model_validate(partner).model_dump(mode="json")
                | {"external_ids": external_ids_json(linked)}
            )
            return
        print_attributes(
            t("partner {code}", code=partner.code),
            [
                (t("code"), partner.code),
                (t("name (zh)"), partner.name_zh),
                (t("name (en)"), partner.name_en),
                (t("roles"), _roles(partner)),
                ("GLN", partner.gln),
                *((t(label), partner.address.get(key)) for key, label in _ADDRESS),
                (t("time zone"), partner.time_zone),
                (t("transit days"), partner.default_transit_days),
                (
                    t("minimum shelf life at delivery"),
                    minimum_shelf_life(partner.min_delivery_days, partner.min_delivery_percent),
                ),
                (t("active"), partner.active),
                (t("created"), partner.created_at),
                (t("updated"), partner.updated_at),
            ],
        )
        if partner.contacts:
            table = Table(t("name"), t("phone"), t("email"), title=t("contacts"))
            for contact in partner.contacts:
                table.add_row(*map(cell, (contact.get("name"), contact.get("phone"), contact.get("email"))))
            console.print(table)
        else:
            console.print(Text(t("contacts: none")))
        print_external_ids(linked)
