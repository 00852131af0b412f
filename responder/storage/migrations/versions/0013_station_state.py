"""station state (0013): per rain gauge, its latest day, that day's rain, the last wet day before it and its first day

Kept as readings are stored, in the same transaction, so that a cycle counts dry days from one row per gauge
instead of summing weeks of hourly totals; ``state_basis`` says which zone and threshold the days are cut by
(none yet: the state is filled by ``responder init`` or ``responder db rebuild-state``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rain_state",
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("day_total", sa.Float(), nullable=False),
        sa.Column("wet_before", sa.Integer(), nullable=True),
        sa.Column("first_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("station", name=op.f("pk_rain_state")),
    )
    op.create_table(
        "state_basis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("dry_below_mm", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_basis")),
    )


def downgrade() -> None:
    op.drop_table("state_basis")
    op.drop_table("rain_state")
