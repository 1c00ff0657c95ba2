"""One training as the process that owns its run sees it: queued, trained, stored, ended once.

The web server (or the command line) is the run store's one writer. A :class:`TrainingJob` waits in the fair
queue (:mod:`mnist_lab.training.server.fair_queue`), is sent to a worker when its turn comes
(:mod:`mnist_lab.training.server.engine`), and stores what the worker sends back
(:mod:`mnist_lab.training.protocol`): per-batch progress, per-epoch history and the model after every epoch, so a
lost worker loses at most the epoch in progress. :meth:`TrainingJob.run` trains in the calling thread instead
(tests, benchmarks and ``mnist-lab train`` without a scheduler), through the same fit and the same message
handling.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from mnist_lab.data import Dataset, dataset_for_run
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.training import protocol
from mnist_lab.training.server import follow, outcomes
from mnist_lab.training.server.engine import Engine, RemoteTraining
from mnist_lab.training.server.fair_queue import FairQueue
from mnist_lab.training.server.progress import LiveProgress, Progress
from mnist_lab.training.server.run_writes import RunWrites
from mnist_lab.training.split import split_sizes
from mnist_lab.training.worker import fit

logger = logging.getLogger(__name__)


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
        self.stop_event = protocol.StopSignal()
        #: The id of the student the job trains for: only they may stop it (``Trainer.stop``).
        self.owner = store.user.id
        self.queued_at = time.monotonic()
        self.started_at = math.nan
        #: ``(epoch, batches done)`` when the stop request reached the training; None without a stop.
        self.stop_reached: tuple[int, int] | None = None
        self.training_images = split_sizes(len(dataset.y_train), train_config)[0]
        #: The resident memory of the worker process after the training released its memory (NaN until known).
        self.worker_memory_mb = math.nan
        self._live = LiveProgress(train_config.epochs, train_config.batch_size)
        self._queue: FairQueue | None = None
        self._remote: RemoteTraining | None = None
        self._ended = threading.Event()
        self._store_problem = ""
        #: The run's epochs, model and status on their way to the store, kept while its database is away.
        self._writes = RunWrites(store, run_id)
        self._epoch_listeners: list[Callable[[dict[str, Any]], None]] = []

    def __repr__(self) -> str:
        return f"<TrainingJob {self.run_id} {self.name!r} of {self.owner}: {self._live.status}>"

    # -- what the pages and callers use -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the job: after the batch in progress when it trains, before it starts when it waits."""
        self.stop_event.set()
        if self.cancel():
            return
        remote = self._remote
        if remote is not None:  # a call to the scheduler: in its own thread, so a page never waits on the network
            threading.Thread(target=quietly, args=(remote.stop,), daemon=True, name=f"stop-{self.run_id}").start()

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
        return self._live.status != run_store.RUNNING

    @property
    def waiting(self) -> bool:
        """Whether the job is waiting in the queue."""
        return self._live.waiting

    @property
    def worker(self) -> dict[str, Any]:
        """Where the job trains or trained: ``worker`` (address), ``host`` and ``pid``; empty before it starts."""
        return self._live.worker

    @property
    def network(self) -> str:
        """The network it trains (the queue's estimates learn one speed per network)."""
        return self.model_config.architecture

    @property
    def images_to_train(self) -> int:
        """Training images times epochs."""
        return self.training_images * self.train_config.epochs

    def progress(self) -> Progress:
        """Return a snapshot of the job's state."""
        queue = self._queue
        position, wait = queue.place(self) if queue is not None and self.waiting else (0, math.nan)
        return self._live.snapshot(self.run_id, self.name, position=position, wait_seconds=wait,
                                   note=self._writes.waiting_text())

    def seconds_left(self) -> float:
        """Estimated seconds until the training ends (NaN until it has a measured speed)."""
        return self._live.seconds_left()

    def spec(self) -> protocol.FitSpec:
        """What a worker needs to train this job's run."""
        return protocol.FitSpec(
            run_id=self.run_id, model=config.to_dict(self.model_config), train=config.to_dict(self.train_config),
            dataset=self.dataset.name, dataset_sha256=self.dataset.sha256, home=str(self.store.home),
            evaluate_test=self.evaluate_test, max_seconds=None if self.max_minutes is None else 60.0 * self.max_minutes,
        )

    # -- training in the calling thread -------------------------------------------------------------------------

    def run(self) -> str:
        """Train to the end in the calling thread (no Dask) and return the final status."""
        self._live.starting("Preparing the data and building the model.")
        self.started_at = time.monotonic()
        status, message = run_store.FAILED, ""
        try:
            ending = fit.fit(self.spec(), self, self.stop_event, self.dataset)
            status, message = self._outcome(ending)
        except KeyboardInterrupt:
            status, message = run_store.STOPPED, f"Interrupted during epoch {self._live.epoch}; saved epochs are kept."
        except Exception as error:  # the run must end with a status whatever went wrong
            message = outcomes.failure_text(error, where="this process")
            if not isinstance(error, (MnistLabError, MemoryError)):  # those say what to do in the run's message
                logger.error("Training %s failed; the run says so. Report it with this traceback.", self.run_id,
                             exc_info=error)
        finally:
            status, message = self._finish(status, message)
        self.join()  # until its writes have landed, should the database have been away
        return status

    def send(self, kind: str, payload: Any) -> None:
        """Take one message of the training (:mod:`mnist_lab.training.protocol`): show it and store it.

        Writes the database could not take while it was away are tried again first, once their delay has passed.
        """
        self._writes.retry()
        if kind == protocol.BEGIN:
            self._live.began(payload["batches_per_epoch"], {key: payload[key] for key in ("worker", "host", "pid")})
        elif kind == protocol.EPOCH_BEGIN:
            self._live.epoch_began(payload)
        elif kind == protocol.BATCH:
            self._live.add_batches([payload])
        elif kind == protocol.BATCHES:
            self._live.add_batches(payload)
        elif kind == protocol.EPOCH:
            row, model = payload
            if model is not None:
                self._writes.save_model(row["epoch"], model)
            self._record_epoch(row, model_saved=model is not None)
        elif kind == protocol.TEST_SCORES:
            self._store_test_scores(*payload)

    # -- training on a worker -----------------------------------------------------------------------------------

    def wait_in(self, queue: FairQueue) -> None:
        """Wait in ``queue`` for a worker; :meth:`launch` is called when the turn comes."""
        self._queue = queue
        # Marked, so that a server that restarts queues it again instead of calling it an interrupted training.
        self.store.update_metrics(self.run_id, **{run_store.WAITING: {"evaluate_test": self.evaluate_test}})
        queue.put(self)

    def launch(self, engine: Engine) -> None:
        """Send the training to ``engine``'s workers and follow it in a thread of this process."""
        self._live.starting("Starting on a worker.")
        self.started_at = time.monotonic()
        try:
            self.store.update_metrics(self.run_id, **{run_store.WAITING: None})
        except run_store.StoreError as error:  # it trains all the same; only a restart would misname it
            logger.warning("Training %s: its start could not be recorded (%s).", self.run_id, error)
        threading.Thread(target=self._train_remotely, args=(engine,), daemon=True, name=f"train-{self.run_id}").start()

    def fail(self, message: str) -> None:
        """End a job that cannot be trained (the engine is unreachable) with ``message``."""
        self._finish(run_store.FAILED, message)

    def _train_remotely(self, engine: Engine) -> None:
        status, message = run_store.FAILED, ""
        followed = False
        try:
            self._materialize_dataset()
            self._remote = engine.submit(self.spec())
            if self.stop_event.is_set():
                self._remote.stop()
            ending = follow.follow(self._remote, self._deliver, run_id=self.run_id,
                                   worker=lambda: self.worker.get("worker", ""))
            status, message = self._ended_remotely(ending)
            followed = True
        except Exception as error:  # the run must end with a status whatever went wrong
            status, message = follow.remote_failure(error, run_id=self.run_id,
                                                    where=self.worker.get("worker") or engine.description,
                                                    engine=engine, epoch=self._live.epoch,
                                                    saved=self._live.saved_epoch)
        finally:
            # The run's status is final at once; its worker slot is freed once the worker has released the fit's
            # memory (and been restarted, when it had grown), so the next training never meets a restarting worker.
            self._finish(status, message, before_freeing=functools.partial(self._recycle_worker, engine)
                         if followed else None)
            if self._remote is not None:
                self._remote.release()

    def _materialize_dataset(self) -> None:
        """Make sure the home holds the dataset's folder, which workers read: with a database server it is only a
        cache, written back from the database when it is missing (raises DatasetError)."""
        dataset_for_run(self.dataset.name, self.dataset.sha256, self.store.home, database=self.store.database_url)

    def _deliver(self, kind: str, payload: Any) -> None:
        """Take one message from the worker; when this process cannot store it, there is no point training on."""
        try:
            self.send(kind, payload)
        except run_store.StoreError as error:
            self._store_problem = f"Training ended: {error}."
            self._remote.stop()

    def _ended_remotely(self, ending: protocol.Ending | None) -> tuple[str, str]:
        """The final status and message of a followed training (``ending`` None: its worker process was lost)."""
        if ending is None:
            return run_store.INTERRUPTED, outcomes.process_lost_text(epoch=self._live.epoch,
                                                                     saved=self._live.saved_epoch)
        if self._store_problem:
            return run_store.FAILED, self._store_problem
        return self._outcome(ending)

    def _recycle_worker(self, engine: Engine) -> None:
        self.worker_memory_mb = follow.recycle_if_grown(engine, self._remote, self.worker, run_id=self.run_id)

    # -- shared by both ways of training ------------------------------------------------------------------------

    def _outcome(self, ending: protocol.Ending) -> tuple[str, str]:
        """Name the final status from how the fit ended."""
        self.stop_reached = ending.stop_reached
        return outcomes.outcome(ending, epoch=self._live.epoch, stop_asked=self.stop_event.is_set(),
                                epoch_rows=self._live.epoch_rows, epochs=self.train_config.epochs,
                                learning_rate=self.train_config.learning_rate, max_minutes=self.max_minutes)

    def _finish(self, status: str, message: str, *,
                before_freeing: Callable[[], None] | None = None) -> tuple[str, str]:
        """Store the final status, final metrics and worker; a store failure is reported in the job. Once only.

        ``before_freeing`` is called once the status is final and before the job's queue slot is freed.
        """
        if not self._live.end():
            return self._live.status, self._live.message
        metrics = outcomes.final_metrics(self._live.epoch_rows, self._live.worker)
        try:
            self._writes.finish(status, message=message, metrics=metrics)
        except run_store.StoreError as error:
            status, message = run_store.FAILED, f"{message} The final status could not be saved: {error}"
        self._live.settle(status, message)
        if before_freeing is not None:
            before_freeing()
        if self._queue is not None:
            self._queue.finished(self, self._live.measured_rate(self.training_images))
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

    def _store_test_scores(self, epoch: int, scores: Any) -> None:
        """Keep the final model's test-set probabilities with the run, where its first evaluation finds them."""
        if epoch != self._live.saved_epoch:  # they must describe the model that was kept
            return
        with contextlib.suppress(run_store.StoreError):  # the evaluation computes them again
            self.store.save_array(self.run_id, f"{inference.TEST_SCORES}_epoch{epoch}", scores)

    def _record_epoch(self, row: dict[str, Any], *, model_saved: bool) -> None:
        row["model_saved"] = model_saved
        self._writes.record_epoch(row["epoch"], row, model_saved=model_saved)
        self._live.add_epoch(row)
        for listener in self._epoch_listeners:
            listener(row)


def quietly(call: Callable[[], None]) -> None:
    """Run ``call`` in a background thread; an error is logged (a stop sent to a lost scheduler), not raised."""
    try:
        call()
    except Exception as error:
        logger.warning("%s did not complete (%s: %s); trainings go on without it.",
                       getattr(call, "__qualname__", "A background call"), type(error).__name__, error)
