"""The notebook's cells that build and compile the run's network: plain Keras a student can read.

The model and its training follow the app's own builders (:mod:`mnist_lab.models.networks`,
:mod:`mnist_lab.models.optim`, :mod:`mnist_lab.models.custom_objects`) layer by layer and call by call: Keras draws
each layer's initial weights and random seeds in the order the layers are created, so the same order under the same
seed gives the same network as the app's training.
"""

from __future__ import annotations

from string import Template

from mnist_lab.models import custom_objects, networks
from mnist_lab.models.config import ModelConfig, TrainConfig


def _inputs(model: ModelConfig) -> list[str]:
    """The input, its scaling and augmentation, as ``networks._inputs`` builds them."""
    lines = ["inputs = keras.Input(shape=(28, 28, 1), name=\"image\")", "x = inputs"]
    if model.scale_inputs:
        lines.append("x = layers.Rescaling(1.0 / 255, name=\"scale_0_1\")(x)  # pixels 0-255 to 0-1, inside the model")
    if model.augment:
        shift, rotation, zoom = networks.AUGMENT_SHIFT, networks.AUGMENT_ROTATION, networks.AUGMENT_ZOOM
        lines += [
            "# Augmentation: a slightly different digit in every epoch (only while training)",
            f"x = layers.RandomTranslation({shift}, {shift}, fill_mode=\"constant\", name=\"random_shift\")(x)",
            f"x = layers.RandomRotation({rotation}, fill_mode=\"constant\", name=\"random_rotation\")(x)",
            f"x = layers.RandomZoom({zoom}, fill_mode=\"constant\", name=\"random_zoom\")(x)",
        ]
    return lines


def _conv_bn_relu(filters: int, kernel_size: int = 3, strides: int = 1, padding: str = "same") -> list[str]:
    """A bias-free convolution, batch normalisation and ReLU (the bias is the batch norm's job)."""
    return [
        f"x = layers.Conv2D({filters}, {kernel_size}, strides={strides}, padding=\"{padding}\", use_bias=False)(x)",
        f"x = layers.BatchNormalization(momentum={networks.BN_MOMENTUM})(x)",
        "x = layers.ReLU()(x)",
    ]


def _dense_bn_relu(units: int) -> list[str]:
    """A bias-free Dense layer, batch normalisation and ReLU."""
    return [f"x = layers.Dense({units}, use_bias=False)(x)",
            f"x = layers.BatchNormalization(momentum={networks.BN_MOMENTUM})(x)", "x = layers.ReLU()(x)"]


def _perceptron(model: ModelConfig) -> list[str]:
    return ["x = layers.Flatten()(x)  # 28 x 28 pixels to 784 inputs"]


def _mlp(model: ModelConfig) -> list[str]:
    lines = ["x = layers.Flatten()(x)  # 28 x 28 pixels to 784 inputs"]
    for units in model.hidden_layers:
        lines.append(f"x = layers.Dense({units}, activation=\"{model.activation}\")(x)")
        if model.dropout > 0:
            lines.append(f"x = layers.Dropout({model.dropout})(x)")
    return lines


def _keras_classic(model: ModelConfig) -> list[str]:
    return [
        "x = layers.Conv2D(32, kernel_size=(3, 3), activation=\"relu\")(x)",
        "x = layers.MaxPooling2D(pool_size=(2, 2))(x)",
        "x = layers.Conv2D(64, kernel_size=(3, 3), activation=\"relu\")(x)",
        "x = layers.MaxPooling2D(pool_size=(2, 2))(x)",
        "x = layers.Flatten()(x)",
        "x = layers.Dropout(0.5)(x)",
    ]


