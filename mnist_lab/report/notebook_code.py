"""The Python code of the exported notebook: plain Keras, NumPy and scikit-learn that a student can read.

Every function returns the source of one code cell. The model and its training follow the app's own builders
(:mod:`mnist_lab.models.architectures`, :mod:`mnist_lab.models.optim`, :mod:`mnist_lab.training.split`) layer by
layer and call by call: Keras draws each layer's initial weights and random seeds in the order the layers are
created, so the same order under the same seed gives the same network as the app's training.
"""

from __future__ import annotations

from string import Template
from typing import NamedTuple

from mnist_lab.data import MNIST_NAME
from mnist_lab.data.folders import CHECKSUMS_FILE, ROLES, TRANSPOSED_MARKER
from mnist_lab.models import architectures, optim
from mnist_lab.models.config import ModelConfig, TrainConfig

#: Tags of the cells the tests and the benchmark find again (``parameters`` is papermill's convention).
PARAMETERS, MODEL, COMPILE, TRAIN = "parameters", "model", "compile", "train"


def parameters(train: TrainConfig) -> str:
    """The first code cell: the settings a student (or papermill) changes."""
    return Template('''\
# The run's settings: change them to experiment (papermill can set them too).
EPOCHS = $epochs  # passes over the training images
TRAIN_LIMIT = $train_limit  # training images used, validation share included (0 = all)
SEED = $seed  # picks the subset, the initial weights, dropout and the order of the batches
DATA_DIR = None  # None: download MNIST with keras; or a folder holding the dataset's four files
BATCH_SIZE = $batch_size
VALIDATION_FRACTION = $validation_fraction  # the last share of the training images, held out for validation
''').substitute(epochs=train.epochs, train_limit=train.train_limit, seed=train.seed, batch_size=train.batch_size,
                validation_fraction=train.validation_fraction)


IMPORTS = '''\
import gzip
import hashlib
import math
import os
import re
import struct

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers
from sklearn import metrics

print("Keras", keras.__version__, "on", keras.backend.backend())
'''

_READERS = '''\
FILES = $files  # in this order
# The SHA-256 of the four files' SHA-256 (of their uncompressed bytes, hex, in the order above), joined:
DATASET_SHA256 = "$sha256"
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (gzip-compressed or not); return its array and the SHA-256 of its uncompressed bytes."""
    with open(path, "rb") as file:
        content = file.read()
    if content[:2] == b"\\x1f\\x8b":
        content = gzip.decompress(content)
    ndim = content[3]
    shape = struct.unpack(f">{ndim}I", content[4:4 + 4 * ndim])
    array = np.frombuffer(content, dtype=IDX_TYPES[content[2]], offset=4 + 4 * ndim).reshape(shape)
    return array, hashlib.sha256(content).hexdigest()


def find_file(folder, role):
    """The one file of ``role`` in ``folder``: named as in MNIST, maybe with .gz or a prefix ending in '-'."""
    found = [name for name in sorted(os.listdir(folder))
             if name.removesuffix(".gz") == role or name.removesuffix(".gz").endswith("-" + role)]
    if len(found) != 1:
        raise FileNotFoundError(f"{folder} must hold one {role} file (or {role}.gz), it holds {found}")
    return os.path.join(folder, found[0])


def load_folder(folder):
    """Read the four files in ``folder``, refusing them unless they are exactly the run's data."""
    arrays, hashes = zip(*(read_idx(find_file(folder, role)) for role in FILES))
    if hashlib.sha256("".join(hashes).encode("ascii")).hexdigest() != DATASET_SHA256:
        found = "\\n".join(f"  {role}: {digest}" for role, digest in zip(FILES, hashes))
        raise ValueError(f"the files in {folder} are not the run's data; their SHA-256:\\n{found}")
    return arrays

'''

_LOAD_MNIST = '''\
DATA_DIR = DATA_DIR or os.environ.get("MNIST_DATA_DIR")
if DATA_DIR:
    x_train_all, y_train_all, x_test, y_test = load_folder(DATA_DIR)
else:
    (x_train_all, y_train_all), (x_test, y_test) = keras.datasets.mnist.load_data()
'''

