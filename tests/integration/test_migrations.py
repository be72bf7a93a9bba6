"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lotline import migrate
from lotline.models import Base
from lotline.uow import Database


# SQLite's reflection skips expression indexes (lot's shelf-life index) with this warning; the
# index is still compared on PostgreSQL.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "a model changed without a migration (or vice versa)"


def test_the_database_is_at_the_newest_revision(db: Database) -> None:
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_upgrading_again_changes_nothing(db: Database) -> None:
    migrate.upgrade(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision()
