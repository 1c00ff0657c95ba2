"""The run store: one home directory with a SQLite database and one folder of files per run."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import secrets
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.access.limits import ClassLimits
from mnist_lab.access.users import PERSONAL, User
from mnist_lab.errors import AccessError, RunNameError, RunNotFoundError, StoreError
from mnist_lab.paths import HOME_ENV as HOME_ENV  # re-exported: callers name it run_store.HOME_ENV
from mnist_lab.paths import default_home
from mnist_lab.runs import migrations

MODEL_FILE = "model.keras"
NAME_MAX = 80
#: The metric a queued run carries until a worker takes it (its value: what the queue needs to queue it again).
WAITING = "waiting_in_queue"
NOT_STARTED_MESSAGE = ("Not started: the server restarted while it waited in the queue. It is queued again, in its "
                       "turn, as soon as the server's training queue is back.")
PROCESS_TOKEN = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

RUNNING, FINISHED, STOPPED, DIVERGED, INTERRUPTED, FAILED = (
    "running",
    "finished",
    "stopped",
    "diverged",
    "interrupted",
    "failed",
)
STATUSES = (RUNNING, FINISHED, STOPPED, DIVERGED, INTERRUPTED, FAILED)

_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


@dataclass(frozen=True)
class Run:
    """One stored run as the pages see it."""

    id: str
    name: str
    created: float
    status: str
    message: str
    model_config: dict[str, Any]
    train_config: dict[str, Any]
    reasons: dict[str, str]
    metrics: dict[str, Any]
    saved_epochs: int
    experiment: str = ""
    dataset: str = "MNIST"
    dataset_sha256: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The software versions and machine the run was trained with (``mnist_lab.environment.describe``);
    #: empty for runs created before MNIST Lab recorded them.
    environment: dict[str, Any] = field(default_factory=dict)
    #: The id of the user the run belongs to (``mnist_lab.access.User.id``) and their name.
    owner: str = PERSONAL.id
    owner_name: str = PERSONAL.name

    @property
    def version(self) -> tuple:
        """What a view of the run depends on: its id, name, status, saved and recorded epochs.

        Two equal versions show the same run the same way, so views built from it can be kept and shared.
        """
        return self.id, self.name, self.status, self.saved_epochs, len(self.history)

    @property
    def has_model(self) -> bool:
        """Whether at least one epoch was saved, so the model can be loaded."""
        return self.saved_epochs > 0

    @property
    def problem(self) -> str | None:
        """Why the run's model cannot be used, as a sentence without a final full stop; None when it can.

        Only the database is consulted: a model file deleted or damaged on disk shows when it is loaded.
        """
        if self.has_model:
            return None
        if self.status == RUNNING:
            return f"run {self.name!r} has no saved model yet: it is in its first epoch, wait until that epoch ends"
        why = f": {self.message.rstrip('.')}" if self.message else ""
        return f"run {self.name!r} has no saved model, no epoch of it was kept ({self.status}{why})"


def distinct_labels(runs: Sequence[Run], *, with_status: bool = False) -> dict[str, str]:
    """Label of each run id: its name (and status), with the end of its id where names repeat.

    Pickers need distinct labels: Streamlit maps a picked label back to the first option that has it.
    """
    names = [run.name for run in runs]
    labels = {run.id: run.name if names.count(run.name) == 1 else f"{run.name} ({run.id[-6:]})" for run in runs}
    return {run.id: f"{labels[run.id]} · {run.status}" if with_status else labels[run.id] for run in runs}


def clean_name(name: str) -> str:
    """Return ``name`` without control characters and outer spaces, at most NAME_MAX characters."""
    if not isinstance(name, str):
        raise RunNameError(f"a run name must be text, got {type(name).__name__}")
    cleaned = _printable(name)
    if not cleaned:
        raise RunNameError("a run name cannot be empty")
    return cleaned[:NAME_MAX]


def name_note(name: str) -> str | None:
    """A sentence saying how :func:`clean_name` will cut ``name`` to NAME_MAX characters; None when it fits."""
    if not isinstance(name, str):
        return None
    cleaned = _printable(name)
    if len(cleaned) <= NAME_MAX:
        return None
    return (f"Run names are at most {NAME_MAX} characters; this one has {len(cleaned):,}, so it is kept as its first "
            f"{NAME_MAX}: {cleaned[:NAME_MAX]!r}.")


def _printable(name: str) -> str:
    """``name`` without control characters and outer spaces, not yet cut to NAME_MAX."""
    return "".join(ch for ch in name if ch.isprintable()).strip()


def download_filename(run: Run) -> str:
    """Return a safe file name for downloading the run's model."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name).strip("-.")[:40] or "run"
    return f"{slug}-{run.id}.keras"


