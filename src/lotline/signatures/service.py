"""Signing: re-authenticate for one record, get a one-use grant, sign with it.

The grant proves the signer re-entered their password moments ago for exactly this record
and meaning; the action that needs the signature carries it and consumes it. Tokens (systems)
never sign. Failed attempts are recorded, audited, alerted and throttled like failed sign-ins.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select

from lotline.audit.service import record
from lotline.auth import service as auth
from lotline.auth.passwords import verify_password
from lotline.domain.errors import N_, InvalidInput, LoginThrottled, PermissionDenied
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning, binding, content_hash, needs_user_name
from lotline.models.auth import UserSession
from lotline.models.signature import Signature, SigningGrant
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.uow import UnitOfWork

GRANT_PREFIX = "lls_"
GRANT_MINUTES = 5


class SignatureRejected(InvalidInput):
    code = "signature.bad_password"
    message = N_("The user name or password is not correct; nothing was signed.")


class UserNameRequired(InvalidInput):
    code = "signature.user_name_required"
    message = N_("The first signature in a session needs your user name as well as your password.")


class TokenCannotSign(PermissionDenied):
    code = "signature.token_cannot_sign"
    message = N_("API tokens cannot sign electronic records; a person must sign.")


class SigningGrantInvalid(InvalidInput):
    code = "signature.bad_grant"
    message = N_("The signing grant is missing, expired, already used, or for another record.")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def authorize_signing(
    uow: UnitOfWork,
    *,
    principal: Principal,
    web_session: UserSession | None,
    username: str | None,
    password: str,
    meaning: Meaning,
    record_type: str,
    record_id: str,
    client_ip: str | None,
) -> tuple[str, SigningGrant]:
    """Check the signer's password (and name, at the first signing) and issue a one-use grant.

    A failed attempt is flushed before raising; the caller commits it, so it is on record.
    """
    if principal.token_id is not None:
        raise TokenCannotSign(field="authorization", permission="sign")
    user = auth.get_user(uow, user_id=principal.user_id)
    first = web_session is None or web_session.first_signed_at is None
    if needs_user_name(signed_before_in_session=not first) and not username:
        raise UserNameRequired(field="username")
    if (
        auth.recent_failures(uow, username=user.username, client_ip=client_ip)
        >= uow.settings.login_max_failures
    ):
        raise LoginThrottled(minutes=uow.settings.login_window_minutes)
    name_ok = username is None or username == user.username
    if not (verify_password(user.password_hash, password) and name_ok):
        record(
            uow,
            action="signature_failed",
            entity_type=record_type,
            entity_id=record_id,
            changes={"meaning": [None, meaning.value], "client_ip": [None, client_ip]},
        )
        auth.record_attempt(uow, user.username, client_ip, succeeded=False, alert=events.SIGNATURE_FAILED)
        raise SignatureRejected(field="password")
    now = uow.now()
    if web_session is not None and web_session.first_signed_at is None:
        web_session.first_signed_at = now
    secret = GRANT_PREFIX + secrets.token_urlsafe(32)
    grant = SigningGrant(
        grant_hash=_digest(secret),
        user_id=user.id,
        meaning=meaning.value,
        record_type=record_type,
        record_id=str(record_id),
        issued_at=now,
        expires_at=now + timedelta(minutes=GRANT_MINUTES),
    )
    uow.session.add(grant)
    uow.session.flush()
    return secret, grant


def grant_holder(uow: UnitOfWork, *, grant_secret: str | None) -> Principal | None:
    """Who re-authenticated for this grant (without using it up): for a countersignature, where
    the person signing is not the one entering the record (a QA manager approving a receiving
    clerk's exception). None for an unknown grant; ``sign`` still checks everything else."""
    if not grant_secret:
        return None
    grant = uow.session.execute(
        select(SigningGrant).where(SigningGrant.grant_hash == _digest(grant_secret))
    ).scalar_one_or_none()
    if grant is None:
        return None
    return auth.principal_for(auth.get_user(uow, user_id=grant.user_id))


def sign(
    uow: UnitOfWork,
    *,
    principal: Principal,
    grant_secret: str | None,
    meaning: Meaning,
    record_type: str,
    record_id: object,
    content: Mapping[str, object],
    comment: str | None = None,
) -> Signature:
    """Consume the grant and record the signature, bound to ``content``; audited."""
    if principal.token_id is not None:
        raise TokenCannotSign(field="authorization", permission="sign")
    grant = None
    if grant_secret:
        grant = uow.session.execute(
            select(SigningGrant).where(SigningGrant.grant_hash == _digest(grant_secret))
        ).scalar_one_or_none()
    now = uow.now()
    if (
        grant is None
        or grant.user_id != principal.user_id
        or grant.used_at is not None
        or grant.expires_at <= now
        or grant.meaning != meaning.value
        or grant.record_type != record_type
        or grant.record_id != str(record_id)
    ):
        raise SigningGrantInvalid(field="signing_grant")
    grant.used_at = now
    digest = content_hash(record_type, str(record_id), content)
    signature = Signature(
        user_id=principal.user_id,
        printed_name=principal.display_name,
        meaning=meaning.value,
        comment=comment,
        signed_at=now,
        record_type=record_type,
        record_id=str(record_id),
        content_hash=digest,
        binding=binding(
            uow.audit_key,
            user_id=principal.user_id,
            printed_name=principal.display_name,
            meaning=meaning.value,
            signed_at=now,
            record_type=record_type,
            record_id=str(record_id),
            content_digest=digest,
        ),
    )
    uow.session.add(signature)
    uow.session.flush()
    record(
        uow,
        action="sign",
        entity_type=record_type,
        entity_id=record_id,
        changes={
            "signature_id": [None, signature.id],
            "meaning": [None, meaning.value],
            "printed_name": [None, principal.display_name],
            "content_hash": [None, digest],
        },
        reason=comment,
    )
    emit(
        uow,
        events.SIGNED,
        subject_type=record_type,
        subject_id=record_id,
        payload={"signature_id": signature.id, "meaning": meaning.value, "signer": principal.display_name},
    )
    return signature


def is_genuine(uow: UnitOfWork, *, signature: Signature, content: Mapping[str, object]) -> bool:
    """True when the signature is unaltered and was made over exactly this content."""
    digest = content_hash(signature.record_type, signature.record_id, content)
    expected = binding(
        uow.audit_key,
        user_id=signature.user_id,
        printed_name=signature.printed_name,
        meaning=signature.meaning,
        signed_at=signature.signed_at,
        record_type=signature.record_type,
        record_id=signature.record_id,
        content_digest=signature.content_hash,
    )
    return digest == signature.content_hash and secrets.compare_digest(expected, signature.binding)
