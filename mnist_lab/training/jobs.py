"""The training engine: one Keras fit at a time per process, in a background thread, stored as a run."""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.data import Dataset, shared_mnist
from mnist_lab.errors import TrainingBusyError
from mnist_lab.models import architectures, config, keras_session, optim
from mnist_lab.runs import store as run_store
from mnist_lab.training.split import reasons_for, split_data

BATCH_ROWS_KEPT = 600
#: A running loss this many times the first batch's loss counts as diverged, even while still finite.
DIVERGENCE_FACTOR = 10.0
#: How long a shutting-down process waits for its trainings to stop and save.
SHUTDOWN_WAIT_SECONDS = 30.0

_STARTED_JOBS: weakref.WeakSet[TrainingJob] = weakref.WeakSet()
# One training per process, even across Trainers (a cleared Streamlit cache makes a new one): both cores for it.
_START_LOCK = threading.RLock()


def token_matches(secret: str, given: str) -> bool:
    """Whether ``given`` (from a URL or a session, so any text) is the non-empty ``secret``, in constant time."""
    # As bytes: compare_digest refuses str with non-ASCII characters, and a URL can hold any.
    return bool(secret and given) and secrets.compare_digest(secret.encode(), str(given).encode())



@dataclass
class Progress:
    """A consistent copy of a job's state for drawing; safe to read from any thread."""

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

    @property
    def done(self) -> bool:
        """Whether the job has ended (any final status)."""
        return self.status != run_store.RUNNING

    @property
    def fraction(self) -> float:
        """Share of all batches done, in [0, 1]."""
        total = self.epochs * self.batches_per_epoch
        done = max(0, self.epoch - 1) * self.batches_per_epoch + self.batch
        return min(1.0, done / total) if total else 0.0


class _LiveCallback:
    """Keras callback body: records batches and epochs, obeys the stop event, saves each epoch."""

    def __init__(self, job: TrainingJob, model_path: Path, test_data: tuple[np.ndarray, np.ndarray] | None):
        self.job = job
        self.model_path = model_path
        self.test_data = test_data
        self.epoch_started = 0.0
        self.last_batch_end = 0.0
        self.train_seconds = 0.0
        self.first_loss: float | None = None
        self.diverged = False

    def on_epoch_begin(self, model, epoch: int) -> None:
        self.job._begin_epoch(epoch + 1)
        self.epoch_started = self.last_batch_end = time.perf_counter()

    def on_train_batch_begin(self, model) -> None:
        if self.job.stop_event.is_set():
            model.stop_training = True

    def on_train_batch_end(self, model, batch: int, logs: dict[str, float]) -> None:
        self.last_batch_end = time.perf_counter()
        loss = float(logs.get("loss", math.nan))
        if self.first_loss is None:
            self.first_loss = loss
        if self._exploded(loss):
            self.diverged = True
        if self.diverged or self.job.stop_event.is_set():
            model.stop_training = True
        self.job._record_batch(batch + 1, loss, float(logs.get("accuracy", math.nan)), self.last_batch_end)

    def _exploded(self, loss: float) -> bool:
        """Whether the loss is NaN, infinite, or has blown up far beyond where it started."""
        return not math.isfinite(loss) or (math.isfinite(self.first_loss) and loss > DIVERGENCE_FACTOR * self.first_loss)

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> None:
        self.train_seconds += self.last_batch_end - self.epoch_started
        row = {"epoch": epoch + 1, "train_seconds": round(self.train_seconds, 3)}
        row.update({key: float(value) for key, value in logs.items() if key != "learning_rate"})
        row["partial"] = self.diverged or self.job._batch < self.job._batches_per_epoch
        if self.test_data is not None and not self.diverged:
            scores = model.predict(self.test_data[0], batch_size=1000, verbose=0)
            row["test_accuracy"] = float(np.mean(np.argmax(scores, axis=1) == self.test_data[1]))
        if self._exploded(row.get("loss", 0.0)) or not math.isfinite(row.get("val_loss", 0.0)):
            self.diverged = True
        if not self.diverged:
            self._save(model)
        self.job._record_epoch(row, model_saved=not self.diverged)
        if self.job.stop_event.is_set():  # a stop during validation or saving must not start another epoch
            model.stop_training = True

    def _save(self, model) -> None:
        """Save the model atomically, so a crash while saving keeps the previous epoch's file."""
        partial = self.model_path.with_name("partial-model.keras")
        try:
            model.save(partial)
            os.replace(partial, self.model_path)
        except OSError as error:
            raise run_store.StoreError(
                f"the model could not be saved ({error.strerror or error}): the disk is full or the run "
                f"folder is not writable. Free some space or set {run_store.HOME_ENV} to a writable folder"
            ) from error
        finally:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


