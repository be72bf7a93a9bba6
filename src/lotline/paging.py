"""Keyset (cursor) pagination shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from lotline.domain.errors import N_, InvalidInput

T = TypeVar("T")

MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 200


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; a cursor that was not made by lotline is a 4xx."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:  # ours are short; refuse before decoding
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
        if type(value) is not int:  # a JSON true is a Python bool, which is an int
            raise TypeError
        return value
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidInput(
            N_("The cursor is not valid; use the next_cursor of a previous page."),
            field="cursor",
            code="paging.bad_cursor",
        ) from exc


def keyset_page(
    session: Session,
    query: Select[Any],
    id_column: InstrumentedAttribute[int],
    *,
    cursor: str | None,
    limit: int,
    newest_first: bool = False,
) -> Page[Any]:
    """One page of ``query`` ordered by ``id_column``, starting after ``cursor``."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(id_column < after if newest_first else id_column > after)
    query = query.order_by(id_column.desc() if newest_first else id_column).limit(limit + 1)
    rows = list(session.execute(query).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], id_column.key)) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)
