"""Bringing a run store's database to the current schema: the in-house versions, then Alembic's revisions.

The migration path:

- a SQLite store of any released version (``PRAGMA user_version`` 0 to 6) is first brought to version 6 by the
  in-house migrations it was made with (:mod:`mnist_lab.runs.migrations`, frozen), then stamped at Alembic's
  revision ``v6``, whose schema is the same;
- a new PostgreSQL database starts at revision ``v6`` (the same schema made in one step);
- from there both follow Alembic's revisions (``mnist_lab/runs/alembic/versions/``) to the head.

Opening a store applies what is missing (:class:`mnist_lab.runs.store.RunStore`), as does ``mnist-lab db
upgrade``. Each upgrade runs in one transaction that holds the database's migration lock (SQLite's write lock,
a PostgreSQL advisory lock), so processes opening a store at once apply each revision exactly once.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from mnist_lab.errors import StoreError
from mnist_lab.runs import migrations
from mnist_lab.runs.database import DatabaseSetting, begin, lock_in_transaction

logger = logging.getLogger(__name__)

SCRIPTS = Path(__file__).parent / "alembic"
#: The Alembic revision whose schema is the in-house version 6, where SQLite stores join Alembic's history.
BASELINE = "v6"


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(SCRIPTS))


def head() -> str:
    """The revision this code writes."""
    return _scripts().get_current_head()


def current(connection: Connection) -> str | None:
    """The database's Alembic revision; None before it has one (new, or a SQLite store not yet stamped)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, chosen: DatabaseSetting) -> list[str]:
    """Bring the database to :func:`head`, creating its tables when it is empty.

    Parameters
    ----------
    engine : Engine
    chosen : DatabaseSetting
        The database, named in messages.

    Returns
    -------
    list of str
        The revisions applied, oldest first (the in-house versions are not listed); empty when up to date.

    Raises
    ------
    StoreError
        The database was written by a newer MNIST Lab (an unknown revision or in-house version); it is left
        untouched.
    """
    if chosen.sqlite_file is not None:
        migrations.migrate(chosen.sqlite_file)
    with begin(engine, write=False) as connection:
        if _known(current(connection), chosen) == head():
            return []
    with begin(engine, write=True) as connection:
        lock_in_transaction(connection, "schema")
        now = _known(current(connection), chosen)
        if now == head():
            return []
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.attributes["connection"] = connection
        if now is None and chosen.sqlite_file is not None:
            command.stamp(config, BASELINE)
            now = BASELINE
        pending = [script.revision for script in _scripts().iterate_revisions(head(), now)][::-1]
        command.upgrade(config, "head")
    logger.info("run store %s upgraded through %s", chosen.shown, ", ".join(pending))
    return pending


def _known(revision: str | None, chosen: DatabaseSetting) -> str | None:
    """``revision``, after checking this code knows it."""
    if revision is None:
        return None
    try:
        _scripts().get_revision(revision)
    except CommandError as error:
        raise StoreError(
            f"the run store {chosen.shown} was written by a newer MNIST Lab (schema revision {revision!r}, this "
            f"one knows up to {head()!r}): update MNIST Lab to open it, or choose another database"
        ) from error
    return revision


def describe(engine: Engine) -> str:
    """The database's revision in a sentence, for ``mnist-lab db``."""
    try:
        with begin(engine, write=False) as connection:
            revision = current(connection)
    except exc.SQLAlchemyError as error:
        raise StoreError(f"cannot read the schema revision: {error}") from error
    return f"schema revision {revision or 'none'} (this MNIST Lab writes {head()})"