class TrainingJob:
    """One training in a background thread; pages read it only through :meth:`progress`.

    Parameters
    ----------
    run_id : str
        The stored run this job trains.
    name : str
        The run's name.
    model_config, train_config : ModelConfig, TrainConfig
        What to build and how to train it.
    store : RunStore
        Where epochs, the model and the final status are saved.
    dataset : Dataset
        The dataset the run trains on (its test split when ``evaluate_test``).
    evaluate_test : bool
        Also measure test accuracy after every epoch (not counted in ``train_seconds``).
    experiment : str
        The one-click experiment the run belongs to, or "".
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
    ):
        self.run_id = run_id
        self.name = name
        self.model_config = model_config
        self.train_config = train_config
        self.store = store
        self.dataset = dataset
        self.evaluate_test = evaluate_test
        self.experiment = experiment
        self.stop_event = threading.Event()
        #: A secret of the session that started the job: whoever shows it may stop the job (run ids are not secret).
        self.owner_token = secrets.token_urlsafe(16)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._status = run_store.RUNNING
        self._message = "Preparing the data and building the model."
        self._epoch = 0
        self._batch = 0
        self._batches_per_epoch = 0
        self._batches: list[dict[str, float]] = []
        self._epoch_rows: list[dict[str, Any]] = []
        self._step_times: list[float] = []
        self._epoch_listeners: list[Callable[[dict[str, Any]], None]] = []

    def start(self) -> None:
        """Start training in a daemon thread."""
        _stop_running_jobs_at_exit()
        self._thread = threading.Thread(target=self.run, name=f"train-{self.run_id}", daemon=True)
        _STARTED_JOBS.add(self)
        self._thread.start()

    def stop(self) -> None:
        """Ask the job to stop after the batch in progress."""
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; return whether the job has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.progress().done

    def on_epoch(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener(row)`` after every epoch (in the training thread)."""
        self._epoch_listeners.append(listener)

    @property
    def done(self) -> bool:
        """Whether the job has ended (cheaper than ``progress().done``)."""
        with self._lock:
            return self._status != run_store.RUNNING

    def progress(self) -> Progress:
        """Return a snapshot of the job's state."""
        with self._lock:
            rate, left = self._speed()
            return Progress(
                run_id=self.run_id,
                name=self.name,
                status=self._status,
                message=self._message,
                epoch=self._epoch,
                epochs=self.train_config.epochs,
                batch=self._batch,
                batches_per_epoch=self._batches_per_epoch,
                images_per_second=rate,
                seconds_left=left,
                batches=list(self._batches),
                epoch_rows=list(self._epoch_rows),
            )

    def run(self) -> str:
        """Train to the end in the calling thread and return the final status."""
        status, message = run_store.FAILED, ""
        try:
            status, message = self._train()
        except KeyboardInterrupt:
            status, message = run_store.STOPPED, f"Interrupted during epoch {self._epoch}; saved epochs are kept."
        except MemoryError:
            message = "The server ran out of memory: try a smaller model, batch size or training subset."
        except run_store.StoreError as error:
            message = f"Training ended: {error}."
        except Exception as error:  # the run must end with a status whatever went wrong
            message = f"Training failed: {type(error).__name__}: {error}"
        finally:
            status, message = self._finish(status, message)
        return status

    def _train(self) -> tuple[str, str]:
        """Build, compile and fit; return the final status and message."""
        import keras

        keras.utils.set_random_seed(self.train_config.seed)
        dataset = self.dataset
        data = split_data(dataset, self.train_config)
        steps = math.ceil(len(data.y_train) / self.train_config.batch_size)
        with self._lock:
            self._batches_per_epoch = steps
            self._message = "Training."
        with keras_session.building():
            model = architectures.build_model(self.model_config)
        try:
            optim.compile_model(model, self.train_config, steps)
            test = (dataset.x_test[..., np.newaxis], dataset.y_test) if self.evaluate_test else None
            body = _LiveCallback(self, self.store.model_path(self.run_id), test)
            if self.stop_event.is_set():
                return run_store.STOPPED, "Stopped before the first batch."
            model.fit(
                data.x_train,
                data.y_train,
                batch_size=self.train_config.batch_size,
                epochs=self.train_config.epochs,
                validation_data=(data.x_val, data.y_val) if data.x_val is not None else None,
                shuffle=True,
                verbose=0,
                callbacks=[_keras_callback(body)],
            )
        finally:
            del model
            keras_session.release()
        return self._outcome(body)

    def _outcome(self, body: _LiveCallback) -> tuple[str, str]:
        """Name the final status from what the callback saw."""
        if body.diverged:
            kept = f" The model of epoch {self._saved_epochs()} is kept." if self._saved_epochs() else ""
            return run_store.DIVERGED, (
                f"Training diverged: the loss became NaN, infinite or more than {DIVERGENCE_FACTOR:g} times its "
                f"starting value (learning rate {self.train_config.learning_rate:g}). "
                f"Try a learning rate 10 times lower.{kept}"
            )
        last = self._epoch_rows[-1] if self._epoch_rows else {"epoch": 0, "partial": True}
        if self.stop_event.is_set() and (last["partial"] or last["epoch"] < self.train_config.epochs):
            when = "during" if last["partial"] else "after"
            return run_store.STOPPED, f"Stopped {when} epoch {self._epoch}; the model so far is kept."
        return run_store.FINISHED, f"Finished {self._epoch} epochs."

    def _saved_epochs(self) -> int:
        """Return the last epoch whose model was saved."""
        return max((row["epoch"] for row in self._epoch_rows if row.get("model_saved")), default=0)

    def _finish(self, status: str, message: str) -> tuple[str, str]:
        """Store the final status and final metrics; a store failure is reported in the job."""
        kept = next((row for row in reversed(self._epoch_rows) if row.get("model_saved")), {})  # the model kept
        metrics = {k: kept[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy") if k in kept}
        metrics["train_seconds"] = self._epoch_rows[-1].get("train_seconds", 0.0) if self._epoch_rows else 0.0
        try:
            self.store.finish(self.run_id, status, message=message, metrics=metrics)
        except run_store.StoreError as error:
            status, message = run_store.FAILED, f"{message} The final status could not be saved: {error}"
        with self._lock:
            self._status, self._message = status, message
        return status, message

    def _begin_epoch(self, epoch: int) -> None:
        with self._lock:
            self._epoch, self._batch = epoch, 0

    def _record_batch(self, batch: int, loss: float, accuracy: float, when: float) -> None:
        with self._lock:
            self._batch = batch
            self._step_times.append(when)
            del self._step_times[:-50]
            self._batches.append({"epoch": self._epoch, "batch": batch, "loss": loss, "accuracy": accuracy})
            if len(self._batches) > BATCH_ROWS_KEPT:
                del self._batches[::2]

    def _record_epoch(self, row: dict[str, Any], *, model_saved: bool) -> None:
        row["model_saved"] = model_saved
        self.store.record_epoch(self.run_id, row["epoch"], row, model_saved=model_saved)
        with self._lock:
            self._epoch_rows.append(row)
        for listener in self._epoch_listeners:
            listener(row)

    def _speed(self) -> tuple[float, float]:
        """Return images per second over the recent batches and the estimated seconds left."""
        times = self._step_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0, math.nan
        batches_per_second = (len(times) - 1) / (times[-1] - times[0])
        left = self.train_config.epochs * self._batches_per_epoch - (
            (self._epoch - 1) * self._batches_per_epoch + self._batch
        )
        return batches_per_second * self.train_config.batch_size, max(0.0, left / batches_per_second)


def _keras_callback(body: _LiveCallback):
    """Wrap ``body`` in a keras.callbacks.Callback (built here so keras is imported lazily)."""
    import keras

    class LiveCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            body.on_epoch_begin(self.model, epoch)

        def on_train_batch_begin(self, batch, logs=None):
            body.on_train_batch_begin(self.model)

        def on_train_batch_end(self, batch, logs=None):
            body.on_train_batch_end(self.model, batch, logs or {})

        def on_epoch_end(self, epoch, logs=None):
            body.on_epoch_end(self.model, epoch, logs or {})

    return LiveCallback()


def new_job(
    store: run_store.RunStore,
    name: str,
    model_config: config.ModelConfig,
    train_config: config.TrainConfig,
    dataset: Dataset | None = None,
    *,
    experiment: str = "",
    evaluate_test: bool = False,
) -> TrainingJob:
    """Create a run in ``store`` and return its job, not yet started (``job.run()`` or ``job.start()``).

    The run trains on ``dataset`` (the bundled MNIST when None) and records its name and checksum; the network
    gets one output unit per class of the dataset, whatever ``model_config.num_classes`` says.

    Raises
    ------
    ConfigError
        The network is too big to train here (see ``architectures.check_size``).
    StoreError, RunNameError
        The run cannot be created.
    """
    dataset = dataset or shared_mnist()
    model_config = config.replace(model_config, num_classes=dataset.n_classes)
    architectures.check_size(model_config)
    run_id = store.create_run(
        name, config.to_dict(model_config), config.to_dict(train_config), reasons_for(model_config, train_config),
        experiment=experiment, dataset=dataset.name, dataset_sha256=dataset.sha256,
    )
    return TrainingJob(
        run_id, name, model_config, train_config, store, dataset, evaluate_test=evaluate_test, experiment=experiment
    )


class Trainer:
    """Runs at most one training at a time in this process and finds jobs again by run id.

    Parameters
    ----------
    store : RunStore
        Where runs are kept.
    """

    def __init__(self, store: run_store.RunStore):
        self.store = store
        self._jobs: dict[str, TrainingJob] = {}

    def start(
        self,
        name: str,
        model_config: config.ModelConfig,
        train_config: config.TrainConfig,
        *,
        dataset: Dataset | None = None,
        experiment: str = "",
    ) -> TrainingJob:
        """Create a run and start training it in the background.

        The run trains on ``dataset`` (the bundled MNIST when None) and records its name and checksum; the
        network gets one output unit per class of the dataset. ``experiment`` tags the run as part of a named
        one-click experiment (see ``RunStore.create_run``).

        Raises
        ------
        TrainingBusyError
            Another training is running; its name and progress are in the message.
        ConfigError
            The network is too big to train here (see ``architectures.check_size``).
        """
        architectures.check_size(config.replace(model_config, num_classes=(dataset or shared_mnist()).n_classes))
        with _START_LOCK:
            active = self.active()
            if active is not None:
                progress = active.progress()
                raise TrainingBusyError(
                    f"Another training is running ({progress.name!r}, epoch {progress.epoch} of {progress.epochs}). "
                    "This server trains one model at a time so that it gets both CPU cores: "
                    "wait until it finishes or is stopped."
                )
            job = new_job(self.store, name, model_config, train_config, dataset, experiment=experiment)
            self._jobs[job.run_id] = job
            job.start()
            return job

    def active(self) -> TrainingJob | None:
        """Return the job still training in this process, if any, whichever Trainer started it."""
        return next((job for job in list(_STARTED_JOBS) if not job.done), None)

    def job_with_token(self, token: str) -> TrainingJob | None:
        """Return the job whose ``owner_token`` is ``token``, if any."""
        jobs = [*self._jobs.values(), *list(_STARTED_JOBS)]
        return next((job for job in jobs if token_matches(job.owner_token, token)), None)

    def job(self, run_id: str) -> TrainingJob | None:
        """Return the job of a run trained by this process, if any."""
        return self._jobs.get(run_id) or next((job for job in list(_STARTED_JOBS) if job.run_id == run_id), None)


def _stop_running_jobs() -> None:
    """On interpreter exit, stop background trainings so they end as ``stopped`` with their model saved."""
    running = [job for job in list(_STARTED_JOBS) if not job.progress().done]
    for job in running:
        job.stop()
    deadline = time.monotonic() + SHUTDOWN_WAIT_SECONDS
    for job in running:
        job.join(max(0.0, deadline - time.monotonic()))


@functools.cache
def _stop_running_jobs_at_exit() -> None:
    """Register :func:`_stop_running_jobs` once, after Keras is loaded.

    Exit handlers run newest first: registered after Keras (and the h5py it loads), ours stops the trainings
    while the libraries that save their models still work.
    """
    import keras  # noqa: F401

    atexit.register(_stop_running_jobs)
