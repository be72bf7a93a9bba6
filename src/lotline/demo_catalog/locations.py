"""The demo's locations: the plant's warehouse with its cold room, freezer, dock and QA bins, and
the cold store's freezer and reefer truck."""

from __future__ import annotations

from dataclasses import dataclass

from lotline.demo_catalog.master_data import Conditions
from lotline.places import service as places
from lotline.uow import UnitOfWork


@dataclass(frozen=True)
class Locations:
    """The plant's locations that lots are received into or kept in."""

    dock: int
    cold_bins: tuple[int, ...]
    freezer_bins: tuple[int, ...]


def load(uow: UnitOfWork, *, plant: int, store: int, conditions: Conditions) -> Locations:
    """Create the locations at the plant and at the cold store."""
    frozen, chilled, ambient = conditions.frozen, conditions.chilled, conditions.ambient
    warehouse = places.create_location(
        uow, site_id=plant, code="WH-SJ", name_zh="松江仓库", name_en="Songjiang warehouse", kind="WAREHOUSE"
    )
    cold = places.create_location(
        uow,
        site_id=plant,
        code="CR-1",
        name_zh="冷藏库 1",
        name_en="Cold room 1",
        kind="COLD_ROOM",
        parent_id=warehouse.id,
        storage_condition_id=chilled,
    )
    freezer = places.create_location(
        uow,
        site_id=plant,
        code="FZ-1",
        name_zh="冷冻库 1",
        name_en="Freezer 1",
        kind="COLD_ROOM",
        parent_id=warehouse.id,
        storage_condition_id=frozen,
    )
    cold_bins, freezer_bins = [], []
    for number in range(1, 4):
        cold_bin = places.create_location(
            uow,
            site_id=plant,
            code=f"CR-1-{number:02}",
            name_zh=f"冷藏库 1 货位 {number}",
            name_en=f"Cold room 1 bin {number}",
            kind="BIN",
            parent_id=cold.id,
            storage_condition_id=chilled,
        )
        freezer_bin = places.create_location(
            uow,
            site_id=plant,
            code=f"FZ-1-{number:02}",
            name_zh=f"冷冻库 1 货位 {number}",
            name_en=f"Freezer 1 bin {number}",
            kind="BIN",
            parent_id=freezer.id,
            storage_condition_id=frozen,
        )
        cold_bins.append(cold_bin.id)
        freezer_bins.append(freezer_bin.id)
    dock = places.create_location(
        uow,
        site_id=plant,
        code="DOCK-1",
        name_zh="收货区",
        name_en="Receiving dock",
        kind="ZONE",
        parent_id=warehouse.id,
    )
    places.create_location(
        uow,
        site_id=plant,
        code="QA-1",
        name_zh="待检区（常温）",
        name_en="QA area (ambient)",
        kind="BIN",
        parent_id=warehouse.id,
        is_qa_area=True,
        storage_condition_id=ambient,
    )
    for code, zh, en, parent, condition in (
        ("CR-1-QA", "冷藏待检区", "Chilled QA bin", cold.id, chilled),
        ("FZ-1-QA", "冷冻待检区", "Frozen QA bin", freezer.id, frozen),
    ):
        places.create_location(
            uow,
            site_id=plant,
            code=code,
            name_zh=zh,
            name_en=en,
            kind="BIN",
            parent_id=parent,
            is_qa_area=True,
            storage_condition_id=condition,
        )
    places.create_location(
        uow,
        site_id=plant,
        code="DRY-1",
        name_zh="干货区",
        name_en="Dry goods",
        kind="ZONE",
        parent_id=warehouse.id,
        storage_condition_id=ambient,
    )
    store_freezer = places.create_location(
        uow,
        site_id=store,
        code="FZ-A",
        name_zh="嘉定冷冻库 A",
        name_en="Jiading freezer A",
        kind="COLD_ROOM",
        storage_condition_id=frozen,
    )
    places.create_location(
        uow,
        site_id=store,
        code="FZ-A-01",
        name_zh="冷冻库 A 货位 1",
        name_en="Freezer A bin 1",
        kind="BIN",
        parent_id=store_freezer.id,
        storage_condition_id=frozen,
    )
    places.create_location(
        uow,
        site_id=store,
        code="TRUCK-01",
        name_zh="冷藏车 沪A·12345",
        name_en="Reefer truck 沪A·12345",
        kind="VEHICLE",
        storage_condition_id=frozen,
    )
    return Locations(dock=dock.id, cold_bins=tuple(cold_bins), freezer_bins=tuple(freezer_bins))
