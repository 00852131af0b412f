"""outbox (incident_id, person_id) index: a confirmation finds that person's messages without a scan

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_person", "outbox", ["incident_id", "person_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_person", table_name="outbox")
