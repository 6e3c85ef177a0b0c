"""The bureau service's first schema: people, partners, score versions, scores, consents,
the hash-chained access log and offers.

Revision ID: 0001
Revises:
Create Date: 2026-11-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _f(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(53), nullable=False)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False, unique=True),
        sa.Column("login", sa.String(128), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "person_pk",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _ts("created_at"),
        _ts("expires_at"),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "score_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        _ts("published_at"),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("catalog_version", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("max_reasons", sa.Integer, nullable=False),
        sa.Column("model_path", sa.Text, nullable=True),
        sa.Column("source_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("feature_columns", sa.JSON, nullable=True),
    )
    op.create_table(
        "current_version",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("score_versions.id"), nullable=False),
        _ts("switched_at"),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("score_versions.id"), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        _f("score"),
        sa.Column("band", sa.String(32), nullable=False),
        _f("base"),
        sa.Column("segment", sa.String(32), nullable=False),
        _f("pd"),
        sa.Column("clipped", sa.Boolean, nullable=False),
        _f("points_history"),
        _f("points_behavior"),
        _f("points_capacity"),
        _f("points_identity"),
        _f("points_network"),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("catalog_version", sa.String(64), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("features", sa.JSON, nullable=True),
        sa.UniqueConstraint("version_id", "person_id"),
    )
    op.create_index("ix_scores_person_id", "scores", ["person_id"])
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "person_pk",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("partner_id", sa.Integer, sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("share_number", sa.Boolean, nullable=False),
        _ts("granted_at"),
        _ts("expires_at"),
        _ts("revoked_at", nullable=True),
    )
    op.create_index("ix_consents_lookup", "consents", ["person_pk", "partner_id", "purpose"])
    op.create_table(
        "access_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        _ts("at"),
        sa.Column("partner_id", sa.Integer, nullable=True),
        sa.Column("partner_name", sa.String(128), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_access_log_person_id", "access_log", ["person_id"])
    head = op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS}])
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("partner_id", sa.Integer, sa.ForeignKey("partners.id"), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("min_score", sa.Float(53), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _ts("created_at"),
    )


def downgrade() -> None:
    for table in (
        "offers",
        "access_log_head",
        "access_log",
        "consents",
        "scores",
        "current_version",
        "score_versions",
        "partners",
        "login_sessions",
        "people",
    ):
        op.drop_table(table)
