"""PostgreSQL test databases: copies of the migrated template, emptied and reused between tests.

``CREATE DATABASE … TEMPLATE`` took ≈ 1 s a test while the suite ran (each one flushes the
server's dirty buffers or writes the whole template to the WAL), so a pytest worker makes a
database only when it has none idle, and gives each test one that the previous tests of that
worker used and that was then put back in the freshly migrated state. When a test is done,
a background thread of the worker, while the next test already runs on another database:

1. terminates every backend still connected to the database and waits until each is gone (an
   engine the test did not dispose, a subprocess's, a connection idle in a transaction, holding
   row or advisory locks); session state — prepared statements, temporary tables, settings,
   locks, LISTEN — ends with them;
2. compares its schema with the template's: a digest of the catalogs (relations, columns,
   defaults, constraints, indexes, triggers and whether they are enabled, functions, types,
   sequence parameters, rules, policies, extensions, large objects, the database's settings…).
   A test that changed any of it (dropped a guard trigger, created a function, upgraded with
   a migration that did something) loses the database: it is dropped and a new copy is made;
3. otherwise empties it in one transaction, with triggers off (``session_replication_role =
   replica``: the append-only guards refuse DELETE, and the foreign keys then need no order):
   a DELETE for each table holding rows, the rows the migrations seed (``unit``,
   ``alembic_version``) put back exactly as the template has them if they differ, and every
   sequence set back to the template's position (``setval``). The database is idle again.

A reset that fails (it should not: nothing holds a lock once the sessions are gone) replaces
the database as well, and the worker's next test errors with the cause.

Measured here: a test's dozen tables took ≈ 0.3 s to TRUNCATE (a new file for every table,
index and TOAST relation, and their unlinking at commit) and ≈ 5 ms to DELETE; the whole reset,
digest included, ≈ 60 ms, off the test's path. DELETE leaves dead rows to autovacuum: a reused
database equals the template in schema, rows and sequence positions, not in its files' layout
or planner statistics, so a test must not rely on the order of rows a query does not sort. And
a test must not leave a thread or process behind that reconnects after the test has ended: it
would write into a later test's database (a dropped database used to swallow such writes).

Each worker keeps one database more than it has in use (a spare is made in the background when
none is idle or on its way), so a test seldom waits. Names carry the worker's pid
(``lotline_tpl_<pid>``, ``lotline_t_<pid>_<n>``): xdist workers and concurrent sessions never
meet, and databases of that pattern whose process is gone (a crashed or killed run) are dropped
when a worker starts.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

TEMPLATE_PREFIX = "lotline_tpl_"
DATABASE_PREFIX = "lotline_t_"
LEFTOVER = re.compile(r"^lotline_(?:tpl|t)_(\d+)(?:_\d+)?$")
_LOCAL_HOSTS = (None, "", "localhost", "127.0.0.1", "::1")

# Every user-visible object of a database as text; equal digests, equal schemas. Objects in
# PostgreSQL's own schemas and in the temporary schemas (their rows outlive the sessions that
# made them) are left out, and so are planner statistics and relfilenodes, which VACUUM and
# ANALYZE change. Objects are named by OID where that is shorter: a copy of the template keeps
# the template's OIDs, and anything made later gets a new one.
SCHEMA_DIGEST = r"""
WITH ns AS (
    SELECT oid FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%'
), rel AS (
    SELECT c.oid FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
)
SELECT md5(string_agg(line, E'\n' ORDER BY line COLLATE "C")) FROM (
    SELECT concat_ws(' ', 'ns', n.oid, n.nspname, n.nspowner, n.nspacl) AS line
        FROM pg_namespace n JOIN ns USING (oid)
    UNION ALL SELECT concat_ws(' ', 'rel', c.oid, c.relname, c.relkind, c.relpersistence,
            c.reloptions, c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
            c.relispartition, c.relowner, c.reltype, c.reloftype, c.relam)
        FROM pg_class c JOIN rel USING (oid)
    UNION ALL SELECT concat_ws(' ', 'att', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod,
            a.attnotnull, a.atthasdef, a.attisdropped, a.attidentity, a.attgenerated,
            a.attcollation, a.attstattarget, a.attoptions, a.attacl)
        FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid WHERE a.attnum > 0
    UNION ALL SELECT concat_ws(' ', 'def', d.oid, d.adrelid, d.adnum, pg_get_expr(d.adbin, d.adrelid))
        FROM pg_attrdef d JOIN rel ON rel.oid = d.adrelid
    UNION ALL SELECT concat_ws(' ', 'con', c.oid, c.conname, c.conrelid, c.contypid,
            pg_get_constraintdef(c.oid), c.condeferrable, c.condeferred, c.convalidated)
        FROM pg_constraint c JOIN ns ON ns.oid = c.connamespace
    UNION ALL SELECT concat_ws(' ', 'idx', i.indexrelid, pg_get_indexdef(i.indexrelid), i.indisvalid,
            i.indisready, i.indislive, i.indisclustered, i.indisreplident)
        FROM pg_index i JOIN rel ON rel.oid = i.indrelid
    UNION ALL SELECT concat_ws(' ', 'trg', t.oid, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid))
        FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid
    UNION ALL SELECT concat_ws(' ', 'rule', r.oid, r.rulename, r.ev_enabled, pg_get_ruledef(r.oid))
        FROM pg_rewrite r JOIN rel ON rel.oid = r.ev_class
    UNION ALL SELECT concat_ws(' ', 'pol', p.oid, p.polname, p.polcmd, p.polpermissive, p.polroles,
            pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_policy p JOIN rel ON rel.oid = p.polrelid
    UNION ALL SELECT concat_ws(' ', 'seq', s.seqrelid, s.seqtypid, s.seqstart, s.seqincrement,
            s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
        FROM pg_sequence s JOIN rel ON rel.oid = s.seqrelid
    UNION ALL SELECT concat_ws(' ', 'proc', p.oid, p.proname, md5(p.prosrc), p.prokind, p.prosecdef,
            p.provolatile, p.proconfig, p.proacl, p.prorettype, p.proargtypes, p.proowner)
        FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
    UNION ALL SELECT concat_ws(' ', 'type', t.oid, t.typname, t.typtype, t.typnotnull, t.typbasetype,
            t.typtypmod, t.typdefault, t.typacl)
        FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
    UNION ALL SELECT concat_ws(' ', 'enum', e.oid, e.enumtypid, e.enumsortorder, e.enumlabel)
        FROM pg_enum e
    UNION ALL SELECT concat_ws(' ', 'stx', x.oid, x.stxname, x.stxkind) FROM pg_statistic_ext x
    UNION ALL SELECT concat_ws(' ', 'evt', e.oid, e.evtname, e.evtevent, e.evtenabled, e.evtfoid)
        FROM pg_event_trigger e
    UNION ALL SELECT concat_ws(' ', 'ext', e.oid, e.extname, e.extversion) FROM pg_extension e
    UNION ALL SELECT concat_ws(' ', 'cast', oid) FROM pg_cast WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'lang', oid) FROM pg_language WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'coll', oid) FROM pg_collation WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'op', oid) FROM pg_operator WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'opc', oid) FROM pg_opclass WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'opf', oid) FROM pg_opfamily WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'conv', oid) FROM pg_conversion WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'tsc', oid) FROM pg_ts_config WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'tsd', oid) FROM pg_ts_dict WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'am', oid) FROM pg_am WHERE oid >= 16384
    UNION ALL SELECT concat_ws(' ', 'fdw', oid) FROM pg_foreign_data_wrapper
    UNION ALL SELECT concat_ws(' ', 'srv', oid) FROM pg_foreign_server
    UNION ALL SELECT concat_ws(' ', 'pub', oid) FROM pg_publication
    UNION ALL SELECT concat_ws(' ', 'dacl', d.oid, d.defaclacl) FROM pg_default_acl d
    UNION ALL SELECT concat_ws(' ', 'lo', oid) FROM pg_largeobject_metadata
    UNION ALL SELECT concat_ws(' ', 'set', s.setrole, s.setconfig) FROM pg_db_role_setting s
        WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL SELECT concat_ws(' ', 'db', d.datallowconn, d.datconnlimit, d.datacl)
        FROM pg_database d WHERE d.datname = current_database()
) AS everything
"""

_USER_RELATIONS = r"""
SELECT c.oid::regclass::text, c.relkind FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1
"""


def _rows_as_json(table: str) -> sql.Composed:
    """The table's rows as JSON text, in their physical order."""
    return sql.SQL("(SELECT coalesce(json_agg(t ORDER BY ctid), '[]')::text FROM {} AS t)").format(
        sql.SQL(table)
    )


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class PostgresDatabases:
    """One pytest worker's databases on a PostgreSQL server: a migrated template and copies of
    it, reset and handed out again when a test gives them back (see the module docstring)."""

    def __init__(self, server: URL, migrate: Callable[[str], None]) -> None:
        self.server = server
        self.pid = os.getpid()
        self.template = f"{TEMPLATE_PREFIX}{self.pid}"
        self.counts = {"created": 0, "reused": 0, "schema_changed": 0}
        self._numbers = itertools.count(1)
        self._admins: list[psycopg.Connection[tuple[object, ...]]] = []
        self._local = threading.local()
        # Guards the fields below; background work reports through it.
        self._ready = threading.Condition()
        self._idle: list[str] = []  # reset, waiting for a test
        self._in_flight = 0  # being reset or made in the background
        self._failures: list[BaseException] = []
        self._owned: set[str] = set()
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-db")
        self._admin(sql.SQL("SELECT 1"))  # fails here, not in a test, if the server is down
        self._drop_leftovers()
        self._drop(self.template)
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        migrate(self.url(self.template))
        self._take_snapshot()

    def url(self, database: str) -> str:
        return self.server.set(database=database).render_as_string(hide_password=False)

    def _conninfo(self, database: str) -> str:
        return self.server.set(drivername="postgresql", database=database).render_as_string(
            hide_password=False
        )

    def _admin(
        self, statement: sql.Composable, params: tuple[object, ...] | None = None
    ) -> list[tuple[object, ...]]:
        """Run ``statement`` on the server's own database, on this thread's connection."""
        connection = getattr(self._local, "admin", None)
        if connection is None:
            connection = psycopg.connect(self._conninfo(self.server.database or "postgres"), autocommit=True)
            self._local.admin = connection
            with self._ready:
                self._admins.append(connection)
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []

    # --- what a freshly migrated database holds ------------------------------------------

    def _take_snapshot(self) -> None:
        def value(connection: psycopg.Connection[tuple[object, ...]], query: sql.Composable) -> object:
            row = connection.execute(query).fetchone()
            assert row is not None
            return row[0]

        with psycopg.connect(self._conninfo(self.template), autocommit=True) as connection:
            self.digest = value(connection, sql.SQL(SCHEMA_DIGEST))
            relations = [(str(name), kind) for name, kind in connection.execute(_USER_RELATIONS)]
            tables = [name for name, kind in relations if kind != "S"]
            self.seeds = {  # table → its rows as JSON text, for the tables the migrations fill
                table: str(rows)
                for table in tables
                if (rows := value(connection, sql.SQL("SELECT {}").format(_rows_as_json(table)))) != "[]"
            }
            positions = [  # "setval('site_id_seq', 1, 'false')"
                value(
                    connection,
                    sql.SQL("SELECT format('setval(%L, %s, %L)', {}, last_value, is_called) FROM {}").format(
                        sql.Literal(sequence), sql.SQL(sequence)
                    ),
                )
                for sequence in (name for name, kind in relations if kind == "S")
            ]
        self._seeded = list(self.seeds)
        # One query: the schema digest, the seeded tables' rows, and which other tables have rows.
        self._inspect = sql.SQL("SELECT ({digest}), {seeds}ARRAY[{holding}]::text[]").format(
            digest=sql.SQL(SCHEMA_DIGEST),
            seeds=sql.SQL("").join(
                sql.Composed([_rows_as_json(table), sql.SQL(", ")]) for table in self._seeded
            ),
            holding=sql.SQL(", ").join(
                sql.SQL("(SELECT {} WHERE EXISTS (SELECT FROM {}))").format(
                    sql.Literal(table), sql.SQL(table)
                )
                for table in tables
                if table not in self.seeds
            ),
        )
        self._restart_sequences = (
            sql.SQL("SELECT {};").format(sql.SQL(", ").join(sql.SQL(str(call)) for call in positions))
            if positions
            else sql.SQL("")
        )

    # --- handing out and taking back ----------------------------------------------------

    def acquire(self) -> str:
        """The URL of a database in the freshly migrated state, for the caller alone.

        An idle one if there is any, else the next one the background finishes, else a new
        one; then, if no other database is idle or on its way, a spare is made in the
        background, so the next test finds one while this one's is being reset.
        """
        with self._ready:
            while not self._idle and not self._failures and self._in_flight:
                self._ready.wait()
            if self._failures:
                raise self._failures.pop(0)
            name = self._idle.pop() if self._idle else None
            if name is not None:
                self.counts["reused"] += 1
        if name is None:
            name = self._create()
        with self._ready:
            spare = not self._idle and not self._in_flight
        if spare:
            self._in_background(self._create)
        return self.url(name)

    def release(self, url: str) -> None:
        """Take back a database ``acquire`` handed out; the background resets it (or replaces
        it with a new one) and makes it idle again."""
        self._in_background(self._recycle, make_url(url).database or "")

    def _in_background(self, task: Callable[..., str], *args: str) -> None:
        with self._ready:
            self._in_flight += 1
        self._background.submit(self._run, task, *args)

    def _run(self, task: Callable[..., str], *args: str) -> None:
        name, failure = None, None
        try:
            name = task(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the next acquire
            failure = exc
        with self._ready:
            self._in_flight -= 1
            if name is not None:
                self._idle.append(name)
            if failure is not None:
                self._failures.append(failure)
            self._ready.notify_all()

    def _recycle(self, name: str) -> str:
        self._terminate(name)
        try:
            if self._reset(name):
                return name
        except psycopg.Error as exc:
            # Not expected (nothing holds a lock once the sessions are gone): the database is
            # replaced all the same, and the next test reports the error instead of running.
            failure = RuntimeError(f"resetting the test database {name} failed (it was replaced): {exc}")
            with self._ready:
                self._failures.append(failure)
        return self._replace(name)

    def _replace(self, name: str) -> str:
        with self._ready:
            self._owned.discard(name)
        self._drop(name)
        return self._create()

    def _create(self) -> str:
        name = f"{DATABASE_PREFIX}{self.pid}_{next(self._numbers)}"
        # WAL_LOG (the default) rather than FILE_COPY: no checkpoint, which would flush every
        # dirty buffer on the server under the other worker's feet. Measured here it was about
        # as fast or faster (averages of 0.05–0.55 s against 0.12–0.62 s for FILE_COPY).
        self._admin(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY WAL_LOG").format(
                sql.Identifier(name), sql.Identifier(self.template)
            )
        )
        with self._ready:
            self._owned.add(name)
            self.counts["created"] += 1
        return name

    def _terminate(self, name: str) -> None:
        """End every session on ``name`` and wait (up to 10 s each) until each is gone."""
        self._admin(
            sql.SQL(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()"
            ),
            (name,),
        )

    def _reset(self, name: str) -> bool:
        """Bring ``name`` back to the template's state; False if only dropping it can."""
        with psycopg.connect(self._conninfo(name), autocommit=True) as connection:
            connection.execute("SET lock_timeout = '10s'")
            row = connection.execute(self._inspect).fetchone()
            assert row is not None
            if row[0] != self.digest:
                with self._ready:
                    self.counts["schema_changed"] += 1
                return False
            seeded_now = dict(zip(self._seeded, row[1:-1], strict=True))
            holding = [table for table in row[-1] if table is not None]
            changed = [table for table in self._seeded if seeded_now[table] != self.seeds[table]]
            statements = [
                # No wait for the WAL flush: other sessions see the commit at once, and a
                # reset need not survive a server crash.
                sql.SQL("BEGIN; SET LOCAL synchronous_commit = off;"),
                sql.SQL("SET LOCAL session_replication_role = replica;"),
                *(sql.SQL("DELETE FROM {};").format(sql.SQL(table)) for table in holding + changed),
                *(
                    sql.SQL("INSERT INTO {0} SELECT * FROM json_populate_recordset(NULL::{0}, {1});").format(
                        sql.SQL(table), sql.Literal(self.seeds[table])
                    )
                    for table in changed
                ),
                self._restart_sequences,
                sql.SQL("COMMIT"),
            ]
            connection.execute(sql.SQL(" ").join(statements))
        return True

    # --- dropping ---------------------------------------------------------------------------

    def _drop(self, name: str) -> None:
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _drop_leftovers(self) -> None:
        """Databases of this naming scheme whose process is gone: a run that crashed."""
        if self.server.host not in _LOCAL_HOSTS:
            return  # the pids of another machine cannot be checked from here
        for (name,) in self._admin(sql.SQL("SELECT datname FROM pg_database")):
            match = LEFTOVER.match(str(name))
            if match and int(match.group(1)) != self.pid and process_gone(int(match.group(1))):
                with contextlib.suppress(psycopg.Error):  # another worker dropped it first
                    self._drop(str(name))

    def close(self) -> None:
        self._background.shutdown(wait=True)
        with self._ready:
            names = sorted(self._owned)
        for name in names:
            self._drop(name)
        self._drop(self.template)
        for connection in self._admins:
            connection.close()
