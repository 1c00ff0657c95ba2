"""The schema of in-house version 6, made in a new database server in one step.

A SQLite store reaches version 6 through the in-house migrations it was made with (:mod:`mnist_lab.runs.migrations`,
``PRAGMA user_version``) and is then stamped at this revision; a new PostgreSQL database starts here.
Once released, this revision never changes.

Revision ID: v6
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "v6"
down_revision = None
branch_labels = None
depends_on = None

# Timestamps are DOUBLE PRECISION: PostgreSQL's REAL has 24 bits, about 100 s of resolution for today's time.
_TIME = sa.Double


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created", _TIME, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("model_config", sa.Text, nullable=False),
        sa.Column("train_config", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
        sa.Column("owner", sa.Text, nullable=False, server_default=""),
        sa.Column("saved_epochs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("experiment", sa.Text, nullable=False, server_default=""),
        sa.Column("dataset", sa.Text, nullable=False, server_default="MNIST"),
        sa.Column("dataset_sha256", sa.Text, nullable=False, server_default=""),
        sa.Column("environment", sa.Text, nullable=False, server_default="{}"),
        sa.Column("student", sa.Text, nullable=False, server_default="personal"),
        sa.Column("student_name", sa.Text, nullable=False, server_default="You"),
    )
    op.create_index("runs_by_student", "runs", ["student", "created"])
    op.create_table(
        "epochs",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("epoch", sa.Integer, primary_key=True),
        sa.Column("row", sa.Text, nullable=False),
    )
    op.create_table("class_settings", sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "answers",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("question", sa.Text, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("first_saved", _TIME, nullable=False),
        sa.Column("saved", _TIME, nullable=False),
    )
    op.create_table(
        "reveals",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("question", sa.Text, primary_key=True),
        sa.Column("revealed", _TIME, nullable=False),
        sa.Column("after_answer", sa.Integer, nullable=False),
    )
    op.create_table("student_names", sa.Column("student", sa.Text, primary_key=True),
                    sa.Column("name", sa.Text, nullable=False))
    op.create_table(
        "receipts",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("student", sa.Text, nullable=False),
        sa.Column("issued", _TIME, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("receipts_by_run", "receipts", ["run_id", "issued"])
    op.create_table("server_keys", sa.Column("name", sa.Text, primary_key=True),
                    sa.Column("value", sa.LargeBinary, nullable=False))
    op.create_table("starts", sa.Column("student", sa.Text, nullable=False),
                    sa.Column("started", _TIME, nullable=False))
    op.create_index("starts_by_student", "starts", ["student", "started"])
