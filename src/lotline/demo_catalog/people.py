"""The demo's people as the catalog loader acts through them: who receives, who signs, and the
one password every demo login shares."""

from __future__ import annotations

from lotline.auth import service as auth
from lotline.domain.permissions import Principal
from lotline.uow import UnitOfWork

QA_MANAGER = "qa.manager"
RECEIVER = "admin"  # the plant has no warehouse login of its own: the administrator receives
DEMO_PASSWORD = "lotline-demo"


def person(uow: UnitOfWork, username: str) -> Principal:
    user = auth.find_user(uow, username=username)
    assert user is not None, "the demo users are created before the catalog"
    return auth.principal_for(user)
