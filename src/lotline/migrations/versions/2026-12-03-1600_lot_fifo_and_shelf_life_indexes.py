"""lot indexes for FIFO reads (product_id, created_at) and a product's shortest shelf life
(product_id, expiry_date − production_date)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lotline.db import days_between

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lot_product_received", "lot", ["product_id", "created_at"], unique=False)
    op.create_index(
        "ix_lot_product_life",
        "lot",
        [sa.column("product_id"), days_between(sa.column("expiry_date"), sa.column("production_date"))],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_lot_product_life", table_name="lot")
    op.drop_index("ix_lot_product_received", table_name="lot")
