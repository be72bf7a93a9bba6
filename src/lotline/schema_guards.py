"""Database-side guards the ORM cannot express: append-only triggers on the audit tables, the
stock ledger and the genealogy edges.

Migrations call these; Alembic autogenerate does not see triggers and SQLite batch mode
drops them on a table rebuild (TRAPS.md), so any migration that rebuilds one of these tables
must call ``install_append_only`` again, and a test checks they exist after ``upgrade head``.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

APPEND_ONLY_TABLES = ("audit_record", "audit_seal")  # guarded since migration 0001
LEDGER_TABLES = ("stock_movement",)  # guarded since migration 0003
GENEALOGY_TABLES = ("genealogy_edge",)  # guarded since migration 0009
GUARDED_TABLES = APPEND_ONLY_TABLES + LEDGER_TABLES + GENEALOGY_TABLES

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION lotline_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lotline: % on % is refused: the table is append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def trigger_names(table: str) -> list[str]:
    """The triggers that guard ``table``."""
    return [f"{table}_no_update", f"{table}_no_delete", f"{table}_no_truncate"]


def install_append_only(connection: Connection, table: str) -> None:
    """Create triggers refusing UPDATE, DELETE (and TRUNCATE on PostgreSQL) on ``table``."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FUNCTION))
        for name in trigger_names(table):
            connection.execute(text(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"'))
        connection.execute(
            text(
                f'CREATE TRIGGER "{table}_no_update" BEFORE UPDATE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION lotline_refuse_change()"
            )
        )
        connection.execute(
            text(
                f'CREATE TRIGGER "{table}_no_delete" BEFORE DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION lotline_refuse_change()"
            )
        )
        # Row triggers do not fire on TRUNCATE: a statement trigger is needed as well.
        connection.execute(
            text(
                f'CREATE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}" '
                "FOR EACH STATEMENT EXECUTE FUNCTION lotline_refuse_change()"
            )
        )
        return
    # SQLite has no TRUNCATE: "DELETE FROM t" without WHERE still fires row triggers.
    for operation in ("UPDATE", "DELETE"):
        name = f"{table}_no_{operation.lower()}"
        connection.execute(text(f'DROP TRIGGER IF EXISTS "{name}"'))
        connection.execute(
            text(
                f'CREATE TRIGGER "{name}" BEFORE {operation} ON "{table}" '
                "BEGIN SELECT RAISE(ABORT, "
                f"'lotline: {operation} on {table} is refused: the table is append-only'); END"
            )
        )


def existing_guards(connection: Connection) -> set[str]:
    """Names of the append-only triggers present in the connected database."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                " AND (tgname LIKE 'audit_%' OR tgname LIKE 'stock_movement_%'"
                " OR tgname LIKE 'genealogy_edge_%')"
            )
        )
    else:
        rows = connection.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND (name LIKE 'audit_%' OR name LIKE 'stock_movement_%'"
                " OR name LIKE 'genealogy_edge_%')"
            )
        )
    return {row[0] for row in rows}


def expected_guards(dialect_name: str) -> set[str]:
    """The trigger names ``install_append_only`` creates on this backend."""
    names: set[str] = set()
    for table in GUARDED_TABLES:
        for name in trigger_names(table):
            if dialect_name == "postgresql" or not name.endswith("_no_truncate"):
                names.add(name)
    return names
