"""Find datasets by name: the bundled MNIST, folders named in ``MNIST_LAB_DATASETS``, imports in the home.

Names come, in this order, from:

1. the bundled MNIST, named ``MNIST``;
2. each folder of ``MNIST_LAB_DATASETS`` (``os.pathsep``-separated, ``/path/a:/path/b`` on Linux and macOS),
   in the order given, named after the folder (listed even when the folder is missing, so that choosing it
   says what is wrong);
3. each imported dataset, sorted by name: a folder under ``<home>/datasets/``, or, with a database server, a
   dataset of its ``datasets`` table (:mod:`mnist_lab.data.stored`), written back to that folder before it is read.

When two have the same name, the first in this order wins and the later one is skipped: a folder named
``MNIST`` never hides the bundled MNIST, and an import cannot take a name already in use.

Loaded datasets are kept in one :class:`mnist_lab.data.cache.DatasetCache` per process, bounded by
``limits.DATASET_CACHE_BYTES`` (least recently used out first), one per name, keyed by the folder and its files'
sizes and modification times, so a folder whose files change (a new import under a freed name) is read again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mnist_lab.data import stored
from mnist_lab.data.cache import DatasetCache
from mnist_lab.data.datasets import BUNDLED, MNIST, MNIST_NAME, Dataset, shared_mnist
from mnist_lab.data.folders import read_idx_folder
from mnist_lab.errors import DatasetError
from mnist_lab.paths import default_home

logger = logging.getLogger(__name__)

DATASETS_ENV = "MNIST_LAB_DATASETS"

#: The process's loaded datasets other than MNIST (see :mod:`mnist_lab.data.cache`).
cache = DatasetCache()


def datasets_root(home: Path | None = None) -> Path:
    """Return the folder holding imported datasets: ``<home>/datasets``."""
    return (home if home is not None else default_home()) / "datasets"


def _registered(home: Path | None, database: str | None = None) -> dict[str, Path]:
    """Return the folder of each dataset other than MNIST, by name, in the order of the module's docstring."""
    found: dict[str, Path] = {}
    for entry in os.environ.get(DATASETS_ENV, "").split(os.pathsep):
        folder = Path(entry.strip()).expanduser()
        if entry.strip() and folder.name and folder.name != MNIST_NAME:
            found.setdefault(folder.name, folder)
    root = datasets_root(home)
    engine = stored.server_engine(home, database)
    if engine is not None:
        for record in stored.stored_datasets(engine):
            if record.name != MNIST_NAME:
                found.setdefault(record.name, root / record.name)
        return found
    try:
        imported = sorted((child for child in root.iterdir() if child.is_dir()), key=lambda child: child.name)
    except FileNotFoundError:  # no home yet: no imports to list
        imported = []
    except OSError as error:
        logger.warning("The datasets folder %s cannot be listed (%s): its imports are not offered", root, error)
        imported = []
    for folder in imported:
        if not folder.name.startswith(".") and folder.name != MNIST_NAME:  # dot folders are imports under way
            found.setdefault(folder.name, folder)
    return found


def dataset_names(home: Path | None = None, *, database: str | None = None) -> list[str]:
    """Return the names of the available datasets, MNIST first.

    Parameters
    ----------
    home : Path, optional
        Home directory whose ``datasets/`` folder holds imports; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL; with a server, the imports are those of its ``datasets`` table.
        ``$MNIST_LAB_DATABASE_URL``, else the home's SQLite file (the home's folders), when absent.

    Returns
    -------
    list of str
        ``MNIST``, then the folders of ``MNIST_LAB_DATASETS`` in their order, then the imports sorted by
        name; a name taken earlier skips later ones.
    """
    return [MNIST_NAME, *_registered(home, database)]


def _fingerprint(folder: Path) -> tuple:
    """Return the name, size and modification time of each file in ``folder``."""
    try:
        entries = [(entry.name, entry.stat()) for entry in folder.iterdir() if entry.is_file()]
    except OSError as error:
        raise DatasetError(f"the folder of the dataset {folder.name!r} cannot be read ({error.strerror or error})") from error
    return (str(folder.resolve()), *sorted((name, info.st_size, info.st_mtime_ns) for name, info in entries))


