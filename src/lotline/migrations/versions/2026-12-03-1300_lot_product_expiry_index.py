"""lot (product_id, expiry_date) index for FEFO reads

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain CREATE INDEX (no batch mode): the lot table is not rebuilt on SQLite.
    op.create_index("ix_lot_product_expiry", "lot", ["product_id", "expiry_date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lot_product_expiry", table_name="lot")
