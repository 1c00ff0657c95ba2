"""Trainings as the process that owns their runs sees them: queued, trained on a Dask worker, stored here.

The web server (or the command line) is the run store's one writer. A :class:`TrainingJob` waits in the fair
queue (:mod:`mnist_lab.training.fair_queue`), is sent to a worker when its turn comes
(:mod:`mnist_lab.training.engine`), and stores what the worker sends back: per-batch progress, per-epoch history
and the model after every epoch, so a lost worker loses at most the epoch in progress. ``TrainingJob.run`` trains
in the calling thread instead (tests, benchmarks and ``mnist-lab train`` without a scheduler), through the same
:func:`mnist_lab.training.fit.fit` and the same message handling.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mnist_lab import access, environment
from mnist_lab.data import Dataset, dataset_for_run, shared_mnist
from mnist_lab.errors import EngineUnavailableError, MnistLabError, RunNotFoundError, TrainingBusyError
from mnist_lab.models import architectures, config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.text import plural
from mnist_lab.training import engine as engines
from mnist_lab.training import fit
from mnist_lab.training.run_writes import RunWrites
from mnist_lab.training.split import reasons_for, split_sizes

logger = logging.getLogger(__name__)

BATCH_ROWS_KEPT = 600
#: How long the server waits for a worker's messages before it looks at the task's state again.
POLL_SECONDS = 0.5
#: How long the server keeps trying to reach a scheduler it lost before the training counts as interrupted.
LOST_CONTACT_SECONDS = 30.0
#: Kept for callers that read the old name: how long a shutting-down process waits for its trainings.
SHUTDOWN_WAIT_SECONDS = engines.SHUTDOWN_WAIT_SECONDS
WAITING, TRAINING, ENDED = "waiting", "training", "ended"
#: The most characters of an error's own text a failed run's message quotes.
FAILURE_TEXT_CHARS = 300

_STARTED_JOBS: weakref.WeakSet[TrainingJob] = weakref.WeakSet()


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


class TrainingJob:
    """One training of a stored run; pages read it only through :meth:`progress`.

    Parameters
    ----------
    run_id : str
        The stored run this job trains.
    name : str
        The run's name.
    model_config, train_config : ModelConfig, TrainConfig
        What to build and how to train it.
    store : RunStore
        Where epochs, the model and the final status are saved (by this process only), acting for the student
        the run belongs to (``store.user``): the queue serves the job in that student's turn.
    dataset : Dataset
        The dataset the run trains on (its test split when ``evaluate_test``).
    evaluate_test : bool
        Also measure test accuracy after every epoch (not counted in ``train_seconds``).
    experiment : str
        The one-click experiment or sweep the run belongs to, or "".
    max_minutes : int, optional
        The class's time limit: the training stops after this many minutes of training and keeps its model.
    """

    def __init__(
        self,
        run_id: str,
        name: str,
        model_config: config.ModelConfig,
        train_config: config.TrainConfig,
        store: run_store.RunStore,
        dataset: Dataset,
        evaluate_test: bool = False,
        experiment: str = "",
        max_minutes: int | None = None,
    ):
        self.run_id = run_id
        self.name = name
        self.model_config = model_config
        self.train_config = train_config
        self.store = store
        self.dataset = dataset
        self.evaluate_test = evaluate_test
        self.experiment = experiment
        self.max_minutes = max_minutes
        #: Set by :meth:`stop`; the training ends within one batch of it.
        self.stop_event = fit.StopSignal()
        #: The id of the student the job trains for: only they may stop it (``Trainer.stop``).
        self.owner = store.user.id
        self.queued_at = time.monotonic()
        self.started_at = math.nan
        #: ``(epoch, batches done)`` when the stop request reached the training; None without a stop.
        self.stop_reached: tuple[int, int] | None = None
        self.training_images = split_sizes(len(dataset.y_train), train_config)[0]
        #: The resident memory of the worker process after the training released its memory (NaN until known).
        self.worker_memory_mb = math.nan
        self._queue = None
        self._remote: engines.RemoteTraining | None = None
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._phase = WAITING
        self._status = run_store.RUNNING
        self._message = "Waiting for a worker."
        self._worker: dict[str, Any] = {}
        self._store_problem = ""
        #: The run's epochs, model and status on their way to the store, kept while its database is away.
        self._writes = RunWrites(store, run_id)
        self._ending: fit.Ending | None = None  # how the fit ended, once its ``end`` message has arrived
        self._epoch = 0
        self._batch = 0
        self._batches_per_epoch = 0
        self._batches: list[dict[str, float]] = []
        self._epoch_rows: list[dict[str, Any]] = []
        self._step_times: list[float] = []
        self._epoch_listeners: list[Callable[[dict[str, Any]], None]] = []

    # -- what the pages and callers use -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the job: after the batch in progress when it trains, before it starts when it waits."""
        self.stop_event.set()
        if self.cancel():
            return
        remote = self._remote
        if remote is not None:  # a call to the scheduler: in its own thread, so a page never waits on the network
            threading.Thread(target=_quietly, args=(remote.stop,), daemon=True, name=f"stop-{self.run_id}").start()

    def cancel(self) -> bool:
        """Take the job out of the queue before it starts; its run, which never trained, is deleted.

        Returns
        -------
        bool
            Whether it was still waiting (False once it has started or ended).
        """
        if self._queue is None or not self._queue.cancel(self):
            return False
        self.stop_event.set()
        self._finish(run_store.STOPPED, "Cancelled while waiting in the queue; it never trained.")
        with contextlib.suppress(run_store.StoreError):
            self.store.delete(self.run_id)
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; return whether it has."""
        return self._ended.wait(timeout)

    def on_epoch(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener(row)`` after every stored epoch (in the thread that stores it)."""
        self._epoch_listeners.append(listener)

    @property
    def done(self) -> bool:
        """Whether the job has ended (cheaper than ``progress().done``)."""
        with self._lock:
            return self._status != run_store.RUNNING

    @property
    def waiting(self) -> bool:
        """Whether the job is waiting in the queue."""
        with self._lock:
            return self._phase == WAITING and self._status == run_store.RUNNING

    @property
    def worker(self) -> dict[str, Any]:
        """Where the job trains or trained: ``worker`` (address), ``host`` and ``pid``; empty before it starts."""
        with self._lock:
            return dict(self._worker)

    def progress(self) -> Progress:
        """Return a snapshot of the job's state."""
        position, wait = self._queue.place(self) if self._queue is not None and self.waiting else (0, math.nan)
        kept = self._writes.waiting_text()
        with self._lock:
            rate, left = self._speed()
            message = " ".join(part for part in (self._message, kept) if part)
            if position:
                estimate = "" if math.isnan(wait) else f", {_duration_text(wait)} from now"
                message = f"Waiting for a worker: position {position} in the queue{estimate}."
            return Progress(
                run_id=self.run_id,
                name=self.name,
                status=self._status,
                message=message,
                epoch=self._epoch,
                epochs=self.train_config.epochs,
                batch=self._batch,
                batches_per_epoch=self._batches_per_epoch,
                images_per_second=rate,
                seconds_left=left,
                batches=list(self._batches),
                epoch_rows=list(self._epoch_rows),
                position=position,
                wait_seconds=wait,
                worker=self._worker.get("worker", ""),
            )

    def seconds_left(self) -> float:
        """Estimated seconds until the training ends (NaN until it has a measured speed)."""
        with self._lock:
            return self._speed()[1]

    # -- training in the calling thread -------------------------------------------------------------------------

    def run(self) -> str:
        """Train to the end in the calling thread (no Dask) and return the final status."""
        with self._lock:
            self._phase, self._message = TRAINING, "Preparing the data and building the model."
        self.started_at = time.monotonic()
        _STARTED_JOBS.add(self)
        status, message = run_store.FAILED, ""
        try:
            ending = fit.fit(self.spec(), self, self.stop_event, self.dataset)
            status, message = self._outcome(ending)
        except KeyboardInterrupt:
            status, message = run_store.STOPPED, f"Interrupted during epoch {self._epoch}; saved epochs are kept."
        except Exception as error:  # the run must end with a status whatever went wrong
            message = _failure_text(error, where="this process")
            if not isinstance(error, (MnistLabError, MemoryError)):  # those say what to do in the run's message
                logger.error("Training %s failed; the run says so. Report it with this traceback.", self.run_id,
                             exc_info=error)
        finally:
            status, message = self._finish(status, message)
        self.join()  # until its writes have landed, should the database have been away
        return status

    def spec(self) -> fit.FitSpec:
        """What a worker needs to train this job's run."""
        return fit.FitSpec(
            run_id=self.run_id, model=config.to_dict(self.model_config), train=config.to_dict(self.train_config),
            dataset=self.dataset.name, dataset_sha256=self.dataset.sha256, home=str(self.store.home),
            evaluate_test=self.evaluate_test, max_seconds=None if self.max_minutes is None else 60.0 * self.max_minutes,
        )

    def send(self, kind: str, payload: Any) -> None:
        """Take one message of the training (see :mod:`mnist_lab.training.fit`): show it and store it.

        Writes the database could not take while it was away are tried again first, once their delay has passed.
        """
        self._writes.retry()
        if kind == fit.BEGIN:
            with self._lock:
                self._batches_per_epoch = payload["batches_per_epoch"]
                self._worker = {key: payload[key] for key in ("worker", "host", "pid")}
                self._message = "Training."
        elif kind == fit.EPOCH_BEGIN:
            with self._lock:
                self._epoch, self._batch = payload, 0
        elif kind == fit.BATCH:
            self._record_batches([payload])
        elif kind == "batches":
            self._record_batches(payload)
        elif kind == fit.EPOCH:
            row, model = payload
            if model is not None:
                self._writes.save_model(row["epoch"], model)
            self._record_epoch(row, model_saved=model is not None)
        elif kind == fit.TEST_SCORES:
            self._store_test_scores(*payload)
        elif kind == fit.END:
            self._ending = fit.Ending(**{**payload, "stop_reached": _pair(payload["stop_reached"]),
                                         "last": _pair(payload["last"])})

    # -- training on a worker -----------------------------------------------------------------------------------

    def submit(self, queue) -> None:
        """Wait in ``queue`` (a FairQueue) for a worker; :meth:`launch` is called when the turn comes."""
        self._queue = queue
        _STARTED_JOBS.add(self)
        # Marked, so that a server that restarts queues it again instead of calling it an interrupted training.
        self.store.update_metrics(self.run_id, **{run_store.WAITING: {"evaluate_test": self.evaluate_test}})
        queue.put(self)

    def launch(self, engine: engines.Engine) -> None:
        """Send the training to ``engine``'s workers and follow it in a thread of this process."""
        with self._lock:
            self._phase, self._message = TRAINING, "Starting on a worker."
        self.started_at = time.monotonic()
        try:
            self.store.update_metrics(self.run_id, **{run_store.WAITING: None})
        except run_store.StoreError as error:  # it trains all the same; only a restart would misname it
            logger.warning("Training %s: its start could not be recorded (%s).", self.run_id, error)
        threading.Thread(target=self._train_remotely, args=(engine,), daemon=True, name=f"train-{self.run_id}").start()

    def fail(self, message: str) -> None:
        """End a job that cannot be trained (the engine is unreachable) with ``message``."""
        self._finish(run_store.FAILED, message)

    def _train_remotely(self, engine: engines.Engine) -> None:
        status, message = run_store.FAILED, ""
        followed = False
        try:
            self._materialize_dataset()
            self._remote = engine.submit(self.spec())
            if self.stop_event.is_set():
                self._remote.stop()
            status, message = self._follow(self._remote)
            followed = True
        except Exception as error:  # the run must end with a status whatever went wrong
            status, message = self._remote_failure(error, engine)
        finally:
            # The run's status is final at once; its worker slot is freed once the worker has released the fit's
            # memory (and been restarted, when it had grown), so the next training never meets a restarting worker.
            self._finish(status, message, before_freeing=functools.partial(self._recycle_grown_worker, engine)
                         if followed else None)
            if self._remote is not None:
                self._remote.release()

    def _materialize_dataset(self) -> None:
        """Make sure the home holds the dataset's folder, which workers read: with a database server it is only a
        cache, written back from the database when it is missing (raises DatasetError)."""
        dataset_for_run(self.dataset.name, self.dataset.sha256, self.store.home, database=self.store.database_url)

    def _follow(self, remote: engines.RemoteTraining) -> tuple[str, str]:
        """Store the worker's messages until its task ends; return the final status and message.

        Raises
        ------
        EngineUnavailableError
            The scheduler did not answer for :data:`LOST_CONTACT_SECONDS`.
        """
        lost_since = None
        while True:
            try:
                finished = remote.finished()
                messages = remote.messages(0.0 if finished else POLL_SECONDS)
            except Exception as error:
                if isinstance(error, MnistLabError) and not isinstance(error, EngineUnavailableError):
                    raise  # a message the worker sent was refused: not a lost contact
                # A scheduler that is gone shows as OSError, TimeoutError, CommClosedError or, once the client has
                # dropped its connection, AttributeError ('NoneType' object has no attribute 'queue_get').
                if lost_since is None:
                    lost_since = time.monotonic()
                    logger.warning("Training %s on %s: the training cluster does not answer (%s: %s); waiting up "
                                   "to %.0f s for it to come back.", self.run_id, self.worker.get("worker") or "its worker",
                                   type(error).__name__, error, LOST_CONTACT_SECONDS)
                if time.monotonic() - lost_since > LOST_CONTACT_SECONDS:
                    raise EngineUnavailableError(f"lost contact with the training cluster: {error}") from error
                time.sleep(POLL_SECONDS)
                continue
            if lost_since is not None:
                logger.warning("Training %s: the training cluster answers again.", self.run_id)
                lost_since = None
            for kind, payload in messages:
                try:
                    self.send(kind, payload)
                except run_store.StoreError as error:  # this process cannot store it: no point training on
                    self._store_problem = f"Training ended: {error}."
                    remote.stop()
            if self._ending is not None:  # the worker still frees its memory: the run need not wait for that
                return (run_store.FAILED, self._store_problem) if self._store_problem else self._outcome(self._ending)
            if finished and not messages:
                if remote.ending().get("retried"):  # raises the task's error, or KilledWorker
                    return run_store.INTERRUPTED, self._process_lost_text()
                raise RuntimeError("the worker's task ended without saying how the training ended")

    def _recycle_grown_worker(self, engine: engines.Engine) -> None:
        """Restart the worker process that trained this job when its memory has grown (its task's ``recycle``).

        Called once the run's status is final and before its queue slot is freed, so the queue sends the next
        training to the restarted worker, not to one being restarted. Worker threads in this process are never
        restarted; a worker without a nanny cannot be.
        """
        worker = self.worker
        if not worker or worker.get("pid") == os.getpid():
            return
        try:
            ending = self._remote.ending()  # the task returns once the worker has released the fit's memory
        except Exception as error:
            logger.info("Training %s: its worker's task did not return (%s: %s).", self.run_id,
                        type(error).__name__, error)
            return
        self.worker_memory_mb = float(ending.get("memory_mb") or math.nan)
        if not ending.get("recycle"):
            return
        try:
            engine.client().restart_workers([worker["worker"]], timeout=120)
        except Exception as error:
            logger.warning("The training worker %s has grown to %.0f MB and could not be restarted (%s: %s); it "
                           "trains on. Start workers with a nanny (the default of `dask worker`) so that they can "
                           "be.", worker["worker"], self.worker_memory_mb, type(error).__name__, error)
            return
        logger.info("Restarted the training worker %s between trainings: its memory had grown to %.0f MB.",
                    worker["worker"], self.worker_memory_mb)

    def _remote_failure(self, error: Exception, engine: engines.Engine) -> tuple[str, str]:
        """The final status and message of a training whose task raised ``error``."""
        from distributed.scheduler import KilledWorker

        if isinstance(error, KilledWorker):
            return run_store.INTERRUPTED, self._process_lost_text()
        if isinstance(error, EngineUnavailableError) or _cluster_gone(error):
            logger.error("Training %s was interrupted: %s stopped answering (%s: %s). "
                         "Check that its scheduler and workers run; the student's saved epochs are kept.",
                         self.run_id, engine.description, type(error).__name__, error)
            return run_store.INTERRUPTED, self._interrupted_text("The training cluster stopped answering")
        where = self.worker.get("worker") or engine.description
        if isinstance(error, MnistLabError):  # the student's choice or data: the run's message says what to do
            logger.info("Training %s ended on %s: %s", self.run_id, where, error)
        else:
            logger.error("Training %s failed on %s; the student sees the error. Report it with this traceback.",
                         self.run_id, where, exc_info=error)
        return run_store.FAILED, _failure_text(error, where=f"the worker {where}")

    def _process_lost_text(self) -> str:
        """The message of a training whose worker process died (SIGKILL, out of memory) or was restarted."""
        return self._interrupted_text("The training process stopped", why="it was killed or ran out of memory")

    def _interrupted_text(self, what: str, *, why: str = "") -> str:
        """``what`` happened, when (the epoch in progress) and which epoch is kept, in plain words."""
        saved = self._saved_epochs()
        reason = f" ({why})" if why else ""
        if self._epoch == 0:
            when = "before the first epoch"
        elif saved >= self._epoch:
            when = f"after epoch {saved}"
        else:
            when = f"during epoch {self._epoch}"
        kept = (f"epoch {saved} is kept: train it again to go further." if saved
                else "no epoch had been saved: start it again.")
        return f"{what} {when}{reason}; {kept}"

    # -- shared by both ways of training ------------------------------------------------------------------------

    def _outcome(self, ending: fit.Ending) -> tuple[str, str]:
        """Name the final status from how the fit ended."""
        self.stop_reached = ending.stop_reached
        if ending.stopped_before_start:
            return run_store.STOPPED, "Stopped before the first batch."
        if ending.timed_out:
            return run_store.STOPPED, (
                f"Stopped: the class's time limit of {plural(self.max_minutes or 0, 'minute')} per training was "
                f"reached during epoch {self._epoch}; the model so far is kept (epoch {self._saved_epochs()})."
            )
        if ending.diverged:
            kept = f" The model of epoch {self._saved_epochs()} is kept." if self._saved_epochs() else ""
            return run_store.DIVERGED, (
                f"Training diverged: the loss became NaN, infinite or more than {fit.DIVERGENCE_FACTOR:g} times its "
                f"starting value (learning rate {self.train_config.learning_rate:g}). "
                f"Try a learning rate 10 times lower.{kept}"
            )
        last = self._epoch_rows[-1] if self._epoch_rows else {"epoch": 0, "partial": True}
        if self.stop_event.is_set() and (last["partial"] or last["epoch"] < self.train_config.epochs):
            when = "during" if last["partial"] else "after"
            return run_store.STOPPED, f"Stopped {when} epoch {self._epoch}; the model so far is kept."
        return run_store.FINISHED, f"Finished {plural(self._epoch, 'epoch')}."

    def _saved_epochs(self) -> int:
        """Return the last epoch whose model was saved."""
        return max((row["epoch"] for row in self._epoch_rows if row.get("model_saved")), default=0)

    def _finish(self, status: str, message: str, *,
                before_freeing: Callable[[], None] | None = None) -> tuple[str, str]:
        """Store the final status, final metrics and worker; a store failure is reported in the job. Once only.

        ``before_freeing`` is called once the status is final and before the job's queue slot is freed.
        """
        with self._lock:
            if self._phase == ENDED:
                return self._status, self._message
            self._phase = ENDED
        kept = next((row for row in reversed(self._epoch_rows) if row.get("model_saved")), {})  # the model kept
        metrics: dict[str, Any] = {
            k: kept[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy") if k in kept
        }
        metrics["train_seconds"] = self._epoch_rows[-1].get("train_seconds", 0.0) if self._epoch_rows else 0.0
        if self._worker:
            metrics["worker"] = dict(self._worker)
        try:
            self._writes.finish(status, message=message, metrics=metrics)
        except run_store.StoreError as error:
            status, message = run_store.FAILED, f"{message} The final status could not be saved: {error}"
        with self._lock:
            self._status, self._message = status, message
        if before_freeing is not None:
            before_freeing()
        if self._queue is not None:
            self._queue.finished(self, self._measured_rate())
        if self._writes.kept:  # the database is away: the job ends once they have landed, whenever that is
            threading.Thread(target=self._land_writes, daemon=True, name=f"writes-{self.run_id}").start()
        else:
            self._ended.set()
        return status, message

    def _land_writes(self) -> None:
        """Retry the writes the database could not take until they land, then let the job end."""
        try:
            self._writes.land()
        except run_store.StoreError as error:
            logger.error("Training %s: its last writes cannot be stored (%s); the run stays as the database has it "
                         "until the next server marks it interrupted.", self.run_id, error)
        finally:
            self._ended.set()

    def _measured_rate(self) -> float | None:
        """Training images per second over the epochs that ran in full, for the queue's estimates."""
        full = [row for row in self._epoch_rows if not row.get("partial")]
        seconds = full[-1]["train_seconds"] if full else 0.0
        return len(full) * self.training_images / seconds if seconds else None

    def _store_test_scores(self, epoch: int, scores: Any) -> None:
        """Keep the final model's test-set probabilities with the run, where its first evaluation finds them."""
        if epoch != self._saved_epochs():  # they must describe the model that was kept
            return
        with contextlib.suppress(run_store.StoreError):  # the evaluation computes them again
            self.store.save_array(self.run_id, f"{inference.TEST_SCORES}_epoch{epoch}", scores)

    def _record_batches(self, rows: list[dict[str, float]]) -> None:
        with self._lock:
            for row in rows:
                self._batch = row["batch"]
                self._step_times.append(row["when"])
                self._batches.append({key: row[key] for key in ("epoch", "batch", "loss", "accuracy")})
            del self._step_times[:-50]
            while len(self._batches) > BATCH_ROWS_KEPT:
                del self._batches[::2]

    def _record_epoch(self, row: dict[str, Any], *, model_saved: bool) -> None:
        row["model_saved"] = model_saved
        self._writes.record_epoch(row["epoch"], row, model_saved=model_saved)
        with self._lock:
            self._epoch_rows.append(row)
        for listener in self._epoch_listeners:
            listener(row)

    def _speed(self) -> tuple[float, float]:
        """Return images per second over the recent batches and the estimated seconds left (lock held)."""
        times = self._step_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0, math.nan
        batches_per_second = (len(times) - 1) / (times[-1] - times[0])
        left = self.train_config.epochs * self._batches_per_epoch - (
            (self._epoch - 1) * self._batches_per_epoch + self._batch
        )
        return batches_per_second * self.train_config.batch_size, max(0.0, left / batches_per_second)


def _pair(value) -> tuple[int, int] | None:
    """A (epoch, batch) pair back from its serialized list form."""
    return None if value is None else (int(value[0]), int(value[1]))


def _quietly(call: Callable[[], None]) -> None:
    """Run ``call`` in a background thread; an error is logged (a stop sent to a lost scheduler), not raised."""
    try:
        call()
    except Exception as error:
        logger.warning("%s did not complete (%s: %s); trainings go on without it.",
                       getattr(call, "__qualname__", "A background call"), type(error).__name__, error)


def _cluster_gone(error: Exception) -> bool:
    """Whether ``error`` came from losing the scheduler rather than from the training itself."""
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError

    return isinstance(error, (OSError, TimeoutError, CommClosedError, CancelledError))


def _failure_text(error: BaseException, *, where: str) -> str:
    """The message of a training that raised ``error`` in ``where``."""
    if isinstance(error, MemoryError):
        return f"{where[0].upper()}{where[1:]} ran out of memory: try a smaller model, batch size or training subset."
    if isinstance(error, run_store.StoreError):
        return f"Training ended: {error}."
    text = str(error)
    if len(text) > FAILURE_TEXT_CHARS:  # Keras quotes whole arrays in some errors
        text = text[:FAILURE_TEXT_CHARS].rstrip() + " [...]"
    return f"Training failed: {type(error).__name__}: {text}"


def _duration_text(seconds: float) -> str:
    """A rough duration: "under a minute", "about 3 min", "about 1 h 10 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    return f"about {minutes} min" if minutes < 60 else f"about {minutes // 60} h {minutes % 60} min"


def new_job(
    store: run_store.RunStore,
    name: str,
    model_config: config.ModelConfig,
    train_config: config.TrainConfig,
    dataset: Dataset | None = None,
    *,
    experiment: str = "",
    evaluate_test: bool = False,
    defaults: access.ClassLimits | None = None,
) -> TrainingJob:
    """Create a run of ``store.user`` and return its job, not yet started (``job.run()`` here, or a Trainer's queue).

    The run trains on ``dataset`` (the bundled MNIST when None) and records its name and checksum; the network
    gets one output unit per class of the dataset, whatever ``model_config.num_classes`` says. The class limits
    are the teacher's (``RunStore.class_limits``), with ``defaults`` (the lab's settings) for those not set; the
    job gets their time limit.

    Raises
    ------
    ConfigError
        The network is too big to train here (see ``architectures.check_size``).
    LimitExceededError
        The training breaks a limit of the class.
    StoreError, RunNameError
        The run cannot be created.
    """
    dataset = dataset or shared_mnist()
    model_config = config.replace(model_config, num_classes=dataset.n_classes)
    architectures.check_size(model_config)
    limits = check_limits(store, [(model_config, train_config)], defaults)
    run_id = store.create_run(
        name, config.to_dict(model_config), config.to_dict(train_config), reasons_for(model_config, train_config),
        experiment=experiment, dataset=dataset.name, dataset_sha256=dataset.sha256, environment=environment.describe(),
    )
    return TrainingJob(
        run_id, name, model_config, train_config, store, dataset, evaluate_test=evaluate_test, experiment=experiment,
        max_minutes=limits.max_training_minutes,
    )


def check_limits(
    store: run_store.RunStore,
    trainings: list[tuple[config.ModelConfig, config.TrainConfig]],
    defaults: access.ClassLimits | None = None,
) -> access.ClassLimits:
    """Refuse trainings of ``store.user`` that break the class limits, before any is created.

    The limits are the teacher's (``RunStore.class_limits``), with ``defaults`` for each one the teacher has not
    set (a shared lab without login has no teacher: its limits come from the settings).

    Returns
    -------
    ClassLimits
        The limits that hold for these trainings (their time limit applies to teachers too).

    Raises
    ------
    LimitExceededError
        A limit would be broken; the message names it.
    """
    limits = store.class_limits().over(defaults or access.ClassLimits())
    if store.user.teacher or limits == access.ClassLimits(max_training_minutes=limits.max_training_minutes):
        return limits
    sized = [(train.epochs, parameter_count(model) if limits.max_parameters else 0) for model, train in trainings]
    access.check_training(limits, store.user, sized, store.started_since(time.time() - 3600))
    return limits


@functools.lru_cache(maxsize=64)
def parameter_count(model_config: config.ModelConfig) -> int:
    """The number of weights of the network ``model_config`` describes (built with Keras when not computable)."""
    estimate = architectures.estimate_params(model_config)
    return estimate if estimate is not None else architectures.describe(model_config)[1]


class Trainer:
    """Queues trainings on the Dask workers (:mod:`mnist_lab.training.engine`) and finds jobs again by run id.

    Parameters
    ----------
    store : RunStore
        Where runs are kept; this process is its writer. Each training acts for the student who starts it.
    limits : ClassLimits, optional
        The lab's limits from its settings (``AccessSettings.limits``), for each one the teacher has not set.
    """

    def __init__(self, store: run_store.RunStore, *, limits: access.ClassLimits | None = None):
        self.store = store
        self.limits = limits or access.ClassLimits()
        self._jobs: dict[str, TrainingJob] = {}
        # Admission (limits, the one-training rule, the run's creation and its place in the queue) is one step: two
        # tabs of a student pressing Start at once were both queued when it was not.
        self._admission = threading.Lock()

    @property
    def engine(self) -> engines.Engine:
        """The engine of the current configuration (``MNIST_LAB_SCHEDULER``, ``MNIST_LAB_WORKERS``)."""
        return engines.shared()

    def start(
        self,
        name: str,
        model_config: config.ModelConfig,
        train_config: config.TrainConfig,
        *,
        dataset: Dataset | None = None,
        experiment: str = "",
        user: access.User = access.PERSONAL,
        evaluate_test: bool = False,
    ) -> TrainingJob:
        """Create a run and queue its training; it starts by itself when a worker slot is its turn.

        The run trains on ``dataset`` (the bundled MNIST when None) and records its name and checksum; the
        network gets one output unit per class of the dataset. ``experiment`` tags the run as part of a
        one-click experiment or a sweep (see ``RunStore.create_run``). The run belongs to ``user``.

        Raises
        ------
        TrainingBusyError
            ``user`` already has a training waiting or running (one per student at a time).
        LimitExceededError
            The training breaks a limit the teacher set for the class.
        EngineUnavailableError
            The workers cannot be reached; the message says what to do.
        ConfigError
            The network is too big to train here (see ``architectures.check_size``).
        """
        return self.start_many([(name, model_config, train_config)], dataset=dataset, experiment=experiment,
                               user=user, evaluate_test=evaluate_test)[0]

    def start_many(
        self,
        trainings: list[tuple[str, config.ModelConfig, config.TrainConfig]],
        *,
        dataset: Dataset | None = None,
        experiment: str = "",
        user: access.User = access.PERSONAL,
        evaluate_test: bool = False,
    ) -> list[TrainingJob]:
        """Queue several trainings of one student at once (a sweep): ``(name, model_config, train_config)`` each.

        They count as the student's one training: refused while the student has another waiting or running.

        Raises
        ------
        TrainingBusyError, LimitExceededError, EngineUnavailableError, ConfigError
            As :meth:`start`; nothing is queued then.
        """
        dataset = dataset or shared_mnist()
        store = self.store.as_user(user)
        sized = [(config.replace(model, num_classes=dataset.n_classes), train) for _, model, train in trainings]
        for model_config, _ in sized:
            architectures.check_size(model_config)
        engine = self.engine
        engine.client()
        # The thread lock orders this server's sessions; the store's lock, every process using the database.
        with self._admission, store.exclusive("admission"):
            check_limits(store, sized, self.limits)
            self._refuse_busy(engine, user)
            jobs = [new_job(store, name, model_config, train_config, dataset, experiment=experiment,
                            evaluate_test=evaluate_test, defaults=self.limits)
                    for name, model_config, train_config in trainings]
            for job in jobs:
                self._jobs[job.run_id] = job
                job.submit(engine.queue)
        return jobs

    @staticmethod
    def _refuse_busy(engine: engines.Engine, user: access.User) -> None:
        """Raise TrainingBusyError when ``user`` has a training waiting or running."""
        if (busy := engine.queue.busy(user.id)) is not None:
            progress = busy.progress()
            state = f"waiting, position {progress.position}" if progress.waiting else (
                f"epoch {progress.epoch} of {progress.epochs}")
            raise TrainingBusyError(
                f"You already have a training in progress ({progress.name!r}, {state}). One training per student "
                "at a time, so that everyone's turn comes: wait until it ends, or stop it."
            )

    def limits_for(self, user: access.User) -> access.ClassLimits:
        """The limits ``user``'s trainings are held to: the teacher's, else the lab's settings (only the time limit
        for a teacher)."""
        limits = self.store.class_limits().over(self.limits)
        return access.ClassLimits(max_training_minutes=limits.max_training_minutes) if user.teacher else limits

    def warm_up(self) -> None:
        """Start the engine in the background (the embedded cluster, TensorFlow in its workers); errors wait.

        Trainings that waited in the queue of a server that ended (killed, restarted) are queued again first, in
        their order (:meth:`take_back_waiting`).
        """
        self.take_back_waiting()
        threading.Thread(target=_quietly, args=(self.engine.client,), daemon=True, name="mnist-lab-warm-up").start()

    def take_back_waiting(self) -> list[TrainingJob]:
        """Queue again, oldest first, the trainings that were waiting in the queue of a process that has ended.

        Each keeps its run, its student and its place relative to the others; the class limits, checked when it
        was first queued, are not checked again. A run whose dataset can no longer be loaded ends as failed, with
        the reason.

        Returns
        -------
        list of TrainingJob
            The jobs queued again.
        """
        from mnist_lab.data import dataset_for_run

        jobs = []
        for run_id, student in self.store.take_back_waiting():
            store = self.store.as_user(student)
            run = store.get(run_id)
            waiting = run.metrics.get(run_store.WAITING) or {}
            try:
                dataset = dataset_for_run(run.dataset, run.dataset_sha256, store.home, database=store.database_url)
            except MnistLabError as error:
                store.finish(run_id, run_store.FAILED, message=f"Not started: its dataset cannot be loaded ({error}).")
                continue
            job = TrainingJob(
                run_id, run.name, config.from_dict(config.ModelConfig, run.model_config),
                config.from_dict(config.TrainConfig, run.train_config), store, dataset,
                evaluate_test=bool(waiting.get("evaluate_test")), experiment=run.experiment,
                max_minutes=store.class_limits().over(self.limits).max_training_minutes,
            )
            with self._admission:
                self._jobs[run_id] = job
                job.submit(self.engine.queue)
            jobs.append(job)
        if jobs:
            logger.warning("Queued again %d training(s) that waited when the server stopped.", len(jobs))
        return jobs

    def overview(self):
        """The queue at a glance (:class:`mnist_lab.training.fair_queue.Overview`)."""
        return self.engine.queue.overview()

    def active(self) -> TrainingJob | None:
        """Return a job of this process still training, else one still waiting, whichever Trainer started it."""
        jobs = [job for job in list(_STARTED_JOBS) if not job.done]
        return min(jobs, key=lambda job: (job.waiting, job.queued_at), default=None)

    def job(self, run_id: str) -> TrainingJob | None:
        """Return the job of a run trained by this process, if any."""
        return self._jobs.get(run_id) or next((job for job in list(_STARTED_JOBS) if job.run_id == run_id), None)

    def jobs_of(self, user: access.User) -> list[TrainingJob]:
        """The jobs this process started for ``user``, oldest first."""
        return sorted((job for job in list(_STARTED_JOBS) if job.owner == user.id), key=lambda job: job.queued_at)

    def stop(self, run_id: str, user: access.User) -> None:
        """Stop the training of ``user``'s run ``run_id`` (see :meth:`TrainingJob.stop`).

        Raises
        ------
        RunNotFoundError
            No training of this process trains that run for ``user``: another student's training cannot be
            stopped, whatever its id.
        """
        job = self.job(run_id)
        if job is None or job.owner != user.id:
            raise RunNotFoundError(run_id)
        job.stop()
