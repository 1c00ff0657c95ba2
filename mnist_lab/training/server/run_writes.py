"""A training's writes to the run store, kept while its database server cannot be reached and written once it is back.

The process that follows a training is the one writer of its epochs, its model and its final status. When the
database server goes away (stopped, restarted, the network cut), the writes wait here in their order: the epochs'
rows and the final status in memory, each model's bytes in a file of the run's folder in the home. They are tried
again, in order, with every new write and, between writes, once their back-off delay has passed (doubling from
:data:`RETRY_FIRST_SECONDS` to :data:`RETRY_MAX_SECONDS`), until they land. Every write replaces what it wrote
before (an epoch's row the row of the same epoch, a model the model), so repeating one that landed just before its
connection broke changes nothing.

A process that ends before its writes land leaves its run ``running`` in the database; the next process that opens
the store marks it interrupted (:mod:`mnist_lab.runs.liveness`), usable up to the last epoch that landed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_lab.errors import DatabaseUnreachableError
from mnist_lab.runs import store as run_store
from mnist_lab.text import plural

logger = logging.getLogger(__name__)

#: Seconds before the first retry of writes the database refused for being away; each failed retry doubles it.
RETRY_FIRST_SECONDS = 0.5
#: The longest wait between two retries: a database back is written to within this many seconds.
RETRY_MAX_SECONDS = 10.0


@dataclass(frozen=True)
class _Write:
    """One write of a training, kept until the database takes it."""

    what: str
    call: Callable[[], None]
    held_file: Path | None = None  # a model's bytes, kept in the run's folder meanwhile


class RunWrites:
    """The writes of one training's run, in order; those the database cannot take yet are kept and retried.

    Parameters
    ----------
    store : RunStore
        The store of the run's owner (a run is changed only by its owner).
    run_id : str
        The run the training writes.
    """

    def __init__(self, store: run_store.RunStore, run_id: str):
        self.store = store
        self.run_id = run_id
        self._kept: deque[_Write] = deque()
        # Held while writing (a try may wait out the connect timeout); the kept list has a lock of its own, so that
        # a page asking what waits (waiting_text) never waits for the database.
        self._lock = threading.Lock()
        self._kept_lock = threading.Lock()
        self._away_since: float | None = None
        self._delay = RETRY_FIRST_SECONDS
        self._next_try = 0.0

    def __repr__(self) -> str:
        state = f"{self.kept} kept, database away" if self._away_since is not None else "all written"
        return f"<RunWrites of run {self.run_id}: {state}>"

    @property
    def kept(self) -> int:
        """How many writes wait for the database."""
        with self._kept_lock:
            return len(self._kept)

    def waiting_text(self) -> str:
        """A sentence saying what waits for the database, or "" when nothing does."""
        with self._kept_lock:
            epochs = sum(write.what.startswith("epoch") for write in self._kept)
            final = any(write.what == "final status" for write in self._kept)
        if not epochs and not final:
            return ""
        what = " and ".join(part for part in (plural(epochs, "epoch") if epochs else "",
                                              "the final status" if final else "") if part)
        verb = "are" if epochs + final > 1 else "is"
        return (f"The database cannot be reached right now: {what} of this run {verb} kept here and saved when it "
                "answers again.")

    def record_epoch(self, epoch: int, row: dict[str, Any], *, model_saved: bool) -> None:
        """Store one epoch's row (see ``RunStore.record_epoch``), now or once the database is back."""
        self._write(_Write(f"epoch {epoch}", lambda: self.store.record_epoch(self.run_id, epoch, row,
                                                                             model_saved=model_saved)))

    def save_model(self, epoch: int, model: bytes) -> None:
        """Store the model of ``epoch`` (see ``RunStore.save_model``); while the database is away, its bytes wait
        in the run's folder, not in memory.

        Raises
        ------
        StoreError
            The model cannot be written to the run's folder either (a full disk).
        """
        with self._lock:
            if not self.kept and self._try(lambda: self.store.save_model(self.run_id, model)):
                return
            held = self.store.keep_locally(self.run_id, f".model-epoch{epoch}.keras", model)
            self._push(_Write(f"model of epoch {epoch}", lambda: self.store.save_model(self.run_id, held.read_bytes()),
                              held))

    def finish(self, status: str, *, message: str, metrics: dict[str, Any]) -> None:
        """Store the run's final status (see ``RunStore.finish``), now or once the database is back."""
        self._write(_Write("final status", lambda: self.store.finish(self.run_id, status, message=message,
                                                                     metrics=metrics)))

    def retry(self, *, now: bool = False) -> bool:
        """Try the kept writes again, in order, if their delay has passed (or ``now``); return whether all landed.

        Raises
        ------
        StoreError
            A kept write failed for another reason than the database being away; it stays kept.
        """
        with self._lock:
            if not self.kept:
                return True
            if not now and time.monotonic() < self._next_try:
                return False
            return self._flush()

    def land(self) -> None:
        """Retry until every kept write has landed, waiting out each back-off delay (the thread blocks meanwhile)."""
        while not self.retry():
            with self._lock:
                delay = self._next_try - time.monotonic()
            time.sleep(max(0.0, delay))

    def _write(self, write: _Write) -> None:
        with self._lock:
            if self.kept:  # behind the kept ones, in order; this new write is a moment to try them again
                self._push(write)
                self._flush()
            elif not self._try(write.call):
                self._push(write)

    def _push(self, write: _Write) -> None:
        with self._kept_lock:
            self._kept.append(write)

    def _try(self, call: Callable[[], None]) -> bool:
        """Make one write; False when the database is away (lock held)."""
        try:
            # Renewed before every write: a server that restarted dropped the lock that tells other processes this
            # one still trains the run, which they would otherwise mark interrupted.
            self.store.announce()
            call()
        except DatabaseUnreachableError as error:
            self._went_away(error)
            return False
        return True

    def _flush(self) -> bool:
        """Write the kept writes in order until one fails because the database is away (lock held)."""
        count = self.kept
        try:
            self.store.announce()  # the liveness lock went with the server's old connection
            while self.kept:
                write = self._kept[0]  # only this thread, holding the write lock, takes writes off
                write.call()
                with self._kept_lock:
                    self._kept.popleft()
                if write.held_file is not None:
                    write.held_file.unlink(missing_ok=True)
        except DatabaseUnreachableError as error:
            self._went_away(error)
            return False
        logger.warning("Training %s: the database answers again after %.0f s; the %s kept meanwhile are stored.",
                       self.run_id, time.monotonic() - (self._away_since or time.monotonic()),
                       plural(count, "write"))
        self._away_since, self._delay, self._next_try = None, RETRY_FIRST_SECONDS, 0.0
        return True

    def _went_away(self, error: DatabaseUnreachableError) -> None:
        """Count one more failed try: log the outage once, push the next try back (lock held)."""
        if self._away_since is None:
            self._away_since = time.monotonic()
            logger.warning("Training %s: %s. Its epochs, model and status are kept in this process (models in the "
                           "run's folder) and stored when the database answers again.", self.run_id, error)
        else:
            self._delay = min(2 * self._delay, RETRY_MAX_SECONDS)
        self._next_try = time.monotonic() + self._delay
