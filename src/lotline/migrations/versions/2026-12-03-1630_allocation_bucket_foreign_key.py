"""allocation: one foreign key (on_hand_id, lot_id, location_id) → the bucket, instead of three

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:30:00
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


@contextmanager
def _quietly() -> Iterator[None]:
    # SQLite's batch mode rebuilds the table from its reflection, which reaches lot; SQLAlchemy
    # cannot reflect lot's expression index (0006) there and says so — the index is untouched.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        yield


def upgrade() -> None:
    # A unique index (not a constraint): created in place on SQLite too, no table rebuild.
    op.create_index(
        "uq_stock_on_hand_id_lot_location", "stock_on_hand", ["id", "lot_id", "location_id"], unique=True
    )
    with _quietly(), op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_allocation_on_hand_id_stock_on_hand", type_="foreignkey")
        batch_op.drop_constraint("fk_allocation_lot_id_lot", type_="foreignkey")
        batch_op.drop_constraint("fk_allocation_location_id_location", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_allocation_on_hand_id_stock_on_hand",
            "stock_on_hand",
            ["on_hand_id", "lot_id", "location_id"],
            ["id", "lot_id", "location_id"],
        )


def downgrade() -> None:
    with _quietly(), op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_allocation_on_hand_id_stock_on_hand", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_allocation_on_hand_id_stock_on_hand", "stock_on_hand", ["on_hand_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_allocation_lot_id_lot", "lot", ["lot_id"], ["id"])
        batch_op.create_foreign_key("fk_allocation_location_id_location", "location", ["location_id"], ["id"])
    op.drop_index("uq_stock_on_hand_id_lot_location", table_name="stock_on_hand")
