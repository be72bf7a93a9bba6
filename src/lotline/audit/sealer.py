"""The sealer: appends chain links for committed audit records, in the order they commit.

Business transactions only insert their record (with its MAC) and a pending marker; they
never touch the chain, so they never wait on each other for it. The sealer runs after
commits, serialised by a named lock, and appends links to ``audit_seal`` — it never updates.
Records committed late (a lower id than one already sealed) are simply sealed later, so the
chain follows commit visibility, not id order, and skips nothing.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lotline.db import lock_for_transaction
from lotline.domain.audit_chain import (
    GENESIS_LINK,
    RecordContent,
    chain_link,
    record_mac,
    same_digest,
)
from lotline.models.audit import AuditPending, AuditRecord, AuditSeal
from lotline.outbox import events
from lotline.outbox.service import emit
from lotline.uow import Database

log = logging.getLogger(__name__)

SEALER_LOCK = "lotline.audit.sealer"


@dataclass
class SealOutcome:
    sealed: int = 0
    rejected: list[int] = field(default_factory=list)


def content_of(row: AuditRecord) -> RecordContent:
    """The MAC'd content of a stored record."""
    return RecordContent(
        record_uuid=row.record_uuid,
        occurred_at=row.occurred_at,
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        token_id=row.token_id,
        site_id=row.site_id,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        changes=row.changes,
        reason=row.reason,
        request_id=row.request_id,
    )


def seal_pending(db: Database, *, batch_size: int = 1000) -> SealOutcome:
    """Seal every pending record; rows whose MAC fails are refused and raise an alarm."""
    key = db.settings.audit_key.get_secret_value().encode("utf-8")
    outcome = SealOutcome()
    # A cheap read first: an idle sealer must not take the write lock every time it wakes.
    with db.transaction(read_only=True) as peek:
        if peek.session.execute(select(AuditPending.record_id).limit(1)).first() is None:
            return outcome
    while True:
        with db.transaction() as uow:
            session = uow.session
            lock_for_transaction(session, SEALER_LOCK)
            seq, link = chain_head(session)
            batch = (
                session.execute(
                    select(AuditRecord)
                    .join(AuditPending, AuditPending.record_id == AuditRecord.id)
                    .order_by(AuditRecord.id)
                    .limit(batch_size)
                )
                .scalars()
                .all()
            )
            if not batch:
                return outcome
            now = uow.now()
            for row in batch:
                if not same_digest(record_mac(key, content_of(row)), row.mac):
                    outcome.rejected.append(row.id)
                    log.error("audit record %s fails its MAC: not sealed", row.id)
                    emit(
                        uow,
                        events.AUDIT_RECORD_REJECTED,
                        subject_type="audit_record",
                        subject_id=row.id,
                        payload={"record_id": row.id, "problem": "mac_mismatch"},
                    )
                    continue
                seq, prev = seq + 1, link
                link = chain_link(key, prev, seq, row.mac)
                session.add(AuditSeal(seq=seq, record_id=row.id, prev_link=prev, link=link, sealed_at=now))
                outcome.sealed += 1
            session.execute(delete(AuditPending).where(AuditPending.record_id.in_([row.id for row in batch])))


def chain_head(session: Session) -> tuple[int, str]:
    """The newest link as (seq, link); (0, genesis) for an empty chain."""
    head = session.execute(
        select(AuditSeal.seq, AuditSeal.link).order_by(AuditSeal.seq.desc()).limit(1)
    ).first()
    return (head.seq, head.link) if head else (0, GENESIS_LINK)


class BackgroundSealer:
    """Seals in a daemon thread: woken after each commit that wrote audit, and every second."""

    def __init__(self, db: Database, *, interval_s: float = 1.0) -> None:
        self.db = db
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="lotline-audit-sealer", daemon=True)
        self._thread.start()
        _running.add(self)

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        _running.discard(self)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        seal_pending(self.db)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                seal_pending(self.db)
            except Exception:
                log.exception("audit sealing failed; retrying")


_running: weakref.WeakSet[BackgroundSealer] = weakref.WeakSet()


def poke() -> None:
    """Wake this process's sealers (called after a commit that wrote audit records)."""
    for running in list(_running):
        running.poke()
