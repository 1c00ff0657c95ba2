"""Writing an archive: a teacher's whole class, or one user's own runs, from the run store and the home."""

from __future__ import annotations

import logging
from typing import IO, Any

import sqlalchemy as sa

from mnist_lab.archive import datasets as archive_datasets
from mnist_lab.archive import tables
from mnist_lab.archive.members import ARRAY_FILE, CLASS, OWN, ArchiveWriter
from mnist_lab.runs import schema
from mnist_lab.runs.files import MODEL_FILE
from mnist_lab.runs.store import RunStore

logger = logging.getLogger(__name__)


def export_archive(store: RunStore, target: IO[bytes]) -> dict[str, Any]:
    """Write the archive of what the store's user may take away into ``target``; return its manifest.

    A teacher's archive holds the whole class: every run with its epochs, model and cached arrays, answers,
    revealed explanations, typed names, the class's settings, the trainings started, the receipts issued and the
    server's signing key (so hand-ins issued before still verify after a restore: keep the archive private), and
    every imported dataset. Anyone else's holds their own runs with theirs, their name and the datasets they
    added; never the key, receipts, settings or another student's rows.

    Parameters
    ----------
    store : RunStore
        Acting for the user whose archive it is.
    target : file-like
        Opened for binary writing.

    Returns
    -------
    dict
        The manifest written into the archive (its ``counts`` say what it holds).

    Raises
    ------
    StoreError
        The store cannot be read.
    """
    user = store.user
    writer = ArchiveWriter(target, scope=CLASS if user.teacher else OWN, owner={"id": user.id, "name": user.name})
    with store.transaction(write=False) as db:
        rows = _rows(db, user.id, everyone=user.teacher)
        run_ids = [row["id"] for row in rows["runs"]]
        files = _run_files(store, db, run_ids)
    counts = {name: len(table_rows) for name, table_rows in rows.items()}
    for name, table_rows in rows.items():
        writer.add_json(f"tables/{name}.json", tables.encode(table_rows))
    for (run_id, name), data in files.items():
        writer.add(f"runs/{run_id}/{name}", data)
    found = archive_datasets.exported(store.home, user, store.database_url)
    for name, dataset_files in found.items():
        for file, data in dataset_files.items():
            writer.add(f"datasets/{name}/{file}", data)
    counts.update(models=sum(name == MODEL_FILE for _, name in files), arrays=sum(name != MODEL_FILE for _, name in files),
                  datasets=len(found))
    manifest = writer.close(counts)
    logger.info("archive of %s written: %s", user.id, counts)
    return manifest


def _rows(db, student: str, *, everyone: bool) -> dict[str, list]:
    """Every table's rows the archive carries."""
    if everyone:
        return {table.name: db.execute(sa.select(table)).mappings().all() for table in tables.TABLES.values()}
    runs = db.execute(sa.select(schema.runs).where(schema.runs.c.student == student)).mappings().all()
    ids = [row["id"] for row in runs]
    found = {"runs": runs}
    for table in (schema.epochs, schema.answers, schema.reveals):
        found[table.name] = db.execute(sa.select(table).where(table.c.run_id.in_(ids))).mappings().all() if ids else []
    found["student_names"] = db.execute(sa.select(schema.student_names).where(
        schema.student_names.c.student == student)).mappings().all()
    return found


def _run_files(store: RunStore, db, run_ids: list[str]) -> dict[tuple[str, str], bytes]:
    """Each run's model and cached arrays: from the database on a server, else from the run's folder."""
    if store.files_in_database:
        files = schema.run_files
        rows = db.execute(sa.select(files.c.run_id, files.c.name, files.c.data).where(files.c.run_id.in_(run_ids))
                          ).mappings().all() if run_ids else []
        return {(row["run_id"], row["name"]): bytes(row["data"]) for row in rows}
    found = {}
    for run_id in run_ids:
        folder = store.home / "runs" / run_id
        paths = [folder / MODEL_FILE, *sorted(path for path in folder.glob("*.npy") if ARRAY_FILE.fullmatch(path.name))]
        found.update({(run_id, path.name): path.read_bytes() for path in paths if path.is_file()})
    return found
