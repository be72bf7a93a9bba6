"""Electronic signatures: re-authentication, one-use grants, binding to content, no tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lotline.auth import service as auth
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.models.audit import AuditRecord
from lotline.models.auth import LoginAttempt, UserSession
from lotline.models.signature import Signature
from lotline.signatures import service
from lotline.uow import Database
from tests.app_fixtures import PASSWORD
from tests.conftest import FakeClock

LOT = {"code": "SH01-26060-0001", "expiry_date": "2026-09-01", "quality_status": "QUARANTINE"}


@pytest.fixture
def signer(db: Database, clock: FakeClock) -> tuple[Principal, int]:
    with db.transaction(clock=clock) as uow:
        user = auth.create_user(uow, username="li.qa", display_name="李秀英", password=PASSWORD)
        auth.grant_role(uow, user_id=user.id, role="qa_manager", site_id=None, reason="tests")
        _secret, web_session = auth.start_session(uow, user=user, client_ip="10.0.0.9")
        principal = auth.principal_for(auth.get_user(uow, user_id=user.id))
        return principal, web_session.id


def first_signed_at(db: Database, session_id: int) -> object:
    with db.transaction(read_only=True) as uow:
        row = uow.session.get(UserSession, session_id)
        assert row is not None
        return row.first_signed_at


def grant(db: Database, clock: FakeClock, principal: Principal, session_id: int, **overrides: object) -> str:
    with db.transaction(clock=clock) as uow:
        values: dict[str, object] = {
            "principal": principal,
            "web_session": uow.session.get(UserSession, session_id),
            "username": "li.qa",
            "password": PASSWORD,
            "meaning": Meaning.RELEASE,
            "record_type": "lot",
            "record_id": "7",
            "client_ip": "10.0.0.9",
        }
        values.update(overrides)
        secret, _grant = service.authorize_signing(uow, **values)  # type: ignore[arg-type]
        return secret


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_signature_records_printed_name_meaning_time_and_is_bound_to_its_content(
    db: Database, clock: FakeClock, signer: tuple[Principal, int]
) -> None:
    principal, session_id = signer
    secret = grant(db, clock, principal, session_id)
    with db.transaction(clock=clock) as uow:
        signature = service.sign(
            uow,
            principal=principal,
            grant_secret=secret,
            meaning=Meaning.RELEASE,
            record_type="lot",
            record_id=7,
            content=LOT,
            comment="CoA and micro results conform",
        )
        assert signature.printed_name == "李秀英"
        assert signature.meaning == "release"
        assert signature.signed_at == clock.now
        assert service.is_genuine(uow, signature=signature, content=LOT)
        assert not service.is_genuine(uow, signature=signature, content={**LOT, "expiry_date": "2027-09-01"})
        signature.record_id = "8"  # copied onto another record
        assert not service.is_genuine(uow, signature=signature, content=LOT)
        uow.rollback()


def test_the_first_signing_in_a_session_needs_the_user_name_and_later_ones_only_the_password(
    db: Database, clock: FakeClock, signer: tuple[Principal, int]
) -> None:
    principal, session_id = signer
    with pytest.raises(service.UserNameRequired) as refused:
        grant(db, clock, principal, session_id, username=None)
    assert refused.value.field == "username"
    grant(db, clock, principal, session_id)
    assert first_signed_at(db, session_id) == clock.now
    assert grant(db, clock, principal, session_id, username=None).startswith("lls_")


def test_a_wrong_password_signs_nothing_and_the_attempt_is_audited(
    db: Database, clock: FakeClock, signer: tuple[Principal, int]
) -> None:
    principal, _session_id = signer
    before = (count(db, Signature), count(db, AuditRecord), count(db, LoginAttempt))
    uow = db.unit_of_work(clock=clock)
    with pytest.raises(service.SignatureRejected) as refused:
        service.authorize_signing(
            uow,
            principal=principal,
            web_session=None,
            username="li.qa",
            password="not my password",
            meaning=Meaning.RELEASE,
            record_type="lot",
            record_id="7",
            client_ip=None,
        )
    uow.commit()  # as the interfaces do: the failed attempt itself is kept
    uow.close()
    assert refused.value.field == "password"
    assert count(db, Signature) == before[0]
    assert count(db, AuditRecord) == before[1] + 1
    assert count(db, LoginAttempt) == before[2] + 1
    with db.transaction(read_only=True) as uow:
        last = uow.session.execute(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).scalar_one()
    assert last.action == "signature_failed"
    assert (last.entity_type, last.entity_id) == ("lot", "7")


def test_a_grant_is_used_once_for_one_record_and_meaning_and_expires(
    db: Database, clock: FakeClock, signer: tuple[Principal, int]
) -> None:
    principal, session_id = signer

    def sign_with(secret: str, **overrides: object) -> None:
        values: dict[str, object] = {
            "principal": principal,
            "grant_secret": secret,
            "meaning": Meaning.RELEASE,
            "record_type": "lot",
            "record_id": 7,
            "content": LOT,
        }
        values.update(overrides)
        with db.transaction(clock=clock) as uow:
            service.sign(uow, **values)  # type: ignore[arg-type]

    secret = grant(db, clock, principal, session_id)
    with pytest.raises(service.SigningGrantInvalid):
        sign_with(secret, record_id=8)
    with pytest.raises(service.SigningGrantInvalid):
        sign_with(secret, meaning=Meaning.REJECT)
    sign_with(secret)
    with pytest.raises(service.SigningGrantInvalid):
        sign_with(secret)
    late = grant(db, clock, principal, session_id)
    clock.advance(minutes=6)
    with pytest.raises(service.SigningGrantInvalid) as refused:
        sign_with(late)
    assert refused.value.field == "signing_grant"
    assert count(db, Signature) == 1


def test_an_api_token_can_never_sign(db: Database, clock: FakeClock, signer: tuple[Principal, int]) -> None:
    principal, _session_id = signer
    token_principal = Principal(
        user_id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        grants=principal.grants,
        token_id=99,
        scopes=frozenset({"quality.decide"}),
    )
    with db.transaction(clock=clock) as uow, pytest.raises(service.TokenCannotSign):
        service.authorize_signing(
            uow,
            principal=token_principal,
            web_session=None,
            username="li.qa",
            password=PASSWORD,
            meaning=Meaning.RELEASE,
            record_type="lot",
            record_id="7",
            client_ip=None,
        )
