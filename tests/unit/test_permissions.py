"""Roles, site-scoped grants and token scopes decide what a principal may do (no database)."""

from __future__ import annotations

import pytest

from lotline.domain.permissions import (
    ROLES,
    Grant,
    Permission,
    Principal,
    is_role,
    is_write,
    permissions_of,
)

READS = {p for p in Permission if p.value.endswith(".read")}


def principal(*grants: Grant, scopes: set[str] | None = None, token_id: int | None = None) -> Principal:
    return Principal(
        user_id=1,
        username="someone",
        display_name="Someone",
        grants=grants,
        token_id=token_id if token_id is not None else (99 if scopes is not None else None),
        scopes=frozenset(scopes) if scopes is not None else None,
    )


# --- roles ---------------------------------------------------------------------------------


def test_admin_holds_every_permission() -> None:
    assert set(Permission) == ROLES["admin"]


def test_viewer_only_reads() -> None:
    assert ROLES["viewer"]
    assert all(p.value.endswith(".read") for p in ROLES["viewer"])
    assert not any(is_write(p) for p in ROLES["viewer"])


def test_viewer_cannot_list_users() -> None:
    assert Permission.USER_READ not in ROLES["viewer"]


@pytest.mark.parametrize("permission", [Permission.QUALITY_DECIDE, Permission.USER_WRITE])
def test_an_integration_cannot_release_lots_or_manage_users(permission: Permission) -> None:
    assert permission not in ROLES["integration"]
    assert not principal(Grant("integration", None)).can(permission)


def test_only_admin_manages_users_and_sites() -> None:
    for role, held in ROLES.items():
        if role != "admin":
            assert Permission.USER_WRITE not in held, role
            assert Permission.SITE_WRITE not in held, role


def test_qa_manager_decides_quality_but_qa_only_inspects() -> None:
    assert Permission.QUALITY_DECIDE in ROLES["qa_manager"]
    assert Permission.QUALITY_INSPECT in ROLES["qa"]
    assert Permission.QUALITY_DECIDE not in ROLES["qa"]


def test_warehouse_moves_stock_but_does_not_read_the_audit_trail() -> None:
    assert Permission.STOCK_MOVE in ROLES["warehouse"]
    assert Permission.AUDIT_READ not in ROLES["warehouse"]
    assert Permission.USER_READ not in ROLES["warehouse"]


def test_is_role_knows_the_defined_roles_only() -> None:
    assert all(is_role(role) for role in ROLES)
    assert not is_role("root")
    assert not is_role("Admin")


def test_permissions_of_several_roles_is_their_union() -> None:
    assert permissions_of(["viewer", "warehouse"]) == ROLES["viewer"] | ROLES["warehouse"]
    assert permissions_of([]) == frozenset()
    assert permissions_of(["no-such-role"]) == frozenset()


# --- grants per site -----------------------------------------------------------------------


def test_a_site_scoped_grant_allows_at_its_own_site_only() -> None:
    qa_at_one = principal(Grant("qa", 1))

    assert qa_at_one.can(Permission.LOT_WRITE, site_id=1)
    assert not qa_at_one.can(Permission.LOT_WRITE, site_id=2)


def test_a_site_scoped_grant_counts_when_no_particular_site_is_asked_about() -> None:
    assert principal(Grant("qa", 1)).can(Permission.LOT_WRITE)


def test_a_global_grant_allows_at_every_site() -> None:
    manager = principal(Grant("qa_manager", None))

    assert manager.can(Permission.QUALITY_DECIDE, site_id=1)
    assert manager.can(Permission.QUALITY_DECIDE, site_id=2)
    assert manager.can(Permission.QUALITY_DECIDE)


def test_grants_at_two_sites_do_not_allow_at_a_third() -> None:
    qa = principal(Grant("qa", 1), Grant("qa", 2))

    assert qa.can(Permission.HOLD_PLACE, site_id=1)
    assert qa.can(Permission.HOLD_PLACE, site_id=2)
    assert not qa.can(Permission.HOLD_PLACE, site_id=3)


