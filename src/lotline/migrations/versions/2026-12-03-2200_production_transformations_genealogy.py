"""production orders, transformations and genealogy edges; two product settings for them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lotline.models.types
from lotline.schema_guards import GENEALOGY_TABLES, install_append_only

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "production_order",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.String(length=40), nullable=True),
        sa.Column("planned_qty", lotline.models.types.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("planned_unit", sa.String(length=8), nullable=False),
        sa.Column(
            "planned_base_qty", lotline.models.types.ExactDecimal(precision=18, scale=6), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", lotline.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("planned_base_qty > 0", name=op.f("ck_production_order_planned_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_production_order_product_id_product")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_production_order_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_order")),
        sa.UniqueConstraint("number", name=op.f("uq_production_order_number")),
    )
    with op.batch_alter_table("production_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_production_order_product_id"), ["product_id"], unique=False)
        batch_op.create_index("ix_production_order_site_status", ["site_id", "status"], unique=False)

    op.create_table(
        "transformation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("production_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("txn_id", sa.String(length=36), nullable=False),
        sa.Column("line", sa.String(length=40), nullable=True),
        sa.Column("occurred_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("signature_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["production_order_id"],
            ["production_order.id"],
            name=op.f("fk_transformation_production_order_id_production_order"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_transformation_signature_id_signature")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_transformation_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transformation")),
        sa.UniqueConstraint("number", name=op.f("uq_transformation_number")),
    )
    with op.batch_alter_table("transformation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transformation_production_order_id"), ["production_order_id"], unique=False
        )
        batch_op.create_index("ix_transformation_site_time", ["site_id", "occurred_at"], unique=False)

    op.create_table(
        "genealogy_edge",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("child_lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transformation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qty", lotline.models.types.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("occurred_at", lotline.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("parent_lot_id <> child_lot_id", name=op.f("ck_genealogy_edge_not_a_loop")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_genealogy_edge_qty_positive")),
        sa.ForeignKeyConstraint(
            ["child_lot_id"], ["lot.id"], name=op.f("fk_genealogy_edge_child_lot_id_lot")
        ),
        sa.ForeignKeyConstraint(
            ["parent_lot_id"], ["lot.id"], name=op.f("fk_genealogy_edge_parent_lot_id_lot")
        ),
        sa.ForeignKeyConstraint(
            ["transformation_id"],
            ["transformation.id"],
            name=op.f("fk_genealogy_edge_transformation_id_transformation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genealogy_edge")),
        sa.UniqueConstraint(
            "parent_lot_id",
            "child_lot_id",
            "transformation_id",
            name=op.f("uq_genealogy_edge_parent_lot_id_child_lot_id_transformation_id"),
        ),
    )
    with op.batch_alter_table("genealogy_edge", schema=None) as batch_op:
        batch_op.create_index("ix_genealogy_edge_child", ["child_lot_id", "parent_lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_genealogy_edge_transformation_id"), ["transformation_id"], unique=False
        )

    # Added in place (no table rebuild on SQLite); existing products keep today's behaviour.
    op.add_column(
        "product",
        sa.Column("expiry_capped_by_inputs", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "product", sa.Column("repack_keeps_lot", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    for table in GENEALOGY_TABLES:
        install_append_only(op.get_bind(), table)


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("repack_keeps_lot")
        batch_op.drop_column("expiry_capped_by_inputs")

    with op.batch_alter_table("genealogy_edge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_genealogy_edge_transformation_id"))
        batch_op.drop_index("ix_genealogy_edge_child")

    op.drop_table("genealogy_edge")
    with op.batch_alter_table("transformation", schema=None) as batch_op:
        batch_op.drop_index("ix_transformation_site_time")
        batch_op.drop_index(batch_op.f("ix_transformation_production_order_id"))

    op.drop_table("transformation")
    with op.batch_alter_table("production_order", schema=None) as batch_op:
        batch_op.drop_index("ix_production_order_site_status")
        batch_op.drop_index(batch_op.f("ix_production_order_product_id"))

    op.drop_table("production_order")
