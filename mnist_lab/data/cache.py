"""The server's loaded datasets: bounded by bytes, least recently used out first, released when no page uses them.

A server shared by a class cannot keep every dataset anyone ever opened: each of those takes up to 116 MB (the
limits of :mod:`mnist_lab.data.limits`) for the life of the process. The cache keeps the datasets last used
within ``limits.DATASET_CACHE_BYTES``, and lets go of one nobody has asked for in
``limits.DATASET_IDLE_SECONDS`` (a page asks on every rerun, so a dataset some page shows stays). One it lets
go of stays reachable only through the pages (or trainings) still holding it, through a weak reference, so
that they share it instead of loading it twice, and its memory is given back as soon as the last of them
lets go of it (``benchmarks/dataset_cache_rss.py`` measures that).
"""

from __future__ import annotations

import logging
import threading
import time
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
    idle : float, optional
        Seconds after its last use that a dataset is let go of; by default ``limits.DATASET_IDLE_SECONDS``.
    """

    def __init__(self, budget: int | None = None, idle: float | None = None):
        self._budget = budget
        self._idle = idle
        self._lock = threading.RLock()
        #: name -> (key, dataset, bytes, time of last use), least recently used first.
        self._kept: OrderedDict[str, tuple[Hashable, Dataset, int, float]] = OrderedDict()
        self._loose: dict[str, tuple[Hashable, weakref.ref]] = {}
        self._timer: threading.Timer | None = None

    @property
    def budget(self) -> int:
        """The byte budget in force."""
        return self._budget if self._budget is not None else limits.DATASET_CACHE_BYTES

    @property
    def idle(self) -> float:
        """Seconds after its last use that a dataset is let go of."""
        return self._idle if self._idle is not None else limits.DATASET_IDLE_SECONDS

    def get(self, name: str, key: Hashable, load: Callable[[], Dataset]) -> Dataset:
        """Return the dataset ``name`` read from files with ``key``, calling ``load`` when it is not in memory.

        A dataset kept or still in use under another key (its files changed) is dropped and read again.
        """
        with self._lock:
            kept = self._kept.get(name)
            if kept is not None and kept[0] == key:
                self._kept[name] = (*kept[:3], time.monotonic())
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
        self._kept[name] = (key, dataset, dataset_bytes(dataset), time.monotonic())
        while self.kept_bytes > self.budget and self._kept:
            self._let_go(next(iter(self._kept)), "over the cache's budget")
        self._loose = {name: entry for name, entry in self._loose.items() if entry[1]() is not None}
        if self._kept and (self._timer is None or not self._timer.is_alive()):
            self._timer = threading.Timer(self.idle, self._tick)
            self._timer.daemon = True
            self._timer.start()

    def _let_go(self, name: str, why: str) -> None:
        """Stop keeping ``name``; whoever still holds it keeps it alive through the weak reference."""
        key, dataset, size, _ = self._kept.pop(name)
        self._loose[name] = (key, weakref.ref(dataset))
        logger.info("let go of the dataset %r (%.1f MB): %s", name, size / 1024**2, why)

    def trim(self, idle: float | None = None) -> list[str]:
        """Let go of the datasets not used for ``idle`` seconds (the cache's ``idle`` by default); return their names."""
        idle = self.idle if idle is None else idle
        with self._lock:
            now = time.monotonic()
            stale = [name for name, entry in self._kept.items() if now - entry[3] >= idle]
            for name in stale:
                self._let_go(name, f"not used for {idle:g} s")
            return stale

    def _tick(self) -> None:
        """Trim, then check again while datasets are kept (a daemon timer: nothing stops the process for it)."""
        self.trim()
        with self._lock:
            if self._kept:
                oldest = min(entry[3] for entry in self._kept.values())
                wait = max(oldest + self.idle - time.monotonic(), 0.05)
                self._timer = threading.Timer(wait, self._tick)
                self._timer.daemon = True
                self._timer.start()
            else:
                self._timer = None

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
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    @property
    def kept_bytes(self) -> int:
        """Bytes of the datasets kept (not counting those pushed out but still used by a page)."""
        with self._lock:
            return sum(entry[2] for entry in self._kept.values())

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
