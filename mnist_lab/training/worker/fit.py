"""The training itself: build, compile and fit one run, and report every batch, epoch and saved model to a sink.

This runs where the model trains: in a Dask worker (:mod:`mnist_lab.training.worker.task`) or, for
``TrainingJob.run``, in the calling thread. It never writes the run store: the process that owns the run (the web
server or the command line) receives the messages (:mod:`mnist_lab.training.protocol`) and is the store's one
writer. The ``end`` message is sent before Keras' memory is released, so the run's final status does not wait for
that.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.data import Dataset, dataset_for_run
from mnist_lab.errors import StoreError
from mnist_lab.models import architectures, config, keras_session, optim
from mnist_lab.training import protocol
from mnist_lab.training.split import split_data


def where() -> dict[str, Any]:
    """Where this code runs: the Dask worker's address (or "this process"), the host and the process id."""
    address = "this process"
    if "distributed" in sys.modules:  # a Dask worker has imported it; training in the caller need not
        from distributed import get_worker

        with contextlib.suppress(ValueError):  # not in a worker
            address = get_worker().address
    return {"worker": address, "host": socket.gethostname(), "pid": os.getpid()}


def load_dataset(spec: protocol.FitSpec) -> Dataset:
    """The run's dataset, loaded in this process and checked against the run's checksum (raises DatasetError)."""
    return dataset_for_run(spec.dataset, spec.dataset_sha256, Path(spec.home))


def fit(spec: protocol.FitSpec, sink: protocol.Sink, stop: protocol.StopSignal,
        dataset: Dataset | None = None) -> protocol.Ending:
    """Train the run of ``spec`` to its end, its stop or its divergence, reporting to ``sink``.

    Parameters
    ----------
    spec : FitSpec
        What to train.
    sink : Sink
        Receives the messages (see the module's docstring).
    stop : StopSignal
        Checked before every batch and after every batch and epoch; the fit ends within one batch of it.
    dataset : Dataset, optional
        The dataset when the caller has it loaded already; otherwise it is loaded from ``spec``.

    Returns
    -------
    Ending

    Raises
    ------
    StoreError
        The model could not be written to a temporary file (full disk).
    DatasetError
        The dataset cannot be loaded here or has changed.
    """
    import keras

    model_config = config.from_dict(config.ModelConfig, spec.model)
    train_config = config.from_dict(config.TrainConfig, spec.train)
    dataset = dataset or load_dataset(spec)
    data = split_data(dataset, train_config)
    steps = math.ceil(len(data.y_train) / train_config.batch_size)
    sink.send(protocol.BEGIN, {"batches_per_epoch": steps, **where()})
    keras.utils.set_random_seed(train_config.seed)
    with keras_session.building(), _keras_python_random(train_config.seed):
        model = architectures.build_model(model_config)
    try:
        optim.compile_model(model, train_config, steps)
        test = (dataset.x_test, dataset.y_test) if spec.evaluate_test else None
        body = _LiveCallback(sink, stop, steps, test, max_seconds=spec.max_seconds)
        if stop.is_set():
            ending = protocol.Ending(False, True, stop.reached, (0, 0))
            sink.send(protocol.END, dataclasses.asdict(ending))
            return ending
        with tempfile.TemporaryDirectory(prefix="mnist-lab-fit-") as folder:
            body.model_file = Path(folder) / "model.keras"
            model.fit(
                data.x_train,
                data.y_train,
                batch_size=train_config.batch_size,
                epochs=train_config.epochs,
                validation_data=(data.x_val, data.y_val) if data.x_val is not None else None,
                shuffle=True,
                verbose=0,
                callbacks=[_keras_callback(body)],
            )
        ending = protocol.Ending(body.diverged, False, stop.reached, (body.epoch, body.batch), body.timed_out)
        if not body.diverged and not stop.is_set() and body.epoch:
            scores = body.test_scores if body.test_scores is not None else _predict(model, dataset.x_test)
            sink.send(protocol.TEST_SCORES, (body.epoch, scores))
        sink.send(protocol.END, dataclasses.asdict(ending))
    finally:
        del model
        keras_session.release()
    return ending


