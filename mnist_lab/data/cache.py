"""The server's loaded datasets: bounded by bytes, least recently used out first, released when no page uses them.

A server shared by a class cannot keep every dataset anyone ever opened: each of those takes up to 122 MB (the
limits of :mod:`mnist_lab.data.limits`) for the life of the process. The cache keeps the datasets last used
within ``limits.DATASET_CACHE_BYTES``; one pushed out stays reachable only through the pages (or trainings)
still holding it, through a weak reference, so that they share it instead of loading it twice, and its memory
is given back as soon as the last of them lets go of it.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable

from mnist_lab.data import limits
from mnist_lab.data.datasets import Dataset

logger = logging.getLogger(__name__)


def dataset_bytes(dataset: Dataset) -> int:
    """Return the bytes of a dataset's four arrays (what the cache counts against its budget)."""
    return sum(array.nbytes for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test))


class DatasetCache:
    """Datasets by name, each with the key of the files it was read from; see the module's docstring.

    Parameters
    ----------
    budget : int, optional
        Bytes of datasets kept loaded; by default ``limits.DATASET_CACHE_BYTES`` read on every insertion, so a
        test can lower it. A dataset larger than the budget is returned but not kept.
    """

    def __init__(self, budget: int | None = None):
        self._budget = budget
        self._lock = threading.RLock()
        self._kept: OrderedDict[str, tuple[Hashable, Dataset, int]] = OrderedDict()
        self._loose: dict[str, tuple[Hashable, weakref.ref]] = {}

    @property
    def budget(self) -> int:
        """The byte budget in force."""
        return self._budget if self._budget is not None else limits.DATASET_CACHE_BYTES

    def get(self, name: str, key: Hashable, load: Callable[[], Dataset]) -> Dataset:
        """Return the dataset ``name`` read from files with ``key``, calling ``load`` when it is not in memory.

        A dataset kept or still in use under another key (its files changed) is dropped and read again.
        """
        with self._lock:
            kept = self._kept.get(name)
            if kept is not None and kept[0] == key:
                self._kept.move_to_end(name)
                return kept[1]
            loose = self._loose.pop(name, None)
            dataset = loose[1]() if loose is not None and loose[0] == key else None
            self._kept.pop(name, None)
            if dataset is None:
                dataset = load()
                logger.info("loaded the dataset %r (%.1f MB)", name, dataset_bytes(dataset) / 1024**2)
            self._keep(name, key, dataset)
            return dataset

    def _keep(self, name: str, key: Hashable, dataset: Dataset) -> None:
        """Keep ``dataset`` as the most recently used, pushing out the least recently used over the budget."""
        self._kept[name] = (key, dataset, dataset_bytes(dataset))
        while self.kept_bytes > self.budget and self._kept:
            old_name, (old_key, old, size) = self._kept.popitem(last=False)
            self._loose[old_name] = (old_key, weakref.ref(old))
            logger.info("released the dataset %r (%.1f MB) from the cache", old_name, size / 1024**2)
        self._loose = {name: entry for name, entry in self._loose.items() if entry[1]() is not None}

    def release(self, name: str) -> None:
        """Forget the dataset ``name`` (deleted, or its files replaced); pages still holding it keep their copy."""
        with self._lock:
            self._kept.pop(name, None)
            self._loose.pop(name, None)

    def clear(self) -> None:
        """Forget every dataset."""
        with self._lock:
            self._kept.clear()
            self._loose.clear()

    @property
    def kept_bytes(self) -> int:
        """Bytes of the datasets kept (not counting those pushed out but still used by a page)."""
        with self._lock:
            return sum(size for _, _, size in self._kept.values())

    def names(self) -> list[str]:
        """Names of the datasets kept, least recently used first."""
        with self._lock:
            return list(self._kept)

    def in_memory(self) -> list[str]:
        """Names of the datasets in memory: kept, or pushed out but still used somewhere."""
        with self._lock:
            loose = [name for name, (_, ref) in self._loose.items() if ref() is not None]
            return [*self._kept, *loose]

    def __repr__(self) -> str:
        return (f"DatasetCache({len(self._kept)} datasets, {limits.format_bytes(self.kept_bytes)} of "
                f"{limits.format_bytes(self.budget)})")