_LOAD_OTHER = '''\
DATA_DIR = DATA_DIR or os.environ.get("MNIST_DATA_DIR")
if not DATA_DIR:
    raise ValueError("keras.datasets downloads MNIST only: set DATA_DIR to the folder of the dataset " + $name)
x_train_all, y_train_all, x_test, y_test = load_folder(DATA_DIR)
# MNIST Lab's rule for EMNIST, which stores its images transposed: a marker file '$marker', else (for a folder
# that is no import, which would hold $checksums) 'emnist' in the folder's or the files' names.
names = [os.path.basename(os.path.normpath(DATA_DIR)), *os.listdir(DATA_DIR)]
if os.path.exists(os.path.join(DATA_DIR, "$marker")) or (
        not os.path.exists(os.path.join(DATA_DIR, "$checksums")) and any("emnist" in n.lower() for n in names)):
    x_train_all, x_test = x_train_all.transpose(0, 2, 1), x_test.transpose(0, 2, 1)
y_train_all, y_test = y_train_all.astype(np.uint8), y_test.astype(np.uint8)
'''

_DATA_SUMMARY = '''\
CLASS_NAMES = $class_names
NUM_CLASSES = len(CLASS_NAMES)
print(f"{len(y_train_all):,} training and {len(y_test):,} test images of {x_train_all.shape[1:]} pixels, "
      f"{x_train_all.dtype} {x_train_all.min()}-{x_train_all.max()}")
'''


def load_data(dataset: str, sha256: str, class_names: tuple[str, ...]) -> str:
    """The cell that reads the data: keras' download or DATA_DIR for MNIST, DATA_DIR for any other dataset."""
    values = {"files": repr(ROLES), "sha256": sha256, "name": repr(dataset), "marker": TRANSPOSED_MARKER,
              "checksums": CHECKSUMS_FILE, "class_names": repr(list(class_names))}
    load = _LOAD_MNIST if dataset == MNIST_NAME else _LOAD_OTHER
    return Template(_READERS + load + _DATA_SUMMARY).substitute(values)


SHOW_DIGITS = '''\
# The first training image of each digit, and how many images each digit has.
fig, axes = plt.subplots(1, NUM_CLASSES, figsize=(min(1.2 * NUM_CLASSES, 16), 1.6))
for label, ax in enumerate(axes):
    ax.imshow(x_train_all[np.argmax(y_train_all == label)], cmap="gray_r")
    ax.set_title(CLASS_NAMES[label])
    ax.axis("off")
plt.show()
print("training images per digit:", np.bincount(y_train_all, minlength=NUM_CLASSES))
print("test images per digit:    ", np.bincount(y_test, minlength=NUM_CLASSES))
'''

SPLIT = '''\
def split(images, labels):
    """The run's training data: a random subset of TRAIN_LIMIT images (kept in order), its last share held out."""
    total = min(TRAIN_LIMIT, len(labels)) if TRAIN_LIMIT else len(labels)
    if TRAIN_LIMIT:
        chosen = np.sort(np.random.default_rng(SEED).choice(len(labels), size=total, replace=False))
        images, labels = images[chosen], labels[chosen]
    cut = total - round(total * VALIDATION_FRACTION)
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


# The model takes (28, 28, 1) images: one grey channel. The pixels stay 0-255 here; the model scales them.
x_train, y_train, x_val, y_val = split(x_train_all[..., np.newaxis], y_train_all)
print(f"training on {len(y_train):,} images, validating on {len(y_val):,}, testing on {len(y_test):,}")
'''


def _inputs(model: ModelConfig) -> list[str]:
    """The input, its scaling and augmentation, as ``architectures._inputs`` builds them."""
    lines = ["inputs = keras.Input(shape=(28, 28, 1), name=\"image\")", "x = inputs"]
    if model.scale_inputs:
        lines.append("x = layers.Rescaling(1.0 / 255, name=\"scale_0_1\")(x)  # pixels 0-255 to 0-1, inside the model")
    if model.augment:
        shift, rotation, zoom = architectures.AUGMENT_SHIFT, architectures.AUGMENT_ROTATION, architectures.AUGMENT_ZOOM
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
        f"x = layers.BatchNormalization(momentum={architectures.BN_MOMENTUM})(x)",
        "x = layers.ReLU()(x)",
    ]


def _dense_bn_relu(units: int) -> list[str]:
    """A bias-free Dense layer, batch normalisation and ReLU."""
    return [f"x = layers.Dense({units}, use_bias=False)(x)",
            f"x = layers.BatchNormalization(momentum={architectures.BN_MOMENTUM})(x)", "x = layers.ReLU()(x)"]


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
            lines.append(f"x = layers.BatchNormalization(momentum={architectures.BN_MOMENTUM})(x)")
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
        f"outputs = layers.Dense(NUM_CLASSES, activation=\"softmax\", name=\"{architectures.OUTPUT_LAYER}\")(x)",
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
    values = {"label_smoothing": train.label_smoothing, "start": f"{optim.ONE_CYCLE_START_DIVISOR:g}",
              "end": f"{optim.ONE_CYCLE_END_DIVISOR:g}", "warmup": optim.ONE_CYCLE_WARMUP_FRACTION}
    blocks = [Template(block).substitute(values) for block in [*_LOSSES[train.loss], *definitions]]
    return "\n\n\n".join([*blocks, settings]) + "\n"


