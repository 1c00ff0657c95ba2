"""Versions of the run store's database schema, numbered in SQLite's ``PRAGMA user_version``.

Each version has one function that takes a database of the version before to its own. Opening a store applies
the functions of every version above the database's own, in order, each in its own transaction that also sets
the new ``user_version``; so a store made by any earlier MNIST Lab opens with its runs intact. A function, once
released, never changes: a new column or table is a new version at the end of :data:`MIGRATIONS`.

Databases made before versions existed have ``user_version`` 0 and already hold the tables of version 1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import MNIST
from mnist_lab.errors import StoreError
from mnist_lab.paths import HOME_ENV

#: The dataset of every run stored before runs recorded theirs: the MNIST bundled with the package.
_BUNDLED_MNIST_SHA256 = combined_sha256(
    [MNIST.train_images.sha256, MNIST.train_labels.sha256, MNIST.test_images.sha256, MNIST.test_labels.sha256]
)


def _v1_runs_and_epochs(db: sqlite3.Connection) -> None:
    """Version 1: the ``runs`` and ``epochs`` tables (the schema of the releases without versions)."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created REAL NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            model_config TEXT NOT NULL,
            train_config TEXT NOT NULL,
            reasons TEXT NOT NULL,
            metrics TEXT NOT NULL DEFAULT '{}',
            owner TEXT NOT NULL DEFAULT '',
            saved_epochs INTEGER NOT NULL DEFAULT 0,
            experiment TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS epochs (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            row TEXT NOT NULL,
            PRIMARY KEY (run_id, epoch)
        )
        """
    )
    # The first release created ``runs`` without this column, and CREATE TABLE IF NOT EXISTS leaves it so.
    if "experiment" not in _columns(db, "runs"):
        db.execute("ALTER TABLE runs ADD COLUMN experiment TEXT NOT NULL DEFAULT ''")


def _v2_dataset(db: sqlite3.Connection) -> None:
    """Version 2: each run's dataset, by name and by the SHA-256 of its files."""
    db.execute("ALTER TABLE runs ADD COLUMN dataset TEXT NOT NULL DEFAULT 'MNIST'")
    db.execute("ALTER TABLE runs ADD COLUMN dataset_sha256 TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE runs SET dataset_sha256 = ?", (_BUNDLED_MNIST_SHA256,))


def _v3_environment(db: sqlite3.Connection) -> None:
    """Version 3: the software and machine a run was trained with (JSON; ``{}`` for runs from before)."""
    db.execute("ALTER TABLE runs ADD COLUMN environment TEXT NOT NULL DEFAULT '{}'")


def _v4_students(db: sqlite3.Connection) -> None:
    """Version 4: who each run belongs to, and the class's settings (the teacher's limits).

    Every run stored before belongs to the personal user (``mnist_lab.access.PERSONAL``), whose runs they were.
    """
    db.execute("ALTER TABLE runs ADD COLUMN student TEXT NOT NULL DEFAULT 'personal'")
    db.execute("ALTER TABLE runs ADD COLUMN student_name TEXT NOT NULL DEFAULT 'You'")
    db.execute("CREATE INDEX runs_by_student ON runs (student, created)")
    db.execute("CREATE TABLE class_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _v5_workbook(db: sqlite3.Connection) -> None:
    """Version 5: the students' own answers, the explanations they revealed, their names, and hand-in receipts.

    ``receipts`` keeps every receipt the server signed, so that a hand-in can be checked against what was issued
    even after the run changed or was deleted; ``server_keys`` holds the key that signs them, which never leaves
    the store.
    """
    db.execute(
        """
        CREATE TABLE answers (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            question TEXT NOT NULL,
            text TEXT NOT NULL,
            first_saved REAL NOT NULL,
            saved REAL NOT NULL,
            PRIMARY KEY (run_id, question)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE reveals (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            question TEXT NOT NULL,
            revealed REAL NOT NULL,
            after_answer INTEGER NOT NULL,
            PRIMARY KEY (run_id, question)
        )
        """
    )
    db.execute("CREATE TABLE student_names (student TEXT PRIMARY KEY, name TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE receipts (
            code TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            student TEXT NOT NULL,
            issued REAL NOT NULL,
            payload TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX receipts_by_run ON receipts (run_id, issued)")
    db.execute("CREATE TABLE server_keys (name TEXT PRIMARY KEY, value BLOB NOT NULL)")


def _v6_starts(db: sqlite3.Connection) -> None:
    """Version 6: every training a student started, kept when its run is deleted (the hourly limit counts starts).

    The runs stored before count as the starts they were.
    """
    db.execute("CREATE TABLE starts (student TEXT NOT NULL, started REAL NOT NULL)")
    db.execute("CREATE INDEX starts_by_student ON starts (student, started)")
    db.execute("INSERT INTO starts (student, started) SELECT student, created FROM runs")


#: The function of version ``n`` is ``MIGRATIONS[n - 1]``.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1_runs_and_epochs, _v2_dataset, _v3_environment, _v4_students, _v5_workbook, _v6_starts,
)
#: The schema version this code writes.
LATEST_VERSION = len(MIGRATIONS)


def migrate(database: str | Path, *, target: int = LATEST_VERSION) -> list[int]:
    """Bring the database up to schema version ``target``, creating it when absent.

    Safe when several processes open the same store at once: each version is applied under SQLite's write
    lock, after reading the version again, so it is applied exactly once.

    Parameters
    ----------
    database : str or Path
        The SQLite file.
    target : int, optional
        The version to reach; the latest by default (tests build older databases with a lower one).

    Returns
    -------
    list of int
        The versions this call applied, in order; empty when the database was already at ``target``.

    Raises
    ------
    StoreError
        The database was written by a newer MNIST Lab (its version is above :data:`LATEST_VERSION`); it is
        left untouched.
    sqlite3.Error
        The file cannot be read or written, or is not a database.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"target must be a schema version from 0 to {LATEST_VERSION}, got {target}")
    applied: list[int] = []
    # Autocommit mode: the transactions below are opened and closed explicitly.
    db = sqlite3.connect(database, timeout=10, isolation_level=None)
    try:
        _refuse_newer(database, _version(db))
        while _version(db) < target:
            # IMMEDIATE takes the write lock now, so the version read next cannot change before COMMIT.
            db.execute("BEGIN IMMEDIATE")
            try:
                version = _version(db)
                _refuse_newer(database, version)
                if version < target:
                    MIGRATIONS[version](db)
                    db.execute(f"PRAGMA user_version = {version + 1:d}")
                    applied.append(version + 1)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # some errors have rolled the transaction back already
                    db.execute("ROLLBACK")
                raise
    finally:
        db.close()
    return applied


def _version(db: sqlite3.Connection) -> int:
    """The database's schema version."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def _refuse_newer(database: str | Path, version: int) -> None:
    """Raise StoreError for a database of a schema version this code does not know."""
    if version > LATEST_VERSION:
        raise StoreError(
            f"the run store {database} was written by a newer MNIST Lab (schema version {version}, this one "
            f"knows up to {LATEST_VERSION}): update MNIST Lab to open it, or set {HOME_ENV} to another folder"
        )


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    """Names of the columns of ``table``."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