class RunStore:
    """Runs kept in ``home/runs.sqlite`` and ``home/runs/<id>/``, as one user may see and change them.

    Opening a store brings its database to the current schema (:mod:`mnist_lab.runs.migrations`). Every
    operation acts for the store's ``user``: a student lists, reads, renames, deletes and downloads only their own
    runs; a teacher also reads and deletes everyone's. A run the user may not see raises
    :class:`RunNotFoundError`, exactly as a run that does not exist, so nothing about it leaks.

    Parameters
    ----------
    home : str or Path, optional
        The home directory; defaults to :func:`default_home`.
    user : User, optional
        Whom the store acts for; the personal user (a lab nobody shares) by default. :meth:`as_user` gives a view
        for another user without opening the database again.

    Raises
    ------
    StoreError
        The home or its database cannot be read or written, or the database was written by a newer MNIST Lab.
    """

    def __init__(self, home: str | Path | None = None, *, user: User = PERSONAL):
        self.user = user
        self.home = Path(home) if home is not None else default_home()
        self.database = self.home / "runs.sqlite"
        try:
            (self.home / "runs").mkdir(parents=True, exist_ok=True)
            migrations.migrate(self.database)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the run store in {self.home}: {error}") from error
        self.recover_interrupted()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection in one transaction; sqlite errors become StoreError."""
        try:
            db = sqlite3.connect(self.database, timeout=10)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {self.database}: {error}") from error
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.row_factory = sqlite3.Row
            with db:
                yield db
        except sqlite3.Error as error:
            raise StoreError(f"the run store in {self.home} cannot be read or written: {error}") from error
        finally:
            db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the store's database, for the store's companions (:mod:`mnist_lab.workbook`).

        Rows come as :class:`sqlite3.Row`; database errors become :class:`StoreError`.
        """
        with self._connect() as db:
            yield db

    def check_access(self, db: sqlite3.Connection, run_id: str, *, change: bool = False) -> None:
        """Raise :class:`RunNotFoundError` unless the user may read the run (``change``: may change it).

        Parameters
        ----------
        db : sqlite3.Connection
            A connection from :meth:`transaction`.
        run_id : str
        change : bool
            Only the run's owner may change it; a teacher may read everyone's.
        """
        self._row(db, run_id, change=change)

    def as_user(self, user: User) -> RunStore:
        """The same store acting for ``user``."""
        view = copy.copy(self)
        view.user = user
        return view

    def _folder(self, run_id: str) -> Path:
        """The folder of a run, refusing ids that are not of the store's own form; no access check."""
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise RunNotFoundError(run_id)
        return self.home / "runs" / run_id

    def _row(self, db: sqlite3.Connection, run_id: str, *, change: bool = False) -> sqlite3.Row:
        """The run's row if the user may read it (``change``: may change it, which only its owner may)."""
        self._folder(run_id)
        row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        mine = row is not None and row["student"] == self.user.id
        if row is None or not (mine or (self.user.teacher and not change)):
            raise RunNotFoundError(run_id)
        return row

    def run_dir(self, run_id: str) -> Path:
        """Return the folder of a run the user may read."""
        with self._connect() as db:
            self._row(db, run_id)
        return self._folder(run_id)

    def model_path(self, run_id: str) -> Path:
        """Return the path of the saved model of a run the user may read."""
        return self.run_dir(run_id) / MODEL_FILE

    def create_run(
        self,
        name: str,
        model_config: dict[str, Any],
        train_config: dict[str, Any],
        reasons: dict[str, str],
        *,
        experiment: str = "",
        dataset: str = "MNIST",
        dataset_sha256: str = "",
        environment: dict[str, Any] | None = None,
    ) -> str:
        """Create a run of the store's user, in status ``running`` kept alive by this process; return its id.

        ``experiment`` names the one-click experiment the run belongs to (the Report page's), if any;
        ``dataset`` and ``dataset_sha256`` name the data it trains on and the SHA-256 of its files;
        ``environment`` records the software and machine that train it.
        """
        created = time.time()
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created)) + "-" + secrets.token_hex(3)
        try:
            self._folder(run_id).mkdir(parents=True)
        except OSError as error:
            raise StoreError(f"cannot create a folder for the run in {self.home}: {error}") from error
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (id, name, created, status, model_config, train_config, reasons, owner, experiment,"
                " dataset, dataset_sha256, environment, student, student_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    clean_name(name),
                    created,
                    RUNNING,
                    json.dumps(model_config),
                    json.dumps(train_config),
                    json.dumps(reasons),
                    PROCESS_TOKEN,
                    experiment,
                    dataset,
                    dataset_sha256,
                    json.dumps(environment or {}),
                    self.user.id,
                    self.user.name,
                ),
            )
            db.execute("INSERT INTO starts (student, started) VALUES (?, ?)", (self.user.id, created))
        return run_id

    def record_epoch(self, run_id: str, epoch: int, row: dict[str, Any], *, model_saved: bool) -> None:
        """Store one epoch's metrics of the user's own run and, when its model was saved, count it as recoverable."""
        with self._connect() as db:
            self._row(db, run_id, change=True)
            db.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, row) VALUES (?, ?, ?)",
                (run_id, epoch, json.dumps(_json_safe(row))),
            )
            if model_saved:
                db.execute("UPDATE runs SET saved_epochs = ? WHERE id = ?", (epoch, run_id))

    def finish(self, run_id: str, status: str, *, message: str = "", metrics: dict[str, Any] | None = None) -> None:
        """Set the final status of the user's own run, with a message and final metrics."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        with self._connect() as db:
            self._row(db, run_id, change=True)
            db.execute(
                "UPDATE runs SET status = ?, message = ?, metrics = ?, owner = '' WHERE id = ?",
                (status, message, json.dumps(_json_safe(metrics or {})), run_id),
            )

    def update_metrics(self, run_id: str, **metrics: Any) -> None:
        """Merge ``metrics`` (figures computed from the run, such as its evaluation) into its stored metrics."""
        with self._connect() as db:
            merged = {**json.loads(self._row(db, run_id)["metrics"]), **metrics}
            db.execute("UPDATE runs SET metrics = ? WHERE id = ?", (json.dumps(_json_safe(merged)), run_id))

    def rename(self, run_id: str, name: str) -> None:
        """Give the user's own run a new name."""
        cleaned = clean_name(name)
        with self._connect() as db:
            self._row(db, run_id, change=True)
            db.execute("UPDATE runs SET name = ? WHERE id = ?", (cleaned, run_id))

    def delete(self, run_id: str) -> None:
        """Delete a run (the user's own; a teacher's, anyone's) and its files; a run still training is refused."""
        with self._connect() as db:
            if self._row(db, run_id)["status"] == RUNNING:
                raise StoreError("this run is still training: stop it before deleting it")
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self._folder(run_id), ignore_errors=True)

    def get(self, run_id: str) -> Run:
        """Return one run the user may read, with its per-epoch history."""
        with self._connect() as db:
            row = self._row(db, run_id)
            epochs = db.execute("SELECT row FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,)).fetchall()
        return _to_run(row, [json.loads(e["row"]) for e in epochs])

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
        """
        if everyone and not self.user.teacher:
            raise AccessError("only a teacher sees the runs of the whole class")
        self.recover_interrupted()
        with self._connect() as db:
            if everyone:
                rows = db.execute("SELECT * FROM runs ORDER BY created DESC, id DESC").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM runs WHERE student = ? ORDER BY created DESC, id DESC", (self.user.id,)
                ).fetchall()
        return [_to_run(row, []) for row in rows]

    def started_since(self, since: float) -> int:
        """How many trainings the user started at or after ``since`` (seconds since the epoch).

        The class limit on trainings per hour counts these; a run deleted since still counts, so deleting runs
        frees no trainings.
        """
        with self._connect() as db:
            return db.execute(
                "SELECT COUNT(*) FROM starts WHERE student = ? AND started >= ?", (self.user.id, since)
            ).fetchone()[0]

    def class_limits(self) -> ClassLimits:
        """The limits the teacher set for the class (none set: no limits)."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM class_settings WHERE key = 'limits'").fetchone()
        return ClassLimits() if row is None else ClassLimits.from_dict(json.loads(row["value"]))

    def set_class_limits(self, limits: ClassLimits) -> None:
        """Set the class's limits.

        Raises
        ------
        AccessError
            The user is not a teacher.
        """
        if not self.user.teacher:
            raise AccessError("only a teacher sets the limits of the class")
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO class_settings (key, value) VALUES ('limits', ?)", (json.dumps(limits.to_dict()),)
            )

    def recover_interrupted(self) -> list[str]:
        """Mark runs left ``running`` by a process that no longer exists as ``interrupted``.

        A run that was still waiting in that process's queue (metrics :data:`WAITING`) says it never started; the
        next server's trainer queues it again (:meth:`take_back_waiting`).
        """
        with self._connect() as db:
            rows = db.execute("SELECT id, owner, saved_epochs, metrics FROM runs WHERE status = ?",
                              (RUNNING,)).fetchall()
            dead = [row for row in rows if not _owner_alive(row["owner"])]
            for row in dead:
                epochs = row["saved_epochs"]
                message = (
                    f"The training process ended unexpectedly; the model is usable up to epoch {epochs}."
                    if epochs
                    else NOT_STARTED_MESSAGE if _waited(row)
                    else "The training process ended unexpectedly before the first epoch was saved."
                )
                db.execute(
                    "UPDATE runs SET status = ?, message = ?, owner = '' WHERE id = ?",
                    (INTERRUPTED, message, row["id"]),
                )
        return [row["id"] for row in dead]

    def take_back_waiting(self) -> list[tuple[str, User]]:
        """Make the runs that waited in the queue of a process that ended this process's again, oldest first.

        Their status is ``running`` again and their owner this process, so that a trainer queues them anew in the
        order they were first queued.

        Returns
        -------
        list of (str, User)
            Each run's id and the student it belongs to (never a teacher: the student's own rights suffice).
        """
        with self._connect() as db:
            rows = db.execute("SELECT id, student, student_name, saved_epochs, metrics FROM runs WHERE status = ? "
                              "ORDER BY created, id", (INTERRUPTED,)).fetchall()
            taken = []
            for row in rows:
                if row["saved_epochs"] or not _waited(row):
                    continue
                changed = db.execute("UPDATE runs SET status = ?, message = '', owner = ? WHERE id = ? AND status = ?",
                                     (RUNNING, PROCESS_TOKEN, row["id"], INTERRUPTED)).rowcount
                if changed:
                    taken.append((row["id"], User(row["student"], row["student_name"] or row["student"])))
        return taken

    def save_array(self, run_id: str, name: str, array: np.ndarray) -> None:
        """Store an array computed from a run the user may read (such as its test-set scores), atomically."""
        target = self.run_dir(run_id) / f"{name}.npy"
        try:
            # A unique partial file: two sessions may save the same array at the same time.
            handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{name}-", suffix=".npy")
            with os.fdopen(handle, "wb") as file:
                np.save(file, array)
            os.replace(partial, target)
        except OSError as error:
            raise StoreError(f"cannot save {name} for run {run_id}: {error}") from error

    def load_array(self, run_id: str, name: str) -> np.ndarray | None:
        """Return an array stored with a run the user may read, or None when absent or unreadable."""
        path = self.run_dir(run_id) / f"{name}.npy"
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None

    def cached_array(
        self,
        run_id: str,
        name: str,
        compute: Callable[[], np.ndarray],
        *,
        valid: Callable[[np.ndarray], bool] | None = None,
    ) -> np.ndarray:
        """Return the array stored with the run under ``name``; when there is none, compute it and store it.

        Parameters
        ----------
        run_id : str
            The run.
        name : str
            The array's file name in the run's folder, without ``.npy``. Put the saved epoch in it
            (``test_scores_epoch3``) when the array depends on the model, so a newer model never reads
            an older model's array.
        compute : callable
            Returns the array; called only when no usable array is stored.
        valid : callable, optional
            Whether a stored array can be used (its shape, its fields); one it rejects is computed and
            stored again.

        Returns
        -------
        numpy.ndarray
            The stored array, or the one ``compute`` returned, which is now stored.

        Raises
        ------
        StoreError
            The computed array cannot be written to the run's folder.
        """
        stored = self.load_array(run_id, name)
        if stored is not None and (valid is None or valid(stored)):
            return stored
        array = compute()
        self.save_array(run_id, name, array)
        return array

    def drop_arrays(self, run_id: str) -> None:
        """Remove the arrays cached with a run the user may read, so they are computed again."""
        for path in self.run_dir(run_id).glob("*.npy"):
            path.unlink(missing_ok=True)


