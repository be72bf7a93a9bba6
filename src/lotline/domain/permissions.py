"""Permissions, roles as named sets of them, and the check a principal passes or fails.

The vocabulary covers the whole lifecycle so later capabilities only use it; a role grant is
per site (or for every site), and a token is further limited to its scopes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Permission(StrEnum):
    SITE_READ = "site.read"
    SITE_WRITE = "site.write"
    USER_READ = "user.read"
    USER_WRITE = "user.write"
    TOKEN_WRITE = "token.write"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    EVENT_READ = "event.read"
    CONFIG_READ = "config.read"
    MASTER_READ = "master.read"
    MASTER_WRITE = "master.write"
    LOT_READ = "lot.read"
    LOT_WRITE = "lot.write"
    STOCK_READ = "stock.read"
    STOCK_MOVE = "stock.move"
    QUALITY_READ = "quality.read"
    QUALITY_INSPECT = "quality.inspect"
    QUALITY_DECIDE = "quality.decide"
    ORDER_READ = "order.read"
    ORDER_WRITE = "order.write"  # enter orders, allocate and release allocations
    PRODUCTION_READ = "production.read"
    PRODUCTION_WRITE = "production.write"  # production orders, completions, transformations
    HOLD_PLACE = "hold.place"
    HOLD_LIFT = "hold.lift"
    RECALL_MANAGE = "recall.manage"
    TRACE_READ = "trace.read"


_READ = frozenset(p for p in Permission if p.value.endswith(".read"))

ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "qa_manager": _READ
    | {
        Permission.LOT_WRITE,
        Permission.QUALITY_INSPECT,
        Permission.QUALITY_DECIDE,
        Permission.HOLD_PLACE,
        Permission.HOLD_LIFT,
        Permission.RECALL_MANAGE,
        Permission.MASTER_WRITE,
        Permission.AUDIT_VERIFY,
        Permission.TOKEN_WRITE,
        # Dispositions of rejected stock (rework, repack) and the moves to and from QA areas.
        Permission.PRODUCTION_WRITE,
        Permission.STOCK_MOVE,
    },
    "qa": _READ
    | {
        Permission.LOT_WRITE,
        Permission.QUALITY_INSPECT,
        Permission.HOLD_PLACE,
        Permission.TOKEN_WRITE,
    },
    "warehouse": _READ - {Permission.AUDIT_READ, Permission.USER_READ}
    | {
        Permission.LOT_WRITE,
        Permission.STOCK_MOVE,
        Permission.ORDER_WRITE,
        Permission.PRODUCTION_WRITE,
        Permission.TOKEN_WRITE,
    },
    # A production line's operators: issue inputs, declare outputs and losses; no orders, no QA.
    "production": _READ - {Permission.AUDIT_READ, Permission.USER_READ}
    | {Permission.LOT_WRITE, Permission.STOCK_MOVE, Permission.PRODUCTION_WRITE, Permission.TOKEN_WRITE},
    "viewer": _READ - {Permission.USER_READ},
    "integration": _READ - {Permission.USER_READ}
    | {
        Permission.LOT_WRITE,
        Permission.STOCK_MOVE,
        Permission.ORDER_WRITE,
        Permission.PRODUCTION_WRITE,
        Permission.QUALITY_INSPECT,
        Permission.MASTER_WRITE,
        Permission.TOKEN_WRITE,
    },
}


def is_role(name: str) -> bool:
    """True when ``name`` is one of the roles above."""
    return name in ROLES


@dataclass(frozen=True)
class Grant:
    """A role at one site, or at every site when ``site_id`` is None."""

    role: str
    site_id: int | None


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (web session) or a user's API token limited to its scopes."""

    user_id: int
    username: str
    display_name: str
    grants: tuple[Grant, ...]
    token_id: int | None = None
    scopes: frozenset[str] | None = None
    language: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> str:
        return "token" if self.token_id is not None else "user"

    @property
    def idempotency_scope(self) -> str:
        """The namespace Idempotency-Keys are unique in."""
        return f"token:{self.token_id}" if self.token_id is not None else f"user:{self.user_id}"

    def can(self, permission: Permission, site_id: int | None = None) -> bool:
        """Whether this principal holds ``permission`` (at ``site_id``, or at any site)."""
        if self.scopes is not None and permission.value not in self.scopes:
            return False
        for grant in self.grants:
            if permission not in ROLES.get(grant.role, frozenset()):
                continue
            if site_id is None or grant.site_id is None or grant.site_id == site_id:
                return True
        return False

    def site_ids_with(self, permission: Permission) -> set[int] | None:
        """The sites where ``permission`` holds; None means every site."""
        if self.scopes is not None and permission.value not in self.scopes:
            return set()
        sites: set[int] = set()
        for grant in self.grants:
            if permission in ROLES.get(grant.role, frozenset()):
                if grant.site_id is None:
                    return None
                sites.add(grant.site_id)
        return sites


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """Every permission any of ``roles`` carries."""
    held: set[Permission] = set()
    for role in roles:
        held |= ROLES.get(role, frozenset())
    return frozenset(held)


def is_write(permission: Permission) -> bool:
    """True for permissions that allow a change (everything not ending in ``.read``)."""
    return not permission.value.endswith(".read")
