"""The model registry: registered models with their state, and the log of state changes.

At most one model is ``champion``: a partial unique index on ``state`` (SQLite and
PostgreSQL both support ``WHERE`` on an index) refuses a second one, whatever the code does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ONE_CHAMPION = sa.text("state = 'champion'")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.String(64), nullable=False, unique=True),
        sa.Column("artifact_path", sa.Text, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("catalog_version", sa.String(64), nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("card", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("registered_at"),
        _ts("state_changed_at"),
        sa.CheckConstraint(
            "state IN ('candidate', 'champion', 'retired')", name="ck_registered_models_state"
        ),
    )
    op.create_index(
        "uq_registered_models_one_champion",
        "registered_models",
        ["state"],
        unique=True,
        sqlite_where=ONE_CHAMPION,
        postgresql_where=ONE_CHAMPION,
    )
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id",
            sa.String(64),
            sa.ForeignKey("registered_models.model_id"),
            nullable=False,
        ),
        _ts("at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("release_sha256", sa.String(64), nullable=True),
        sa.Column("release_path", sa.Text, nullable=True),
        sa.Column(
            "score_version_id", sa.Integer, sa.ForeignKey("score_versions.id"), nullable=True
        ),
    )
    op.create_index("ix_model_events_model", "model_events", ["model_id", "id"])


def downgrade() -> None:
    op.drop_table("model_events")
    op.drop_index("uq_registered_models_one_champion", table_name="registered_models")
    op.drop_table("registered_models")
