"""Electronic signatures: meanings, and the hash that binds a signature to what was signed.

21 CFR 11.50 (printed name, date-time, meaning), 11.70 (signature linked to its record so it
cannot be copied to another), 11.200 (two components at the first signing in a session, at
least the password afterwards). Pure functions: the key comes from outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from lotline.domain.audit_chain import canonical_json


class Meaning(StrEnum):
    """What a signer means by signing."""

    RELEASE = "release"
    REJECT = "reject"
    APPROVE = "approve"
    REVIEW = "review"
    REDATE = "redate"
    PLACE_HOLD = "place_hold"
    LIFT_HOLD = "lift_hold"
    OVERRIDE = "override"
    SCRAP = "scrap"
    RETURN_TO_SUPPLIER = "return_to_supplier"
    REWORK = "rework"
    RECALL = "recall"
    CLOSE = "close"


def content_hash(record_type: str, record_id: str, content: Mapping[str, object]) -> str:
    """SHA-256 of the signed record's identity and content, in canonical JSON."""
    document = {"type": record_type, "id": str(record_id), "content": dict(content)}
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def binding(
    key: bytes,
    *,
    user_id: int,
    printed_name: str,
    meaning: str,
    signed_at: datetime,
    record_type: str,
    record_id: str,
    content_digest: str,
) -> str:
    """HMAC over everything a signature asserts: edit any part, or move it, and it fails."""
    message = canonical_json(
        [user_id, printed_name, meaning, signed_at, record_type, str(record_id), content_digest]
    ).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def needs_user_name(*, signed_before_in_session: bool) -> bool:
    """The first signing in a session needs every component (user name and password)."""
    return not signed_before_in_session
