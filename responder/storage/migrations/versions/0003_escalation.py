"""escalation steps, acknowledgements, inbound messages, leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import responder.storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = responder.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("chain_step", sa.String(length=40), nullable=True),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("done_at", UTC, nullable=True),
        sa.Column("done_by", sa.String(length=80), nullable=True),
        sa.Column("result", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_escalation_steps_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_steps")),
        sa.UniqueConstraint("incident_id", "level", "round", "step_index",
                            name=op.f("uq_escalation_steps_incident_id")),
    )
    op.create_index("ix_escalation_due", "escalation_steps", ["status", "due_at"], unique=False)
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_acknowledgements_incident_id_incidents")),
        sa.ForeignKeyConstraint(["step_id"], ["escalation_steps.id"],
                                name=op.f("fk_acknowledgements_step_id_escalation_steps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgements")),
    )
    op.create_index(op.f("ix_acknowledgements_incident_id"), "acknowledgements", ["incident_id"], unique=False)
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("from_number", sa.String(length=40), nullable=False),
        sa.Column("to_number", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_inbound_messages_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("sid", name=op.f("uq_inbound_messages_sid")),
    )
    op.create_index(op.f("ix_inbound_messages_incident_id"), "inbound_messages", ["incident_id"], unique=False)
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("acquired_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index(op.f("ix_inbound_messages_incident_id"), table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_index(op.f("ix_acknowledgements_incident_id"), table_name="acknowledgements")
    op.drop_table("acknowledgements")
    op.drop_index("ix_escalation_due", table_name="escalation_steps")
    op.drop_table("escalation_steps")
