"""Run the real ``lotline`` command line against the per-test database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from lotline import cli
from lotline.config import get_settings
from lotline.uow import Database
from tests.conftest import AUDIT_KEY

SECRET_KEY = "cli-test-secret-key-value"


@dataclass
class Cli:
    """Invokes ``lotline …`` with the test's environment; settings are re-read every time."""

    env: dict[str, str | None]
    opened: list[Database] = field(default_factory=list)

    def __call__(self, *args: str, **env: str | None) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, list(args), env={**self.env, **env}, catch_exceptions=False)
        finally:
            get_settings.cache_clear()
            # Commands leave their engines to the garbage collector; close the pools now so
            # no connection outlives the test database.
            while self.opened:
                self.opened.pop().dispose()


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    invoker = Cli(
        env={
            "LOTLINE_DATABASE_URL": database_url,
            "LOTLINE_AUDIT_KEY": AUDIT_KEY,
            "LOTLINE_SECRET_KEY": SECRET_KEY,
            "LOTLINE_DEFAULT_LANGUAGE": "en",
            "COLUMNS": "250",  # wide enough that rich never wraps a value
            "NO_COLOR": "1",
        }
    )
    real_open_db = cli.open_db

    def tracked_open_db() -> Database:
        database = real_open_db()
        invoker.opened.append(database)
        return database

    monkeypatch.setattr(cli, "open_db", tracked_open_db)
    yield invoker
    get_settings.cache_clear()
