"""Running a stored run's model: single drawings, the whole test set, safely shared between sessions."""

from __future__ import annotations

import logging
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np

from mnist_lab.errors import ModelUnavailableError
from mnist_lab.models import keras_session
from mnist_lab.runs import store as run_store

logger = logging.getLogger(__name__)

TEST_SCORES = "test_scores"



class RunModel:
    """A run's trained model, loaded from the app's own ``.keras`` file.

    Only files written by this app's run store are ever loaded, with Keras' ``safe_mode``:
    a model file uploaded by a user is never loaded (it can run code).

    Parameters
    ----------
    model : keras.Model
        The loaded model.
    """

    def __init__(self, model):
        self.model = model
        self._lock = threading.Lock()
        self._forward = None  # the compiled inference function, built on first use

    def _compiled(self):
        """The model's inference pass compiled once into a TensorFlow graph, for any batch size.

        One graph serves a single drawn digit and the batches of the test set: called eagerly, Keras runs each
        layer as a separate Python step, which cost a single digit 21 ms of CPU with ``fast`` against 3 ms as a
        graph (36 against 4 ms with ``deep``). On another Keras backend the model is called as it is.
        """
        if self._forward is None:
            import keras

            model = self.model
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
                self._forward = tf.function(lambda images: model(images, training=False), input_signature=[spec])
            else:
                self._forward = lambda images: model(images, training=False)
        return self._forward

    @classmethod
    def load(cls, store: run_store.RunStore, run: run_store.Run) -> RunModel:
        """Load the model saved for ``run``.

        Raises
        ------
        ModelUnavailableError
            No epoch was saved, or the file is missing or damaged; the message says which.
        """
        require_saved_model(run)
        return cls(load_model_file(store.model_path(run.id), run.name))

    def predict_digit(self, image: np.ndarray) -> np.ndarray:
        """Return the class probabilities (one per class) for one 28x28 image with values in [0, 1].

        Runs the compiled inference graph (no ``predict`` loop, no eager layer-by-layer call), which is
        several times faster for one image.
        """
        image = np.asarray(image, dtype=np.float32)
        if image.shape != (28, 28):
            raise ValueError(f"expected one 28x28 image, got shape {image.shape}")
        batch = (image * 255.0)[np.newaxis, :, :, np.newaxis]
        with self._lock:
            return np.asarray(self._compiled()(batch))[0]

    def predict_images(self, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
        """Return class probabilities (n, classes) for uint8 images (n, 28, 28) in 0-255.

        Batches of ``batch_size`` go through the compiled inference graph: 1,000 took the least CPU time
        (measured against 250 to 10,000, and against Keras' ``predict``, which traces a graph of its own).
        """
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images of shape (n, 28, 28), got {images.shape}")
        with self._lock:
            forward = self._compiled()
            batches = [
                np.asarray(forward(images[start : start + batch_size, :, :, np.newaxis].astype(np.float32)))
                for start in range(0, len(images), batch_size)
            ]
        if not batches:
            return np.zeros((0, self.model.output_shape[-1]), dtype=np.float32)
        return np.concatenate(batches)


def require_saved_model(run: run_store.Run) -> None:
    """Raise ModelUnavailableError, saying why, when no epoch of ``run`` was saved."""
    if run.problem is not None:
        raise ModelUnavailableError(run.problem)


def load_model_file(path: Path, label: str):
    """Load a ``.keras`` file written by the app, turning every failure into ModelUnavailableError."""
    import keras

    if not path.is_file():
        raise ModelUnavailableError(f"the model file of run {label!r} is missing ({path.name} was deleted)")
    try:
        with keras_session.building():
            return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        logger.warning("The model file %s of run %r cannot be loaded: %s", path, label, error)
        raise ModelUnavailableError(f"the model file of run {label!r} is damaged and cannot be loaded ({error})") from error


def portable_model_file(store: run_store.RunStore, run: run_store.Run) -> bytes:
    """The run's model as a ``.keras`` file that plain Keras loads: the network and its weights, not compiled.

    The stored file also records the training's loss and learning-rate schedule, some of them MNIST Lab's own
    classes, which ``keras.saving.load_model`` cannot rebuild without MNIST Lab. A student's download holds what
    predicts; to train it further they compile it with the loss and optimizer of their choice.

    Raises
    ------
    ModelUnavailableError
        The run has no usable model file.
    """
    require_saved_model(run)
    model = load_model_file(store.model_path(run.id), run.name)
    with tempfile.TemporaryDirectory(prefix="mnist-lab-download-") as folder:
        path = Path(folder) / "model.keras"
        with keras_session.building():
            model.save(path)
        return path.read_bytes()


def test_scores(store: run_store.RunStore, run: run_store.Run, model: RunModel, images: np.ndarray) -> np.ndarray:
    """Return the model's class probabilities on the test images, computed once per saved model and stored.

    Parameters
    ----------
    store : RunStore
    run : Run
    model : RunModel
        The run's loaded model.
    images : numpy.ndarray
        The test images, uint8 (n, 28, 28).
    """
    return store.cached_array(
        run.id,
        f"{TEST_SCORES}_epoch{run.saved_epochs}",
        lambda: model.predict_images(images).astype(np.float32),
        valid=lambda scores: scores.shape == (len(images), run.model_config.get("num_classes", 10)),
    )
