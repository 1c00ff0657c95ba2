"""Importing an archive: everything checked first, then the rows in one transaction, then the files.

Who may import what:

- a teacher imports a class archive (every student's runs, the settings, receipts and signing key) or one
  user's archive;
- anyone else (a student, the personal user) imports only an archive of their own runs: every run, name and
  dataset in it must be theirs, and it may carry no settings, starts, receipts or key.

Models: a ``.keras`` file can run code when it is loaded, so models (and the arrays computed from them) are
restored only from a teacher's class archive, into a personal lab (whose one user owns the machine anyway) or by
the server's operator (``mnist-lab archive import``, acting as :data:`mnist_lab.access.SERVER`).
A student's runs restored on a shared server keep their curves, answers and names, lose their models, and lose the
test figures the archive claims, which only this server's evaluation may state.

Importing twice changes nothing: a run already here (same id, same student) is skipped with everything that
belongs to it, and counted as skipped; a run id here of another student refuses the archive.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import sqlalchemy as sa

from mnist_lab.access.users import PERSONAL, SERVER, User
from mnist_lab.archive import datasets as archive_datasets
from mnist_lab.archive import tables
from mnist_lab.archive.members import CLASS, OWN, RUN_MEMBER, TABLE_MEMBER, ReadArchive, read_archive
from mnist_lab.errors import ArchiveError
from mnist_lab.runs import schema
from mnist_lab.runs.files import MODEL_FILE, put, write_atomically
from mnist_lab.runs.records import INTERRUPTED, RUNNING
from mnist_lab.runs.store import RunStore
from mnist_lab.text import plural
from mnist_lab.training.server.messages import ZIP_MAGIC

logger = logging.getLogger(__name__)

#: What became of the server's signing key (a class archive only).
KEY_RESTORED = "restored"
KEY_SAME = "already this server's"
KEY_KEPT = "kept this server's"
MODEL_LEFT_OUT = ("Restored from an archive without its model: a model file from an archive is never loaded on a "
                  "shared server; train the run again to use it")
_MEASURED_HERE = ("test", "test_accuracy")
_ROW_NOUNS = {"epochs": "epoch", "answers": "answer", "reveals": "revealed explanation", "student_names":
              "student's name", "receipts": "receipt", "class_settings": "class setting", "starts": "training started"}


@dataclass(frozen=True)
class ImportSummary:
    """What an import did.

    Attributes
    ----------
    scope : str
        ``class`` or ``own``.
    runs_added, runs_skipped : int
        Runs written, and runs already here (skipped with their rows and files).
    rows_added : dict
        Table name to rows written, for the tables other than ``runs``.
    models_restored, models_left_out : int
        Models written, and models of a student's archive not restored (see the module's docstring).
    datasets_added, datasets_skipped : tuple of str
        Datasets written, and those already here with the same files.
    server_key : str
        :data:`KEY_RESTORED`, :data:`KEY_SAME`, :data:`KEY_KEPT` or "" (the archive carries no key).
    """

    scope: str
    runs_added: int
    runs_skipped: int
    rows_added: dict[str, int] = field(default_factory=dict)
    models_restored: int = 0
    models_left_out: int = 0
    datasets_added: tuple[str, ...] = ()
    datasets_skipped: tuple[str, ...] = ()
    server_key: str = ""

    @property
    def message(self) -> str:
        """What the import did, in sentences for the page and the command line."""
        parts = [f"Imported {plural(self.runs_added, 'run')}; {self.runs_skipped} already here were skipped."]
        written = [plural(count, _ROW_NOUNS[name]) for name, count in self.rows_added.items() if count]
        if written:
            parts.append(f"Added {', '.join(written)}.")
        parts.append(f"{plural(self.models_restored, 'model')} restored.")
        if self.models_left_out:
            parts.append(f"{self.models_left_out} left out: a model from a student's archive is never loaded here.")
        if self.datasets_added or self.datasets_skipped:
            parts.append(f"Datasets added: {', '.join(self.datasets_added) or 'none'}; already here: "
                         f"{', '.join(self.datasets_skipped) or 'none'}.")
        if self.server_key == KEY_RESTORED:
            parts.append("The archive's signing key now signs and checks hand-ins here: receipts issued before "
                         "still verify.")
        elif self.server_key == KEY_KEPT:
            parts.append("This server had already signed hand-ins with its own key, which it keeps: hand-ins "
                         "issued by the archive's server show as made by another server.")
        return " ".join(parts)


def import_archive(store: RunStore, source: IO[bytes] | bytes) -> ImportSummary:
    """Check an archive whole, then restore it for the store's user.

    Parameters
    ----------
    store : RunStore
        Acting for whoever imports (see the module's docstring for what each may import).
    source : file-like or bytes
        The archive.

    Returns
    -------
    ImportSummary

    Raises
    ------
    ArchiveError
        Anything wrong with the archive (see :func:`mnist_lab.archive.members.read_archive`), a row of the wrong
        form, rows or datasets of another student in a student's archive, a class archive imported by a
        student, a run id here that belongs to another student. Nothing was written.
    StoreError
        The store cannot be written.
    """
    try:
        summary = _import(store, source)
    except ArchiveError as error:
        logger.info("an archive imported by %s was refused: %s", store.user.id, error)
        raise
    logger.info("archive imported by %s: %s", store.user.id, summary)
    return summary


def _import(store: RunStore, source: IO[bytes] | bytes) -> ImportSummary:
    archive = read_archive(source)
    rows = _decoded(archive)
    user = store.user
    _check_ownership(archive, rows, user)
    trusted = user.id in (PERSONAL.id, SERVER.id) or (user.teacher and archive.scope == CLASS)
    files = _run_files(archive, {row["id"] for row in rows["runs"]}) if trusted else {}
    staged, datasets_skipped = archive_datasets.stage(archive_datasets.grouped(archive.members), store.home, user,
                                                          store.database_url)
    added: set[str] = set()
    try:
        with store.transaction() as db:
            added, skipped = _new_runs(db, rows["runs"])
            counts, key = _write_rows(db, rows, added, user, trusted=trusted)
            new_files = {key_: data for key_, data in files.items() if key_[0] in added}
            if store.files_in_database:
                for (run_id, name), data in new_files.items():
                    put(db, run_id, name, data)
            _write_folders(store, added, new_files)  # before the commit: a full disk leaves nothing imported
    except BaseException:
        for run_id in added:
            shutil.rmtree(store.home / "runs" / run_id, ignore_errors=True)
        for entry in staged:
            entry.drop()
        raise
    for entry in staged:
        archive_datasets.publish(entry, store.database_url)
    models = sum(run_id in added for run_id, name in files if name == MODEL_FILE)
    left_out = 0 if trusted else sum(1 for name in archive.members if name.endswith("/" + MODEL_FILE))
    return ImportSummary(archive.scope, len(added), len(skipped), counts, models, left_out,
                         tuple(entry.name for entry in staged), tuple(datasets_skipped), key)


def _decoded(archive: ReadArchive) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, checked, and their counts against the manifest's."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in tables.TABLES}
    counts = archive.manifest.get("counts")
    for name, data in archive.members.items():
        if not (match := TABLE_MEMBER.fullmatch(name)):
            continue
        table = tables.TABLES.get(match.group(1))
        if table is None:
            raise ArchiveError(f"the archive holds a table {match.group(1)!r} that MNIST Lab does not have")
        rows[table.name] = tables.decode(table, data)
        if not isinstance(counts, dict) or counts.get(table.name) != len(rows[table.name]):
            raise ArchiveError(f"the archive's manifest counts {counts.get(table.name) if isinstance(counts, dict) else None}"
                               f" rows of {table.name}, the table holds {len(rows[table.name])}: it was altered")
    run_ids = {row["id"] for row in rows["runs"]}
    if len(run_ids) != len(rows["runs"]):
        raise ArchiveError("the archive holds a run twice")
    for table in (schema.epochs, schema.answers, schema.reveals):
        orphan = next((row["run_id"] for row in rows[table.name] if row["run_id"] not in run_ids), None)
        if orphan is not None:
            raise ArchiveError(f"the archive's {table.name} name the run {orphan}, which the archive does not hold")
    return rows


def _check_ownership(archive: ReadArchive, rows: dict[str, list[dict[str, Any]]], user: User) -> None:
    """Refuse what the importer may not bring (see the module's docstring)."""
    if archive.scope == CLASS and not user.teacher:
        raise ArchiveError("this is a teacher's archive of a whole class: only a teacher imports it")
    class_rows = [table.name for table in tables.CLASS_TABLES if rows[table.name]]
    if archive.scope == OWN and class_rows:
        raise ArchiveError(f"an archive of one user's runs cannot carry the class's {', '.join(class_rows)}: it was "
                           "altered")
    if user.teacher:
        return
    others = sorted({row["student"] for row in (*rows["runs"], *rows["student_names"]) if row["student"] != user.id})
    if others:
        raise ArchiveError(f"this archive holds runs or names of {len(others)} other user"
                           f"{'s' * (len(others) != 1)}; you can import only your own runs")


def _run_files(archive: ReadArchive, run_ids: set[str]) -> dict[tuple[str, str], bytes]:
    """The runs' models and arrays, each checked for its kind (a zip; an array numpy reads without pickle)."""
    found = {}
    for name, data in archive.members.items():
        if not (match := RUN_MEMBER.fullmatch(name)):
            continue
        run_id, file = match.groups()
        if run_id not in run_ids:
            raise ArchiveError(f"the archive holds {name} of a run it does not hold")
        if file == MODEL_FILE and not data.startswith(ZIP_MAGIC):
            raise ArchiveError(f"the archive's {name} is not a Keras model file")
        if file != MODEL_FILE:
            try:
                np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, OSError, EOFError) as error:
                raise ArchiveError(f"the archive's {name} is not a numpy array ({error})") from error
        found[(run_id, file)] = data
    return found


def _new_runs(db, runs: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The archive's runs not yet here, and those here already (same student), refusing another student's id."""
    ids = [row["id"] for row in runs]
    here = dict(db.execute(sa.select(schema.runs.c.id, schema.runs.c.student).where(schema.runs.c.id.in_(ids))
                           ).all()) if ids else {}
    for row in runs:
        if row["id"] in here and here[row["id"]] != row["student"]:
            raise ArchiveError(f"the archive's run {row['id']} belongs to {row['student_name']!r}, but this server "
                               "has a run with that id of another student: nothing was imported")
    return {run_id for run_id in ids if run_id not in here}, {run_id for run_id in ids if run_id in here}


def _write_rows(db, rows: dict[str, list[dict[str, Any]]], added: set[str], user: User, *,
                trusted: bool) -> tuple[dict[str, int], str]:
    """Insert the archive's rows for the runs added, and the class's rows not here yet; return counts and key."""
    for row in rows["runs"]:
        if row["id"] in added:
            db.execute(schema.runs.insert().values(**_restored_run(row, user, trusted=trusted)))
    key = _restore_key(db, rows["server_keys"])  # before the receipts: it asks whether this server issued any
    counts = {}
    for table in (schema.epochs, schema.answers, schema.reveals):
        chosen = [row for row in rows[table.name] if row["run_id"] in added]
        if chosen:
            db.execute(table.insert(), chosen)
        counts[table.name] = len(chosen)
    for table, keys in ((schema.student_names, ("student",)), (schema.receipts, ("code",)),
                        (schema.class_settings, ("key",))):
        counts[table.name] = sum(schema.insert_or(db, table, row, keys=keys).rowcount for row in rows[table.name])
    counts["starts"] = _add_starts(db, rows["starts"])
    return counts, key


def _restored_run(row: dict[str, Any], user: User, *, trusted: bool) -> dict[str, Any]:
    """A run's row as it is written here: no process trains it; a student's loses its model and test figures."""
    restored = {**row, "owner": "", "status": INTERRUPTED if row["status"] == RUNNING else row["status"]}
    if not trusted:
        metrics = {key: value for key, value in json.loads(row["metrics"]).items() if key not in _MEASURED_HERE}
        restored.update(saved_epochs=0, message=MODEL_LEFT_OUT, metrics=json.dumps(metrics))
    if not user.teacher:
        restored["student_name"] = user.name
    return restored


def _add_starts(db, starts: list[dict[str, Any]]) -> int:
    """Add the trainings started that are not here yet (the table has no key: compare whole rows)."""
    here = {(row.student, row.started) for row in db.execute(sa.select(schema.starts))}
    new = [row for row in {(row["student"], row["started"]) for row in starts} if row not in here]
    if new:
        db.execute(schema.starts.insert(), [{"student": student, "started": started} for student, started in new])
    return len(new)


def _restore_key(db, keys: list[dict[str, Any]]) -> str:
    """Take the archive's signing key unless this server already signed receipts with another (then keep it)."""
    if not keys:
        return ""
    if len(keys) != 1 or keys[0]["name"] != "receipts" or len(keys[0]["value"]) != 32:
        raise ArchiveError("the archive's server key is not one MNIST Lab makes: it was altered")
    value = keys[0]["value"]
    current = db.execute(sa.select(schema.server_keys.c.value).where(schema.server_keys.c.name == "receipts")
                         ).scalar_one_or_none()
    if current is not None and bytes(current) == value:
        return KEY_SAME
    issued = db.execute(sa.select(sa.func.count()).select_from(schema.receipts)).scalar_one()
    if current is not None and issued:
        return KEY_KEPT
    schema.insert_or(db, schema.server_keys, {"name": "receipts", "value": value}, keys=("name",), update=("value",))
    return KEY_RESTORED


def _write_folders(store: RunStore, added: set[str], files: dict[tuple[str, str], bytes]) -> None:
    """Make each added run's folder and write its files (on a database server, its cache)."""
    for run_id in added:
        (store.home / "runs" / run_id).mkdir(parents=True, exist_ok=True)
    for (run_id, name), data in files.items():
        try:
            write_atomically(store.home / "runs" / run_id / name, data)
        except OSError as error:
            raise ArchiveError(f"the file {name} of run {run_id} could not be written ({error.strerror or error}): "
                               "nothing was imported; free some space and import the archive again") from error
