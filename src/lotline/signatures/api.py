"""Signing over the API: re-authenticate for one record and receive a one-use signing grant."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from lotline.api.deps import authenticated, get_uow
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES
from lotline.domain.errors import LoginThrottled
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.signatures import service
from lotline.uow import UnitOfWork

router = APIRouter(
    prefix="/signatures", tags=["signatures"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES
)


class GrantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(
        default=None, max_length=64, description="Required at the first signing in a session"
    )
    password: str = Field(min_length=1, max_length=1024)
    meaning: Meaning
    record_type: str = Field(min_length=1, max_length=40, examples=["lot"])
    record_id: str = Field(min_length=1, max_length=64, examples=["42"])


class GrantIssued(BaseModel):
    signing_grant: str = Field(description="Send with the action to be signed; valid once, for minutes")
    meaning: Meaning
    record_type: str
    record_id: str
    expires_at: datetime


@router.post("/grants", response_model=GrantIssued, status_code=201)
def issue_grant(
    body: GrantRequest,
    request: Request,
    principal: Principal = authenticated(),
    uow: UnitOfWork = Depends(get_uow),
) -> GrantIssued:
    """Re-enter your password (and user name at the first signing) to sign one record."""
    try:
        secret, grant = service.authorize_signing(
            uow,
            principal=principal,
            web_session=getattr(request.state, "web_session", None),
            username=body.username,
            password=body.password,
            meaning=body.meaning,
            record_type=body.record_type,
            record_id=body.record_id,
            client_ip=request.client.host if request.client else None,
        )
    except (service.SignatureRejected, LoginThrottled):
        uow.commit()  # the failed attempt is on record even though the request fails
        raise
    return GrantIssued(
        signing_grant=secret,
        meaning=body.meaning,
        record_type=grant.record_type,
        record_id=grant.record_id,
        expires_at=grant.expires_at,
    )