def _waited(row: sqlite3.Row) -> bool:
    """Whether the run of ``row`` was still waiting in a queue (never sent to a worker) when last heard of."""
    try:
        return bool(json.loads(row["metrics"] or "{}").get(WAITING))
    except (ValueError, AttributeError):
        return False


def _owner_alive(owner: str) -> bool:
    """Whether the process that owns a running run still exists."""
    if owner == PROCESS_TOKEN:
        return True
    try:
        host, pid_text, _ = owner.split(":")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        # Same pid with another token: this process was restarted and reuses the pid.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _to_run(row: sqlite3.Row, history: list[dict[str, Any]]) -> Run:
    """Build a Run from a database row."""
    return Run(
        id=row["id"],
        name=row["name"],
        created=row["created"],
        status=row["status"],
        message=row["message"],
        model_config=json.loads(row["model_config"]),
        train_config=json.loads(row["train_config"]),
        reasons=json.loads(row["reasons"]),
        metrics=json.loads(row["metrics"]),
        saved_epochs=row["saved_epochs"],
        experiment=row["experiment"],
        dataset=row["dataset"],
        dataset_sha256=row["dataset_sha256"],
        history=history,
        environment=json.loads(row["environment"]),
        owner=row["student"],
        owner_name=row["student_name"],
    )


def _json_safe(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) with None, and numpy scalars with Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
