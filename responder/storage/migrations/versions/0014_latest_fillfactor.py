"""latest values with room for updates in place (0014): PostgreSQL keeps half of each reading_latest page free

Every feed batch updates each station's latest value. With full pages, PostgreSQL writes each new version on
another page, and the table grows by one version per station per batch until a vacuum; a cycle reads every
station's row by scanning the whole table, so at 10,000 stations and 289 batches the scan read 16,800 pages for
10,000 rows (93 ms of a cycle). With free room in each page the updates stay on the page (HOT, the primary key is
not changed) and the page is pruned as it fills: the table stays a few hundred pages. Existing pages keep their
layout until the table is rewritten (``VACUUM FULL reading_latest``). SQLite updates in place: nothing to do.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reading_latest SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reading_latest RESET (fillfactor)")
