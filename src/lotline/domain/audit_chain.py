"""The audit chain's arithmetic: canonical content, record MACs and chain links.

Pure functions; the key comes from outside the database (LOTLINE_AUDIT_KEY), so a person
with only database access can neither forge a record's MAC nor re-link the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

GENESIS_LINK = "0" * 64


def _default(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an audit record")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: object) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, datetimes in UTC ISO form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


@dataclass(frozen=True)
class RecordContent:
    """The fields of an audit record that its MAC covers."""

    record_uuid: str
    occurred_at: datetime
    actor_kind: str
    actor_id: int | None
    actor_name: str
    token_id: int | None
    site_id: int | None
    action: str
    entity_type: str
    entity_id: str
    changes: str
    reason: str | None
    request_id: str | None

    def canonical(self) -> bytes:
        return canonical_json(
            {
                "uuid": self.record_uuid,
                "at": self.occurred_at,
                "actor": [self.actor_kind, self.actor_id, self.actor_name, self.token_id],
                "site": self.site_id,
                "action": self.action,
                "entity": [self.entity_type, self.entity_id],
                "changes": self.changes,
                "reason": self.reason,
                "request": self.request_id,
            }
        ).encode("utf-8")


def record_mac(key: bytes, content: RecordContent) -> str:
    """HMAC-SHA256 of a record's canonical content."""
    return hmac.new(key, content.canonical(), hashlib.sha256).hexdigest()


def chain_link(key: bytes, prev_link: str, seq: int, mac: str) -> str:
    """The link for position ``seq``: binds the record's MAC to everything before it."""
    message = f"{prev_link}|{seq}|{mac}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same_digest(left: str, right: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(left.encode("ascii"), right.encode("ascii"))


def diff(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, list[object]]:
    """``{field: [old, new]}`` for every field whose value differs (a missing field is None)."""
    changed: dict[str, list[object]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        # 1 → True or "1.0" → "1.00" are changes a reviewer must see, though they compare equal.
        if old != new or type(old) is not type(new) or str(old) != str(new):
            changed[name] = [old, new]
    return changed


def fields_needing_reason(entity_type: str, changed_fields: set[str], configured: set[str]) -> list[str]:
    """The changed fields of ``entity_type`` that the configuration marks GMP-relevant."""
    return sorted(f for f in changed_fields if f"{entity_type}.{f}" in configured)
