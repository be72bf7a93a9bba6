"""Locations (the tree rules, moves, one-query subtrees, change control) and partners."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from lotline.catalog import storage_conditions
from lotline.config import DEFAULT_REASON_REQUIRED
from lotline.domain.errors import AlreadyExists, InvalidInput, NotFound, ReasonRequired
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ExternalId, Location, Partner
from lotline.places import locations, partners
from lotline.places import service as places_service
from lotline.sites import service as sites
from lotline.uow import Database, UnitOfWork
from tests.conftest import FakeClock, make_settings


@dataclass
class Sites:
    a: int
    b: int
    frozen: int
    chilled: int


@pytest.fixture
def plant(db: Database, clock: FakeClock) -> Sites:
    """Two sites and two storage conditions, no locations yet."""
    with db.transaction(clock=clock) as uow:
        site_a = sites.create_site(
            uow, code="SH01", name_zh="松江", name_en="Songjiang", time_zone="Asia/Shanghai"
        )
        site_b = sites.create_site(
            uow, code="BJ01", name_zh="顺义", name_en="Shunyi", time_zone="Asia/Shanghai"
        )
        frozen = storage_conditions.create_storage_condition(
            uow, code="FROZEN", name_zh="冷冻", name_en="Frozen", min_temp_c=None, max_temp_c=Decimal(-18)
        )
        chilled = storage_conditions.create_storage_condition(
            uow,
            code="CHILLED",
            name_zh="冷藏",
            name_en="Chilled",
            min_temp_c=Decimal(0),
            max_temp_c=Decimal(4),
        )
        return Sites(site_a.id, site_b.id, frozen.id, chilled.id)


def add(
    uow: UnitOfWork, site_id: int, code: str, kind: str, parent: Location | None = None, **extra: Any
) -> Location:
    return locations.create_location(
        uow,
        site_id=site_id,
        code=code,
        name_zh=code,
        name_en=code,
        kind=kind,
        parent_id=parent.id if parent else None,
        **extra,
    )


def rows(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def test_the_subtree_of_a_warehouse_is_every_descendant_read_in_one_query(
    db: Database, clock: FakeClock, plant: Sites
) -> None:
    with db.transaction(clock=clock) as uow:
        warehouse = add(uow, plant.a, "WH1", "WAREHOUSE")
        zone = add(uow, plant.a, "WH1-Z1", "ZONE", warehouse)
        cold_room = add(uow, plant.a, "WH1-CR", "COLD_ROOM", warehouse, storage_condition_id=plant.frozen)
        for code, parent in (
            ("WH1-Z1-B1", zone),
            ("WH1-Z1-B2", zone),
            ("WH1-CR-B1", cold_room),
            ("WH1-B0", warehouse),
        ):
            add(uow, plant.a, code, "BIN", parent)
        other = add(uow, plant.a, "WH2", "WAREHOUSE")
        add(uow, plant.a, "WH2-B1", "BIN", add(uow, plant.a, "WH2-Z1", "ZONE", other))
        add(uow, plant.a, "TRUCK-7", "VEHICLE")
        warehouse_id, zone_id = warehouse.id, zone.id

    with db.transaction(read_only=True) as uow:
        uow.session.execute(select(1))  # the transaction is open: only the subtree query is counted
        with counted_statements(db) as statements:
            subtree = locations.location_subtree(uow, location_id=warehouse_id)
            zone_subtree = locations.location_subtree(uow, location_id=zone_id)
        assert len(statements) == 2, statements
        assert [(node.location.code, node.depth) for node in subtree] == [
            ("WH1-B0", 1),
            ("WH1-CR", 1),
            ("WH1-Z1", 1),
            ("WH1-CR-B1", 2),
            ("WH1-Z1-B1", 2),
            ("WH1-Z1-B2", 2),
        ]
        assert [node.location.code for node in zone_subtree] == ["WH1-Z1-B1", "WH1-Z1-B2"]
        bin_id = zone_subtree[0].location.id
        assert locations.location_subtree(uow, location_id=bin_id) == []


@pytest.mark.parametrize(
    ("kind", "parent_kind"),
    [
        ("BIN", None),
        ("ZONE", None),
        ("ZONE", "COLD_ROOM"),
        ("WAREHOUSE", "WAREHOUSE"),
        ("VEHICLE", "WAREHOUSE"),
        ("COLD_ROOM", "ZONE"),
        ("BIN", "BIN"),
    ],
)
def test_kinds_nest_only_as_the_rule_table_allows(
    db: Database, clock: FakeClock, plant: Sites, kind: str, parent_kind: str | None
) -> None:
    with db.transaction(clock=clock) as uow:
        warehouse = add(uow, plant.a, "WH", "WAREHOUSE")
        parents = {
            "WAREHOUSE": warehouse,
            "ZONE": add(uow, plant.a, "Z", "ZONE", warehouse),
            "COLD_ROOM": add(uow, plant.a, "CR", "COLD_ROOM", warehouse),
        }
        parents["BIN"] = add(uow, plant.a, "B", "BIN", parents["ZONE"])
        parent_id = parents[parent_kind].id if parent_kind else None
    before = rows(db, Location)
    with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
        locations.create_location(
            uow, site_id=plant.a, code="NEW", name_zh="新", name_en="New", kind=kind, parent_id=parent_id
        )
    assert refused.value.code == "location.bad_nesting"
    assert refused.value.field == "parent_id"
    assert rows(db, Location) == before


def test_allowed_nestings_are_accepted(db: Database, clock: FakeClock, plant: Sites) -> None:
    with db.transaction(clock=clock) as uow:
        warehouse = add(uow, plant.a, "WH", "WAREHOUSE")
        add(uow, plant.a, "CR-TOP", "COLD_ROOM")
        add(uow, plant.a, "BIN-IN-CR", "BIN", add(uow, plant.a, "CR-IN-WH", "COLD_ROOM", warehouse))
        add(uow, plant.a, "BIN-IN-WH", "BIN", warehouse)
        add(uow, plant.a, "VAN", "VEHICLE")
        add(uow, plant.a, "QA-CAGE", "ZONE", warehouse, is_qa_area=True)
    assert rows(db, Location) == 7


def test_an_unknown_kind_is_refused_naming_the_choices(db: Database, clock: FakeClock, plant: Sites) -> None:
    with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
        add(uow, plant.a, "X", "SHELF")
    assert refused.value.field == "kind"
    assert "WAREHOUSE" in str(refused.value)


def test_a_location_code_is_unique_per_site_only(db: Database, clock: FakeClock, plant: Sites) -> None:
    with db.transaction(clock=clock) as uow:
        add(uow, plant.a, "WH1", "WAREHOUSE")
        add(uow, plant.b, "WH1", "WAREHOUSE")
    with pytest.raises(AlreadyExists) as duplicate, db.transaction(clock=clock) as uow:
        add(uow, plant.a, " WH1 ", "WAREHOUSE")
    assert duplicate.value.field == "code"
    with db.transaction(clock=clock) as uow:
        second = add(uow, plant.a, "WH2", "WAREHOUSE")
    with pytest.raises(AlreadyExists), db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=second.id, changes={"code": "WH1"})


def test_a_parent_must_be_at_the_same_site(db: Database, clock: FakeClock, plant: Sites) -> None:
    with db.transaction(clock=clock) as uow:
        warehouse_b = add(uow, plant.b, "WH-B", "WAREHOUSE")
        warehouse_a = add(uow, plant.a, "WH-A", "WAREHOUSE")
        zone_a = add(uow, plant.a, "Z-A", "ZONE", warehouse_a)
    with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
        add(uow, plant.a, "Z", "ZONE", warehouse_b)
    assert (refused.value.code, refused.value.field) == ("location.parent_other_site", "parent_id")
    with pytest.raises(InvalidInput) as moved, db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=zone_a.id, changes={"parent_id": warehouse_b.id})
    assert moved.value.code == "location.parent_other_site"
    with pytest.raises(NotFound) as missing, db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=zone_a.id, changes={"parent_id": 999_999})
    assert missing.value.field == "parent_id"
    with pytest.raises(InvalidInput) as other_site, db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=zone_a.id, changes={"site_id": plant.b})
    assert other_site.value.field == "site_id"


def test_a_location_cannot_be_moved_under_itself_or_its_descendants(
    db: Database, clock: FakeClock, plant: Sites
) -> None:
    with db.transaction(clock=clock) as uow:
        warehouse = add(uow, plant.a, "WH", "WAREHOUSE")
        other = add(uow, plant.a, "WH-2", "WAREHOUSE")
        cold_room = add(uow, plant.a, "CR", "COLD_ROOM", warehouse)
        deep_bin = add(uow, plant.a, "CR-B1", "BIN", cold_room)
        ids = (warehouse.id, other.id, cold_room.id, deep_bin.id)
    warehouse_id, other_id, cold_room_id, deep_bin_id = ids
    for moved, new_parent in (
        (cold_room_id, cold_room_id),
        (warehouse_id, deep_bin_id),
        (cold_room_id, deep_bin_id),
    ):
        with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
            locations.update_location(uow, location_id=moved, changes={"parent_id": new_parent})
        assert (refused.value.code, refused.value.field) == ("location.cycle", "parent_id")
    with db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=cold_room_id, changes={"parent_id": other_id})
    with db.transaction(read_only=True) as uow:
        assert [n.location.id for n in locations.location_subtree(uow, location_id=other_id)] == [
            cold_room_id,
            deep_bin_id,
        ]
        assert locations.location_subtree(uow, location_id=warehouse_id) == []


def test_a_new_kind_must_still_hold_the_children(db: Database, clock: FakeClock, plant: Sites) -> None:
    with db.transaction(clock=clock) as uow:
        cold_room = add(uow, plant.a, "CR", "COLD_ROOM")
        add(uow, plant.a, "CR-B1", "BIN", cold_room)
        zone = add(uow, plant.a, "Z", "ZONE", add(uow, plant.a, "WH", "WAREHOUSE"))
    with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=cold_room.id, changes={"kind": "VEHICLE"})
    assert (refused.value.code, refused.value.field) == ("location.bad_nesting", "kind")
    with pytest.raises(InvalidInput) as misplaced, db.transaction(clock=clock) as uow:
        locations.update_location(uow, location_id=zone.id, changes={"kind": "VEHICLE"})
    assert (misplaced.value.code, misplaced.value.field) == ("location.bad_nesting", "kind")
    with db.transaction(clock=clock) as uow:
        assert (
            locations.update_location(uow, location_id=zone.id, changes={"kind": "COLD_ROOM"}).kind
            == "COLD_ROOM"
        )


def test_a_new_storage_condition_must_exist_and_needs_a_reason(
    db: Database, clock: FakeClock, plant: Sites
) -> None:
    with pytest.raises(NotFound) as unknown, db.transaction(clock=clock) as uow:
        add(uow, plant.a, "CR", "COLD_ROOM", storage_condition_id=999_999)
    assert unknown.value.field == "storage_condition_id"
    with db.transaction(clock=clock) as uow:
        cold_room = add(uow, plant.a, "CR", "COLD_ROOM", storage_condition_id=plant.chilled)
    audit_before = rows(db, AuditRecord)
    with pytest.raises(ReasonRequired) as unreasoned, db.transaction(clock=clock) as uow:
        locations.update_location(
            uow, location_id=cold_room.id, changes={"storage_condition_id": plant.frozen}
        )
    assert unreasoned.value.field == "reason"
    assert rows(db, AuditRecord) == audit_before
    with db.transaction(clock=clock) as uow:
        locations.update_location(
            uow, location_id=cold_room.id, changes={"name_en": "Cold room 1"}
        )  # no reason needed
        locations.update_location(
            uow,
            location_id=cold_room.id,
            changes={"storage_condition_id": plant.frozen},
            reason="converted to a freezer (CC-2026-014)",
        )
    with db.transaction(read_only=True) as uow:
        records = list(
            uow.session.execute(
                select(AuditRecord)
                .where(AuditRecord.entity_type == "location", AuditRecord.entity_id == str(cold_room.id))
                .order_by(AuditRecord.id)
            ).scalars()
        )
    assert [r.action for r in records] == ["create", "update", "update"]
    assert records[-1].reason == "converted to a freezer (CC-2026-014)"
    assert records[-1].site_id == plant.a
    assert '"storage_condition_id"' in str(records[-1].changes)


def test_which_location_fields_need_a_reason_is_configuration(
    db: Database, clock: FakeClock, plant: Sites
) -> None:
    assert "location.storage_condition_id" in DEFAULT_REASON_REQUIRED
    with db.transaction(clock=clock) as uow:
        cold_room = add(uow, plant.a, "CR", "COLD_ROOM", storage_condition_id=plant.chilled)
    # A site that also wants a reason for QA areas lists the field; the same rule then refuses it.
    stricter = Database(
        make_settings(db.settings.database_url, audit_reason_required=["location.is_qa_area"])
    )
    try:
        with pytest.raises(ReasonRequired) as unreasoned, stricter.transaction(clock=clock) as uow:
            locations.update_location(uow, location_id=cold_room.id, changes={"is_qa_area": True})
        assert unreasoned.value.params["fields"] == "is_qa_area"
        with stricter.transaction(clock=clock) as uow:
            locations.update_location(
                uow, location_id=cold_room.id, changes={"storage_condition_id": plant.frozen}
            )  # not listed there: no reason needed
    finally:
        stricter.dispose()
    with db.transaction(read_only=True) as uow:
        stored = uow.session.get_one(Location, cold_room.id)
        assert (stored.is_qa_area, stored.storage_condition_id) == (False, plant.frozen)


def test_the_places_service_module_still_offers_every_name_it_did_before_the_split() -> None:
    before_the_split = {
        "AUDIT_EXCLUDE": None,
        "LocationKind": locations,
        "ALLOWED_PARENTS": locations,
        "MAX_DEPTH": locations,
        "LOCATION_FIELDS": locations,
        "LOCATION_REASON_FIELDS": None,
        "Descendant": locations,
        "location_subtree": locations,
        "get_location": locations,
        "list_locations": locations,
        "create_location": locations,
        "update_location": locations,
        "upsert_location": locations,
        "PartnerRole": partners,
        "ROLE_COLUMNS": partners,
        "PARTNER_FIELDS": partners,
        "ADDRESS_KEYS": partners,
        "CONTACT_KEYS": partners,
        "MAX_TRANSIT_DAYS": partners,
        "get_partner": partners,
        "list_partners": partners,
        "create_partner": partners,
        "update_partner": partners,
        "upsert_partner": partners,
    }
    assert set(before_the_split) == set(places_service.__all__)
    for name, home in before_the_split.items():
        if home is not None:
            assert getattr(places_service, name) is getattr(home, name), name
    assert places_service.AUDIT_EXCLUDE == ("created_at", "updated_at")
    assert {"storage_condition_id"} == places_service.LOCATION_REASON_FIELDS


def test_upserting_a_location_by_its_wms_key_twice_updates_it(
    db: Database, clock: FakeClock, plant: Sites
) -> None:
    fields = {"code": "WH9", "name_zh": "九号库", "name_en": "Warehouse 9", "kind": "WAREHOUSE"}
    with db.transaction(clock=clock) as uow:
        first, created = locations.upsert_location(
            uow, system="WMS", key="W9", site_id=plant.a, fields=fields
        )
    assert created
    with db.transaction(clock=clock) as uow:
        second, created = locations.upsert_location(
            uow, system="WMS", key="W9", site_id=plant.a, fields={**fields, "name_en": "DC 9"}
        )
        assert (second.id, second.name_en, created) == (first.id, "DC 9", False)
    assert (rows(db, Location), rows(db, ExternalId)) == (1, 1)
    with pytest.raises(InvalidInput) as moved, db.transaction(clock=clock) as uow:
        locations.upsert_location(uow, system="WMS", key="W9", site_id=plant.b, fields=fields)
    assert moved.value.field == "site_id"


# --- partners ---------------------------------------------------------------------------------

CUSTOMER: dict[str, Any] = {
    "code": "HEMA-SH",
    "name_zh": "盒马上海",
    "name_en": "Hema Shanghai",
    "is_customer": True,
    "gln": "6901234000016",
    "address": {
        "street": "泰和路 8号",
        "city": "上海",
        "province": "上海",
        "postcode": "200000",
        "country": "CN",
    },
    "contacts": [{"name": "王芳", "phone": "+86 21 5555 0101", "email": "wang.fang@example.cn"}],
    "time_zone": "Asia/Shanghai",
    "default_transit_days": 1,
    "min_delivery_percent": Decimal("66.67"),
}


def test_a_customer_is_registered_with_its_gln_contacts_and_minimum_shelf_life(
    db: Database, clock: FakeClock
) -> None:
    with db.transaction(clock=clock) as uow:
        partner = partners.create_partner(uow, **CUSTOMER)
    with db.transaction(read_only=True) as uow:
        stored = uow.session.get(Partner, partner.id)
        assert stored is not None
        assert stored.gln == "6901234000016"
        assert stored.min_delivery_percent == Decimal("66.67")
        assert stored.contacts[0]["email"] == "wang.fang@example.cn"
        assert [p.code for p in partners.list_partners(uow, role="customer").items] == ["HEMA-SH"]
        assert partners.list_partners(uow, role="supplier").items == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"is_customer": False}, "is_supplier"),
        ({"gln": "6901234000017"}, "gln"),
        ({"gln": "69012340"}, "gln"),
        ({"time_zone": "Asia/Peking"}, "time_zone"),
        ({"default_transit_days": -1}, "default_transit_days"),
        ({"min_delivery_days": 30}, "min_delivery_days"),
        ({"min_delivery_percent": Decimal(101)}, "min_delivery_percent"),
        ({"min_delivery_percent": Decimal("1.0000001")}, "min_delivery_percent"),
        ({"address": {"street": "x", "planet": "Mars"}}, "address.planet"),
        ({"contacts": [{"phone": "123"}]}, "contacts.0.name"),
    ],
)
def test_a_bad_partner_is_refused_naming_the_field(
    db: Database, clock: FakeClock, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused, db.transaction(clock=clock) as uow:
        partners.create_partner(uow, **{**CUSTOMER, **change})
    assert refused.value.field == field
    assert rows(db, Partner) == 0


def test_a_partner_update_keeps_the_rules_and_is_audited(db: Database, clock: FakeClock) -> None:
    with db.transaction(clock=clock) as uow:
        partner = partners.create_partner(uow, **CUSTOMER)
        partners.create_partner(uow, code="SF", name_zh="顺丰", name_en="SF Express", is_carrier=True)
    with pytest.raises(InvalidInput), db.transaction(clock=clock) as uow:
        partners.update_partner(uow, partner_id=partner.id, changes={"is_customer": False})
    with pytest.raises(AlreadyExists), db.transaction(clock=clock) as uow:
        partners.update_partner(uow, partner_id=partner.id, changes={"code": "SF"})
    with db.transaction(clock=clock) as uow:
        partners.update_partner(
            uow,
            partner_id=partner.id,
            changes={"min_delivery_percent": None, "min_delivery_days": 20, "is_supplier": True},
            reason="new supply agreement",
        )
        unchanged = partners.update_partner(uow, partner_id=partner.id, changes={"min_delivery_days": 20})
        assert unchanged.min_delivery_days == 20
    with db.transaction(read_only=True) as uow:
        actions = list(
            uow.session.execute(
                select(AuditRecord.action).where(
                    AuditRecord.entity_type == "partner", AuditRecord.entity_id == str(partner.id)
                )
            ).scalars()
        )
    assert sorted(actions) == ["create", "update"]


def test_upserting_a_partner_by_its_erp_key_twice_keeps_one_partner(db: Database, clock: FakeClock) -> None:
    with db.transaction(clock=clock) as uow:
        _first, created = partners.upsert_partner(uow, system="ERP", key="C-1001", fields=CUSTOMER)
    assert created
    with db.transaction(clock=clock) as uow:
        second, created = partners.upsert_partner(
            uow, system="ERP", key="C-1001", fields={**CUSTOMER, "default_transit_days": 2}
        )
        assert (created, second.default_transit_days) == (False, 2)
    with db.transaction(clock=clock) as uow:
        # The same percent again (stored with six places) is no change: no audit record.
        _same, created = partners.upsert_partner(
            uow, system="ERP", key="C-1001", fields={**CUSTOMER, "default_transit_days": 2}
        )
    assert (rows(db, Partner), rows(db, ExternalId)) == (1, 1)
    with db.transaction(read_only=True) as uow:
        actions = uow.session.execute(
            select(AuditRecord.action).where(AuditRecord.entity_type == "partner").order_by(AuditRecord.id)
        ).scalars()
        assert list(actions) == ["create", "link", "update"]
