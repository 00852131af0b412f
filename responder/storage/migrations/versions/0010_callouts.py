"""callouts (0010): each person's call-out history (level, groups, zones), filled from the recipients already there

A recipient row keeps only the latest level's assignments, so the after-action report undercounted everyone a
downgrade released. Existing incidents get one row per recipient: what their recipient row still says.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from responder.storage.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    callouts = op.create_table(
        "callouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("zones", JSON, nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_callouts_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callouts")),
    )
    op.create_index("ix_callouts_person", "callouts", ["incident_id", "person_id"], unique=False)
    bind = op.get_bind()
    rows: list[dict[str, Any]] = []
    query = sa.text("SELECT incident_id, person_id, called_level, assignments, called_at FROM recipients ORDER BY id")
    for incident_id, person_id, level, assignments, at in bind.execute(
            query.columns(sa.column("incident_id"), sa.column("person_id"), sa.column("called_level"),
                          sa.column("assignments", JSON), sa.column("called_at", UTCDateTime()))):
        found = assignments or []
        rows.append({"incident_id": incident_id, "person_id": person_id, "level": level, "at": at,
                     "groups": [a["group"] for a in found if isinstance(a, dict) and a.get("group")],
                     "zones": [a["zone"] for a in found if isinstance(a, dict) and a.get("zone")]})
    if rows:
        op.bulk_insert(callouts, rows)


def downgrade() -> None:
    op.drop_index("ix_callouts_person", table_name="callouts")
    op.drop_table("callouts")
