"""Version 8: imported datasets in the database (who added each, and its files), for stores on a server.

On PostgreSQL every imported dataset is kept here and ``<home>/datasets/<name>/`` is only a cache, written back
from these rows when it is missing (:mod:`mnist_lab.data.stored`); a SQLite store gains the tables but keeps its
datasets in the home, as before.

Revision ID: v8
Revises: v7
"""

import sqlalchemy as sa
from alembic import op

revision = "v8"
down_revision = "v7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("owner_name", sa.Text, nullable=False),
        sa.Column("added", sa.Double, nullable=False),
    )
    op.create_table(
        "dataset_files",
        sa.Column("dataset", sa.Text, sa.ForeignKey("datasets.name", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
