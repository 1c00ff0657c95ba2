"""Accuracy on drawn-looking digits: the MNIST layout recipe (to_mnist) against a plain resize.

Each test digit is drawn the way a user draws on the app's 280x280 canvas: a round
brush of 14-26 px laid along the digit's centre line, opaque ink on a transparent
background, at a random position and angle, 30-100% of the canvas high. Centre lines
come from two sources that no one here wrote by hand:

- ``fonts``: digits of 12 handwriting fonts (SIL Open Font License, in ``benchmarks/fonts``);
- ``mnist-redrawn``: MNIST *test* digits (never seen in training), thinned to their centre line.

The model is the app's "keras-classic" (the Keras example convnet) trained for 3 epochs on
the full MNIST train set; its weights are cached in the temp folder, so reruns skip training
(delete ``WEIGHTS`` to retrain after changing the architecture).
Prints one row per set and exits 1 if ``to_mnist`` scores under 93% on any set.

Run: ``.venv/bin/python benchmarks/drawn_digits.py``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_lab.data import load_mnist
from mnist_lab.data.preprocess import plain_resize, to_mnist
from mnist_lab.models.architectures import build_model
from mnist_lab.models.config import ModelConfig

FONTS = Path(__file__).resolve().parent / "fonts"
CANVAS = 280
SUPERSAMPLE = 2  # strokes are drawn at twice the size and shrunk, for anti-aliased edges like the browser's
BRUSH_PX = (14, 26)
HEIGHT_FRACTION = (0.3, 1.0)
MAX_TILT_DEG = 10.0
RENDERS_PER_FONT_DIGIT = 10
MNIST_REDRAWN = 1000
EPOCHS = 3
TARGET = 0.93
SEED = 0
WEIGHTS = Path(tempfile.gettempdir()) / "mnist_lab_benchmarks" / f"keras-classic_{EPOCHS}ep_seed{SEED}.weights.h5"


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: reduce a binary shape to its one-pixel-wide centre line."""
    image = np.pad(mask, 1).astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            centre = image[1:-1, 1:-1]
            p2, p3, p4, p5 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:], image[2:, 2:]
            p6, p7, p8, p9 = image[2:, 1:-1], image[2:, :-2], image[1:-1, :-2], image[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9)
            neighbours = sum(p.astype(np.int8) for p in ring)
            transitions = sum(((a == 0) & (b == 1)).astype(np.int8) for a, b in zip(ring, ring[1:] + ring[:1]))
            side = (p2 & p4 & p6 == 0) & (p4 & p6 & p8 == 0) if step == 0 else (p2 & p4 & p8 == 0) & (p2 & p6 & p8 == 0)
            remove = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                centre[remove] = 0
                changed = True
    return image[1:-1, 1:-1].astype(bool)


def centre_line(mask: np.ndarray) -> np.ndarray:
    """Return the (row, col) points of a shape's centre line, shifted to start at (0, 0)."""
    points = np.argwhere(thin(mask)).astype(np.float64)
    return points - points.min(axis=0)


def font_shape(font: ImageFont.FreeTypeFont, digit: int) -> np.ndarray:
    """Render one digit of a font as a binary mask cropped to its ink."""
    image = Image.new("L", (200, 200))
    ImageDraw.Draw(image).text((40, 10), str(digit), font=font, fill=255)
    return np.asarray(image.crop(image.getbbox())) > 127


def mnist_shape(digit: np.ndarray) -> np.ndarray:
    """Upscale an MNIST digit 4x and binarise it, so that thinning follows the pen's path."""
    big = Image.fromarray(digit).resize((112, 112), Image.Resampling.BILINEAR)
    return np.asarray(big) > 127