def _predict(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities of ``images`` (uint8, (n, height, width)) as float32, the way the app stores them."""
    return model.predict(images[..., np.newaxis], batch_size=1000, verbose=0).astype(np.float32)


@contextlib.contextmanager
def _keras_python_random(seed: int) -> Iterator[None]:
    """Give Keras a Python random generator of its own, seeded with ``seed``, while it draws its layers' seeds.

    Keras draws every unseeded layer's seed from Python's global ``random`` (``make_default_seed``). In a Dask
    worker, Dask draws from it too, from its event loop (``dask.sizeof`` samples long messages), so the same seed
    gave other weights in a worker than in the caller. The draws are the same as from the global generator seeded
    with ``seed`` by ``set_random_seed``, so a run in a worker gets the curves of the same run trained in-process.
    """
    from keras.src.random import seed_generator

    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = random


class _LiveCallback:
    """Keras callback body: reports batches and epochs, obeys the stop signal, sends the model after each epoch."""

    def __init__(self, sink: protocol.Sink, stop: protocol.StopSignal, steps: int,
                 test_data: tuple[np.ndarray, np.ndarray] | None,
                 *, max_seconds: float | None = None):
        self.sink = sink
        self.stop = stop
        self.max_seconds = max_seconds
        self.deadline = math.inf  # set when the first batch begins
        self.timed_out = False
        self.steps = steps
        self.test_data = test_data
        self.model_file = Path()
        self.epoch = self.batch = 0
        self.epoch_started = self.last_batch_end = 0.0
        self.train_seconds = 0.0
        self.first_loss: float | None = None
        self.diverged = False
        self.validation_cut = False
        #: The last epoch's class probabilities on the test images, when ``test_data`` is measured every epoch.
        self.test_scores: np.ndarray | None = None

    def on_epoch_begin(self, model, epoch: int) -> None:
        self.epoch, self.batch = epoch + 1, 0
        self.validation_cut = False
        self.stop.at(self.epoch, 0)
        self.sink.send(protocol.EPOCH_BEGIN, self.epoch)
        self.epoch_started = self.last_batch_end = time.perf_counter()

    def on_train_batch_begin(self, model) -> None:
        if self.max_seconds is not None and self.deadline == math.inf:
            self.deadline = time.perf_counter() + self.max_seconds
        if self.stop.is_set():
            model.stop_training = True

    def on_train_batch_end(self, model, batch: int, logs: dict[str, float]) -> None:
        self.last_batch_end = time.perf_counter()
        self.batch = batch + 1
        self.stop.at(self.epoch, self.batch)
        loss = float(logs.get("loss", math.nan))
        if self.first_loss is None:
            self.first_loss = loss
        if self._exploded(loss):
            self.diverged = True
        if self.last_batch_end >= self.deadline and not self.stop.is_set():  # as a Stop would: the model is kept
            self.timed_out = True
            self.stop.set()
        if self.diverged or self.stop.is_set():
            model.stop_training = True
        self.sink.send(protocol.BATCH, {"epoch": self.epoch, "batch": self.batch, "loss": loss,
                               "accuracy": float(logs.get("accuracy", math.nan)), "when": self.last_batch_end})

    def on_test_batch_end(self, model) -> None:
        """After a batch of fit's validation: a stopped, partial epoch ends it, so Stop does not wait for it."""
        if self.stop.is_set() and self.batch < self.steps:
            model.stop_evaluating = True
            self.validation_cut = True

    def _exploded(self, loss: float) -> bool:
        """Whether the loss is NaN, infinite, or has blown up far beyond where it started."""
        limit = protocol.DIVERGENCE_FACTOR * self.first_loss
        return not math.isfinite(loss) or (math.isfinite(self.first_loss) and loss > limit)

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> None:
        self.train_seconds += self.last_batch_end - self.epoch_started
        row: dict[str, Any] = {"epoch": epoch + 1, "train_seconds": round(self.train_seconds, 3)}
        # Figures of a validation cut short by a stop would describe a few batches only: they are left out.
        row.update({key: float(value) for key, value in logs.items()
                    if key != "learning_rate" and not (self.validation_cut and key.startswith("val_"))})
        row["partial"] = self.diverged or self.batch < self.steps
        stopped_early = self.stop.is_set() and self.batch < self.steps
        self.test_scores = None
        if self.test_data is not None and not self.diverged and not stopped_early:
            self.test_scores = _predict(model, self.test_data[0])
            row["test_accuracy"] = float(np.mean(np.argmax(self.test_scores, axis=1) == self.test_data[1]))
        if self._exploded(row.get("loss", 0.0)) or not math.isfinite(row.get("val_loss", 0.0)):
            self.diverged = True
        self.sink.send(protocol.EPOCH, (row, None if self.diverged else self._model_bytes(model)))
        if self.stop.is_set():  # a stop during validation or saving must not start another epoch
            model.stop_training = True

    def _model_bytes(self, model) -> bytes:
        """The model as the bytes of a ``.keras`` file."""
        try:
            model.save(self.model_file)
            return self.model_file.read_bytes()
        except OSError as error:
            raise StoreError(
                f"the model could not be saved ({error.strerror or error}): the disk is full or the folder for "
                "temporary files is not writable. Free some space"
            ) from error


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

        def on_test_batch_end(self, batch, logs=None):
            body.on_test_batch_end(self.model)

        def on_epoch_end(self, epoch, logs=None):
            body.on_epoch_end(self.model, epoch, logs or {})

    return LiveCallback()
