"""Alembic's environment for the run store: always run from :func:`mnist_lab.runs.upgrade.upgrade`.

The caller hands over a connection already inside a transaction (holding the migration lock), so every step of
an upgrade commits together or not at all (PostgreSQL); no alembic.ini and no URL are read here.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