TRAIN_MODEL = '''\
history = model.fit(
    x_train, y_train,
    batch_size=BATCH_SIZE,
    epochs=EPOCHS,
    validation_data=(x_val, y_val) if len(y_val) else None,
    shuffle=True,  # a new order of the images in every epoch, drawn from SEED
    verbose=2,
)
'''

PREDICT = '''\
probabilities = model.predict(x_test[..., np.newaxis], batch_size=1000, verbose=0)  # one row of 10 per image
predicted = np.argmax(probabilities, axis=1)  # the digit with the highest probability
test_accuracy = np.mean(predicted == y_test)
print(f"Test accuracy: {test_accuracy:.4f} ({np.sum(predicted == y_test):,} of {len(y_test):,} test images right)")
print("outputs of the first three test images:")
print(probabilities[:3].round(3))
print("np.argmax:", predicted[:3], " true labels:", y_test[:3])

fig, axes = plt.subplots(2, 10, figsize=(12, 3.2))
for i, ax in enumerate(axes.flat):
    ax.imshow(x_test[i], cmap="gray_r")
    ax.set_title(f"{CLASS_NAMES[y_test[i]]}→{CLASS_NAMES[predicted[i]]}",
                 color="black" if predicted[i] == y_test[i] else "red")
    ax.axis("off")
fig.suptitle("The first 20 test images: true → predicted digit (red: wrong)")
plt.show()
'''

PERFORMANCE = '''\
print(metrics.classification_report(y_test, predicted, labels=range(NUM_CLASSES), target_names=CLASS_NAMES, digits=4,
                                    zero_division=0))
recall = metrics.recall_score(y_test, predicted, labels=range(NUM_CLASSES), average=None)
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
for k in range(NUM_CLASSES):  # each digit against the rest
    fpr, tpr, _ = metrics.roc_curve(y_test == k, probabilities[:, k])
    left.plot(fpr, tpr, label=f"{CLASS_NAMES[k]}: AUC {metrics.auc(fpr, tpr):.4f}")
left.plot([0, 1], [0, 1], "k:", label="guessing")
left.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC curve of each digit")
left.legend(fontsize="small")
right.bar(CLASS_NAMES, recall)
right.axhline(test_accuracy, color="k", linestyle=":", label="accuracy")
right.set(ylim=(max(0, recall.min() - 0.05), 1), xlabel="digit", ylabel="recall", title="Recall per digit")
right.legend()
plt.show()
'''

SCALING = '''\
pixels = x_train_all.astype(np.float32)
print(f"raw pixels:    mean {pixels.mean():.1f}, std {pixels.std():.1f}, from {pixels.min():.0f} to {pixels.max():.0f}")
pixels /= 255.0
print(f"scaled pixels: mean {pixels.mean():.3f}, std {pixels.std():.3f}, from {pixels.min():.0f} to {pixels.max():.0f}")
print(f"pixels that are 0: {np.mean(x_train_all == 0):.0%}")
print("the model's first layers:", [layer.name for layer in model.layers[:3]])
'''

SPLIT_SIZES = '''\
print(f"training split: {len(y_train_all):,} images, of which {len(y_train):,} trained on and {len(y_val):,} validated on")
print(f"test split:     {len(y_test):,} images, never seen in training")
'''

INPUT_VALUES = '''\
one = x_train_all[0]
print("one image:", one.shape, "->", one.reshape(-1).shape[0], "input values for a Dense layer (28 x 28 = 784)")
print("Flatten does the same:", layers.Flatten()(one[np.newaxis, ..., np.newaxis]).shape)
'''

OUTPUT_LAYER = Template('''\
output = model.get_layer("$name")
print(f"{output.name}: {output.units} units, {output.activation.__name__}, weights {tuple(output.kernel.shape)}")
print("outputs of test image 0:", probabilities[0].round(3), "sum", probabilities[0].sum().round(4))
''').substitute(name=architectures.OUTPUT_LAYER)

PERCEPTRON = '''\
# Each of the Dense layer's units is a perceptron: a weighted sum of all its inputs plus a bias. The layer holds one
# per digit side by side, and softmax (instead of a perceptron's step) turns their 10 sums into probabilities.
weights, biases = output.get_weights()
features = keras.Model(model.input, output.input)(x_test[:1, ..., np.newaxis])  # what the layer receives
sums = np.asarray(features)[0] @ weights + biases
softmax = np.exp(sums - sums.max()) / np.exp(sums - sums.max()).sum()
print("weights", weights.shape, "biases", biases.shape)
print("by hand:  ", softmax.round(3))
print("the model:", probabilities[0].round(3))
'''

