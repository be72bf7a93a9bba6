"""Schemas shared by every API: pages and the problem document."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

# Row ids: positive and within what a JSON number carries exactly (2^53 - 1), so JavaScript
# clients and JSON Schema tools see the same value we do; anything else is refused as input.
MAX_ID = 2**53 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdField = Annotated[int, Field(ge=1, le=MAX_ID)]


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
