"""The score log shared by every process (credwatch/score_log.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-03-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scored_events",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("event_uuid", sa.String(length=255), nullable=False),
        sa.Column("identity_id", sa.String(length=255), nullable=False),
        sa.Column("identity_kind", sa.String(length=32), nullable=False),
        sa.Column("identity_name", sa.String(length=255), nullable=True),
        sa.Column("event_time", Moment, nullable=False),
        sa.Column("scored_at", Moment, nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detection", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_scored_events")),
    )
    op.create_index(
        "ix_scored_events_identity_id_event_time",
        "scored_events",
        ["identity_id", "event_time"],
    )
    op.create_index(op.f("ix_scored_events_scored_at"), "scored_events", ["scored_at"])


def downgrade() -> None:
    op.drop_table("scored_events")
