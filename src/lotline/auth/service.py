"""Users, role grants, API tokens, web sessions and sign-in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lotline.audit.service import record, record_changed, record_created, require_reason, snapshot
from lotline.auth.passwords import hash_password, verify_password
from lotline.domain.errors import (
    N_,
    AlreadyExists,
    AuthenticationFailed,
    AuthenticationRequired,
    InvalidInput,
    LoginThrottled,
    NotFound,
    PermissionDenied,
)
from lotline.domain.permissions import ROLES, Grant, Permission, Principal, is_role, permissions_of
from lotline.models.auth import ApiToken, LoginAttempt, RoleGrant, User, UserSession
from lotline.models.site import Site
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.paging import Page, keyset_page
from lotline.uow import UnitOfWork

TOKEN_PREFIX = "llt_"
SESSION_BYTES = 32
USER_AUDIT_EXCLUDE = ("password_hash",)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- users -------------------------------------------------------------------------------


def get_user(uow: UnitOfWork, *, user_id: int) -> User:
    """The user with ``user_id`` and their grants."""
    user = uow.session.execute(
        select(User).options(selectinload(User.grants)).where(User.id == user_id)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(entity=N_("user"), key=user_id, field="user_id")
    return user


def find_user(uow: UnitOfWork, *, username: str) -> User | None:
    return uow.session.execute(
        select(User).options(selectinload(User.grants)).where(User.username == username)
    ).scalar_one_or_none()


def get_user_by_name(uow: UnitOfWork, *, username: str, field: str = "username") -> User:
    """The user called ``username``; NotFound naming ``field`` otherwise."""
    user = find_user(uow, username=username)
    if user is None:
        raise NotFound(entity=N_("user"), key=username, field=field)
    return user


def list_users(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[User]:
    """Users in creation order, with their grants."""
    return keyset_page(
        uow.session, select(User).options(selectinload(User.grants)), User.id, cursor=cursor, limit=limit
    )


def create_user(
    uow: UnitOfWork,
    *,
    username: str,
    display_name: str,
    password: str,
    email: str | None = None,
    language: str | None = None,
    time_zone: str | None = None,
) -> User:
    """Create an active user with an argon2id password hash."""
    username = username.strip()
    if find_user(uow, username=username) is not None:
        raise AlreadyExists(entity=N_("user"), key=username, field="username")
    now = uow.now()
    user = User(
        username=username,
        display_name=display_name.strip(),
        email=email,
        password_hash=hash_password(password),
        language=language,
        time_zone=time_zone,
        active=True,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(user)
    uow.session.flush()
    record_created(uow, entity_type="user", entity=user, entity_id=user.id, exclude=USER_AUDIT_EXCLUDE)
    emit(uow, events.USER_CREATED, subject_type="user", subject_id=user.id, payload={"username": username})
    return user


def update_user(
    uow: UnitOfWork,
    *,
    user_id: int,
    changes: dict[str, object],
    reason: str | None = None,
) -> User:
    """Change a user's name, e-mail, language, zone, active flag or password."""
    user = get_user(uow, user_id=user_id)
    before = snapshot(user, exclude=USER_AUDIT_EXCLUDE)
    password = changes.pop("password", None)
    for name, value in changes.items():
        setattr(user, name, value)
    if isinstance(password, str):
        user.password_hash = hash_password(password)
        user.password_changed_at = uow.now()
    user.updated_at = uow.now()
    after = snapshot(user, exclude=USER_AUDIT_EXCLUDE)
    if password is None:
        before.pop("password_changed_at"), after.pop("password_changed_at")
    before.pop("updated_at"), after.pop("updated_at")
    audited = record_changed(
        uow, entity_type="user", entity_id=user.id, before=before, after=after, reason=reason
    )
    if audited is not None:
        if not user.active:
            revoke_sessions(uow, user_id=user.id)
        emit(
            uow,
            events.USER_UPDATED,
            subject_type="user",
            subject_id=user.id,
            payload={"fields": sorted(after)},
        )
    return user