def get_dataset(name: str, home: Path | None = None, *, database: str | None = None) -> Dataset:
    """Return the dataset called ``name``, from the process's byte-bounded cache or read from its folder.

    Parameters
    ----------
    name : str
        One of ``dataset_names(home)``.
    home : Path, optional
        Home directory of imported datasets; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL (see ``dataset_names``). With a server, an import missing from the home, or
        another version of it, is first written back to ``<home>/datasets/<name>/`` from the database.

    Returns
    -------
    Dataset
        Read-only arrays; the bundled MNIST is ``shared_mnist()``.

    Raises
    ------
    DatasetError
        No dataset has this name (the message lists those that exist), its folder is gone, its copy in the
        database is damaged or altered, or its files are refused by ``read_idx_folder``.
    """
    if name == MNIST_NAME:
        return shared_mnist()
    folder = local_folder(name, home, database=database)
    try:
        return cache.get(name, _fingerprint(folder), lambda: read_idx_folder(folder, name=name, where=name))
    except DatasetError as error:
        logger.warning("The dataset %r in %s cannot be used: %s", name, folder, error)
        raise


def local_folder(name: str, home: Path | None = None, *, database: str | None = None) -> Path:
    """Return the folder that holds the files of the dataset ``name`` (not MNIST), written back first if need be.

    Parameters
    ----------
    name : str
        An imported dataset, or a folder of ``MNIST_LAB_DATASETS``.
    home : Path, optional
        Home directory of imported datasets; defaults to ``paths.default_home()``.
    database : str, optional
        The run store's database URL (see ``dataset_names``). With a server, an import missing from the home, or
        another version of it, is written back to ``<home>/datasets/<name>/`` from the database.

    Raises
    ------
    DatasetError
        No dataset has this name, its folder is gone, or its copy in the database is damaged or altered.
    """
    registered = _registered(home, database)
    folder = registered.get(name)
    if folder is None:
        raise DatasetError(f"no dataset named {name!r}; available: {', '.join([MNIST_NAME, *registered])}")
    engine = stored.server_engine(home, database) if folder.parent == datasets_root(home) else None
    if engine is not None:
        stored.materialize(engine, name, folder)
    if not folder.is_dir():
        raise DatasetError(f"the folder of the dataset {name!r} does not exist (check {DATASETS_ENV})")
    return folder


def dataset_for_run(name: str, sha256: str, home: Path | None = None, *, database: str | None = None) -> Dataset:
    """Return the dataset a run was trained on, refusing it when its content has changed since.

    Parameters
    ----------
    name : str
        The dataset's name recorded with the run.
    sha256 : str
        The dataset's combined checksum recorded with the run; empty for runs from before datasets had one,
        which is accepted for MNIST only.
    home : Path, optional
        Home directory of imported datasets.
    database : str, optional
        The run store's database URL (see ``get_dataset``).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        The dataset is unknown or unreadable (see ``get_dataset``), or its checksum differs from ``sha256``.
    """
    dataset = get_dataset(name, home, database=database)
    if not sha256 and name == MNIST_NAME:
        return dataset
    if not sha256:
        raise DatasetError(f"the run does not record which version of the dataset {name!r} it was trained on")
    if dataset.sha256 != sha256:
        raise DatasetError(
            f"the dataset {name!r} has changed since this run was trained (checksum {sha256[:12]}… then, "
            f"{dataset.sha256[:12]}… now): its model cannot be evaluated on it; train a new run"
        )
    return dataset


def dataset_folder(name: str, home: Path | None = None) -> Path:
    """Return the folder holding the files of the dataset called ``name`` (the bundled copy for MNIST).

    Raises
    ------
    DatasetError
        No dataset has this name.
    """
    if name == MNIST_NAME:
        return BUNDLED / MNIST.folder
    folder = _registered(home).get(name)
    if folder is None:
        raise DatasetError(f"no dataset named {name!r}")
    return folder
