"""recall cases: scope (lots), holds placed, customers notified, quantities destroyed at customers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lotline.models.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Exports find a transformation's movements by its txn_id (EPCIS TransformationEvents).
    with op.batch_alter_table("transformation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transformation_txn_id"), ["txn_id"], unique=False)
    op.create_table(
        "recall_case",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("discovered_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("start_due_at", lotline.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("complete_due_at", lotline.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scope_ms", sa.Integer(), nullable=False),
        sa.Column("lots_in_scope", sa.Integer(), nullable=False),
        sa.Column("started_at", lotline.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=200), nullable=True),
        sa.Column("start_signature_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("closed_at", lotline.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("close_signature_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("drill_result", sa.JSON(), nullable=True),
        sa.Column("updated_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["close_signature_id"], ["signature.id"], name=op.f("fk_recall_case_close_signature_id_signature")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_recall_case_site_id_site")),
        sa.ForeignKeyConstraint(
            ["start_signature_id"], ["signature.id"], name=op.f("fk_recall_case_start_signature_id_signature")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_case")),
        sa.UniqueConstraint("number", name=op.f("uq_recall_case_number")),
    )
    with op.batch_alter_table("recall_case", schema=None) as batch_op:
        batch_op.create_index("ix_recall_case_status", ["status", "opened_at"], unique=False)

    op.create_table(
        "recall_destruction",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qty_base", lotline.models.types.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("entered_qty", lotline.models.types.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("entered_unit", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("qty_base > 0", name=op.f("ck_recall_destruction_qty_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["recall_case.id"], name=op.f("fk_recall_destruction_case_id_recall_case")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["partner.id"], name=op.f("fk_recall_destruction_customer_id_partner")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_recall_destruction_lot_id_lot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_destruction")),
    )
    with op.batch_alter_table("recall_destruction", schema=None) as batch_op:
        batch_op.create_index("ix_recall_destruction_case", ["case_id", "customer_id"], unique=False)

    op.create_table(
        "recall_lot",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_trigger", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["recall_case.id"], name=op.f("fk_recall_lot_case_id_recall_case")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_recall_lot_lot_id_lot")),
        sa.PrimaryKeyConstraint("case_id", "lot_id", name=op.f("pk_recall_lot")),
    )
    with op.batch_alter_table("recall_lot", schema=None) as batch_op:
        batch_op.create_index("ix_recall_lot_lot", ["lot_id"], unique=False)

    op.create_table(
        "recall_notice",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("notified_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["recall_case.id"], name=op.f("fk_recall_notice_case_id_recall_case")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["partner.id"], name=op.f("fk_recall_notice_customer_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_notice")),
        sa.UniqueConstraint("case_id", "customer_id", name=op.f("uq_recall_notice_case_id_customer_id")),
    )
    op.create_table(
        "recall_hold",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["recall_case.id"], name=op.f("fk_recall_hold_case_id_recall_case")
        ),
        sa.ForeignKeyConstraint(["hold_id"], ["hold.id"], name=op.f("fk_recall_hold_hold_id_hold")),
        sa.PrimaryKeyConstraint("case_id", "hold_id", name=op.f("pk_recall_hold")),
    )


def downgrade() -> None:
    op.drop_table("recall_hold")
    op.drop_table("recall_notice")
    with op.batch_alter_table("recall_lot", schema=None) as batch_op:
        batch_op.drop_index("ix_recall_lot_lot")

    op.drop_table("recall_lot")
    with op.batch_alter_table("recall_destruction", schema=None) as batch_op:
        batch_op.drop_index("ix_recall_destruction_case")

    op.drop_table("recall_destruction")
    with op.batch_alter_table("recall_case", schema=None) as batch_op:
        batch_op.drop_index("ix_recall_case_status")

    op.drop_table("recall_case")
    with op.batch_alter_table("transformation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transformation_txn_id"))
