"""The schema as it stood before migrations: incidents, actions, outbox, keys, hook queue.

Databases created before credwatch had migrations already hold these tables
(made by `create_all`); each table is created only when it is absent, so such a
database is adopted as it is and then upgraded like any other.

Revision ID: 0001
Revises:
Create Date: 2026-03-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from credwatch.db import translated_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Stored as UTC by credwatch.db.UTCDateTime; the column type is its implementation.
Moment = sa.DateTime(timezone=True)


def _absent(table: str) -> bool:
    bind = op.get_bind()
    return not sa.inspect(bind).has_table(table, schema=translated_schema(bind))


def upgrade() -> None:
    if _absent("api_keys"):
        op.create_table(
            "api_keys",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("scope", sa.String(length=16), nullable=False),
            sa.Column("key_hash", sa.String(length=64), nullable=False),
            sa.Column("shown", sa.String(length=32), nullable=False),
            sa.Column("rate_per_minute", sa.Integer(), nullable=True),
            sa.Column("created_at", Moment, nullable=False),
            sa.Column("revoked_at", Moment, nullable=True),
            sa.CheckConstraint(
                "scope IN ('score', 'read', 'admin')", name=op.f("ck_api_keys_scope")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
            sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
            sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
        )

    if _absent("evidence_events"):
        op.create_table(
            "evidence_events",
            sa.Column("uuid", sa.String(length=255), nullable=False),
            sa.Column("identity_id", sa.String(length=255), nullable=True),
            sa.Column("published", Moment, nullable=True),
            sa.Column("event_type", sa.String(length=255), nullable=True),
            sa.Column("summary", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("uuid", name=op.f("pk_evidence_events")),
        )
        op.create_index(
            op.f("ix_evidence_events_identity_id"), "evidence_events", ["identity_id"]
        )

    if _absent("hook_deliveries"):
        op.create_table(
            "hook_deliveries",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("received_at", Moment, nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("body", sa.LargeBinary(), nullable=True),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("delivery_id", sa.String(length=128), nullable=True),
            sa.Column("claimed_at", Moment, nullable=True),
            sa.Column("processed_at", Moment, nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("events", sa.Integer(), nullable=False),
            sa.Column("duplicates", sa.Integer(), nullable=False),
            sa.Column("quarantined", sa.Integer(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_deliveries")),
        )
        op.create_index(
            op.f("ix_hook_deliveries_delivery_id"), "hook_deliveries", ["delivery_id"]
        )
        op.create_index(
            "ix_hook_deliveries_status_id", "hook_deliveries", ["status", "id"]
        )

    if _absent("incidents"):
        op.create_table(
            "incidents",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("identity_id", sa.String(length=255), nullable=False),
            sa.Column("identity_kind", sa.String(length=32), nullable=False),
            sa.Column("identity_name", sa.String(length=255), nullable=True),
            sa.Column("tier", sa.String(length=16), nullable=False),
            sa.Column("risk", sa.Float(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("opened_at", Moment, nullable=False),
            sa.Column("updated_at", Moment, nullable=False),
            sa.Column("resolved_at", Moment, nullable=True),
            sa.Column("first_detected_at", Moment, nullable=False),
            sa.Column("last_detected_at", Moment, nullable=False),
            sa.Column("rules", sa.JSON(), nullable=False),
            sa.Column("reasons", sa.JSON(), nullable=False),
            sa.Column("event_ids", sa.JSON(), nullable=False),
            sa.Column("detection_keys", sa.JSON(), nullable=False),
            sa.Column("detection_count", sa.Integer(), nullable=False),
            sa.Column("verdict", sa.String(length=32), nullable=True),
            sa.Column("verdict_at", Moment, nullable=True),
            sa.Column("verdict_by", sa.String(length=255), nullable=True),
            sa.Column("ticket_url", sa.String(length=1024), nullable=True),
            sa.Column("model_version", sa.String(length=64), nullable=True),
            sa.CheckConstraint(
                "status IN ('open', 'resolved')", name=op.f("ck_incidents_status")
            ),
            sa.CheckConstraint(
                "verdict IS NULL OR verdict IN "
                "('true-positive', 'false-positive', 'expected')",
                name=op.f("ck_incidents_verdict"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        )
        op.create_index(op.f("ix_incidents_identity_id"), "incidents", ["identity_id"])
        # One open incident per identity, enforced by the database on both backends.
        op.create_index(
            "uq_incidents_one_open_per_identity",
            "incidents",
            ["identity_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    if _absent("stored_answers"):
        op.create_table(
            "stored_answers",
            sa.Column("key", sa.String(length=160), nullable=False),
            sa.Column("request_hash", sa.String(length=64), nullable=False),
            sa.Column("answer", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", Moment, nullable=False),
            sa.Column("expires_at", Moment, nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_answers")),
        )
        op.create_index(
            op.f("ix_stored_answers_expires_at"), "stored_answers", ["expires_at"]
        )

    if _absent("watch_cursors"):
        op.create_table(
            "watch_cursors",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("page_url", sa.Text(), nullable=True),
            sa.Column("since", Moment, nullable=True),
            sa.Column("seen", sa.JSON(), nullable=False),
            sa.Column("updated_at", Moment, nullable=False),
            sa.PrimaryKeyConstraint("name", name=op.f("pk_watch_cursors")),
        )

    if _absent("actions"):
        op.create_table(
            "actions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("incident_id", sa.Integer(), nullable=False),
            sa.Column("identity_id", sa.String(length=255), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("tier", sa.String(length=16), nullable=True),
            sa.Column("mode", sa.String(length=16), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("actor", sa.String(length=255), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("request", sa.JSON(), nullable=False),
            sa.Column("outcome", sa.Text(), nullable=True),
            sa.Column("reverses_action_id", sa.Integer(), nullable=True),
            sa.Column("created_at", Moment, nullable=False),
            sa.Column("updated_at", Moment, nullable=False),
            sa.CheckConstraint(
                "mode IN ('dry-run', 'enforce')", name=op.f("ck_actions_mode")
            ),
            sa.CheckConstraint(
                "status IN ('planned', 'recorded', 'done', 'failed', 'skipped', 'held')",
                name=op.f("ck_actions_status"),
            ),
            sa.ForeignKeyConstraint(
                ["incident_id"],
                ["incidents.id"],
                name=op.f("fk_actions_incident_id_incidents"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["reverses_action_id"],
                ["actions.id"],
                name=op.f("fk_actions_reverses_action_id_actions"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
            sa.UniqueConstraint(
                "incident_id", "kind", name=op.f("uq_actions_incident_id_kind")
            ),
        )
        op.create_index(op.f("ix_actions_identity_id"), "actions", ["identity_id"])
        op.create_index(op.f("ix_actions_incident_id"), "actions", ["incident_id"])

    if _absent("verdicts"):
        op.create_table(
            "verdicts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("incident_id", sa.Integer(), nullable=False),
            sa.Column("verdict", sa.String(length=32), nullable=False),
            sa.Column("actor", sa.String(length=255), nullable=False),
            sa.Column("created_at", Moment, nullable=False),
            sa.CheckConstraint(
                "verdict IN ('true-positive', 'false-positive', 'expected')",
                name=op.f("ck_verdicts_verdict"),
            ),
            sa.ForeignKeyConstraint(
                ["incident_id"],
                ["incidents.id"],
                name=op.f("fk_verdicts_incident_id_incidents"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_verdicts")),
        )
        op.create_index(op.f("ix_verdicts_incident_id"), "verdicts", ["incident_id"])

    if _absent("outbox"):
        op.create_table(
            "outbox",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("action_id", sa.Integer(), nullable=True),
            sa.Column("incident_id", sa.Integer(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", Moment, nullable=False),
            sa.Column("claimed_until", Moment, nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("approved_by", sa.String(length=255), nullable=True),
            sa.Column("created_at", Moment, nullable=False),
            sa.Column("updated_at", Moment, nullable=False),
            sa.ForeignKeyConstraint(
                ["action_id"],
                ["actions.id"],
                name=op.f("fk_outbox_action_id_actions"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["incident_id"],
                ["incidents.id"],
                name=op.f("fk_outbox_incident_id_incidents"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
            sa.UniqueConstraint("action_id", name=op.f("uq_outbox_action_id")),
        )
        op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
        op.create_index(op.f("ix_outbox_incident_id"), "outbox", ["incident_id"])

    if _absent("action_attempts"):
        op.create_table(
            "action_attempts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("outbox_id", sa.Integer(), nullable=False),
            sa.Column("action_id", sa.Integer(), nullable=True),
            sa.Column("incident_id", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("attempt", sa.Integer(), nullable=False),
            sa.Column("actor", sa.String(length=255), nullable=False),
            sa.Column("automated", sa.Boolean(), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("request", sa.JSON(), nullable=False),
            sa.Column("started_at", Moment, nullable=False),
            sa.Column("finished_at", Moment, nullable=True),
            sa.Column("ok", sa.Boolean(), nullable=True),
            sa.Column("outcome", sa.Text(), nullable=True),
            sa.Column("responses", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["action_id"],
                ["actions.id"],
                name=op.f("fk_action_attempts_action_id_actions"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["outbox_id"],
                ["outbox.id"],
                name=op.f("fk_action_attempts_outbox_id_outbox"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_action_attempts")),
        )
        for column in ("action_id", "incident_id", "outbox_id", "started_at"):
            op.create_index(
                op.f(f"ix_action_attempts_{column}"), "action_attempts", [column]
            )


def downgrade() -> None:
    for table in (
        "action_attempts",
        "outbox",
        "verdicts",
        "actions",
        "watch_cursors",
        "stored_answers",
        "incidents",
        "hook_deliveries",
        "evidence_events",
        "api_keys",
    ):
        op.drop_table(table)
