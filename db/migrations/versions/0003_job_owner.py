"""Jobs carry their owner (the signed-in user on a shared server; NULL without tokens).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both dialects: never batch-recreate `jobs` on SQLite, whose
    # DROP TABLE would cascade-delete every metric and artifact row (foreign_keys is on).
    op.add_column("jobs", sa.Column("owner", sa.String(64), nullable=True))
    op.create_index("ix_jobs_owner_status", "jobs", ["owner", "status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_status", table_name="jobs")
    op.drop_column("jobs", "owner")
