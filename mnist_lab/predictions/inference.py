"""Running a stored run's model: single drawings, the whole test set, safely shared between sessions."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import numpy as np

from mnist_lab.errors import ModelUnavailableError
from mnist_lab.models import keras_session
from mnist_lab.runs import store as run_store

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

        Calls the model directly (no ``predict`` loop), which is several times faster for one image.
        """
        image = np.asarray(image, dtype=np.float32)
        if image.shape != (28, 28):
            raise ValueError(f"expected one 28x28 image, got shape {image.shape}")
        batch = (image * 255.0)[np.newaxis, :, :, np.newaxis]
        with self._lock:
            return np.asarray(self.model(batch, training=False))[0]

    def predict_images(self, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
        """Return class probabilities (n, classes) for uint8 images (n, 28, 28) in 0-255."""
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images of shape (n, 28, 28), got {images.shape}")
        with self._lock:
            return self.model.predict(images[..., np.newaxis], batch_size=batch_size, verbose=0)


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
        raise ModelUnavailableError(f"the model file of run {label!r} is damaged and cannot be loaded ({error})") from error


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
