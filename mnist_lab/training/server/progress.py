"""A training's live progress as the server follows it: the figures the Train page draws, safe from any thread.

The thread that follows a training writes here (one message at a time); pages read a consistent copy
(:class:`Progress`) at every rerun.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

from mnist_lab.runs import store as run_store
from mnist_lab.training.server.outcomes import saved_epoch, waiting_text

#: Batch rows kept for the live curve: beyond it every other row is dropped, so a long training keeps its shape.
BATCH_ROWS_KEPT = 600
#: The recent batches the speed and the time left are measured over.
SPEED_BATCHES = 50
WAITING, TRAINING, ENDED = "waiting", "training", "ended"


@dataclass
class Progress:
    """A consistent copy of a job's state for drawing; safe to read from any thread.

    ``position`` is the job's place in the queue (1 = next) while it waits, 0 once it has started;
    ``wait_seconds`` the estimated wait (NaN when not waiting); ``worker`` where it trains.
    """

    run_id: str
    name: str
    status: str
    message: str
    epoch: int
    epochs: int
    batch: int
    batches_per_epoch: int
    images_per_second: float
    seconds_left: float
    batches: list[dict[str, float]] = field(default_factory=list)
    epoch_rows: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0
    wait_seconds: float = math.nan
    worker: str = ""

    @property
    def done(self) -> bool:
        """Whether the job has ended (any final status)."""
        return self.status != run_store.RUNNING

    @property
    def waiting(self) -> bool:
        """Whether the job is still waiting in the queue."""
        return self.position > 0

    @property
    def fraction(self) -> float:
        """Share of all batches done, in [0, 1]."""
        total = self.epochs * self.batches_per_epoch
        done = max(0, self.epoch - 1) * self.batches_per_epoch + self.batch
        return min(1.0, done / total) if total else 0.0

    @property
    def state(self) -> str:
        """Where it is, in a few words: its place in the queue, its epoch, or its final status.

        Examples
        --------
        >>> Progress("r1", "first", "running", "", epoch=2, epochs=5, batch=3, batches_per_epoch=10,
        ...          images_per_second=0.0, seconds_left=math.nan).state
        'epoch 2 of 5'
        """
        if self.waiting:
            return f"waiting, position {self.position}"
        return self.status if self.done else f"epoch {max(self.epoch, 1)} of {self.epochs}"

    @property
    def position_text(self) -> str:
        """The epoch and batch it is at, its speed and the time left, for the progress bar.

        Examples
        --------
        >>> Progress("r1", "first", "running", "", epoch=2, epochs=5, batch=3, batches_per_epoch=10,
        ...          images_per_second=1234.5, seconds_left=42.2).position_text
        'Epoch 2 of 5, batch 3 of 10 · 1,234 images/s, about 42 s left'
        """
        left = "" if math.isnan(self.seconds_left) else f", about {self.seconds_left:.0f} s left"
        return (f"Epoch {self.epoch} of {self.epochs}, batch {self.batch} of {self.batches_per_epoch}"
                f" · {self.images_per_second:,.0f} images/s{left}")


class LiveProgress:
    """Where one training is: its phase, status and message, the epoch and batch, the curves and the speed.

    Parameters
    ----------
    epochs, batch_size : int
        The run's planned epochs and its batch size (for the time left and the speed in images).
    """

    def __init__(self, epochs: int, batch_size: int):
        self.epochs = epochs
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._phase = WAITING
        self._status = run_store.RUNNING
        self._message = "Waiting for a worker."
        self._worker: dict[str, Any] = {}
        self._epoch = 0
        self._batch = 0
        self._batches_per_epoch = 0
        self._batches: list[dict[str, float]] = []
        self._epoch_rows: list[dict[str, Any]] = []
        self._step_times: list[float] = []

    # -- written by the thread that follows the training --------------------------------------------------------

    def starting(self, message: str) -> None:
        """The training leaves the queue: ``message`` says what it does first."""
        with self._lock:
            self._phase, self._message = TRAINING, message

    def began(self, batches_per_epoch: int, worker: dict[str, Any]) -> None:
        """The fit has begun on ``worker`` (its address, host and process id)."""
        with self._lock:
            self._batches_per_epoch, self._worker, self._message = batches_per_epoch, dict(worker), "Training."

    def epoch_began(self, epoch: int) -> None:
        with self._lock:
            self._epoch, self._batch = epoch, 0

    def add_batches(self, rows: list[dict[str, float]]) -> None:
        """Batches that ended, each with its ``epoch``, ``batch``, ``loss``, ``accuracy`` and ``when``."""
        with self._lock:
            for row in rows:
                self._batch = row["batch"]
                self._step_times.append(row["when"])
                self._batches.append({key: row[key] for key in ("epoch", "batch", "loss", "accuracy")})
            del self._step_times[:-SPEED_BATCHES]
            while len(self._batches) > BATCH_ROWS_KEPT:
                del self._batches[::2]

    def add_epoch(self, row: dict[str, Any]) -> None:
        """An epoch that ended, with its figures and ``model_saved``."""
        with self._lock:
            self._epoch_rows.append(row)

    def end(self) -> bool:
        """Mark the training as ending; False when it had already ended (it ends once)."""
        with self._lock:
            if self._phase == ENDED:
                return False
            self._phase = ENDED
            return True

    def settle(self, status: str, message: str) -> None:
        """Its final status and message."""
        with self._lock:
            self._status, self._message = status, message

    # -- read by pages, the queue and the job -------------------------------------------------------------------

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def message(self) -> str:
        with self._lock:
            return self._message

    @property
    def waiting(self) -> bool:
        """Whether the training still waits in the queue."""
        with self._lock:
            return self._phase == WAITING and self._status == run_store.RUNNING

    @property
    def epoch(self) -> int:
        """The epoch in progress (the last one begun; 0 before the first)."""
        with self._lock:
            return self._epoch

    @property
    def worker(self) -> dict[str, Any]:
        """Where it trains or trained: ``worker`` (address), ``host`` and ``pid``; empty before it starts."""
        with self._lock:
            return dict(self._worker)

    @property
    def epoch_rows(self) -> list[dict[str, Any]]:
        """The figures of every epoch that ended, in order."""
        with self._lock:
            return list(self._epoch_rows)

    @property
    def saved_epoch(self) -> int:
        """The last epoch whose model was saved (0 when none was)."""
        with self._lock:
            return saved_epoch(self._epoch_rows)

    def seconds_left(self) -> float:
        """Estimated seconds until the training ends (NaN until it has a measured speed)."""
        with self._lock:
            return self._speed()[1]

    def measured_rate(self, training_images: int) -> float | None:
        """Training images per second over the epochs that ran in full (None before one has)."""
        with self._lock:
            full = [row for row in self._epoch_rows if not row.get("partial")]
        seconds = full[-1]["train_seconds"] if full else 0.0
        return len(full) * training_images / seconds if seconds else None

    def snapshot(self, run_id: str, name: str, *, position: int, wait_seconds: float, note: str = "") -> Progress:
        """A consistent copy for drawing: while it waits at ``position`` in the queue, its message says so;
        otherwise ``note`` follows its own message."""
        with self._lock:
            rate, left = self._speed()
            message = (waiting_text(position, wait_seconds) if position
                       else " ".join(part for part in (self._message, note) if part))
            return Progress(
                run_id=run_id, name=name, status=self._status, message=message, epoch=self._epoch,
                epochs=self.epochs, batch=self._batch, batches_per_epoch=self._batches_per_epoch,
                images_per_second=rate, seconds_left=left, batches=list(self._batches),
                epoch_rows=list(self._epoch_rows), position=position, wait_seconds=wait_seconds,
                worker=self._worker.get("worker", ""),
            )

    def _speed(self) -> tuple[float, float]:
        """Images per second over the recent batches and the estimated seconds left (lock held)."""
        times = self._step_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0, math.nan
        batches_per_second = (len(times) - 1) / (times[-1] - times[0])
        left = self.epochs * self._batches_per_epoch - ((self._epoch - 1) * self._batches_per_epoch + self._batch)
        return batches_per_second * self.batch_size, max(0.0, left / batches_per_second)
