"""The unit of work: one transaction owned by the outer layer (request, CLI command, job).

Services receive a ``UnitOfWork``, read ``uow.now()`` instead of the wall clock, flush when
they need ids, and never commit. The outer layer calls ``commit()`` once, before any response
leaves; callbacks registered with ``after_commit`` (the audit sealer, outbox delivery) run
only once the data is durable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lotline.config import Settings
from lotline.db import READ_ONLY_OPTION, make_engine, make_session_factory
from lotline.domain.errors import CommitFailed
from lotline.domain.permissions import Principal

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who the audit trail names: a principal, or lotline itself (migrations, jobs, demo)."""

    kind: str
    user_id: int | None
    name: str
    token_id: int | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.kind, principal.user_id, principal.display_name, principal.token_id)


SYSTEM_ACTOR = Actor(kind="system", user_id=None, name="lotline")


@dataclass
class UnitOfWork:
    session: Session
    settings: Settings
    actor: Actor = SYSTEM_ACTOR
    principal: Principal | None = None
    request_id: str | None = None
    clock: Clock = system_clock
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _frozen_now: datetime | None = None
    rolled_back: bool = False  # rolled back at least once: not to be replayed as done

    def now(self) -> datetime:
        """The instant this unit of work acts at (one value for the whole transaction)."""
        if self._frozen_now is None:
            self._frozen_now = self.clock()
        return self._frozen_now

    @property
    def audit_key(self) -> bytes:
        return self.settings.audit_key.get_secret_value().encode("utf-8")

    def act_as(self, principal: Principal) -> None:
        """Attribute everything done from here on to ``principal``."""
        self.principal = principal
        self.actor = Actor.of(principal)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback)."""
        if callback not in self._after_commit:
            self._after_commit.append(callback)

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        """Commit; a failure rolls back and becomes ``CommitFailed`` (nothing was written)."""
        try:
            self.session.commit()
        except Exception as exc:
            self.session.rollback()
            self._after_commit.clear()
            raise CommitFailed() from exc
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self._after_commit.clear()
        self.rolled_back = True  # whatever it answers now, its work was not done
        self.session.rollback()

    def close(self) -> None:
        self.session.close()


class Database:
    """The engine, its session factory and the settings every unit of work needs."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url, echo=settings.sql_echo)
        self.session_factory: sessionmaker[Session] = make_session_factory(self.engine)
        self._read_only_factory: sessionmaker[Session] = make_session_factory(
            self.engine.execution_options(**{READ_ONLY_OPTION: True})
        )
        self.on_audit_written: Callable[[], None] | None = None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(
        self,
        *,
        actor: Actor = SYSTEM_ACTOR,
        request_id: str | None = None,
        clock: Clock = system_clock,
        read_only: bool = False,
    ) -> UnitOfWork:
        """A fresh unit of work; the caller commits or rolls back and closes it."""
        factory = self._read_only_factory if read_only else self.session_factory
        return UnitOfWork(
            session=factory(), settings=self.settings, actor=actor, request_id=request_id, clock=clock
        )

    @contextmanager
    def transaction(self, **kwargs: object) -> Iterator[UnitOfWork]:
        """``with db.transaction() as uow:`` commits on success, rolls back on error."""
        uow = self.unit_of_work(**kwargs)  # type: ignore[arg-type]
        try:
            yield uow
            uow.commit()
        except BaseException:
            uow.rollback()
            raise
        finally:
            uow.close()

    def dispose(self) -> None:
        self.engine.dispose()
