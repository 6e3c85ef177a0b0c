"""Disputes keep the corrected feature row and can be carried onto newer score versions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.add_column(sa.Column("features_without", sa.JSON, nullable=True))
        batch.add_column(sa.Column("carried_from", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_disputes_carried_from", "disputes", ["carried_from"], ["id"])
        batch.create_index("ix_disputes_carried_from", ["carried_from"])


def downgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.drop_index("ix_disputes_carried_from")
        batch.drop_constraint("fk_disputes_carried_from", type_="foreignkey")
        batch.drop_column("carried_from")
        batch.drop_column("features_without")
