"""Disputes, freezes and human reviews; score versions remember the store they came from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _person() -> sa.Column:
    return sa.Column(
        "person_pk", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    with op.batch_alter_table("score_versions") as batch:
        batch.add_column(sa.Column("store_path", sa.Text, nullable=True))
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, primary_key=True),
        _person(),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("score_versions.id"), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("record_key", sa.JSON, nullable=False),
        sa.Column("lineage", sa.JSON, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolved_by", sa.String(16), nullable=True),
        _ts("opened_at"),
        _ts("deadline"),
        _ts("resolved_at", nullable=True),
        sa.Column("resolution_note", sa.Text, nullable=True),
        sa.Column("score_before", sa.Float(53), nullable=False),
        sa.Column("score_without", sa.Float(53), nullable=False),
        sa.Column("subscores_without", sa.JSON, nullable=False),
        sa.Column("reasons_without", sa.JSON, nullable=False),
        sa.Column("input_hash_without", sa.String(64), nullable=False),
        _ts("scored_at"),
    )
    op.create_index("ix_disputes_person", "disputes", ["person_pk", "status"])
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer, primary_key=True),
        _person(),
        _ts("frozen_at"),
        _ts("lifted_at", nullable=True),
    )
    op.create_index("ix_freezes_person", "freezes", ["person_pk", "lifted_at"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        _person(),
        sa.Column("decision_seq", sa.Integer, nullable=False),
        sa.Column("partner_name", sa.String(128), nullable=False),
        sa.Column("offer", sa.String(64), nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.Text, nullable=True),
        _ts("requested_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_reviews_person_pk", "reviews", ["person_pk"])


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("freezes")
    op.drop_table("disputes")
    with op.batch_alter_table("score_versions") as batch:
        batch.drop_column("store_path")
