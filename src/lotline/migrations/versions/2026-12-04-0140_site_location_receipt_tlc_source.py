"""site.gln and site.address (EPCIS locations, FSMA ship-from and receiving locations);
receipt_line.tlc_source: where the supplier's traceability lot code was assigned (FSMA 204)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("site", sa.Column("gln", sa.String(length=13), nullable=True))
    op.add_column("site", sa.Column("address", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    op.add_column("receipt_line", sa.Column("tlc_source", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receipt_line") as batch:
        batch.drop_column("tlc_source")
    with op.batch_alter_table("site") as batch:
        batch.drop_column("address")
        batch.drop_column("gln")
