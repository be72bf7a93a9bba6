"""Sign-in, users, role grants and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from lotline.api.deps import SESSION_COOKIE, authenticated, get_uow, public, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdPath, PageOut
from lotline.auth import service
from lotline.auth.schemas import (
    GrantCreate,
    GrantRead,
    GrantRevoke,
    LoginRequest,
    SessionRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from lotline.domain.errors import N_, AuthenticationFailed, LoginThrottled, NotFound, PermissionDenied
from lotline.domain.permissions import Permission, Principal
from lotline.sites.service import check_time_zone
from lotline.uow import Actor, UnitOfWork

router = APIRouter(tags=["auth"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def set_session_cookie(request: Request, response: Response, secret: str, max_age: int) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when configured."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )


def sign_in(uow: UnitOfWork, *, username: str, password: str, ip: str | None) -> tuple[str, SessionRead]:
    """Check the password and open a session; a failed attempt is committed before raising."""
    try:
        user = service.authenticate(uow, username=username, password=password, client_ip=ip)
    except (AuthenticationFailed, LoginThrottled):
        uow.commit()
        raise
    uow.actor = Actor(kind="user", user_id=user.id, name=user.display_name)
    secret, session = service.start_session(uow, user=user, client_ip=ip)
    return secret, SessionRead(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        csrf_token=session.csrf_token,
        expires_at=session.expires_at,
    )


@router.post("/auth/session", response_model=SessionRead, dependencies=[public()])
def login(
    body: LoginRequest, request: Request, response: Response, uow: UnitOfWork = Depends(get_uow)
) -> SessionRead:
    """Sign in with user name and password; sets the session cookie."""
    secret, session = sign_in(uow, username=body.username, password=body.password, ip=client_ip(request))
    set_session_cookie(request, response, secret, uow.settings.session_hours * 3600)
    return session


@router.delete("/auth/session", status_code=204)
def logout(
    request: Request,
    response: Response,
    principal: Principal = authenticated(),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """End the current web session."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        service.end_session(uow, secret=secret)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserRead)
def me(principal: Principal = authenticated(), uow: UnitOfWork = Depends(get_uow)) -> UserRead:
    """The signed-in user, with their role grants."""
    return UserRead.model_validate(service.get_user(uow, user_id=principal.user_id))


@router.get("/users", response_model=PageOut[UserRead])
def list_users(
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = requires(Permission.USER_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[UserRead]:
    """Users and their grants."""
    page = service.list_users(uow, cursor=cursor, limit=limit)
    return PageOut[UserRead](
        items=[UserRead.model_validate(u) for u in page.items], next_cursor=page.next_cursor
    )


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(
    body: UserCreate,
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> UserRead:
    """Create a user (grant roles separately)."""
    if body.time_zone:
        check_time_zone(body.time_zone)
    user = service.create_user(
        uow,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        email=body.email,
        language=body.language,
        time_zone=body.time_zone,
    )
    return UserRead.model_validate(service.get_user(uow, user_id=user.id))


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(
    user_id: IdPath, principal: Principal = requires(Permission.USER_READ), uow: UnitOfWork = Depends(get_uow)
) -> UserRead:
    """One user."""
    return UserRead.model_validate(service.get_user(uow, user_id=user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: IdPath,
    body: UserUpdate,
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> UserRead:
    """Change a user; deactivating needs a reason and ends their sessions."""
    if body.time_zone:
        check_time_zone(body.time_zone)
    # An administrator of one site may not change an account that reaches beyond it.
    service.check_administers(principal, service.get_user(uow, user_id=user_id))
    changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"reason"})
    user = service.update_user(uow, user_id=user_id, changes=changes, reason=body.reason)
    return UserRead.model_validate(user)


@router.post("/users/{user_id}/grants", response_model=GrantRead, status_code=201)
def grant_role(
    user_id: IdPath,
    body: GrantCreate,
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> GrantRead:
    """Grant a role at one site (or every site); a reason is required."""
    service.check_grant_scope(principal, body.site_id)
    grant = service.grant_role(uow, user_id=user_id, role=body.role, site_id=body.site_id, reason=body.reason)
    return GrantRead.model_validate(grant)


@router.post("/users/{user_id}/grants/{grant_id}/revoke", status_code=204)
def revoke_role(
    user_id: IdPath,
    grant_id: IdPath,
    body: GrantRevoke,
    principal: Principal = requires(Permission.USER_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Withdraw a role grant (reason required)."""
    grants = {g.id: g for g in service.get_user(uow, user_id=user_id).grants}
    if grant_id not in grants:
        raise NotFound(entity=N_("role grant"), key=grant_id, field="grant_id")
    service.check_grant_scope(principal, grants[grant_id].site_id)
    service.revoke_role(uow, grant_id=grant_id, reason=body.reason)
    return Response(status_code=204)


@router.get("/tokens", response_model=PageOut[TokenRead])
def list_tokens(
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    all_users: bool = False,
    principal: Principal = requires(Permission.TOKEN_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> PageOut[TokenRead]:
    """Your tokens (``all_users`` with user.read: everyone's). Secrets are never shown."""
    if all_users and not principal.can(Permission.USER_READ):
        raise PermissionDenied(permission=Permission.USER_READ.value, field="all_users")
    page = service.list_tokens(
        uow, user_id=None if all_users else principal.user_id, cursor=cursor, limit=limit
    )
    return PageOut[TokenRead](
        items=[TokenRead.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def create_token(
    body: TokenCreate,
    principal: Principal = requires(Permission.TOKEN_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> TokenIssued:
    """Issue an API token (its secret is in this response only)."""
    owner = body.user_id if body.user_id is not None else principal.user_id
    if owner != principal.user_id and not principal.can(Permission.USER_WRITE):
        raise PermissionDenied(permission=Permission.USER_WRITE.value, field="user_id")
    if principal.token_id is not None and principal.scopes is not None:
        # A token cannot mint a token broader than itself.
        requested = set(body.scopes) if body.scopes is not None else set(principal.scopes)
        beyond = sorted(requested - principal.scopes)
        if beyond:
            raise PermissionDenied(permission=beyond[0], field="scopes")
        scopes: list[str] | None = sorted(requested)
    else:
        scopes = body.scopes
    secret, token = service.create_token(uow, user_id=owner, name=body.name, scopes=scopes, days=body.days)
    return TokenIssued(token=secret, **TokenRead.model_validate(token).model_dump())


@router.post("/tokens/{token_id}/revoke", response_model=TokenRead)
def revoke_token(
    token_id: IdPath,
    principal: Principal = requires(Permission.TOKEN_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> TokenRead:
    """Revoke a token at once (yours, or anyone's with user.write)."""
    token = service.get_token(uow, token_id=token_id)
    if token.user_id != principal.user_id and not principal.can(Permission.USER_WRITE):
        raise NotFound(entity=N_("token"), key=token_id, field="token_id")
    return TokenRead.model_validate(service.revoke_token(uow, token_id=token_id))
