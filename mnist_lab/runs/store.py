"""The run store: runs in a database (SQLite in the home by default, or PostgreSQL) and a folder of files per run.

The database is chosen by a URL (:mod:`mnist_lab.runs.database`); its schema is brought up to date on opening
(:mod:`mnist_lab.runs.upgrade`) and reached through :mod:`mnist_lab.runs.connection`; a run's model and arrays
live in its folder, and on a database server also in the database (:mod:`mnist_lab.runs.files`); the teacher's
settings for the class are :mod:`mnist_lab.runs.class_settings`.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, RowMapping

from mnist_lab.access.users import PERSONAL, User
from mnist_lab.errors import (
    AccessError,
    DatabaseSettingError,
    DatabaseUnreachableError,
    RunNameError,
    RunNotFoundError,
    StoreError,
)
from mnist_lab.paths import HOME_ENV as HOME_ENV  # re-exported: callers name it run_store.HOME_ENV
from mnist_lab.paths import default_home
from mnist_lab.runs import database as database_mod
from mnist_lab.runs import liveness, upgrade
from mnist_lab.runs.class_settings import ClassSettings
from mnist_lab.runs.connection import StoreConnection
from mnist_lab.runs.database import DATABASE_ENV as DATABASE_ENV
from mnist_lab.runs.files import MODEL_FILE, RunFiles
from mnist_lab.runs.liveness import NOT_STARTED_MESSAGE as NOT_STARTED_MESSAGE
from mnist_lab.runs.liveness import PROCESS_TOKEN, WAITING
from mnist_lab.runs.records import (
    DIVERGED,
    FAILED,
    FINISHED,
    INTERRUPTED,
    NAME_MAX,
    PICK_ANOTHER,
    RUN_ID,
    RUNNING,
    STATUSES,
    STOPPED,
    Run,
    clean_name,
    distinct_labels,
    download_filename,
    json_safe,
    name_note,
    not_ready,
    to_run,
)
from mnist_lab.runs.schema import epochs, insert_or, runs, starts

logger = logging.getLogger(__name__)

# The names callers have always imported from here.
__all__ = ["DATABASE_ENV", "DIVERGED", "FAILED", "FINISHED", "HOME_ENV", "INTERRUPTED", "MODEL_FILE", "NAME_MAX",
           "NOT_STARTED_MESSAGE", "PICK_ANOTHER", "RUNNING", "STATUSES", "STOPPED", "WAITING", "AccessError", "DatabaseSettingError",
           "DatabaseUnreachableError", "Run", "RunNameError", "RunNotFoundError", "RunStore", "StoreError", "clean_name", "default_home",
           "distinct_labels", "download_filename", "name_note", "not_ready"]


class RunStore(StoreConnection, RunFiles, ClassSettings):
    """Runs kept in a database and in ``home/runs/<id>/``, as one user may see and change them.

    Opening a store brings its database to the current schema. Every operation acts for the store's ``user``: a
    student lists, reads, renames, deletes and downloads only their own runs; a teacher also reads and deletes
    everyone's. A run the user may not see raises :class:`RunNotFoundError`, exactly as a run that does not
    exist, so nothing about it leaks.

    Parameters
    ----------
    home : str or Path, optional
        The home directory; defaults to :func:`default_home`. With a database server it only caches files.
    user : User, optional
        Whom the store acts for; the personal user (a lab nobody shares) by default. :meth:`as_user` gives a view
        for another user without opening the database again.
    database : str, optional
        The database's SQLAlchemy URL; defaults to ``$MNIST_LAB_DATABASE_URL``, else ``home/runs.sqlite``.
    database_setting : str, optional
        Where ``database`` came from (``--database``, the secrets), named in error messages.

    Raises
    ------
    StoreError
        The home or its database cannot be read or written, or the database was written by a newer MNIST Lab.
    DatabaseSettingError
        The database URL is unusable: malformed, a missing driver, a refused login, a database that does not exist.
    DatabaseUnreachableError
        The database server cannot be reached right now. Any operation of an open store raises it too while its
        server is away, and works again once it is back.

    Examples
    --------
    A store in a fresh home keeps its runs in SQLite there:

    >>> import tempfile
    >>> RunStore(tempfile.mkdtemp())
    <RunStore sqlite:///.../runs.sqlite for personal>
    """

    def __init__(self, home: str | Path | None = None, *, user: User = PERSONAL, database: str | None = None,
                 database_setting: str | None = None):
        self.user = user
        self.home = Path(home) if home is not None else default_home()
        self.setting = database_mod.resolve(database, home=self.home, setting=database_setting)
        #: The SQLite file; None when the database is a server.
        self.database = self.setting.sqlite_file
        #: Whether runs' files are kept in the database too (a server), the home only caching them.
        self.files_in_database = self.database is None
        try:
            (self.home / "runs").mkdir(parents=True, exist_ok=True)
            self._engine = database_mod.engine_for(self.setting)
            database_mod.check(self._engine, self.setting)
            #: The schema revisions opening the store applied (``mnist-lab db upgrade`` prints them).
            self.upgraded = upgrade.upgrade(self._engine, self.setting)
        except (DatabaseSettingError, DatabaseUnreachableError):
            raise
        except StoreError as error:
            raise StoreError(f"cannot open the run store in {self._where()}: {error}") from error
        except exc.SQLAlchemyError as error:
            if database_mod.unreachable(error, self.setting):
                raise database_mod.unreachable_error(error, self.setting) from error
            raise StoreError(f"cannot open the run store in {self._where()}: {error}") from error
        except OSError as error:
            raise StoreError(f"cannot open the run store in {self._where()}: {error}") from error
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the run store in {self._where()}: {error}") from error
        self.recover_interrupted()

    def __repr__(self) -> str:
        return f"<RunStore {self.setting.shown} for {self.user.id}>"

    def check_access(self, db: Connection, run_id: str, *, change: bool = False) -> None:
        """Raise :class:`RunNotFoundError` unless the user may read the run (``change``: may change it).

        Parameters
        ----------
        db : Connection
            A connection from :meth:`transaction`.
        run_id : str
        change : bool
            Only the run's owner may change it; a teacher may read everyone's. On PostgreSQL the run's row is
            then locked until the transaction ends, so concurrent changes of one run never overwrite each other.
        """
        self._row(db, run_id, change=change)

    def as_user(self, user: User) -> RunStore:
        """The same store acting for ``user``."""
        view = copy.copy(self)
        view.user = user
        return view

    def _folder(self, run_id: str) -> Path:
        """The folder of a run, refusing ids that are not of the store's own form; no access check."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise RunNotFoundError(run_id)
        return self.home / "runs" / run_id

    def _row(self, db: Connection, run_id: str, *, change: bool = False) -> RowMapping:
        """The run's row if the user may read it (``change``: may change it, which only its owner may)."""
        self._folder(run_id)
        query = sa.select(runs).where(runs.c.id == run_id)
        row = db.execute(query.with_for_update() if change else query).mappings().fetchone()
        mine = row is not None and row["student"] == self.user.id
        if row is None or not (mine or (self.user.teacher and not change)):
            raise RunNotFoundError(run_id)
        return row

    def run_dir(self, run_id: str) -> Path:
        """Return the folder of a run the user may read (with a database server, its local cache)."""
        with self._connect(write=False) as db:
            self._row(db, run_id)
        folder = self._folder(run_id)
        if self.files_in_database:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def create_run(self, name: str, model_config: dict[str, Any], train_config: dict[str, Any],
                   reasons: dict[str, str], *, experiment: str = "", dataset: str = "MNIST",
                   dataset_sha256: str = "", environment: dict[str, Any] | None = None) -> str:
        """Create a run of the store's user, in status ``running`` kept alive by this process; return its id.

        ``experiment`` names the one-click experiment the run belongs to (the Report page's), if any;
        ``dataset`` and ``dataset_sha256`` name the data it trains on and the SHA-256 of its files;
        ``environment`` records the software and machine that train it.

        Examples
        --------
        >>> import tempfile
        >>> store = RunStore(tempfile.mkdtemp())
        >>> run_id = store.create_run("first try", {"hidden_units": 128}, {"epochs": 2}, {"epochs": "a quick look"})
        >>> run_id  # when it was created (UTC), then six random hex digits
        '20...-...-...'
        >>> store.get(run_id).status
        'running'
        """
        self.announce()
        created = time.time()
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created)) + "-" + secrets.token_hex(3)
        try:
            self._folder(run_id).mkdir(parents=True)
        except OSError as error:
            raise StoreError(f"cannot create a folder for the run in {self.home}: {error}") from error
        with self._connect() as db:
            db.execute(runs.insert().values(
                id=run_id, name=clean_name(name), created=created, status=RUNNING,
                model_config=json.dumps(model_config), train_config=json.dumps(train_config),
                reasons=json.dumps(reasons), owner=PROCESS_TOKEN, experiment=experiment, dataset=dataset,
                dataset_sha256=dataset_sha256, environment=json.dumps(environment or {}), student=self.user.id,
                student_name=self.user.name))
            db.execute(starts.insert().values(student=self.user.id, started=created))
        return run_id

    def record_epoch(self, run_id: str, epoch: int, row: dict[str, Any], *, model_saved: bool) -> None:
        """Store one epoch's metrics of the user's own run and, when its model was saved, count it as recoverable.

        Examples
        --------
        >>> import tempfile
        >>> store = RunStore(tempfile.mkdtemp())
        >>> run_id = store.create_run("first try", {}, {"epochs": 2}, {})
        >>> store.record_epoch(run_id, 1, {"loss": 0.31, "accuracy": 0.91}, model_saved=False)
        >>> store.get(run_id).history
        [{'loss': 0.31, 'accuracy': 0.91}]
        """
        with self._connect() as db:
            self._row(db, run_id, change=True)
            insert_or(db, epochs, {"run_id": run_id, "epoch": epoch, "row": json.dumps(json_safe(row))},
                      keys=("run_id", "epoch"), update=("row",))
            if model_saved:
                db.execute(runs.update().where(runs.c.id == run_id).values(saved_epochs=epoch))

    def finish(self, run_id: str, status: str, *, message: str = "", metrics: dict[str, Any] | None = None) -> None:
        """Set the final status of the user's own run, with a message and final metrics.

        Examples
        --------
        >>> import tempfile
        >>> store = RunStore(tempfile.mkdtemp())
        >>> run_id = store.create_run("first try", {}, {"epochs": 2}, {})
        >>> store.finish(run_id, FINISHED, metrics={"test_accuracy": 0.97})
        >>> run = store.get(run_id)
        >>> run.status, run.metrics
        ('finished', {'test_accuracy': 0.97})
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        with self._connect() as db:
            self._row(db, run_id, change=True)
            db.execute(runs.update().where(runs.c.id == run_id).values(
                status=status, message=message, metrics=json.dumps(json_safe(metrics or {})), owner=""))

    def update_metrics(self, run_id: str, **metrics: Any) -> None:
        """Merge ``metrics`` (figures computed from the run, such as its evaluation) into its stored metrics."""
        with self._connect() as db:
            row = self._row(db, run_id)
            if db.dialect.name == "postgresql":  # lock the row read, so two merges never lose one another
                row = db.execute(sa.select(runs.c.metrics).where(runs.c.id == run_id).with_for_update()
                                 ).mappings().one()
            merged = {**json.loads(row["metrics"]), **metrics}
            db.execute(runs.update().where(runs.c.id == run_id).values(metrics=json.dumps(json_safe(merged))))

    def rename(self, run_id: str, name: str) -> None:
        """Give the user's own run a new name."""
        cleaned = clean_name(name)
        with self._connect() as db:
            self._row(db, run_id, change=True)
            db.execute(runs.update().where(runs.c.id == run_id).values(name=cleaned))

    def delete(self, run_id: str) -> None:
        """Delete a run (the user's own; a teacher's, anyone's) and its files; a run still training is refused."""
        with self._connect() as db:
            if self._row(db, run_id)["status"] == RUNNING:
                raise StoreError("this run is still training: stop it before deleting it")
            db.execute(runs.delete().where(runs.c.id == run_id))
        shutil.rmtree(self._folder(run_id), ignore_errors=True)

    def get(self, run_id: str) -> Run:
        """Return one run the user may read, with its per-epoch history.

        Examples
        --------
        >>> import tempfile
        >>> store = RunStore(tempfile.mkdtemp())
        >>> run = store.get(store.create_run("first try", {}, {"epochs": 2}, {}))
        >>> run.name, run.status, run.history
        ('first try', 'running', [])
        >>> store.get("20240101-000000-abcdef")
        Traceback (most recent call last):
        ...
        mnist_lab.errors.RunNotFoundError: ...
        """
        with self._connect(write=False) as db:
            row = self._row(db, run_id)
            history = db.execute(sa.select(epochs.c.row).where(epochs.c.run_id == run_id)
                                 .order_by(epochs.c.epoch)).scalars().all()
        return to_run(row, [json.loads(text) for text in history])

    def list_runs(self, *, everyone: bool = False) -> list[Run]:
        """Return the user's runs, newest first, without their histories (runs of dead processes become interrupted).

        Parameters
        ----------
        everyone : bool
            Every student's runs instead (teachers only).

        Raises
        ------
        AccessError
            ``everyone`` for a user who is not a teacher.

        Examples
        --------
        >>> import tempfile
        >>> store = RunStore(tempfile.mkdtemp())
        >>> run_id = store.create_run("first try", {}, {"epochs": 2}, {})
        >>> [run.name for run in store.list_runs()]
        ['first try']
        >>> store.list_runs(everyone=True)
        Traceback (most recent call last):
        ...
        mnist_lab.errors.AccessError: only a teacher sees the runs of the whole class
        """
        if everyone and not self.user.teacher:
            raise AccessError("only a teacher sees the runs of the whole class")
        self.recover_interrupted()
        query = sa.select(runs).order_by(runs.c.created.desc(), runs.c.id.desc())
        with self._connect(write=False) as db:
            rows = db.execute(query if everyone else query.where(runs.c.student == self.user.id)).mappings().all()
        return [to_run(row, []) for row in rows]

    def started_since(self, since: float) -> int:
        """How many trainings the user started at or after ``since`` (seconds since the epoch).

        The class limit on trainings per hour counts these; a run deleted since still counts, so deleting runs
        frees no trainings.
        """
        with self._connect(write=False) as db:
            return db.execute(sa.select(sa.func.count()).select_from(starts).where(
                starts.c.student == self.user.id, starts.c.started >= since)).scalar_one()

    def recover_interrupted(self) -> list[str]:
        """Mark runs left ``running`` by a process that no longer exists as ``interrupted``.

        A run that was still waiting in that process's queue (metrics :data:`WAITING`) says it never started; the
        next server's trainer queues it again (:meth:`take_back_waiting`).
        """
        with self._connect(write=False) as db:
            dead = liveness.dead_runs(db)
        if not dead:
            return []
        with self._connect() as db:
            return liveness.mark_interrupted(db, dead)

    def take_back_waiting(self) -> list[tuple[str, User]]:
        """Make the runs that waited in the queue of a process that ended this process's again, oldest first.

        Their status is ``running`` again and their owner this process, so that a trainer queues them anew in the
        order they were first queued.

        Returns
        -------
        list of (str, User)
            Each run's id and the student it belongs to (never a teacher: the student's own rights suffice).
        """
        self.announce()
        with self._connect() as db:
            return liveness.take_back_waiting(db)
