"""The lot-type custom-field editor: rows → JSON Schema and back (no database)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from lotline.domain.errors import InvalidInput
from lotline.web.admin.schema_builder import FieldRow, build_schema, enum_values_of, rows_from_schema

ROWS = [
    FieldRow(name="farm", title="Farm", field_type="string", required=True, maximum="40", pattern="^[A-Z]+$"),
    FieldRow(name="carcass_count", title="Carcasses", field_type="integer", minimum="1", maximum="500"),
    FieldRow(name="ph", field_type="number", minimum="5.2", maximum="7"),
    FieldRow(name="organic", field_type="boolean"),
    FieldRow(name="slaughtered_on", title="Slaughter date", field_type="date", required=True),
    FieldRow(name="grade", field_type="enum", enum_values=" A, B ,,C "),
]
EXPECTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "farm": {"title": "Farm", "type": "string", "maxLength": 40, "pattern": "^[A-Z]+$"},
        "carcass_count": {"title": "Carcasses", "type": "integer", "minimum": 1, "maximum": 500},
        "ph": {"type": "number", "minimum": 5.2, "maximum": 7},
        "organic": {"type": "boolean"},
        "slaughtered_on": {
            "title": "Slaughter date",
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        },
        "grade": {"type": "string", "enum": ["A", "B", "C"]},
    },
    "required": ["farm", "slaughtered_on"],
    "additionalProperties": False,
}


def test_rows_become_the_json_schema_a_person_would_write_by_hand() -> None:
    assert build_schema(ROWS, closed=True) == EXPECTED


def test_the_built_schema_is_valid_and_checks_lots_the_way_the_rows_say() -> None:
    schema = build_schema(ROWS, closed=True)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    good = {"farm": "JINHUA", "slaughtered_on": "2026-03-01", "grade": "B", "ph": 6.1, "carcass_count": 12}
    assert validator.is_valid(good)
    assert not validator.is_valid({"farm": "JINHUA"})  # a required field missing
    assert not validator.is_valid({**good, "slaughtered_on": "2026-13-45"})  # not a date
    assert not validator.is_valid({**good, "grade": "D"})
    assert not validator.is_valid({**good, "carcass_count": 0})
    assert not validator.is_valid({**good, "ph": 7.5})
    assert not validator.is_valid({**good, "farm": "jinhua"})  # the pattern
    assert not validator.is_valid({**good, "colour": "red"})  # closed: only the listed fields


def test_an_open_schema_lets_other_fields_through_and_blank_rows_are_skipped() -> None:
    rows = [FieldRow(), FieldRow(name="batch_note"), FieldRow(field_type="integer")]
    schema = build_schema(rows, closed=False)
    assert schema == {"type": "object", "properties": {"batch_note": {"type": "string"}}}
    assert build_schema([FieldRow(), FieldRow()], closed=False) == {"type": "object"}


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([FieldRow(), FieldRow(title="Farm")], "fields.1.name"),
        ([FieldRow(name="1farm")], "fields.0.name"),
        ([FieldRow(name="farm-name")], "fields.0.name"),
        ([FieldRow(name="farm"), FieldRow(name="farm")], "fields.1.name"),
        ([FieldRow(name="x", field_type="text")], "fields.0.type"),
        ([FieldRow(name="x", field_type="enum")], "fields.0.enum"),
        ([FieldRow(name="x", field_type="enum", enum_values="A, A")], "fields.0.enum"),
        ([FieldRow(name="x", field_type="string", enum_values="A")], "fields.0.enum"),
        ([FieldRow(name="x", field_type="integer", minimum="1.5")], "fields.0.minimum"),
        ([FieldRow(name="x", field_type="number", maximum="lots")], "fields.0.maximum"),
        ([FieldRow(name="x", field_type="number", maximum="NaN")], "fields.0.maximum"),
        ([FieldRow(name="x", field_type="string", minimum="-1")], "fields.0.minimum"),
        ([FieldRow(name="x", field_type="integer", minimum="9", maximum="3")], "fields.0.minimum"),
        ([FieldRow(name="x", field_type="boolean", minimum="1")], "fields.0.minimum"),
        ([FieldRow(name="x", field_type="date", maximum="2026")], "fields.0.maximum"),
        ([FieldRow(name="x", field_type="integer", pattern="^[0-9]+$")], "fields.0.pattern"),
        ([FieldRow(name="x", pattern="([")], "fields.0.pattern"),
        ([FieldRow(name="x", title="t" * 201)], "fields.0.title"),
    ],
)
def test_a_row_that_cannot_become_a_schema_is_refused_naming_its_cell(
    rows: list[FieldRow], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        build_schema(rows, closed=True)
    assert refused.value.field == field
    assert refused.value.code == "lot_type.bad_custom_field"


def test_a_built_schema_reads_back_as_the_same_rows() -> None:
    read = rows_from_schema(EXPECTED)
    assert read is not None
    rows, closed = read
    assert closed is True
    assert [row.name for row in rows] == [row.name for row in ROWS]
    assert rows[-1].enum_values == "A, B, C"
    assert build_schema(rows, closed=closed) == EXPECTED
    assert rows_from_schema({"type": "object"}) == ([], False)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"x": {"type": "array"}}},  # a type the editor has not
        {"type": "object", "properties": {"x": {"type": "string", "description": "d"}}},  # an extra keyword
        {"type": "object", "properties": {"x": {"type": "string", "enum": ["a,b"]}}},  # a comma in a value
        {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["y"]},
        {"type": "object", "$defs": {}},
        {"type": "array"},
        {"type": "object", "properties": {"x": {"type": "string", "format": "date"}}},  # no date pattern
    ],
)
def test_a_schema_the_editor_did_not_write_is_left_to_the_json_text(schema: dict[str, Any]) -> None:
    assert rows_from_schema(schema) is None


def test_enum_values_are_comma_separated_and_trimmed() -> None:
    assert enum_values_of(" chilled , frozen,, ambient ") == ["chilled", "frozen", "ambient"]
    assert enum_values_of("") == []
