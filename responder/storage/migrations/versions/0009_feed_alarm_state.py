"""feed_status: the stale alarm's hysteresis and per-feed announcement, and unmapped parameters per feed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import responder.storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_status") as batch:
        batch.add_column(sa.Column("fresh_since", responder.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("announced", responder.storage.types.JsonType, nullable=True))
        batch.add_column(sa.Column("unknown_parameters", responder.storage.types.JsonType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_status") as batch:
        batch.drop_column("unknown_parameters")
        batch.drop_column("announced")
        batch.drop_column("fresh_since")
