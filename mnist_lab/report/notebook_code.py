"""The Python code of the exported notebook: plain Keras, NumPy and scikit-learn that a student can read.

Every function returns the source of one code cell, every constant is one. The training data follow the app's split
(:mod:`mnist_lab.training.split`) call by call; the cells that build and compile the network are in
:mod:`mnist_lab.report.notebook_model`.
"""

from __future__ import annotations

from string import Template
from typing import NamedTuple

from mnist_lab.data import MNIST_NAME
from mnist_lab.data.folders import CHECKSUMS_FILE, ROLES, TRANSPOSED_MARKER
from mnist_lab.models import networks
from mnist_lab.models.config import ModelConfig, TrainConfig
from mnist_lab.report import notebook_model

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
''').substitute(name=networks.OUTPUT_LAYER)

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
            CodeCell(notebook_model.build_model(model), MODEL,
                     "**The network**, layer by layer, as the run's settings build it."),
            CodeCell(notebook_model.compile_model(train), COMPILE,
                     "**The loss, the optimizer and the learning-rate schedule** of the run (the reasons for them are "
                     "in the answer above)."),
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
