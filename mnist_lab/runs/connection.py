"""How the run store reaches its database: transactions whose errors say what failed, and locks across processes.

:class:`StoreConnection` is a part of :class:`mnist_lab.runs.store.RunStore`, which opens the database (its
``setting``, ``_engine``, ``database`` and ``home``); the store's other parts (:mod:`mnist_lab.runs.files`,
:mod:`mnist_lab.runs.class_settings`) reach the database through :meth:`StoreConnection._connect`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from mnist_lab.errors import StoreError
from mnist_lab.runs import database as database_mod
from mnist_lab.runs import liveness, upgrade


class StoreConnection:
    """The database side of :class:`mnist_lab.runs.store.RunStore`: where it is, and one transaction at a time.

    Database errors become :class:`StoreError`, or :class:`mnist_lab.errors.DatabaseUnreachableError` while the
    server cannot be reached.
    """

    home: Path
    setting: database_mod.DatabaseSetting
    database: Path | None
    _engine: Engine

    @property
    def database_url(self) -> str:
        """The database's URL, password included, for the data layer's ``database=`` arguments; never shown."""
        return self.setting.url.render_as_string(hide_password=False)

    def _where(self) -> str:
        return str(self.home) if self.database is not None else self.setting.shown

    @property
    def where(self) -> str:
        """Where the runs live, in words: the SQLite file, or the server's database without the password."""
        return str(self.database) if self.database is not None else self.setting.shown

    def schema_revision(self) -> str:
        """The database's schema revision in a sentence."""
        return upgrade.describe(self._engine)

    @contextlib.contextmanager
    def _connect(self, *, write: bool = True) -> Iterator[Connection]:
        """Yield a connection in one transaction; database errors become StoreError (DatabaseUnreachableError when
        the server cannot be reached)."""
        with (self._errors_told("the run store in {where} cannot be read or written"),
              database_mod.begin(self._engine, write=write) as db):
            yield db

    @contextlib.contextmanager
    def _errors_told(self, what: str) -> Iterator[None]:
        """Turn the block's database errors into :class:`DatabaseUnreachableError` when the server cannot be
        reached, else into :class:`StoreError` saying ``what`` failed (``{where}``: where the runs live)."""
        try:
            yield
        except exc.SQLAlchemyError as error:
            if database_mod.unreachable(error, self.setting):
                raise database_mod.unreachable_error(error, self.setting) from error
            raise StoreError(f"{what.format(where=self._where())}: {database_mod.scrub(error, self.setting)}"
                             ) from error

    def ping(self) -> None:
        """Reach the database once (a page's first question on every rerun: is it there?).

        Raises
        ------
        DatabaseUnreachableError
            The server cannot be reached right now; at most :data:`mnist_lab.runs.database.CONNECT_TIMEOUT_S`
            seconds pass before this is known.
        StoreError
            The database cannot be read.
        """
        with self._connect(write=False) as db:
            db.execute(sa.text("SELECT 1"))

    def announce(self) -> None:
        """Let every process using the database see that this one lives and owns its running runs (PostgreSQL:
        an advisory lock, taken again when the server restarted since)."""
        with self._errors_told("cannot tell the run store in {where} that this process trains"):
            liveness.announce(self._engine)

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction on the store's database, for the store's companions (:mod:`mnist_lab.workbook`).

        Parameters
        ----------
        write : bool
            Whether the transaction writes: on SQLite it then takes the write lock when it begins, so a
            read-then-write never fails half-way; False lets readers run side by side.

        Yields
        ------
        sqlalchemy.engine.Connection
            Run Core statements on it (:mod:`mnist_lab.runs.schema`); errors become :class:`StoreError`.
        """
        with self._connect(write=write) as db:
            yield db

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` across every process using this database (the trainer's admission).

        The block may use the store meanwhile. PostgreSQL: an advisory lock; SQLite: a lock file in the home.
        """
        with (self._errors_told(f"cannot take the {name} lock of the run store in {{where}}"),
              database_mod.held(self._engine, name, lock_file=self.home / f".{name}.lock")):
            yield
