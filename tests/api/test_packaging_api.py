"""Per-product packaging levels (case ↔ each) over the API: set, read, convert; bad sets write nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.catalog import packaging
from lotline.catalog import service as catalog
from lotline.domain.errors import InvalidInput
from lotline.models.audit import AuditRecord
from lotline.models.catalog import ProductPackaging
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock


@pytest.fixture
def bagged(db: Database, clock: FakeClock, people: People) -> dict[str, int]:
    """A product counted in bags (EA) and one weighed in kilograms."""
    with db.transaction(clock=clock) as uow:
        lot_type = catalog.create_lot_type(
            uow, code="FG", name_zh="成品", name_en="Finished", code_template="{site}{yy}{doy:03}{seq:04}"
        )
        rule = {
            "shelf_life_amount": 12,
            "shelf_life_unit": "MONTHS",
            "expiry_kind": "USE_BY",
            "retest_days": None,
        }
        bags = catalog.create_product(
            uow,
            code="DUMP",
            name_zh="水饺",
            name_en="Dumplings",
            base_unit="EA",
            lot_type_id=lot_type.id,
            **rule,
        )
        meat = catalog.create_product(
            uow, code="PORK", name_zh="猪肉", name_en="Pork", base_unit="KGM", lot_type_id=lot_type.id, **rule
        )
        return {"bags": bags.id, "meat": meat.id}


def counts(db: Database) -> tuple[int, int]:
    with db.transaction(read_only=True) as uow:
        return (
            int(uow.session.execute(select(func.count()).select_from(ProductPackaging)).scalar_one()),
            int(uow.session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()),
        )


def test_a_case_of_twelve_and_a_pallet_convert_exactly(
    client: TestClient, db: Database, people: People, bagged: dict[str, int]
) -> None:
    path = f"/api/v1/products/{bagged['bags']}/packaging"
    saved = client.put(
        path,
        json={
            "levels": [
                {"code": "PF", "each_per_unit": "960"},
                {"code": "CS", "each_per_unit": "12", "gtin": "16901234567899"},
            ]
        },
        headers=people.bearer("qa_manager"),
    )
    assert saved.status_code == 200, saved.text
    assert [level["code"] for level in saved.json()] == ["CS", "PF"]
    assert client.get(path, headers=people.bearer("viewer")).json()[0]["gtin"] == "16901234567899"
    with db.transaction(read_only=True) as uow:
        as_each = packaging.convert_for_product(
            uow, product_id=bagged["bags"], quantity=Decimal(3), from_unit="CS", to_unit="EA"
        )
        as_pallets = packaging.convert_for_product(
            uow, product_id=bagged["bags"], quantity=Decimal(240), from_unit="CS", to_unit="PF"
        )
        with pytest.raises(InvalidInput) as inexact:
            packaging.convert_for_product(
                uow, product_id=bagged["bags"], quantity=Decimal(1), from_unit="EA", to_unit="CS"
            )
    assert as_each == Decimal(36)
    assert as_pallets == Decimal(3)
    assert inexact.value.code == "units.inexact"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"levels": [{"code": "CS", "each_per_unit": "12", "gtin": "16901234567890"}]}, "packaging.0.gtin"),
        ({"levels": [{"code": "KGM", "each_per_unit": "12"}]}, "packaging"),
        (
            {"levels": [{"code": "CS", "each_per_unit": "12"}, {"code": "CS", "each_per_unit": "24"}]},
            "packaging",
        ),
        ({"levels": [{"code": "CS", "each_per_unit": "0"}]}, "levels.0.each_per_unit"),
        ({"levels": [{"code": "CS", "each_per_unit": "twelve"}]}, "levels.0.each_per_unit"),
    ],
)
def test_a_bad_set_is_refused_naming_the_field_and_writes_nothing(
    client: TestClient,
    db: Database,
    people: People,
    bagged: dict[str, int],
    body: dict[str, object],
    field: str,
) -> None:
    before = counts(db)
    refused = client.put(
        f"/api/v1/products/{bagged['bags']}/packaging", json=body, headers=people.bearer("qa_manager")
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert counts(db) == before


def test_a_product_weighed_in_kilograms_has_no_packaging_levels(
    client: TestClient, db: Database, people: People, bagged: dict[str, int]
) -> None:
    before = counts(db)
    refused = client.put(
        f"/api/v1/products/{bagged['meat']}/packaging",
        json={"levels": [{"code": "CS", "each_per_unit": "10"}]},
        headers=people.bearer("qa_manager"),
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "units.packaging_not_counted"
    assert counts(db) == before
    viewer = client.put(
        f"/api/v1/products/{bagged['bags']}/packaging", json={"levels": []}, headers=people.bearer("viewer")
    )
    assert viewer.status_code == 403
