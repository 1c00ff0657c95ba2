"""The message format both sides of a training share: what the server asks a worker to train, the messages the
worker sends back, how the training ended, and the stop signal.

The server's side (:mod:`mnist_lab.training.server`) and the worker's side (:mod:`mnist_lab.training.worker`) both
import this module; it imports neither. A training sends, in order: one ``begin`` (batches per epoch and where the
training runs), then per epoch an ``epoch_begin``, one ``batch`` per batch and one ``epoch`` with the epoch's
figures and the ``.keras`` bytes of the model after it (None when the epoch diverged: NaN weights are never kept);
after a training that ran to its end, ``test_scores``: the epoch and the final model's class probabilities on the
test images; and last an ``end`` with the fields of the :class:`Ending`. A worker gathers ``batch`` messages into
one ``batches`` message. Over Dask they travel through the queue and events named by :func:`channel_names`; what
the server accepts of them is checked in :mod:`mnist_lab.training.server.messages`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

BEGIN, EPOCH_BEGIN, BATCH, EPOCH, TEST_SCORES, END = "begin", "epoch_begin", "batch", "epoch", "test_scores", "end"
#: A running loss this many times the first batch's loss counts as diverged, even while still finite.
DIVERGENCE_FACTOR = 10.0


@dataclass(frozen=True)
class FitSpec:
    """Everything a worker needs to train one run; plain data, so it travels to any worker.

    Attributes
    ----------
    run_id : str
        The run being trained (for messages and logs only: the worker never opens the store).
    model, train : dict
        ``config.to_dict`` of the run's ModelConfig and TrainConfig.
    dataset, dataset_sha256 : str
        The run's dataset and the checksum it must have; a worker loads it itself and refuses a changed one.
    home : str
        The home directory that holds imported datasets (the bundled MNIST needs none).
    evaluate_test : bool
        Also measure test accuracy after every epoch (not counted in ``train_seconds``).
    max_seconds : float, optional
        The class's time limit: the training stops after the first batch that ends this long after its first
        batch began, keeping its model (None: no limit).
    """

    run_id: str
    model: dict[str, Any]
    train: dict[str, Any]
    dataset: str
    dataset_sha256: str
    home: str
    evaluate_test: bool = False
    max_seconds: float | None = None


class Sink(Protocol):
    """Where the training reports to: ``send(kind, payload)`` with ``kind`` one of the message kinds above."""

    def send(self, kind: str, payload: Any) -> None:
        """Take one message; may raise to end the training (the exception leaves ``fit``)."""


@dataclass(frozen=True)
class Ending:
    """How a fit ended, as seen where it ran.

    Attributes
    ----------
    diverged : bool
        The loss became NaN, infinite, or far larger than at the start.
    stopped_before_start : bool
        The stop came before the first batch.
    stop_reached : tuple of int or None
        ``(epoch, batches done in it)`` when the stop request reached the training; None without a stop.
    last : tuple of int
        ``(epoch, batches done in it)`` when the fit returned.
    timed_out : bool
        The training reached its time limit (``FitSpec.max_seconds``) and stopped there.
    memory_mb : float
        The resident memory of the worker process after it released the fit's memory, in MB; 0 where not
        measured (the ``end`` message is sent before that release; the worker's task returns it).
    recycle : bool
        The worker's memory has grown so much since its first training that it should be restarted before the
        next (:func:`mnist_lab.training.worker.task.train_task` decides).
    """

    diverged: bool
    stopped_before_start: bool
    stop_reached: tuple[int, int] | None
    last: tuple[int, int]
    timed_out: bool = False
    memory_mb: float = 0.0
    recycle: bool = False


class StopSignal:
    """A stop request that remembers how far the training was when it arrived (to check "within one batch")."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._position: tuple[int, int] = (0, 0)
        self.reached: tuple[int, int] | None = None

    def set(self) -> None:
        """Ask the training to stop after the batch in progress."""
        if not self._event.is_set():
            self.reached = self._position
            self._event.set()

    def is_set(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a stop is asked for or ``timeout`` passes; return whether it was asked for."""
        return self._event.wait(timeout)

    def at(self, epoch: int, batches: int) -> None:
        """Record how far the training is (called after every batch)."""
        self._position = (epoch, batches)


#: The kind a worker's sender uses for several ``batch`` messages gathered into one.
BATCHES = "batches"
#: The key of what a worker's task returns when it already ran once on a worker that died (instead of an Ending).
RETRIED = "retried"


def channel_names(channel: str) -> dict[str, str]:
    """The names of the Dask queue and events of the training whose channel is ``channel``.

    Examples
    --------
    >>> channel_names("mnist-lab-run1-ab12")["stop"]
    'mnist-lab-run1-ab12-stop'
    """
    return {"messages": f"{channel}-messages", "stop": f"{channel}-stop", "started": f"{channel}-started"}