def _lenet5(model: ModelConfig) -> list[str]:
    return [
        "x = layers.Conv2D(6, 5, padding=\"same\", activation=\"tanh\", name=\"c1\")(x)",
        "x = layers.AveragePooling2D(2, name=\"s2\")(x)",
        "x = layers.Conv2D(16, 5, activation=\"tanh\", name=\"c3\")(x)",
        "x = layers.AveragePooling2D(2, name=\"s4\")(x)",
        "x = layers.Flatten()(x)",
        "x = layers.Dense(120, activation=\"tanh\", name=\"c5\")(x)",
        "x = layers.Dense(84, activation=\"tanh\", name=\"f6\")(x)",
    ]


def _fast(model: ModelConfig) -> list[str]:
    return [
        *_conv_bn_relu(32, kernel_size=5, strides=2),
        "x = layers.MaxPooling2D(2)(x)",
        *_conv_bn_relu(64),
        "x = layers.MaxPooling2D(2)(x)",
        "x = layers.Flatten()(x)",
        *_dense_bn_relu(256),
    ]


def _deep(model: ModelConfig) -> list[str]:
    lines: list[str] = []
    for filters in (32, 64):
        lines += [*_conv_bn_relu(filters, padding="valid"), *_conv_bn_relu(filters, padding="valid"),
                  "x = layers.MaxPooling2D(2)(x)", "x = layers.Dropout(0.25)(x)"]
    return [*lines, "x = layers.Flatten()(x)", *_dense_bn_relu(256), "x = layers.Dropout(0.5)(x)"]


def _custom(model: ModelConfig) -> list[str]:
    lines: list[str] = []
    for block in range(model.conv_blocks):
        lines += [f"# block {block + 1}",
                  f"x = layers.Conv2D({model.filters * 2**block}, {model.kernel_size}, padding=\"same\", "
                  f"use_bias={not model.batch_norm})(x)"]
        if model.batch_norm:
            lines.append(f"x = layers.BatchNormalization(momentum={networks.BN_MOMENTUM})(x)")
        lines.append(f"x = layers.Activation(\"{model.activation}\")(x)")
        if model.pooling != "none":
            lines.append(f"x = layers.{'MaxPooling2D' if model.pooling == 'max' else 'AveragePooling2D'}(2)(x)")
        if model.dropout > 0:
            lines.append(f"x = layers.Dropout({model.dropout})(x)")
    lines.append("x = layers.Flatten()(x)")
    if model.dense_units > 0:
        lines.append(f"x = layers.Dense({model.dense_units}, activation=\"{model.activation}\")(x)")
        if model.dropout > 0:
            lines.append(f"x = layers.Dropout({model.dropout})(x)")
    return lines


_BODIES = {"perceptron": _perceptron, "mlp": _mlp, "keras-classic": _keras_classic, "lenet5": _lenet5,
           "fast": _fast, "deep": _deep, "custom": _custom}


def build_model(model: ModelConfig) -> str:
    """The cell that seeds Keras and builds the run's network, layer by layer."""
    return "\n".join([
        "# One seed for Python, NumPy and TensorFlow: the same initial weights, dropout masks and batch order.",
        "keras.utils.set_random_seed(SEED)",
        "",
        *_inputs(model),
        *_BODIES[model.architecture](model),
        "# One output per digit; softmax turns the 10 sums into probabilities that add up to 1.",
        f"outputs = layers.Dense(NUM_CLASSES, activation=\"softmax\", name=\"{networks.OUTPUT_LAYER}\")(x)",
        f"model = keras.Model(inputs, outputs, name=\"{model.architecture.replace('-', '_')}\")",
        "model.summary()",
        "",
    ])


_ONE_HOT = '''\
def one_hot(labels, probabilities):
    """The integer labels as one-hot rows, shaped like the model's outputs."""
    labels = keras.ops.cast(keras.ops.reshape(labels, (-1,)), "int32")
    return keras.ops.one_hot(labels, probabilities.shape[-1], dtype=probabilities.dtype)'''
