"""One lock around Keras' process-wide state: building models and clearing the session never overlap."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_STATE_LOCK = threading.RLock()


@contextlib.contextmanager
def building() -> Iterator[None]:
    """Hold the lock while a model is built or loaded, so layer names are not reset halfway."""
    with _STATE_LOCK:
        yield


def release() -> None:
    """Free Keras' global state and the memory of models no longer referenced."""
    import keras

    with _STATE_LOCK:
        keras.backend.clear_session()
    gc.collect()