def draw_on_canvas(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a centre line with a round brush on a transparent RGBA canvas: random size, tilt, place, brush."""
    angle = np.deg2rad(rng.uniform(-MAX_TILT_DEG, MAX_TILT_DEG))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = points @ rotation.T
    points -= points.min(axis=0)
    brush = rng.uniform(*BRUSH_PX)
    height, width = np.maximum(points.max(axis=0), 1.0)
    wanted = rng.uniform(*HEIGHT_FRACTION) * CANVAS
    scale = min((wanted - brush) / height, (CANVAS - brush) / width)
    points *= scale
    room = CANVAS - brush - points.max(axis=0)
    points += brush / 2 + rng.uniform(0, 1, size=2) * np.maximum(room, 0)
    size = CANVAS * SUPERSAMPLE
    ink = Image.new("L", (size, size))
    pen = ImageDraw.Draw(ink)
    radius = brush * SUPERSAMPLE / 2
    for row, col in points * SUPERSAMPLE:
        pen.ellipse((col - radius, row - radius, col + radius, row + radius), fill=255)
    alpha = np.asarray(ink.reduce(SUPERSAMPLE))
    canvas = np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)
    canvas[:, :, 3] = alpha
    return canvas


def font_set(rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Canvas drawings of the digits of every bundled handwriting font."""
    paths = sorted(FONTS.glob("*.woff"))
    if not paths:
        sys.exit(f"no fonts in {FONTS}: they ship with the repository (see {FONTS / 'README.md'})")
    images, labels = [], []
    for path in paths:
        font = ImageFont.truetype(str(path), 100)
        for digit in range(10):
            line = centre_line(font_shape(font, digit))
            for _ in range(RENDERS_PER_FONT_DIGIT):
                images.append(draw_on_canvas(line, rng))
                labels.append(digit)
    return images, np.array(labels)


def mnist_redrawn_set(x_test: np.ndarray, y_test: np.ndarray, rng: np.random.Generator) -> tuple[list, np.ndarray]:
    """Canvas drawings of a random sample of MNIST test digits, redrawn along their centre lines."""
    chosen = rng.choice(len(x_test), size=MNIST_REDRAWN, replace=False)
    images = [draw_on_canvas(centre_line(mnist_shape(x_test[i])), rng) for i in chosen]
    return images, y_test[chosen]


def trained_model(x_train: np.ndarray, y_train: np.ndarray):
    """Return keras-classic trained for ``EPOCHS`` epochs, from the weight cache when present."""
    import keras

    keras.utils.set_random_seed(SEED)
    model = build_model(ModelConfig(architecture="keras-classic"))
    if WEIGHTS.exists():
        model.load_weights(WEIGHTS)
        return model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(x_train[..., None], y_train, batch_size=128, epochs=EPOCHS, verbose=0)
    print(f"trained keras-classic for {EPOCHS} epochs in {time.perf_counter() - started:.0f} s")
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(WEIGHTS)
    return model


def accuracy(model, images: list[np.ndarray], labels: np.ndarray, preprocess) -> float:
    """Share of images whose preprocessed version the model classifies correctly."""
    batch = np.stack([preprocess(image) for image in images])[..., None] * 255.0
    predicted = model.predict(batch, batch_size=512, verbose=0).argmax(axis=1)
    return float(np.mean(predicted == labels))


def median_ms(function, arguments: list) -> float:
    """Median wall time of one call over the arguments, in milliseconds."""
    times = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def main() -> int:
    """Build the sets, score both preprocessings, print the table; return 1 if a target is missed."""
    rng = np.random.default_rng(SEED)
    mnist = load_mnist()
    sets = {
        "fonts": font_set(rng),
        "mnist-redrawn": mnist_redrawn_set(mnist.x_test, mnist.y_test, rng),
    }
    model = trained_model(mnist.x_train, mnist.y_train)
    test_accuracy = accuracy(model, list(mnist.x_test), mnist.y_test, lambda x: x / 255.0)
    print(f"keras-classic, {EPOCHS} epochs: MNIST test accuracy {test_accuracy:.2%}\n")
    print(f"{'set':<15}{'n':>6}{'to_mnist':>11}{'plain resize':>15}")
    missed = False
    for name, (images, labels) in sets.items():
        ours = accuracy(model, images, labels, to_mnist)
        naive = accuracy(model, images, labels, plain_resize)
        missed |= ours < TARGET
        print(f"{name:<15}{len(labels):>6}{ours:>11.1%}{naive:>15.1%}")
    drawings = [image for images, _ in sets.values() for image in images]
    print(f"\nto_mnist on a {CANVAS}x{CANVAS} RGBA canvas: median {median_ms(to_mnist, drawings):.2f} ms")
    if missed:
        print(f"FAILED: to_mnist is under the {TARGET:.0%} target on at least one set")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