#: Each loss as the blocks of code that define ``loss``.
_LOSSES = {
    "sparse_categorical_crossentropy": ["loss = keras.losses.SparseCategoricalCrossentropy()"],
    "label_smoothing_crossentropy": ["LABEL_SMOOTHING = $label_smoothing", _ONE_HOT, '''\
def loss(labels, probabilities):
    """Cross-entropy against one-hot targets softened by LABEL_SMOOTHING."""
    return keras.losses.categorical_crossentropy(one_hot(labels, probabilities), probabilities,
                                                 label_smoothing=LABEL_SMOOTHING)'''],
    "mse": [_ONE_HOT, '''\
def loss(labels, probabilities):
    """Mean squared error between the softmax outputs and the one-hot targets."""
    return keras.losses.mean_squared_error(one_hot(labels, probabilities), probabilities)'''],
    "categorical_hinge": [_ONE_HOT, '''\
def loss(labels, probabilities):
    """Categorical hinge: the true digit's output must beat the best other one by a margin of 1."""
    return keras.losses.categorical_hinge(one_hot(labels, probabilities), probabilities)'''],
}
_OPTIMIZERS = {
    "sgd": "keras.optimizers.SGD(learning_rate=learning_rate)",
    "sgd_momentum": "keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True)",
    "adam": "keras.optimizers.Adam(learning_rate=learning_rate)",
    "adamw": "keras.optimizers.AdamW(learning_rate=learning_rate)",
    "rmsprop": "keras.optimizers.RMSprop(learning_rate=learning_rate)",
    "adagrad": "keras.optimizers.Adagrad(learning_rate=learning_rate)",
    "nadam": "keras.optimizers.Nadam(learning_rate=learning_rate)",
}
_ONE_CYCLE = '''\
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle: a linear warm-up from 1/$start of the peak rate, then a cosine down to 1/$end of it."""

    def __init__(self, peak_learning_rate, total_steps, warmup_fraction=$warmup):
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_fraction = float(warmup_fraction)

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        start, end = peak / $start, peak / $end
        warmup = max(1.0, round(self.total_steps * self.warmup_fraction))
        anneal = max(1.0, self.total_steps - warmup)
        rising = start + (peak - start) * step / warmup
        progress = ops.clip((step - warmup) / anneal, 0.0, 1.0)
        falling = end + (peak - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < warmup, rising, falling)'''
#: Each schedule as the blocks of code defining it (the one-cycle class) and the line that sets ``learning_rate``.
_SCHEDULES = {
    "constant": ([], "learning_rate = LEARNING_RATE  # the same for every step"),
    "cosine": ([], "learning_rate = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=total_steps)"),
    "one_cycle": ([_ONE_CYCLE], "learning_rate = OneCycle(LEARNING_RATE, total_steps)"),
}


def compile_model(train: TrainConfig) -> str:
    """The cell that chooses the loss, the optimizer and its learning-rate schedule, and compiles the model."""
    definitions, schedule = _SCHEDULES[train.schedule]
    settings = "\n".join([
        f"LEARNING_RATE = {train.learning_rate!r}  # the peak rate when a schedule changes it",
        "steps_per_epoch = math.ceil(len(y_train) / BATCH_SIZE)",
        "total_steps = max(1, EPOCHS * steps_per_epoch)",
        schedule,
        f"optimizer = {_OPTIMIZERS[train.optimizer]}",
        "model.compile(optimizer=optimizer, loss=loss, metrics=[keras.metrics.SparseCategoricalAccuracy(name=\"accuracy\")])",
    ])
    values = {"label_smoothing": train.label_smoothing, "start": f"{custom_objects.ONE_CYCLE_START_DIVISOR:g}",
              "end": f"{custom_objects.ONE_CYCLE_END_DIVISOR:g}", "warmup": custom_objects.ONE_CYCLE_WARMUP_FRACTION}
    blocks = [Template(block).substitute(values) for block in [*_LOSSES[train.loss], *definitions]]
    return "\n\n\n".join([*blocks, settings]) + "\n"