def grant_role(
    uow: UnitOfWork, *, user_id: int, role: str, site_id: int | None, reason: str | None = None
) -> RoleGrant:
    """Give ``user_id`` the role ``role`` at ``site_id`` (None: every site); a reason is required
    (access control is GMP-relevant: ``role_grant.role`` in the reason-required settings)."""
    if not is_role(role):
        raise InvalidInput(
            N_("Unknown role {role}; choose one of {roles}."),
            field="role",
            code="auth.unknown_role",
            role=role,
            roles=", ".join(ROLES),
        )
    user = get_user(uow, user_id=user_id)
    if site_id is not None and uow.session.get(Site, site_id) is None:
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    for existing in user.grants:
        if existing.role == role and existing.site_id == site_id:
            raise AlreadyExists(entity=N_("role grant"), key=f"{role}@{site_id or '*'}", field="role")
    require_reason(uow, entity_type="role_grant", changed={"role"}, reason=reason)
    grant = RoleGrant(role=role, site_id=site_id, granted_at=uow.now(), granted_by_id=uow.actor.user_id)
    user.grants.append(grant)  # keeps the loaded user consistent for the rest of the transaction
    uow.session.flush()
    record(
        uow,
        action="grant",
        entity_type="role_grant",
        entity_id=grant.id,
        site_id=site_id,
        changes={"user_id": [None, user.id], "role": [None, role], "site_id": [None, site_id]},
        reason=reason,
    )
    emit(
        uow,
        events.ROLE_GRANTED,
        subject_type="user",
        subject_id=user.id,
        site_id=site_id,
        payload={"role": role, "site_id": site_id},
    )
    return grant


def may_administer_site(principal: Principal, site_id: int | None) -> bool:
    """Whether ``principal`` manages users at ``site_id`` (None: every site, which needs a grant
    of user administration at every site)."""
    if site_id is None:
        return principal.site_ids_with(Permission.USER_WRITE) is None
    return principal.can(Permission.USER_WRITE, site_id)


def check_grant_scope(principal: Principal, site_id: int | None) -> None:
    """Refuse granting or revoking a role at a site the principal does not administer."""
    if not may_administer_site(principal, site_id):
        raise PermissionDenied(permission=Permission.USER_WRITE.value, field="site_id")


def administers(principal: Principal, user: User) -> bool:
    """Whether ``principal`` manages users at every site ``user`` holds a role at — only then may
    they change the account itself (name, password, deactivation)."""
    return all(may_administer_site(principal, grant.site_id) for grant in user.grants)


def check_administers(principal: Principal, user: User) -> None:
    if not administers(principal, user):
        raise PermissionDenied(permission=Permission.USER_WRITE.value, field="user_id")


def revoke_role(uow: UnitOfWork, *, grant_id: int, reason: str | None) -> None:
    """Withdraw a role grant; a reason is required (access control is GMP-relevant)."""
    grant = uow.session.get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound(entity=N_("role grant"), key=grant_id, field="grant_id")
    changes = {"user_id": [grant.user_id, None], "role": [grant.role, None], "site_id": [grant.site_id, None]}
    require_reason(uow, entity_type="role_grant", changed={"role"}, reason=reason)
    record(
        uow,
        action="revoke",
        entity_type="role_grant",
        entity_id=grant.id,
        site_id=grant.site_id,
        changes=changes,
        reason=reason,
    )
    emit(
        uow,
        events.ROLE_REVOKED,
        subject_type="user",
        subject_id=grant.user_id,
        site_id=grant.site_id,
        payload={"role": grant.role, "site_id": grant.site_id},
    )
    holder = get_user(uow, user_id=grant.user_id)
    holder.grants.remove(grant)  # delete-orphan removes the row
    uow.session.flush()


