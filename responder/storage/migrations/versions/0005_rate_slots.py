"""shared send slots per sender

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_slots",
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender", name=op.f("pk_rate_slots")),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
