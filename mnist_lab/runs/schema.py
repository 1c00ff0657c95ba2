"""The run store's tables as SQLAlchemy Core sees them, the same on SQLite and PostgreSQL.

The tables are made and changed only by the migrations (:mod:`mnist_lab.runs.upgrade`); these objects are what
the queries are written against, at the latest schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult

metadata = sa.MetaData()

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("model_config", sa.Text, nullable=False),
    sa.Column("train_config", sa.Text, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
    #: The process that trains a running run (``host:pid:token``), "" once it ended.
    sa.Column("owner", sa.Text, nullable=False, server_default=""),
    sa.Column("saved_epochs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("experiment", sa.Text, nullable=False, server_default=""),
    sa.Column("dataset", sa.Text, nullable=False, server_default="MNIST"),
    sa.Column("dataset_sha256", sa.Text, nullable=False, server_default=""),
    sa.Column("environment", sa.Text, nullable=False, server_default="{}"),
    #: The user the run belongs to (``mnist_lab.access.User.id``) and their name.
    sa.Column("student", sa.Text, nullable=False, server_default="personal"),
    sa.Column("student_name", sa.Text, nullable=False, server_default="You"),
)

epochs = sa.Table(
    "epochs", metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("row", sa.Text, nullable=False),
)

class_settings = sa.Table(
    "class_settings", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

answers = sa.Table(
    "answers", metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("question", sa.Text, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("first_saved", sa.Double, nullable=False),
    sa.Column("saved", sa.Double, nullable=False),
)

reveals = sa.Table(
    "reveals", metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("question", sa.Text, primary_key=True),
    sa.Column("revealed", sa.Double, nullable=False),
    sa.Column("after_answer", sa.Integer, nullable=False),
)

student_names = sa.Table(
    "student_names", metadata,
    sa.Column("student", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

receipts = sa.Table(
    "receipts", metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("student", sa.Text, nullable=False),
    sa.Column("issued", sa.Double, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)

server_keys = sa.Table(
    "server_keys", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)

#: Every training a student started, kept when its run is deleted (the hourly limit counts them).
starts = sa.Table(
    "starts", metadata,
    sa.Column("student", sa.Text, nullable=False),
    sa.Column("started", sa.Double, nullable=False),
)

#: A run's files kept in a database server: its latest model (``model.keras``) and cached arrays (``NAME.npy``).
run_files = sa.Table(
    "run_files", metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("saved", sa.Double, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

#: Imported datasets kept in a database server: who added each and when (:mod:`mnist_lab.data.stored`).
datasets = sa.Table(
    "datasets", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("owner_name", sa.Text, nullable=False),
    sa.Column("added", sa.Double, nullable=False),
)

#: The files of each dataset of ``datasets``, as they are in its folder, with their SHA-256 and size.
dataset_files = sa.Table(
    "dataset_files", metadata,
    sa.Column("dataset", sa.Text, sa.ForeignKey("datasets.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)


def insert_or(db: Connection, table: sa.Table, values: dict, *, keys: tuple[str, ...],
              update: tuple[str, ...] = ()) -> CursorResult:
    """Insert a row; when a row with the same ``keys`` exists, update its ``update`` columns (none: keep it).

    One statement on both databases (``INSERT ... ON CONFLICT``), so two processes writing the same key at once
    never lose either write to an error.
    """
    if db.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values)
    if update:
        statement = statement.on_conflict_do_update(index_elements=list(keys),
                                                    set_={name: statement.excluded[name] for name in update})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    return db.execute(statement)
