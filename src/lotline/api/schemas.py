"""Schemas shared by every API: request-body building blocks, pages and the problem document."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from lotline.domain.expiry import MAX_DAYS

T = TypeVar("T")

# Row ids: positive and within what a JSON number carries exactly (2^53 - 1), so JavaScript
# clients and JSON Schema tools see the same value we do; anything else is refused as input.
MAX_ID = 2**53 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdField = Annotated[int, Field(ge=1, le=MAX_ID)]

# --- request bodies -----------------------------------------------------------------------------
# Strict where JSON has the type: a client sending 0 for false, "1" for true or "10" for 10 has a
# bug worth hearing about. Decimals stay lax on purpose: "2.5" is how exact decimals travel in JSON.
Flag = Annotated[bool, Strict()]
StrictId = Annotated[IdField, Strict()]
Days = Annotated[int, Strict(), Field(ge=0, le=MAX_DAYS)]

_MICRO = Decimal("0.000001")


def six_places(value: Decimal | None) -> Decimal | None:
    """A decimal with six places, as the columns keep it, so every later read shows the same value."""
    return None if value is None else value.quantize(_MICRO)


Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=6), AfterValidator(six_places)]
# Codes: printable, no control characters (PostgreSQL refuses NUL in text).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$"
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=CODE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$")]
Reason = Annotated[
    str | None, Field(max_length=2000, pattern=r"^[^\x00]*$", description="Required for GMP-relevant fields")
]


class RequestBody(BaseModel):
    """A request body: a field the endpoint does not know is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Changes(RequestBody):
    """A partial update: fields not sent stay; null clears only the fields that may be empty."""

    CLEARABLE: ClassVar[frozenset[str]] = frozenset()
    # Fields that come with a change but are not part of it.
    CONTEXT: ClassVar[frozenset[str]] = frozenset({"reason"})

    def changes(self) -> dict[str, Any]:
        """The fields sent, without the context fields and without nulls that may not clear."""
        values = self.model_dump(exclude_unset=True, exclude=set(self.CONTEXT))
        return {name: value for name, value in values.items() if value is not None or name in self.CLEARABLE}


class PageOut(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` to get the next."""

    items: list[T]
    next_cursor: str | None = None


class ProblemField(BaseModel):
    field: str
    code: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details, with lotline's stable ``code`` and the offending ``field``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable error code")
    instance: str | None = None
    field: str | None = Field(default=None, description="The request field at fault")
    errors: list[ProblemField] | None = None
    request_id: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": description}
    for status, description in (
        (400, "The body could not be parsed"),
        (401, "Not signed in"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Conflict (including a reused Idempotency-Key)"),
        (422, "Invalid request"),
        (429, "Too many attempts"),
        (503, "The change could not be saved"),
    )
}
