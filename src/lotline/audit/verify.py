"""Walking the chain: every link, every record, and every record outside the chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import exists, select

from lotline.audit.sealer import content_of
from lotline.domain.audit_chain import GENESIS_LINK, chain_link, record_mac, same_digest
from lotline.domain.errors import N_, Translate
from lotline.models.audit import AuditPending, AuditRecord, AuditSeal
from lotline.uow import UnitOfWork


def _identity(message: str) -> str:
    return message


@dataclass(frozen=True)
class ChainBreak:
    """One place where the trail does not verify; ``problem`` is a msgid filled from ``params``."""

    problem: str
    record_id: int | None
    seq: int | None
    params: tuple[tuple[str, object], ...] = ()

    def message(self, translate: Translate = _identity) -> str:
        """The problem in the reader's language."""
        return translate(self.problem).format(**dict(self.params))

    def describe(self, translate: Translate = _identity) -> str:
        """Where and what, e.g. "link 7, audit record 42: the record's content was changed…"."""
        where = []
        if self.seq is not None:
            where.append(translate(N_("link {seq}")).format(seq=self.seq))
        if self.record_id is not None:
            where.append(translate(N_("audit record {record_id}")).format(record_id=self.record_id))
        return f"{', '.join(where)}: {self.message(translate)}"


@dataclass
class VerifyReport:
    links: int = 0
    pending: int = 0
    head_seq: int = 0
    head_link: str = GENESIS_LINK
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _link_breaks(
    key: bytes, seal: AuditSeal, row: AuditRecord | None, expected_seq: int, prev_link: str
) -> list[ChainBreak]:
    """What is wrong with one link of the chain and the record it seals."""
    found = []

    def broken(problem: str, **params: object) -> None:
        found.append(ChainBreak(problem, seal.record_id, seal.seq, tuple(params.items())))

    if seal.seq != expected_seq:
        broken(N_("links {first}..{last} are missing (deleted)"), first=expected_seq, last=seal.seq - 1)
    if seal.prev_link != prev_link:
        broken(N_("the link does not follow the one before it"))
    if row is None:
        broken(N_("the sealed record is missing (deleted)"))
    elif not same_digest(record_mac(key, content_of(row)), row.mac):
        broken(N_("the record's content was changed after it was written"))
    elif not same_digest(chain_link(key, seal.prev_link, seal.seq, row.mac), seal.link):
        broken(N_("the link's HMAC does not verify"))
    return found


def _unsealed_problem(key: bytes, row: AuditRecord, pending: bool) -> str | None:
    """What is wrong with a record outside the chain (None: it is waiting to be sealed)."""
    if not same_digest(record_mac(key, content_of(row)), row.mac):
        return N_("the record was not written by lotline (MAC fails) and is not sealed")
    if not pending:
        return N_("the record is outside the chain and not waiting to be sealed")
    return None


def verify_chain(
    uow: UnitOfWork, *, expect_head: tuple[int, str] | None = None, max_breaks: int = 100
) -> VerifyReport:
    """Check every link and record; ``expect_head`` (seq, link) catches a truncated tail."""
    key = uow.audit_key
    session = uow.session
    report = VerifyReport()
    expected_seq, prev_link = 0, GENESIS_LINK

    rows = session.execute(
        select(AuditSeal, AuditRecord)
        .outerjoin(AuditRecord, AuditRecord.id == AuditSeal.record_id)
        .order_by(AuditSeal.seq)
        .execution_options(yield_per=2000)
    )
    for seal, row in rows:
        expected_seq += 1
        report.links += 1
        report.breaks.extend(_link_breaks(key, seal, row, expected_seq, prev_link))
        if len(report.breaks) >= max_breaks:
            rows.close()
            return report
        expected_seq, prev_link = seal.seq, seal.link
        report.head_seq, report.head_link = seal.seq, seal.link

    if expect_head is not None:
        seq, link = expect_head
        anchored = session.execute(select(AuditSeal.link).where(AuditSeal.seq == seq)).scalar()
        if anchored is None or not same_digest(anchored, link):
            problem = N_("the anchored head (link {seq}) is not in the chain: links were removed")
            report.breaks.append(ChainBreak(problem, None, seq, (("seq", seq),)))

    unsealed = session.execute(
        select(AuditRecord, AuditPending.record_id)
        .outerjoin(AuditPending, AuditPending.record_id == AuditRecord.id)
        .where(~exists().where(AuditSeal.record_id == AuditRecord.id))
        .order_by(AuditRecord.id)
    )
    for row, pending_id in unsealed:
        outside = _unsealed_problem(key, row, pending_id is not None)
        if outside is None:
            report.pending += 1
            continue
        report.breaks.append(ChainBreak(outside, row.id, None))
        if len(report.breaks) >= max_breaks:
            break
    return report
