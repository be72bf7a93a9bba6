"""Concurrent writers on PostgreSQL never fork the chain, and no writer waits on it."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from lotline.audit.sealer import BackgroundSealer, seal_pending
from lotline.audit.verify import verify_chain
from lotline.config import Settings
from lotline.models.audit import AuditRecord
from lotline.sites import service as sites
from lotline.uow import Database

WRITERS = 4
CHANGES_PER_WRITER = 1_000


def _writer(database_url: str, audit_key: str, site_id: int, count: int) -> None:
    db = Database(Settings(_env_file=None, database_url=database_url, audit_key=audit_key))  # type: ignore[call-arg]
    try:
        for number in range(count):
            with db.transaction() as uow:
                sites.update_site(uow, site_id=site_id, changes={"name_en": f"rename {number}"}, reason=None)
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_four_writers_times_a_thousand_changes_leave_a_chain_that_verifies(db: Database) -> None:
    site_ids = []
    with db.transaction() as uow:
        for number in range(WRITERS):
            site = sites.create_site(
                uow, code=f"W{number}", name_zh=f"写{number}", name_en=f"Writer {number}", time_zone="UTC"
            )
            site_ids.append(site.id)
    sealer = BackgroundSealer(db, interval_s=0.05)
    sealer.start()
    context = multiprocessing.get_context("spawn")
    key = db.settings.audit_key.get_secret_value()
    workers = [
        context.Process(target=_writer, args=(db.settings.database_url, key, site_id, CHANGES_PER_WRITER))
        for site_id in site_ids
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
            assert worker.exitcode == 0
    finally:
        sealer.stop()
    seal_pending(db)
    with db.transaction(read_only=True) as uow:
        records = uow.session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        report = verify_chain(uow)
    assert records == WRITERS + WRITERS * CHANGES_PER_WRITER
    assert report.ok, report.breaks[:3]
    assert report.links == records
    assert report.pending == 0
