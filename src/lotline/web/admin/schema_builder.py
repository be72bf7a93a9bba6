"""The custom-field editor of a lot type: rows a person fills in, turned into a JSON Schema, and back.

Pure functions, no I/O. A row is (name, title, type, required, enum values, min, max, pattern);
the schema is a JSON Schema (2020-12) object the lots service validates lot attributes with.
Only the shapes :func:`build_schema` writes are read back by :func:`rows_from_schema`; any other
schema is kept as it is and edited as text.

JSON Schema's ``format`` is an annotation the validator does not check by default, so a date
field carries a pattern as well: ``2026-13-45`` is refused, not just labelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from lotline.domain.errors import N_, InvalidInput

FIELD_TYPES: Final = ("string", "integer", "number", "boolean", "date", "enum")
NAME_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
DATE_PATTERN: Final = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MAX_TITLE = 200
MAX_ENUM_VALUES = 200
_CODE = "lot_type.bad_custom_field"
# Types a minimum/maximum applies to (for text: its length), and those a pattern applies to.
_BOUNDED = frozenset({"string", "integer", "number"})
_PATTERNED = frozenset({"string"})


@dataclass(frozen=True)
class FieldRow:
    """One custom field as the editor shows it; numbers stay as typed until the schema is built."""

    name: str = ""
    title: str = ""
    field_type: str = "string"
    required: bool = False
    enum_values: str = ""  # comma-separated
    minimum: str = ""
    maximum: str = ""
    pattern: str = ""

    @property
    def is_blank(self) -> bool:
        """An untouched row of the editor (its type select always has a value)."""
        return not any(
            (self.name.strip(), self.title.strip(), self.enum_values.strip(), self.minimum.strip())
        ) and not any((self.maximum.strip(), self.pattern.strip(), self.required))


def _error(message: str, field: str, **params: object) -> InvalidInput:
    return InvalidInput(message, field=field, code=_CODE, **params)


def enum_values_of(text: str) -> list[str]:
    """The values of an enum field: comma-separated, trimmed, empty ones left out, order kept."""
    return [value.strip() for value in text.split(",") if value.strip()]


def _bound(text: str, field_type: str, field: str) -> int | float | None:
    """A minimum or maximum as JSON Schema takes it: a length for text, else the number typed."""
    text = text.strip()
    if not text:
        return None
    if field_type not in _BOUNDED:
        raise _error(
            N_("{field} does not apply to a field of type {field_type}."), field, field_type=field_type
        )
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise _error(N_("{field} must be a number."), field)
    whole = number == number.to_integral_value()
    if field_type in ("string", "integer") and not whole:
        raise _error(N_("{field} must be a whole number."), field)
    if field_type == "string" and number < 0:
        raise _error(N_("{field} must be a whole number."), field)  # a length
    return int(number) if whole else float(number)


def _property(row: FieldRow, index: int) -> dict[str, Any]:
    prefix = f"fields.{index}"
    kind = row.field_type
    if kind not in FIELD_TYPES:
        raise _error(
            N_("{field} must be one of: {choices}."), f"{prefix}.type", choices=", ".join(FIELD_TYPES)
        )
    spec: dict[str, Any] = {}
    title = row.title.strip()
    if len(title) > MAX_TITLE:
        raise _error(
            N_("{field} must be at most {max_length} characters long."),
            f"{prefix}.title",
            max_length=MAX_TITLE,
        )
    if title:
        spec["title"] = title
    if kind == "date":
        spec.update({"type": "string", "format": "date", "pattern": DATE_PATTERN})
    elif kind == "enum":
        values = enum_values_of(row.enum_values)
        if not values:
            raise _error(N_("{field} needs at least one value."), f"{prefix}.enum")
        if len(values) > MAX_ENUM_VALUES or len(set(values)) != len(values):
            raise _error(
                N_("{field} must list each value once, at most {count} values."),
                f"{prefix}.enum",
                count=MAX_ENUM_VALUES,
            )
        spec.update({"type": "string", "enum": values})
    else:
        spec["type"] = kind
    if kind != "enum" and row.enum_values.strip():
        raise _error(
            N_("{field} does not apply to a field of type {field_type}."), f"{prefix}.enum", field_type=kind
        )
    low = _bound(row.minimum, kind, f"{prefix}.minimum")
    high = _bound(row.maximum, kind, f"{prefix}.maximum")
    if low is not None and high is not None and low > high:
        raise _error(N_("{field} is greater than the maximum."), f"{prefix}.minimum")
    keys = ("minLength", "maxLength") if kind == "string" else ("minimum", "maximum")
    for key, value in zip(keys, (low, high), strict=True):
        if value is not None:
            spec[key] = value
    pattern = row.pattern.strip()
    if pattern:
        if kind not in _PATTERNED:
            raise _error(
                N_("{field} does not apply to a field of type {field_type}."),
                f"{prefix}.pattern",
                field_type=kind,
            )
        try:
            re.compile(pattern)
        except re.error:
            raise _error(
                N_("{field} is not a valid regular expression: {pattern}."),
                f"{prefix}.pattern",
                pattern=pattern,
            ) from None
        spec["pattern"] = pattern
    return spec


def build_schema(rows: Sequence[FieldRow], *, closed: bool) -> dict[str, Any]:
    """The JSON Schema the rows describe; blank rows are skipped, errors name ``fields.N.x``.

    ``closed``: a lot may carry only the fields listed (``additionalProperties: false``).
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    for index, row in enumerate(rows):
        if row.is_blank:
            continue
        name = row.name.strip()
        if not name:
            raise _error(N_("{field} is required."), f"fields.{index}.name")
        if not NAME_PATTERN.fullmatch(name):
            raise _error(
                N_("{field} must start with a letter or _ and hold only letters, digits and _ (64 at most)."),
                f"fields.{index}.name",
            )
        if name in properties:
            raise _error(N_("The custom field {name} is listed twice."), f"fields.{index}.name", name=name)
        properties[name] = _property(row, index)
        if row.required:
            required.append(name)
    schema: dict[str, Any] = {"type": "object"}
    if properties:
        schema["properties"] = properties
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _row_of(name: str, spec: object, required: bool) -> FieldRow | None:
    """The row that builds ``spec`` exactly, or None when the editor cannot show it."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str):
        return None
    title = spec.get("title", "")
    if not isinstance(title, str):
        return None
    kind = spec["type"]
    if kind == "string" and spec.get("format") == "date":
        kind = "date"
    elif kind == "string" and "enum" in spec:
        kind = "enum"
    values = spec.get("enum", [])
    if not isinstance(values, list) or not all(isinstance(v, str) and "," not in v for v in values):
        return None
    low_key, high_key = ("minLength", "maxLength") if kind == "string" else ("minimum", "maximum")
    row = FieldRow(
        name=name,
        title=title,
        field_type=kind,
        required=required,
        enum_values=", ".join(values),
        minimum=_text(spec.get(low_key)),
        maximum=_text(spec.get(high_key)),
        pattern=_text(spec.get("pattern")) if kind != "date" else "",
    )
    try:
        rebuilt = _property(row, 0)
    except InvalidInput:
        return None
    return row if rebuilt == dict(spec) else None


def rows_from_schema(schema: Mapping[str, Any]) -> tuple[list[FieldRow], bool] | None:
    """The editor's rows and the closed flag for ``schema``; None when it is not one the editor
    writes (then it is edited as JSON)."""
    if (
        set(schema) - {"type", "properties", "required", "additionalProperties"}
        or schema.get("type") != "object"
    ):
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra_allowed = schema.get("additionalProperties", True)
    if (
        not isinstance(properties, Mapping)
        or not isinstance(required, list)
        or not isinstance(extra_allowed, bool)
    ):
        return None
    if set(required) - set(properties) or len(set(required)) != len(required):
        return None
    rows = []
    for name, spec in properties.items():
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            return None
        row = _row_of(name, spec, name in required)
        if row is None:
            return None
        rows.append(row)
    # Required names keep the order they were listed in only if it matches the rows' order.
    if required != [row.name for row in rows if row.required]:
        return None
    return rows, not extra_allowed
