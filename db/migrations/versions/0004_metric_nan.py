"""A metric point may have no value: a diverged run's NaN loss is stored as NULL (read back as NaN),
so the run keeps its curve up to and past the divergence instead of failing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot alter a column in place: batch mode copies job_metrics into a new table. Nothing
    # references job_metrics, so no cascade can fire (unlike recreating `jobs`, see 0003).
    with op.batch_alter_table("job_metrics") as batch:
        batch.alter_column("value", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM job_metrics WHERE value IS NULL")
    with op.batch_alter_table("job_metrics") as batch:
        batch.alter_column("value", existing_type=sa.Float(), nullable=False)