def test_a_permission_from_a_site_grant_is_not_widened_by_a_global_grant_of_a_weaker_role() -> None:
    person = principal(Grant("viewer", None), Grant("qa", 1))

    assert person.can(Permission.LOT_READ, site_id=2)
    assert not person.can(Permission.LOT_WRITE, site_id=2)
    assert person.can(Permission.LOT_WRITE, site_id=1)


def test_a_principal_without_grants_can_do_nothing() -> None:
    nobody = principal()

    assert not any(nobody.can(p) for p in Permission)


def test_a_grant_of_an_unknown_role_allows_nothing() -> None:
    assert not any(principal(Grant("superuser", None)).can(p) for p in Permission)


# --- token scopes --------------------------------------------------------------------------


def test_token_scopes_narrow_what_the_users_roles_allow() -> None:
    token = principal(Grant("admin", None), scopes={"lot.read", "stock.read"})

    assert token.can(Permission.LOT_READ)
    assert token.can(Permission.STOCK_READ, site_id=5)
    assert not token.can(Permission.LOT_WRITE)
    assert not token.can(Permission.USER_WRITE)


def test_a_scope_the_users_role_lacks_still_does_not_allow_it() -> None:
    token = principal(Grant("viewer", None), scopes={"lot.read", "lot.write", "user.write"})

    assert token.can(Permission.LOT_READ)
    assert not token.can(Permission.LOT_WRITE)
    assert not token.can(Permission.USER_WRITE)


def test_a_scoped_token_keeps_the_site_limits_of_its_users_grants() -> None:
    token = principal(Grant("qa", 1), scopes={"lot.write"})

    assert token.can(Permission.LOT_WRITE, site_id=1)
    assert not token.can(Permission.LOT_WRITE, site_id=2)


def test_a_token_with_no_scopes_can_do_nothing() -> None:
    token = principal(Grant("admin", None), scopes=set())

    assert not any(token.can(p) for p in Permission)


def test_a_token_principal_is_named_by_its_token_and_a_session_by_its_user() -> None:
    token = principal(Grant("viewer", None), scopes={"lot.read"}, token_id=42)
    session = principal(Grant("viewer", None))

    assert (token.kind, token.idempotency_scope) == ("token", "token:42")
    assert (session.kind, session.idempotency_scope) == ("user", "user:1")


# --- site_ids_with -------------------------------------------------------------------------


def test_site_ids_with_is_none_meaning_every_site_for_a_global_grant() -> None:
    assert principal(Grant("qa", 3), Grant("qa_manager", None)).site_ids_with(Permission.LOT_WRITE) is None


def test_site_ids_with_lists_the_granted_sites() -> None:
    qa = principal(Grant("qa", 1), Grant("qa", 2), Grant("viewer", 3))

    assert qa.site_ids_with(Permission.LOT_WRITE) == {1, 2}
    assert qa.site_ids_with(Permission.LOT_READ) == {1, 2, 3}


def test_site_ids_with_is_empty_for_a_permission_no_grant_carries() -> None:
    assert principal(Grant("viewer", None)).site_ids_with(Permission.LOT_WRITE) == set()


def test_site_ids_with_is_empty_for_a_permission_outside_the_tokens_scopes() -> None:
    token = principal(Grant("admin", None), scopes={"lot.read"})

    assert token.site_ids_with(Permission.LOT_WRITE) == set()
    assert token.site_ids_with(Permission.LOT_READ) is None


# --- is_write ------------------------------------------------------------------------------


@pytest.mark.parametrize("permission", sorted(Permission, key=str))
def test_is_write_is_true_for_every_permission_except_reads(permission: Permission) -> None:
    assert is_write(permission) is (permission not in READS)


def test_is_write_examples() -> None:
    assert is_write(Permission.LOT_WRITE)
    assert is_write(Permission.QUALITY_DECIDE)
    assert is_write(Permission.AUDIT_VERIFY)
    assert not is_write(Permission.AUDIT_READ)
