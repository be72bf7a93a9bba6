"""The web's side of an electronic signature: re-authenticate for one record and meaning.

Every page that signs (lifting a hold, re-dating, a QA decision, a receiving override, a scrap,
a large count) calls :func:`authorize`; the grant it returns is what the service consumes. A
refused password is committed before the error goes back to the page, so the failed attempt
stays in the audit trail even though the action is not taken.
"""

from __future__ import annotations

from fastapi import Request

from lotline.domain.errors import LoginThrottled
from lotline.domain.permissions import Principal
from lotline.domain.signature import Meaning
from lotline.signatures import service as signatures
from lotline.uow import UnitOfWork


def authorize(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    username: str,
    password: str,
    meaning: Meaning,
    record_type: str,
    record_id: object,
    keep_failure: bool = True,
) -> str:
    """A one-use signing grant; with ``keep_failure`` a refused attempt is committed (audited).

    Pass ``keep_failure=False`` when the transaction already holds other writes that must not
    be committed with it (the caller then keeps the failure itself, or it was kept before).
    """
    try:
        secret, _grant = signatures.authorize_signing(
            uow,
            principal=principal,
            web_session=getattr(request.state, "web_session", None),
            username=username.strip() or None,
            password=password,
            meaning=meaning,
            record_type=record_type,
            record_id=str(record_id),
            client_ip=request.client.host if request.client else None,
        )
    except (signatures.SignatureRejected, LoginThrottled):
        if keep_failure:
            uow.commit()  # the refused attempt stays on record
        raise
    return secret
