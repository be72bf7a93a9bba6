"""The audit trail is append-only and tamper-evident on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from lotline.audit.sealer import seal_pending
from lotline.audit.service import record
from lotline.audit.verify import verify_chain
from lotline.models.audit import AuditPending, AuditRecord, AuditSeal
from lotline.schema_guards import existing_guards, expected_guards, trigger_names
from lotline.sites import service as sites
from lotline.uow import Database
from tests.conftest import FakeClock


def write_changes(db: Database, clock: FakeClock, count: int) -> list[int]:
    """``count`` audited site renames; returns the audit record ids."""
    ids = []
    with db.transaction(clock=clock) as uow:
        site = sites.create_site(uow, code="AUD", name_zh="审计", name_en="Audit", time_zone="Asia/Shanghai")
        site_id = site.id
    for number in range(count):
        clock.advance(seconds=1)
        with db.transaction(clock=clock) as uow:
            sites.update_site(uow, site_id=site_id, changes={"name_en": f"Audit {number}"}, reason=None)
            ids.append(uow.session.execute(select(func.max(AuditRecord.id))).scalar_one())
    return ids


def drop_guards(db: Database) -> None:
    with db.engine.begin() as connection:
        for table in ("audit_record", "audit_seal"):
            for name in trigger_names(table):
                if db.backend == "postgresql":
                    connection.execute(text(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"'))
                else:
                    connection.execute(text(f'DROP TRIGGER IF EXISTS "{name}"'))


def verify(db: Database, **kwargs: object) -> object:
    with db.transaction(read_only=True) as uow:
        return verify_chain(uow, **kwargs)  # type: ignore[arg-type]


def test_the_guards_exist_after_upgrade_head(db: Database) -> None:
    with db.engine.connect() as connection:
        assert expected_guards(db.backend) <= existing_guards(connection)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_record SET reason = 'edited'",
        "DELETE FROM audit_record",
        "UPDATE audit_seal SET link = 'x'",
        "DELETE FROM audit_seal",
    ],
)
def test_editing_or_deleting_audit_rows_in_sql_is_refused(
    db: Database, clock: FakeClock, statement: str
) -> None:
    write_changes(db, clock, 2)
    seal_pending(db)
    with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(statement))
    assert verify(db).ok


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["audit_record", "audit_seal"])
def test_truncating_the_audit_tables_is_refused_on_postgresql(
    db: Database, clock: FakeClock, table: str
) -> None:
    # SQLite has no TRUNCATE; its DELETE without WHERE fires the row triggers (covered above).
    write_changes(db, clock, 1)
    seal_pending(db)
    with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {table} CASCADE"))


def test_a_clean_chain_verifies_and_every_record_is_sealed(db: Database, clock: FakeClock) -> None:
    ids = write_changes(db, clock, 5)
    outcome = seal_pending(db)
    report = verify(db)
    assert report.ok, report.breaks
    assert report.pending == 0
    assert outcome.sealed == report.links == ids[-1]


def test_a_record_edited_with_the_triggers_dropped_fails_verification_naming_it(
    db: Database, clock: FakeClock
) -> None:
    ids = write_changes(db, clock, 4)
    seal_pending(db)
    drop_guards(db)
    victim = ids[1]
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_record SET reason = 'nothing to see' WHERE id = :id"), {"id": victim}
        )
    report = verify(db)
    assert not report.ok
    assert report.breaks[0].record_id == victim
    assert "changed" in report.breaks[0].problem


def test_a_record_edited_together_with_its_mac_still_fails(db: Database, clock: FakeClock) -> None:
    ids = write_changes(db, clock, 3)
    seal_pending(db)
    drop_guards(db)
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_record SET reason = 'x', mac = :mac WHERE id = :id"),
            {"id": ids[0], "mac": "0" * 64},
        )
    report = verify(db)
    assert [b.record_id for b in report.breaks][:1] == [ids[0]]


def test_a_deleted_record_fails_verification_naming_it(db: Database, clock: FakeClock) -> None:
    ids = write_changes(db, clock, 4)
    seal_pending(db)
    drop_guards(db)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_record WHERE id = :id"), {"id": ids[2]})
    report = verify(db)
    assert not report.ok
    assert report.breaks[0].record_id == ids[2]
    assert "missing" in report.breaks[0].problem


def test_a_record_deleted_with_its_link_shows_as_a_gap(db: Database, clock: FakeClock) -> None:
    ids = write_changes(db, clock, 4)
    seal_pending(db)
    drop_guards(db)
    with db.engine.begin() as connection:
        seq = connection.execute(
            text("SELECT seq FROM audit_seal WHERE record_id = :id"), {"id": ids[1]}
        ).scalar_one()
        connection.execute(text("DELETE FROM audit_seal WHERE seq = :seq"), {"seq": seq})
        connection.execute(text("DELETE FROM audit_record WHERE id = :id"), {"id": ids[1]})
    report = verify(db)
    assert not report.ok
    assert report.breaks[0].seq == seq + 1
    assert "missing" in report.breaks[0].problem


def test_a_forged_record_appended_outside_lotline_is_caught_and_never_sealed(
    db: Database, clock: FakeClock
) -> None:
    write_changes(db, clock, 2)
    seal_pending(db)
    with db.engine.begin() as connection:
        row = dict(
            connection.execute(text("SELECT * FROM audit_record ORDER BY id DESC LIMIT 1")).mappings().one()
        )
        row.pop("id")
        row.update(record_uuid="00000000-0000-4000-8000-000000000001", reason="forged approval")
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        forged = connection.execute(
            text(f"INSERT INTO audit_record ({columns}) VALUES ({values}) RETURNING id"), row
        ).scalar_one()
        # Even queued for the sealer, it is refused: the MAC cannot be made without the key.
        connection.execute(text("INSERT INTO audit_pending (record_id) VALUES (:id)"), {"id": forged})
    outcome = seal_pending(db)
    assert outcome.rejected == [forged]
    report = verify(db)
    assert not report.ok
    assert report.breaks[0].record_id == forged
    assert "MAC" in report.breaks[0].problem


def test_a_forged_link_appended_to_the_chain_is_caught(db: Database, clock: FakeClock) -> None:
    ids = write_changes(db, clock, 2)
    seal_pending(db)
    with db.engine.begin() as connection:
        head = connection.execute(text("SELECT seq, link FROM audit_seal ORDER BY seq DESC LIMIT 1")).one()
        connection.execute(
            text(
                "INSERT INTO audit_seal (seq, record_id, prev_link, link, sealed_at) "
                "VALUES (:seq, :record, :prev, :link, :at)"
            ),
            {
                "seq": head.seq + 1,
                "record": ids[0] + 10_000,
                "prev": head.link,
                "link": "f" * 64,
                "at": clock.now.replace(tzinfo=None),
            },
        )
    report = verify(db)
    assert not report.ok
    assert report.breaks[0].seq == head.seq + 1


def test_a_truncated_tail_is_caught_against_an_anchored_head(db: Database, clock: FakeClock) -> None:
    write_changes(db, clock, 3)
    seal_pending(db)
    anchored = verify(db)
    drop_guards(db)
    with db.engine.begin() as connection:
        last = connection.execute(
            text("SELECT seq, record_id FROM audit_seal ORDER BY seq DESC LIMIT 1")
        ).one()
        connection.execute(text("DELETE FROM audit_seal WHERE seq = :seq"), {"seq": last.seq})
        connection.execute(text("DELETE FROM audit_record WHERE id = :id"), {"id": last.record_id})
    assert verify(db).ok  # without an anchor, a clean cut at the tail is invisible
    report = verify(db, expect_head=(anchored.head_seq, anchored.head_link))
    assert not report.ok
    assert "anchored head" in report.breaks[0].problem


def test_records_committed_out_of_id_order_are_all_sealed(db: Database, clock: FakeClock) -> None:
    """A record with a lower id that commits after a higher one is sealed later, not skipped."""
    late = db.unit_of_work(clock=clock)
    early_ids = []
    try:
        first = record(late, action="update", entity_type="probe", entity_id="late", changes={"x": [1, 2]})
        late_id = first.id
        if db.backend == "sqlite":
            # SQLite has one writer at a time: the late transaction commits first here, and
            # the ordering case is exercised on PostgreSQL below.
            late.commit()
        with db.transaction(clock=clock) as uow:
            early = record(
                uow, action="update", entity_type="probe", entity_id="early", changes={"x": [2, 3]}
            )
            early_ids.append(early.id)
        seal_pending(db)
        if db.backend != "sqlite":
            late.commit()
    finally:
        late.close()
    seal_pending(db)
    report = verify(db)
    assert report.ok
    assert report.pending == 0
    with db.transaction(read_only=True) as uow:
        order = list(uow.session.execute(select(AuditSeal.record_id).order_by(AuditSeal.seq)).scalars())
        assert uow.session.execute(select(func.count()).select_from(AuditPending)).scalar_one() == 0
    assert set(order) == {late_id, *early_ids}
    if db.backend != "sqlite":
        assert order.index(early_ids[0]) < order.index(late_id)