TRAIN_TEST = '''\
train_loss, train_accuracy = model.evaluate(x_train, y_train, batch_size=1000, verbose=0)
print(f"training accuracy {train_accuracy:.4f}, test accuracy {test_accuracy:.4f}, "
      f"gap {100 * (train_accuracy - test_accuracy):.2f} percentage points")
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
for key in ("loss", "val_loss"):
    left.plot(range(1, EPOCHS + 1), history.history.get(key, [np.nan] * EPOCHS), marker="o", label=key)
for key in ("accuracy", "val_accuracy"):
    right.plot(range(1, EPOCHS + 1), history.history.get(key, [np.nan] * EPOCHS), marker="o", label=key)
left.set(xlabel="epoch", title="loss")
right.set(xlabel="epoch", title="accuracy")
left.legend()
right.legend()
plt.show()
'''

CONFUSION = '''\
confusion = metrics.confusion_matrix(y_test, predicted, labels=range(NUM_CLASSES))
metrics.ConfusionMatrixDisplay(confusion, display_labels=CLASS_NAMES).plot(cmap="Blues", colorbar=False)
plt.title("rows: true digit, columns: predicted digit")
plt.show()
mistakes = confusion - np.diag(np.diag(confusion))
for cell in np.argsort(mistakes, axis=None)[::-1][:5]:
    true, guess = np.unravel_index(cell, mistakes.shape)
    print(f"{CLASS_NAMES[true]} read as {CLASS_NAMES[guess]}: {mistakes[true, guess]} times")
'''

ARGMAX = '''\
print("the 10 probabilities of test image 0:", probabilities[0].round(3))
print("np.argmax picks position", np.argmax(probabilities[0]), "-> digit", CLASS_NAMES[np.argmax(probabilities[0])],
      "; the true digit is", CLASS_NAMES[y_test[0]])
'''

WRONG_SHAPE = '''\
rgb = np.repeat(x_test[0][..., np.newaxis], 3, axis=-1)  # a grey digit saved as colour: 28x28x3
try:
    model(rgb[np.newaxis])  # a batch of one 28x28x3 image
except Exception as error:  # whichever error Keras raises, show it
    message = re.sub(r"\\x1b\\[[0-9;]*m", "", str(error)).split("Arguments received")[0]  # no colours, no array dump
    print(f"{type(error).__name__}: {message.strip()}")
grey = rgb.mean(axis=-1, keepdims=True)  # back to one channel: 28x28x1
print("after converting to grey:", grey.shape, "-> digit", CLASS_NAMES[int(np.argmax(model(grey[np.newaxis])))])
'''


class CodeCell(NamedTuple):
    """One code cell of a question: its source, its tag ("" for none) and a Markdown note above it ("" for none)."""

    source: str
    tag: str = ""
    note: str = ""


def question_cells(train: TrainConfig, model: ModelConfig) -> dict[str, list[CodeCell]]:
    """Question id to its code cells, in the order of the assignment: A2's cells build and train the model."""
    return {
        "a1": [CodeCell(SHOW_DIGITS)],
        "a2": [
            CodeCell(SPLIT, note="**The training data.** The run's subset of the training split, its last share held "
                                 "out for validation, exactly as MNIST Lab cuts it."),
            CodeCell(build_model(model), MODEL, "**The network**, layer by layer, as the run's settings build it."),
            CodeCell(compile_model(train), COMPILE, "**The loss, the optimizer and the learning-rate schedule** of "
                                                    "the run (the reasons for them are in the answer above)."),
            CodeCell(TRAIN_MODEL, TRAIN, "**Training.** One line per epoch: loss and accuracy on the training "
                                         "images, then on the validation images."),
        ],
        "a3": [CodeCell(PREDICT)],
        "a4": [CodeCell(PERFORMANCE)],
        "b1": [CodeCell(SCALING)],
        "b2": [CodeCell(SPLIT_SIZES)],
        "b3": [CodeCell(INPUT_VALUES)],
        "b4": [CodeCell(OUTPUT_LAYER)],
        "b5": [CodeCell(PERCEPTRON)],
        "b6": [CodeCell(TRAIN_TEST)],
        "b7": [CodeCell(CONFUSION)],
        "b8": [CodeCell(ARGMAX)],
        "b9": [CodeCell(WRONG_SHAPE)],
    }
