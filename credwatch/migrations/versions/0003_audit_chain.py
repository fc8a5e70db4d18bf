"""The tamper-evident audit chain (response/audit_chain.py), begun with its first record.

Revision ID: 0003
Revises: 0002
Create Date: 2026-03-10
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_chain_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_chain_prev_hash")),
    )
    # The first record marks how far the audit trail reached before the chain, so
    # that an emptied chain can be told from one never written.
    from response.audit_chain import AuditRecord, genesis_record

    bind = op.get_bind()
    bind.execute(sa.insert(AuditRecord), [genesis_record(bind, datetime.now(UTC))])


def downgrade() -> None:
    op.drop_table("audit_chain")
