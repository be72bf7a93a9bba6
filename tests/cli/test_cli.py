"""The ``lotline`` command line: schema, configuration, users and tokens, sites, demo, audit."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from lotline import migrate
from lotline.app import create_app
from lotline.config import Settings
from lotline.demo import DEMO_PASSWORD, DEMO_USERS
from lotline.domain.audit_chain import GENESIS_LINK
from lotline.models.audit import AuditRecord, AuditSeal
from lotline.models.auth import ApiToken, RoleGrant, User
from lotline.models.site import Site
from lotline.schema_guards import existing_guards, expected_guards, trigger_names
from lotline.uow import Database
from tests.cli.conftest import SECRET_KEY, Cli
from tests.conftest import AUDIT_KEY

PASSWORD = "correct horse battery"
HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


def count(db: Database, model: type) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def create_user(run: Cli, username: str, *extra: str) -> None:
    result = run(
        "user", "create", username, "--name", f"{username.title()} Tester", "--password", PASSWORD, *extra
    )
    assert result.exit_code == 0, result.output


def audit_head(run: Cli) -> str:
    result = run("audit", "head")
    assert result.exit_code == 0, result.output
    head = result.stdout.strip()
    assert HEAD.match(head), head
    return head


def drop_audit_guards(db: Database) -> None:
    """What someone with database access would do before editing the trail."""
    with db.engine.begin() as connection:
        for table in ("audit_record", "audit_seal"):
            for name in trigger_names(table):
                if db.backend == "postgresql":
                    connection.execute(text(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"'))
                else:
                    connection.execute(text(f'DROP TRIGGER IF EXISTS "{name}"'))


# --- db ------------------------------------------------------------------------------------


def test_db_upgrade_on_an_already_migrated_database_succeeds_and_changes_nothing(
    run: Cli, db: Database
) -> None:
    with db.engine.connect() as connection:
        guards_before = existing_guards(connection)

    first = run("db", "upgrade")
    second = run("db", "upgrade")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert f"database at revision {migrate.head_revision()}" in second.stdout
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    with db.engine.connect() as connection:
        assert existing_guards(connection) == guards_before
        assert expected_guards(db.backend) <= guards_before


def test_db_current_shows_the_database_at_the_newest_revision(run: Cli) -> None:
    result = run("db", "current")

    assert result.exit_code == 0, result.output
    head = migrate.head_revision()
    assert f"current: {head}" in result.stdout
    assert f"head: {head}" in result.stdout


# --- config --------------------------------------------------------------------------------


def test_config_show_masks_the_secret_key_and_the_audit_key(run: Cli) -> None:
    for args in (("config", "show"), ("config", "show", "--json")):
        result = run(*args)

        assert result.exit_code == 0, result.output
        assert SECRET_KEY not in result.output
        assert AUDIT_KEY not in result.output
        assert "********" in result.stdout


def test_config_show_json_lists_the_settings_with_secrets_masked(run: Cli) -> None:
    result = run("config", "show", "--json")

    shown = json.loads(result.stdout)
    assert shown["secret_key"] == "********"
    assert shown["audit_key"] == "********"
    assert shown["default_language"] == "en"


def test_config_show_hides_the_password_inside_a_postgres_url(run: Cli) -> None:
    url = "postgresql+psycopg://lotline:pa55-w0rd-xyz@db.example.com:5432/lotline"

    table = run("config", "show", LOTLINE_DATABASE_URL=url)
    as_json = run("config", "show", "--json", LOTLINE_DATABASE_URL=url)

    assert table.exit_code == 0, table.output
    assert "pa55-w0rd-xyz" not in table.output
    assert "pa55-w0rd-xyz" not in as_json.output
    assert "postgresql+psycopg://lotline:***@db.example.com:5432/lotline" in table.stdout
    assert (
        json.loads(as_json.stdout)["database_url"]
        == "postgresql+psycopg://lotline:***@db.example.com:5432/lotline"
    )


# --- users and tokens ----------------------------------------------------------------------


def who_am_i(settings: Settings, secret: str) -> tuple[int, Any]:
    """GET /api/v1/me with ``secret`` as the bearer token: status and body."""
    database = Database(settings)
    try:
        with TestClient(create_app(settings, db=database, run_sealer=False)) as client:
            response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    finally:
        database.dispose()
    return response.status_code, response.json()


def issue_token(run: Cli, username: str, *extra: str) -> str:
    issued = run("token", "create", "--user", username, "--name", "erp", *extra)
    assert issued.exit_code == 0, issued.output
    assert "store it now" in issued.stderr
    return issued.stdout.strip()


def test_a_token_created_on_the_cli_authenticates_against_the_api(run: Cli, settings: Settings) -> None:
    create_user(run, "alice", "--role", "viewer")

    secret = issue_token(run, "alice")

    status, me = who_am_i(settings, secret)
    assert status == 200, me
    assert me["username"] == "alice"
    assert [grant["role"] for grant in me["grants"]] == ["viewer"]
    assert who_am_i(settings, secret + "x")[0] == 401


def test_a_token_revoked_on_the_cli_no_longer_authenticates(
    run: Cli, db: Database, settings: Settings
) -> None:
    create_user(run, "alice", "--role", "viewer")
    secret = issue_token(run, "alice")
    with db.engine.connect() as connection:
        token_id = connection.execute(select(ApiToken.id)).scalar_one()

    revoked = run("token", "revoke", str(token_id))

    assert revoked.exit_code == 0, revoked.output
    assert f"token {token_id} revoked" in revoked.stdout
    assert who_am_i(settings, secret)[0] == 401


def test_a_token_cannot_be_scoped_beyond_what_the_users_roles_allow(run: Cli, db: Database) -> None:
    create_user(run, "alice", "--role", "viewer")

    result = run("token", "create", "--user", "alice", "--name", "erp", "--scope", "user.write")

    assert result.exit_code == 1
    assert "user.write" in result.stderr
    assert result.stdout.strip() == ""
    assert count(db, ApiToken) == 0


def test_creating_a_user_that_exists_fails_naming_the_problem_and_writes_nothing(
    run: Cli, db: Database
) -> None:
    create_user(run, "alice", "--role", "viewer")
    users, records = count(db, User), count(db, AuditRecord)

    again = run(
        "user", "create", "alice", "--name", "Another Alice", "--password", PASSWORD, "--role", "admin"
    )

    assert again.exit_code == 1
    assert "alice already exists" in again.stderr
    assert "already_exists" in again.stderr
    assert (count(db, User), count(db, AuditRecord)) == (users, records)
    with db.engine.connect() as connection:
        roles = connection.execute(
            select(RoleGrant.role).join(User, User.id == RoleGrant.user_id).where(User.username == "alice")
        ).scalars()
        assert list(roles) == ["viewer"]


def test_a_user_whose_role_is_unknown_is_not_created_at_all(run: Cli, db: Database) -> None:
    users, records = count(db, User), count(db, AuditRecord)

    result = run("user", "create", "bob", "--name", "Bob", "--password", PASSWORD, "--role", "superuser")

    assert result.exit_code == 1
    assert "superuser" in result.stderr
    assert "auth.unknown_role" in result.stderr
    assert (count(db, User), count(db, AuditRecord)) == (users, records)


def test_a_user_created_with_a_site_code_holds_the_role_at_that_site(run: Cli, db: Database) -> None:
    site = run("site", "create", "sh01", "--name-zh", "松江工厂", "--name-en", "Songjiang Plant")
    assert site.exit_code == 0, site.output
    assert "created (id" in site.stdout

    create_user(run, "qa", "--role", "qa", "--site", "sh01")

    with db.engine.connect() as connection:
        grant = connection.execute(
            select(RoleGrant.role, Site.code, User.username)
            .join(User, User.id == RoleGrant.user_id)
            .join(Site, Site.id == RoleGrant.site_id)
        ).one()
    assert tuple(grant) == ("qa", "SH01", "qa")


def test_a_user_granted_a_role_at_an_unknown_site_is_not_created(run: Cli, db: Database) -> None:
    users = count(db, User)

    result = run(
        "user", "create", "qa", "--name", "QA", "--password", PASSWORD, "--role", "qa", "--site", "XX9"
    )

    assert result.exit_code == 1
    assert "XX9" in result.stderr
    assert count(db, User) == users


def test_a_token_for_an_unknown_user_is_refused(run: Cli) -> None:
    result = run("token", "create", "--user", "nobody", "--name", "erp")

    assert result.exit_code == 1
    assert "nobody" in result.stderr
    assert result.stdout.strip() == ""


# --- sites ---------------------------------------------------------------------------------


def test_a_site_with_an_unknown_time_zone_is_refused_and_not_written(run: Cli, db: Database) -> None:
    sites = count(db, Site)

    result = run(
        "site", "create", "SH09", "--name-zh", "火星", "--name-en", "Mars", "--time-zone", "Mars/Olympus"
    )

    assert result.exit_code == 1
    assert "Mars/Olympus" in result.stderr
    assert "site.unknown_time_zone" in result.stderr
    assert count(db, Site) == sites


# --- demo ----------------------------------------------------------------------------------


def test_loading_the_demo_twice_adds_nothing_the_second_time_and_prints_the_logins(
    run: Cli, db: Database
) -> None:
    first = run("demo")
    users, sites = count(db, User), count(db, Site)
    second = run("demo")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert users == len(DEMO_USERS)
    assert (count(db, User), count(db, Site)) == (users, sites)
    for person in DEMO_USERS:
        assert person.username in second.stdout
    assert DEMO_PASSWORD in second.stdout


# --- audit ---------------------------------------------------------------------------------


def test_audit_verify_passes_on_an_untouched_chain(run: Cli, db: Database) -> None:
    create_user(run, "alice", "--role", "viewer")

    result = run("audit", "verify")

    assert result.exit_code == 0, result.output
    assert "audit chain verified" in result.stdout
    assert f"{count(db, AuditSeal)} links" in result.stdout


def test_audit_verify_fails_naming_a_record_edited_after_sealing(run: Cli, db: Database) -> None:
    create_user(run, "alice", "--role", "viewer")
    with db.engine.connect() as connection:
        first_record = connection.execute(select(func.min(AuditRecord.id))).scalar_one()
    drop_audit_guards(db)
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_record SET reason = 'nothing to see here' WHERE id = :id"),
            {"id": first_record},
        )

    result = run("audit", "verify")

    assert result.exit_code == 1
    assert "BROKEN" in result.stderr
    assert f"audit record {first_record}:" in result.stderr
    assert "changed after it was written" in result.stderr


def test_audit_head_prints_seq_and_link_that_verify_accepts_as_the_expected_head(
    run: Cli, db: Database
) -> None:
    create_user(run, "alice", "--role", "viewer")

    head = audit_head(run)
    result = run("audit", "verify", "--expect-head", head)

    seq, link = head.split(":")
    with db.engine.connect() as connection:
        newest = connection.execute(
            select(AuditSeal.seq, AuditSeal.link).order_by(AuditSeal.seq.desc())
        ).first()
    assert newest is not None
    assert (int(seq), link) == (newest.seq, newest.link)
    assert result.exit_code == 0, result.output
    assert f"head {head}" in result.stdout


def test_audit_head_of_an_empty_trail_is_the_genesis_link(run: Cli, db: Database) -> None:
    assert count(db, AuditSeal) == 0

    assert audit_head(run) == f"0:{GENESIS_LINK}"


def test_audit_verify_fails_for_an_expected_head_whose_link_is_not_in_the_chain(run: Cli) -> None:
    create_user(run, "alice", "--role", "viewer")
    seq, _link = audit_head(run).split(":")

    result = run("audit", "verify", "--expect-head", f"{seq}:{'ab' * 32}")

    assert result.exit_code == 1
    assert f"link {seq}: the anchored head" in result.stderr
    assert "not in the chain" in result.stderr


def test_audit_verify_with_the_expected_head_catches_links_cut_off_the_end(run: Cli, db: Database) -> None:
    create_user(run, "alice", "--role", "viewer")
    kept = audit_head(run)
    create_user(run, "bob", "--role", "viewer")
    lost = audit_head(run)
    kept_seq = int(kept.split(":")[0])
    assert int(lost.split(":")[0]) > kept_seq
    drop_audit_guards(db)
    with db.engine.begin() as connection:
        cut = list(connection.execute(select(AuditSeal.record_id).where(AuditSeal.seq > kept_seq)).scalars())
        connection.execute(text("DELETE FROM audit_seal WHERE seq > :seq"), {"seq": kept_seq})
        connection.execute(AuditRecord.__table__.delete().where(AuditRecord.id.in_(cut)))

    still_there = run("audit", "verify", "--expect-head", kept)
    cut_off = run("audit", "verify", "--expect-head", lost)

    assert still_there.exit_code == 0, still_there.output
    assert cut_off.exit_code == 1
    assert "not in the chain: links were removed" in cut_off.stderr


def test_audit_verify_refuses_an_expected_head_that_is_not_seq_colon_link(run: Cli) -> None:
    for malformed in ("abc", "12", f"x:{GENESIS_LINK}", "3:abcdef"):
        result = run("audit", "verify", "--expect-head", malformed)

        assert result.exit_code == 1, malformed
        assert "audit.bad_anchor" in result.stderr
