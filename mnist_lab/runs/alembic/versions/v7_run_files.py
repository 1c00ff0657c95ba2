"""Version 7: a run's files in the database (its latest model and cached arrays), for stores on a server.

On PostgreSQL every run's ``model.keras`` and ``NAME.npy`` are kept here and the home folder is only a cache; a
SQLite store gains the table but keeps its files in the home, beside the database file, as before.

Revision ID: v7
Revises: v6
"""

import sqlalchemy as sa
from alembic import op

revision = "v7"
down_revision = "v6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_files",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("saved", sa.Double, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
