"""``db.pipelined``: statements sent without waiting; an error that only arrives when the block
ends still comes out as SQLAlchemy raises database errors (so the API's handlers map it), and
rolling back afterwards leaves the connection usable."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from lotline.db import pipelined, violated_constraint
from lotline.models.site import Site
from lotline.uow import Database
from tests.app_fixtures import People


def _rename_a_then_give_it_bs_code(db: Database, a: int, b: int) -> None:
    with db.transaction() as uow:
        connection = uow.session.connection()
        with pipelined(connection):
            connection.execute(text("UPDATE site SET name_en = 'Renamed' WHERE id = :id"), {"id": a})
            # Last in the block: its unique violation is only read when the pipeline ends.
            connection.execute(
                text("UPDATE site SET code = (SELECT code FROM site WHERE id = :b) WHERE id = :a"),
                {"a": a, "b": b},
            )


@pytest.mark.postgres
def test_an_error_arriving_as_the_pipeline_ends_is_an_integrity_error_and_nothing_is_written(
    db: Database, people: People
) -> None:
    a, b = people.site_ids["A"], people.site_ids["B"]
    with pytest.raises(IntegrityError) as raised:
        _rename_a_then_give_it_bs_code(db, a, b)
    assert violated_constraint(raised.value) is not None
    with db.transaction(read_only=True) as uow:
        names = dict(
            uow.session.execute(select(Site.id, Site.name_en).where(Site.id.in_([a, b]))).tuples().all()
        )
    assert names[a] == "Site A"  # the first statement was rolled back with the second
    with db.transaction() as uow:  # and the pooled connection works on
        assert uow.session.execute(select(Site.code).where(Site.id == b)).scalar_one() == "B"
