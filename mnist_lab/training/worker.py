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
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from mnist_lab.training import fit

#: How often the sender thread sends the batches gathered since its last message.
FLUSH_SECONDS = 0.2
#: How long one long poll of the stop event lasts before the watcher checks whether the training has ended.
STOP_POLL_SECONDS = 1.0
BATCHES = "batches"
RETRIED = "retried"


def channel_names(channel: str) -> dict[str, str]:
    """The names of the Dask queue and events of the training whose channel is ``channel``."""
    return {"messages": f"{channel}-messages", "stop": f"{channel}-stop", "started": f"{channel}-started"}


def train_task(spec: fit.FitSpec, channel: str) -> dict[str, Any]:
    """The Dask task of one training: fit it here and send every message to the server.

    Parameters
    ----------
    spec : FitSpec
        What to train.
    channel : str
        The prefix of the queue and events (:func:`channel_names`) the server created for this training.

    Returns
    -------
    dict
        The fields of :class:`mnist_lab.training.fit.Ending` (also sent as the last message), or
        ``{"retried": True}`` when this task already ran once on a worker that died.
    """
    from distributed import Event, Queue

    names = channel_names(channel)
    started = Event(names["started"])
    if started.is_set():
        return {RETRIED: True}
    started.set()
    stop = fit.StopSignal()
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
    return dataclasses.asdict(ending)


def _watch_stop(event, stop: fit.StopSignal, finished: threading.Event) -> None:
    """Wait on the server's stop event and pass it on to the training, until the training has ended."""
    while not finished.is_set():
        try:
            if event.wait(timeout=STOP_POLL_SECONDS):
                stop.set()
                return
        except Exception:  # the scheduler is gone: nobody can receive this training's results, so end it
            stop.set()
            return


class _Sender:
    """A sink that sends messages to a Dask queue from its own thread, in order, gathering batches."""

    def __init__(self, queue, stop: fit.StopSignal):
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
            if kind != fit.BATCH:
                self._pending.append((kind, payload))
                self._wake.set()
            elif self._pending and self._pending[-1][0] == BATCHES:
                self._pending[-1][1].append(payload)
            else:
                self._pending.append((BATCHES, [payload]))

    def close(self) -> None:
        """Send what is left and stop the thread."""
        self._closed = True
        self._wake.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self._queue.close()

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
            except Exception:  # the scheduler is gone: stop training for nobody
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
