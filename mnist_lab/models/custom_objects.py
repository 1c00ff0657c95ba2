"""The custom Keras losses and learning-rate schedule of the registries in :mod:`mnist_lab.models.optim`.

Keras is imported on the first call of :func:`keras_objects`, which defines the classes and registers them for
saving (package ``mnist_lab``), so that importing the registries stays cheap.
"""

from __future__ import annotations

import functools
import math
from typing import Any

ONE_CYCLE_WARMUP_FRACTION = 0.25
ONE_CYCLE_START_DIVISOR = 25.0
ONE_CYCLE_END_DIVISOR = 1000.0


@functools.cache
def keras_objects() -> dict[str, Any]:
    """Define and register the custom Keras loss and schedule classes (imports Keras on the first call).

    Returns
    -------
    dict of str to type
        ``LabelSmoothingCrossentropy``, ``OneHotMeanSquaredError``, ``OneHotCategoricalHinge`` (losses that take
        integer labels and softmax outputs) and ``OneCycle`` (a learning-rate schedule), by class name.
    """
    import keras

    def one_hot(y_true, y_pred):
        """Return the integer labels ``y_true`` as one-hot rows shaped like ``y_pred``."""
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        return keras.ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)

    @keras.saving.register_keras_serializable(package="mnist_lab")
    class LabelSmoothingCrossentropy(keras.losses.Loss):
        """Categorical cross-entropy against one-hot targets softened by ``label_smoothing``."""

        def __init__(self, label_smoothing=0.1, name="label_smoothing_crossentropy", **kwargs):
            super().__init__(name=name, **kwargs)
            self.label_smoothing = float(label_smoothing)

        def call(self, y_true, y_pred):
            return keras.losses.categorical_crossentropy(
                one_hot(y_true, y_pred), y_pred, label_smoothing=self.label_smoothing
            )

        def get_config(self):
            return {**super().get_config(), "label_smoothing": self.label_smoothing}

    @keras.saving.register_keras_serializable(package="mnist_lab")
    class OneHotMeanSquaredError(keras.losses.Loss):
        """Mean squared error between the softmax output and the one-hot target."""

        def __init__(self, name="mse", **kwargs):
            super().__init__(name=name, **kwargs)

        def call(self, y_true, y_pred):
            return keras.losses.mean_squared_error(one_hot(y_true, y_pred), y_pred)

    @keras.saving.register_keras_serializable(package="mnist_lab")
    class OneHotCategoricalHinge(keras.losses.Loss):
        """Categorical hinge loss: the true class must beat the best other class by a margin of 1."""

        def __init__(self, name="categorical_hinge", **kwargs):
            super().__init__(name=name, **kwargs)

        def call(self, y_true, y_pred):
            return keras.losses.categorical_hinge(one_hot(y_true, y_pred), y_pred)

    @keras.saving.register_keras_serializable(package="mnist_lab")
    class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
        """One-cycle policy: linear warm-up to the peak rate, then cosine annealing to almost zero."""

        def __init__(self, peak_learning_rate, total_steps, warmup_fraction=ONE_CYCLE_WARMUP_FRACTION):
            self.peak_learning_rate = float(peak_learning_rate)
            self.total_steps = int(total_steps)
            self.warmup_fraction = float(warmup_fraction)

        def __call__(self, step):
            ops = keras.ops
            step = ops.cast(step, "float32")
            peak = self.peak_learning_rate
            start, end = peak / ONE_CYCLE_START_DIVISOR, peak / ONE_CYCLE_END_DIVISOR
            warmup = max(1.0, round(self.total_steps * self.warmup_fraction))
            anneal = max(1.0, self.total_steps - warmup)
            rising = start + (peak - start) * step / warmup
            progress = ops.clip((step - warmup) / anneal, 0.0, 1.0)
            falling = end + (peak - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
            return ops.where(step < warmup, rising, falling)

        def get_config(self):
            return {
                "peak_learning_rate": self.peak_learning_rate,
                "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction,
            }

    return {
        "LabelSmoothingCrossentropy": LabelSmoothingCrossentropy,
        "OneHotMeanSquaredError": OneHotMeanSquaredError,
        "OneHotCategoricalHinge": OneHotCategoricalHinge,
        "OneCycle": OneCycle,
    }