def principal_for(user: User, *, token: ApiToken | None = None) -> Principal:
    """The acting principal of ``user`` (limited to ``token``'s scopes when given)."""
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        grants=tuple(Grant(g.role, g.site_id) for g in user.grants),
        token_id=token.id if token is not None else None,
        scopes=frozenset(token.scopes) if token is not None else None,
        language=user.language,
    )


# --- sign-in, throttling and sessions ----------------------------------------------------


def recent_failures(uow: UnitOfWork, *, username: str, client_ip: str | None) -> int:
    since = uow.now() - timedelta(minutes=uow.settings.login_window_minutes)
    by_user = select(func.count()).where(
        LoginAttempt.username == username,
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.attempted_at >= since,
    )
    failures = uow.session.execute(by_user).scalar_one()
    if client_ip:
        by_ip = select(func.count()).where(
            LoginAttempt.client_ip == client_ip,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at >= since,
        )
        # An address gets more room than one name: several people may share a gateway.
        failures = max(failures, uow.session.execute(by_ip).scalar_one() // 4)
    return int(failures)


def authenticate(uow: UnitOfWork, *, username: str, password: str, client_ip: str | None) -> User:
    """Check a user name and password, recording the attempt; throttles repeated failures.

    On failure the attempt is flushed before raising: the caller commits it anyway, so
    failed sign-ins are always on record.
    """
    settings = uow.settings
    if recent_failures(uow, username=username, client_ip=client_ip) >= settings.login_max_failures:
        record_attempt(uow, username, client_ip, succeeded=False, alert=events.LOGIN_THROTTLED)
        raise LoginThrottled(minutes=settings.login_window_minutes)
    user = find_user(uow, username=username)
    valid = verify_password(user.password_hash if user else None, password)
    ok = bool(user and user.active and valid)
    if not ok or user is None:
        record(
            uow,
            action="login_failed",
            entity_type="user",
            entity_id=user.id if user else username[:64],
            changes={"client_ip": [None, client_ip]},
        )
        record_attempt(uow, username, client_ip, succeeded=False, alert=events.LOGIN_FAILED)
        raise AuthenticationFailed(field="password")
    record_attempt(uow, username, client_ip, succeeded=True)
    return user


def record_attempt(
    uow: UnitOfWork, username: str, client_ip: str | None, *, succeeded: bool, alert: str | None = None
) -> None:
    """Record a sign-in attempt (and raise ``alert`` as an event), flushed at once."""
    name = username[:64]
    uow.session.add(
        LoginAttempt(username=name, client_ip=client_ip, succeeded=succeeded, attempted_at=uow.now())
    )
    if alert is not None:
        emit(
            uow,
            alert,
            subject_type="login",
            subject_id=name,
            payload={"username": name, "client_ip": client_ip},
        )
    uow.session.flush()


def start_session(uow: UnitOfWork, *, user: User, client_ip: str | None) -> tuple[str, UserSession]:
    """Open a web session; returns the cookie secret (never stored) and the session row."""
    secret = secrets.token_urlsafe(SESSION_BYTES)
    now = uow.now()
    session = UserSession(
        session_hash=_sha256(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=uow.settings.session_hours),
        client_ip=client_ip,
    )
    uow.session.add(session)
    uow.session.flush()
    record(
        uow,
        action="login",
        entity_type="user",
        entity_id=user.id,
        changes={"session_id": [None, session.id], "client_ip": [None, client_ip]},
    )
    return secret, session


def session_principal(uow: UnitOfWork, *, secret: str) -> tuple[Principal, UserSession]:
    """The principal behind a session cookie, if the session is live."""
    row = uow.session.execute(
        select(UserSession).where(UserSession.session_hash == _sha256(secret))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= uow.now():
        raise AuthenticationRequired()
    user = get_user(uow, user_id=row.user_id)
    if not user.active:
        raise AuthenticationRequired()
    return principal_for(user), row


def end_session(uow: UnitOfWork, *, secret: str) -> None:
    """Log out: the session can no longer be used."""
    row = uow.session.execute(
        select(UserSession).where(UserSession.session_hash == _sha256(secret))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = uow.now()
    record(
        uow,
        action="logout",
        entity_type="user",
        entity_id=row.user_id,
        changes={"session_id": [row.id, None]},
    )


def revoke_sessions(uow: UnitOfWork, *, user_id: int) -> None:
    """End every live session of a user (deactivation)."""
    rows = uow.session.execute(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    ).scalars()
    for row in rows:
        row.revoked_at = uow.now()


# --- API tokens ----------------------------------------------------------------------------


def create_token(
    uow: UnitOfWork,
    *,
    user_id: int,
    name: str,
    scopes: list[str] | None,
    days: int,
) -> tuple[str, ApiToken]:
    """Issue a bearer token for ``user_id``; the secret is returned once and stored hashed.

    Scopes default to everything the user's roles allow and can never exceed it.
    """
    user = get_user(uow, user_id=user_id)
    if not user.active:
        raise InvalidInput(
            N_("User {username} is inactive."),
            field="user_id",
            code="auth.user_inactive",
            username=user.username,
        )
    allowed = {p.value for p in permissions_of(g.role for g in user.grants)}
    if not allowed:
        raise InvalidInput(
            N_("User {username} holds no role, so a token for them could do nothing."),
            field="user_id",
            code="auth.no_roles",
            username=user.username,
        )
    requested = set(scopes) if scopes is not None else allowed
    unknown = sorted(requested - {p.value for p in Permission})
    if unknown:
        raise InvalidInput(
            N_("Unknown scope {scope}."), field="scopes", code="auth.unknown_scope", scope=unknown[0]
        )
    beyond = sorted(requested - allowed)
    if beyond:
        raise PermissionDenied(field="scopes", permission=beyond[0])
    if not 1 <= days <= 3650:
        raise InvalidInput(N_("A token lives between 1 and 3650 days."), field="days", code="auth.token_days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = uow.now()
    token = ApiToken(
        user_id=user.id,
        name=name.strip() or "token",
        prefix=secret[:12],
        token_hash=_sha256(secret),
        scopes=sorted(requested),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    uow.session.add(token)
    uow.session.flush()
    record_created(uow, entity_type="api_token", entity=token, entity_id=token.id, exclude=("token_hash",))
    emit(
        uow,
        events.TOKEN_CREATED,
        subject_type="api_token",
        subject_id=token.id,
        payload={"user_id": user.id, "name": token.name},
    )
    return secret, token


def list_tokens(uow: UnitOfWork, *, user_id: int | None, cursor: str | None, limit: int) -> Page[ApiToken]:
    """Tokens (of one user, or all), oldest first; never their secrets."""
    query = select(ApiToken)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return keyset_page(uow.session, query, ApiToken.id, cursor=cursor, limit=limit)


def get_token(uow: UnitOfWork, *, token_id: int) -> ApiToken:
    token = uow.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(entity=N_("token"), key=token_id, field="token_id")
    return token


def revoke_token(uow: UnitOfWork, *, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking twice changes nothing."""
    token = get_token(uow, token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = uow.now()
        record(
            uow,
            action="revoke",
            entity_type="api_token",
            entity_id=token.id,
            changes={"revoked_at": [None, token.revoked_at.isoformat()]},
        )
        emit(
            uow,
            events.TOKEN_REVOKED,
            subject_type="api_token",
            subject_id=token.id,
            payload={"user_id": token.user_id},
        )
    return token


def token_principal(uow: UnitOfWork, *, secret: str) -> Principal:
    """The principal behind a bearer token, if it is live and its user active."""
    token = uow.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _sha256(secret))
    ).scalar_one_or_none()
    now = uow.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise AuthenticationRequired()
    user = get_user(uow, user_id=token.user_id)
    if not user.active:
        raise AuthenticationRequired()
    return principal_for(user, token=token)
