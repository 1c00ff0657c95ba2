"""What a Dask worker runs for one training, and how it talks to the server that owns the run.

Chosen from measurements on the project's machine (2 shared cores; ``benchmarks/engine_primitives.py``):

- Messages go back through one ``distributed.Queue`` per training: ordered and lossless (every per-batch message
  arrived), and an item stays in the scheduler only until the server takes it. A ``put`` costs 2-7 ms, so the
  training thread never calls it: it hands messages to a sender thread, which sends the batches gathered every
  :data:`FLUSH_SECONDS` in one message, and epochs (with the model's ``.keras`` bytes) at once. Worker events
  (``log_event``) are cheaper to send but batched by tens to hundreds of milliseconds and kept in the scheduler's
  event log, which would keep every epoch's model in its memory; ``Variable`` keeps only the last value.
- Stop is a ``distributed.Event``. Asking the scheduler whether it is set costs 1-5 ms, too much for every batch;
  a watcher thread waits on it instead (one long poll at a time) and sets a local flag that the Keras callback
  reads for free after every batch. The flag was seen 2 ms after ``Event.set()``.
- A second ``Event`` marks the training as started: a scheduler that reruns the task after its worker died
  (``allowed-failures`` above 0 on an external cluster) gets an immediate "retried" answer instead of a silent
  restart from epoch 1.
- The model cannot travel as a Keras object (it does not serialize); it travels as ``.keras`` bytes.
- Memory: a fit leaves about 15-20 MB behind in TensorFlow even after ``del model``, ``clear_session()``,
  ``gc.collect()`` and ``malloc_trim`` (traced graphs of the optimizer's variable initialisers, held outside
  Python: 872 to 935 MB over 4 fits of ``fast`` in one process). A worker grown by :data:`RECYCLE_MB` since its
  first training asks to be restarted (``Ending.recycle``); the server restarts it between trainings.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from mnist_lab.training import protocol
from mnist_lab.training.worker import fit

logger = logging.getLogger(__name__)
#: Growth of a worker's resident memory since its first training at which it asks to be restarted between trainings
#: (``MNIST_LAB_WORKER_RECYCLE_MB`` in the worker's environment changes it).
RECYCLE_MB = float(os.environ.get("MNIST_LAB_WORKER_RECYCLE_MB") or 100.0)
#: This process's resident memory after its first training, in MB (None before it).
_FIRST_MB: float | None = None
#: How often the sender thread sends the batches gathered since its last message.
FLUSH_SECONDS = 0.2
#: How long one long poll of the stop event lasts before the watcher checks whether the training has ended.
STOP_POLL_SECONDS = 1.0


def train_task(spec: protocol.FitSpec, channel: str) -> dict[str, Any]:
    """The Dask task of one training: fit it here and send every message to the server.

    Parameters
    ----------
    spec : FitSpec
        What to train.
    channel : str
        The prefix of the queue and events (:func:`mnist_lab.training.protocol.channel_names`) the server created for this training.

    Returns
    -------
    dict
        The fields of :class:`mnist_lab.training.protocol.Ending` (also sent as the last message), or
        ``{"retried": True}`` when this task already ran once on a worker that died.
    """
    from distributed import Event, Queue

    names = protocol.channel_names(channel)
    started = Event(names["started"])
    if started.is_set():
        return {protocol.RETRIED: True}
    started.set()
    stop = protocol.StopSignal()
    sender = _Sender(Queue(names["messages"]), stop)
    finished = threading.Event()
    watcher = threading.Thread(target=_watch_stop, args=(Event(names["stop"]), stop, finished), daemon=True,
                               name=f"stop-{spec.run_id}")
    watcher.start()
    try:
        ending = fit.fit(spec, sender, stop)
    finally:
        finished.set()
        sender.close()
        watcher.join()
    memory = _resident_mb()
    return dataclasses.asdict(dataclasses.replace(ending, memory_mb=memory, recycle=_grown(memory)))


def _resident_mb() -> float:
    """This process's resident memory in MB."""
    import psutil  # a dependency of distributed

    return psutil.Process().memory_info().rss / 1e6


def _grown(memory_mb: float) -> bool:
    """Whether this worker has grown by :data:`RECYCLE_MB` since its first training (which sets the baseline)."""
    global _FIRST_MB
    if _FIRST_MB is None:
        _FIRST_MB = memory_mb
        return False
    return memory_mb - _FIRST_MB > RECYCLE_MB


def _watch_stop(event, stop: protocol.StopSignal, finished: threading.Event) -> None:
    """Wait on the server's stop event and pass it on to the training, until the training has ended."""
    while not finished.is_set():
        try:
            if event.wait(timeout=STOP_POLL_SECONDS):
                stop.set()
                return
        except Exception as error:  # the scheduler is gone: nobody can receive this training's results, so end it
            logger.warning("The scheduler cannot be reached (%s: %s): this training stops after its batch; the "
                           "server keeps its saved epochs.", type(error).__name__, error)
            stop.set()
            return


class _Sender:
    """A sink that sends messages to a Dask queue from its own thread, in order, gathering batches."""

    def __init__(self, queue, stop: protocol.StopSignal):
        self._queue = queue
        self._stop = stop
        self._pending: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="mnist-lab-sender")
        self._thread.start()

    def send(self, kind: str, payload: Any) -> None:
        """Queue one message; batches wait for the next flush, anything else wakes the sender."""
        with self._lock:
            if kind != protocol.BATCH:
                self._pending.append((kind, payload))
                self._wake.set()
            elif self._pending and self._pending[-1][0] == protocol.BATCHES:
                self._pending[-1][1].append(payload)
            else:
                self._pending.append((protocol.BATCHES, [payload]))

    def close(self) -> None:
        """Send what is left and stop the thread."""
        self._closed = True
        self._wake.set()
        self._thread.join()
        try:
            self._queue.close()
        except Exception as error:  # a lost scheduler: it holds nothing left to free
            logger.info("The message queue of this training could not be closed (%s: %s).", type(error).__name__,
                        error)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            closing = self._closed
            with self._lock:
                items, self._pending = self._pending, []
            try:
                for item in items:
                    self._queue.put(item)
            except Exception as error:  # the scheduler is gone: stop training for nobody
                logger.warning("Messages cannot reach the server (%s: %s): this training stops after its batch.",
                               type(error).__name__, error)
                self._stop.set()
                return
            if closing:
                return


class KerasWarmup(WorkerPlugin):
    """Dask worker plugin: import Keras and load MNIST in the background as soon as a worker starts.

    Importing Keras in a fresh worker takes 6-11 s on 2 cores; paid at start (and again after a restart), it is
    not paid by the first student's training.
    """

    name = "mnist-lab-keras-warmup"

    def setup(self, worker) -> None:
        """Start the warm-up in a thread, so the worker answers the scheduler meanwhile."""
        threading.Thread(target=_warm_up, daemon=True, name="mnist-lab-warmup").start()


def _warm_up() -> None:
    import keras  # noqa: F401

    from mnist_lab.data import shared_mnist

    shared_mnist()
