"""Reading the outbox (delivery to webhooks and brokers comes with the integration issue)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, PageOut
from lotline.domain.permissions import Permission, Principal
from lotline.models.outbox import OutboxEvent
from lotline.outbox.service import as_cloudevent
from lotline.paging import keyset_page
from lotline.uow import UnitOfWork

router = APIRouter(prefix="/events", tags=["events"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


class EventRead(BaseModel):
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    data: dict[str, Any]


@router.get("", response_model=PageOut[EventRead])
def list_events(
    event_type: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    principal: Principal = requires(Permission.EVENT_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[EventRead]:
    """Domain events in the order they were written, as CloudEvents."""
    query = select(OutboxEvent)
    if event_type:
        query = query.where(OutboxEvent.event_type == event_type)
    sites = principal.site_ids_with(Permission.EVENT_READ)
    if sites is not None:
        query = query.where(OutboxEvent.site_id.in_(sites) | OutboxEvent.site_id.is_(None))
    page = keyset_page(uow.session, query, OutboxEvent.id, cursor=cursor, limit=limit)
    return PageOut[EventRead](
        items=[EventRead(**as_cloudevent(e)) for e in page.items], next_cursor=page.next_cursor
    )
