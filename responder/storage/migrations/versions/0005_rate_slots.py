"""shared send slots per sender; delivery receipts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import responder.storage.types

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
    op.create_table(
        "delivery_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("received_at", responder.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_receipts")),
    )
    op.create_index(op.f("ix_delivery_receipts_sid"), "delivery_receipts", ["sid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_receipts_sid"), table_name="delivery_receipts")
    op.drop_table("delivery_receipts")
    op.drop_table("rate_slots")
