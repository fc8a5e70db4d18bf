"""Feedback: labelled verdict spans, source cursors, suppressions, map proposals,
policy changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "verdict_labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.String(length=255), nullable=False),
        sa.Column("identity_kind", sa.String(length=32), nullable=False),
        sa.Column("start", Moment, nullable=False),
        sa.Column("end", Moment, nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("detection_keys", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.CheckConstraint(
            "verdict IN ('true-positive', 'false-positive', 'expected')",
            name=op.f("ck_verdict_labels_verdict"),
        ),
        sa.CheckConstraint(
            "source IN ('cli', 'api', 'jira')", name=op.f("ck_verdict_labels_source")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_verdict_labels_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdict_labels")),
    )
    op.create_index(
        op.f("ix_verdict_labels_identity_id"), "verdict_labels", ["identity_id"]
    )
    op.create_index(
        op.f("ix_verdict_labels_incident_id"), "verdict_labels", ["incident_id"]
    )

    op.create_table(
        "feedback_cursors",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feedback_cursors")),
    )

    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identity_id", sa.String(length=255), nullable=False),
        sa.Column("network", sa.String(length=128), nullable=True),
        sa.Column("client", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.Column("lifted_at", Moment, nullable=True),
        sa.Column("lifted_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_suppressions_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    op.create_index(
        op.f("ix_suppressions_identity_id"), "suppressions", ["identity_id"]
    )

    op.create_table(
        "map_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("identity_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("decided_at", Moment, nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "kind IN ('agent_network', 'known_network', 'shared_access')",
            name=op.f("ck_map_proposals_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'rejected')",
            name=op.f("ck_map_proposals_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_proposals")),
        sa.UniqueConstraint(
            "kind",
            "identity_id",
            "value",
            name=op.f("uq_map_proposals_kind_identity_id_value"),
        ),
    )

    op.create_table(
        "policy_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_changes")),
    )
    op.create_index(op.f("ix_policy_changes_at"), "policy_changes", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_policy_changes_at"), table_name="policy_changes")
    op.drop_table("policy_changes")
    op.drop_table("map_proposals")
    op.drop_index(op.f("ix_suppressions_identity_id"), table_name="suppressions")
    op.drop_table("suppressions")
    op.drop_table("feedback_cursors")
    op.drop_index(op.f("ix_verdict_labels_incident_id"), table_name="verdict_labels")
    op.drop_index(op.f("ix_verdict_labels_identity_id"), table_name="verdict_labels")
    op.drop_table("verdict_labels")
