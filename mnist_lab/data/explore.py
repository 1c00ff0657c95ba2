"""Numbers behind the Data page: galleries, class balance, pixel statistics and 2-D maps."""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from mnist_lab.data import Dataset
from mnist_lab.errors import ConfigError

EMBEDDING_METHODS = ("pca", "tsne")


def gallery(dataset: Dataset, split: str, per_class: int, seed: int) -> dict[str, np.ndarray]:
    """Return, for each class name, ``per_class`` random images of that class (uint8, (n, 28, 28)).

    Parameters
    ----------
    dataset : Dataset
    split : {"train", "test"}
    per_class : int
        Number of examples per class, at least 1.
    seed : int
        Seed of the random choice; another seed shows other examples.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    images, labels = dataset.split(split)
    rng = np.random.default_rng(seed)
    rows = {}
    for index, name in enumerate(dataset.class_names):
        members = np.flatnonzero(labels == index)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        rows[name] = images[chosen]
    return rows


def tile(images: np.ndarray, *, scale: int = 3, gap: int = 2) -> np.ndarray:
    """Lay images (n, h, w) side by side in one uint8 strip, enlarged ``scale`` times without blurring."""
    n, height, width = images.shape
    strip = np.full((height, n * (width + gap) - gap), 255, dtype=np.uint8)
    for i, image in enumerate(images):
        strip[:, i * (width + gap) : i * (width + gap) + width] = 255 - image
    return np.kron(strip, np.ones((scale, scale), dtype=np.uint8))


def class_counts(dataset: Dataset) -> pd.DataFrame:
    """Return images per class and split: columns ``class``, ``split``, ``count``, ``share``."""
    frames = []
    for split in ("train", "test"):
        _, labels = dataset.split(split)
        counts = np.bincount(labels, minlength=dataset.n_classes)
        frames.append(
            pd.DataFrame(
                {"class": list(dataset.class_names), "split": split, "count": counts, "share": counts / counts.sum()}
            )
        )
    return pd.concat(frames, ignore_index=True)


#: Classes whose shares of a split differ by at most this factor count as balanced.
BALANCED_RATIO = 1.5
#: Width of the frame of border pixels described by :func:`border_sentence`.
BORDER = 4


def balance_sentence(counts: pd.DataFrame) -> str:
    """Say whether the classes are balanced, from the shares in ``counts`` (as from :func:`class_counts`)."""
    low, high = counts["share"].min(), counts["share"].max()
    spread = f"between {low:.1%} and {high:.1%} of a split"
    if low > 0 and high / low <= BALANCED_RATIO:
        return (f"Every class has a similar share of the images ({spread}), so accuracy is a fair summary and no "
                "class needs re-weighting.")
    return (f"The classes are imbalanced ({spread}): accuracy can hide a weak small class, so read the per-class "
            "recall on the Evaluate page.")


def border_sentence(dataset: Dataset, *, sample: int = 5000, seed: int = 0) -> str:
    """Describe the outer frame of pixels of the training images: empty (as MNIST's) or not."""
    images = dataset.x_train[np.random.default_rng(seed).choice(len(dataset.x_train), min(sample, len(dataset.x_train)),
                                                                 replace=False)]
    frame = np.ones(images.shape[1:], dtype=bool)
    frame[BORDER:-BORDER, BORDER:-BORDER] = False
    empty = float((images[:, frame] == 0).mean())
    height, width = dataset.image_shape
    why = (" (MNIST's digits were fitted into a 20x20 box, then centred by their centre of mass, which moves some "
           "of them towards an edge)") if getattr(dataset, "name", "") == "MNIST" else ""
    if empty >= 0.99:
        return (f"The outer {BORDER} pixels are 0 in {empty:.1%} of cases: the objects sit in the middle of the "
                f"{height}x{width} field{why}.")
    if empty >= 0.9:
        return (f"The outer {BORDER} pixels are 0 in {empty:.1%} of cases: the objects mostly sit in the middle of "
                f"the {height}x{width} field, and some reach into that frame{why}.")
    return f"The outer {BORDER} pixels are 0 in only {empty:.1%} of cases: the objects reach the edges of the field."


def class_images(dataset: Dataset, statistic: str = "mean") -> np.ndarray:
    """Return the per-pixel mean or standard deviation of each class's training images, (k, 28, 28) in 0-255."""
    reducers = {"mean": np.mean, "std": np.std}
    if statistic not in reducers:
        raise ValueError(f"statistic must be 'mean' or 'std', got {statistic!r}")
    reduce = reducers[statistic]
    return np.stack(
        [reduce(dataset.x_train[dataset.y_train == k], axis=0, dtype=np.float64) for k in range(dataset.n_classes)]
    )


def image_frame(image: np.ndarray, *, name: str = "") -> pd.DataFrame:
    """Return a 2-D image in long form: columns ``row``, ``col``, ``value`` (and ``name`` if given)."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {image.shape}")
    rows, cols = np.indices(image.shape)
    frame = pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), "value": image.ravel()})
    if name:
        frame["name"] = name
    return frame


def shaded_pictures(images: np.ndarray, *, scale: int = 3) -> list[np.ndarray]:
    """Each image of ``images`` (k, h, w) as a uint8 picture, darker where its value is larger.

    One scale spans all of them, from the smallest value (white) to the largest (black), so that a darker pixel
    is a larger value in every picture; each is enlarged ``scale`` times without blurring.
    """
    low, high = float(images.min()), float(images.max())
    shaded = 255 - np.rint((images - low) / ((high - low) or 1.0) * 255).astype(np.uint8)
    return [np.kron(image, np.ones((scale, scale), dtype=np.uint8)) for image in shaded]


def pixel_histogram(dataset: Dataset, *, bins: int = 32, sample: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Return the histogram of the non-zero (ink) pixel values of a sample of training images, raw and scaled.

    The background zeros are left out: they are most of the pixels and would flatten every other bar.

    Returns
    -------
    pandas.DataFrame
        Columns ``scale`` ("raw 0-255" or "scaled 0-1"), ``start``, ``end``, ``share`` (of the ink pixels).
    """
    rng = np.random.default_rng(seed)
    pixels = dataset.x_train[rng.choice(len(dataset.x_train), size=min(sample, len(dataset.x_train)), replace=False)]
    counts, edges = np.histogram(pixels[pixels > 0], bins=bins, range=(1, 256))
    share = counts / counts.sum()
    raw = pd.DataFrame({"scale": "raw 0-255", "start": edges[:-1], "end": edges[1:], "share": share})
    scaled = raw.assign(scale="scaled 0-1", start=raw["start"] / 255.0, end=raw["end"] / 255.0)
    return pd.concat([raw, scaled], ignore_index=True)


def pixel_facts(dataset: Dataset) -> dict[str, float]:
    """Return the share of exactly-zero pixels and the mean and standard deviation of all training pixels."""
    pixels = dataset.x_train
    return {
        "zero_share": float(np.count_nonzero(pixels == 0) / pixels.size),
        "mean": float(pixels.mean(dtype=np.float64)),
        "std": float(pixels.std(dtype=np.float64)),
    }


def pixel_sentence(histogram: pd.DataFrame, facts: dict[str, float], largest: int) -> str:
    """Say what the pixel histogram shows and why inputs are scaled to 0-1.

    Parameters
    ----------
    histogram : pandas.DataFrame
        As from :func:`pixel_histogram`.
    facts : dict
        As from :func:`pixel_facts`.
    largest : int
        The largest pixel value of the training images.
    """
    raw = histogram[histogram["scale"] == "raw 0-255"].reset_index(drop=True)
    peak = int(raw["share"].idxmax())
    tallest = ("the last bar, full ink (the strokes' cores)" if peak == len(raw) - 1 else
               f"at {raw.loc[peak, 'start']:.0f}-{raw.loc[peak, 'end'] - 1:.0f}")
    return (f"{facts['zero_share']:.0%} of all pixels are exactly 0 (background, left out of the histogram); the "
            f"other pixels spread up to {largest}, and the tallest bar is {tallest}. Dividing by 255 maps the values "
            "to 0-1 without changing the picture. Networks train faster and more stably on small inputs: with 0-255, "
            "the first layer's weighted sums are ~255 times larger, so the initial activations and gradients are far "
            "too big for the usual learning rates. Try it: the Train page has a switch to turn scaling off.")


#: Most images a t-SNE map takes: its cost grows faster than the number of points (about 3 s for 1,000 and
#: 8 s for 2,000 on 2 busy cores), while PCA maps 5,000 in a fraction of a second.
TSNE_MAX_SAMPLE = 1500
#: t-SNE's optimisation steps: scikit-learn's minimum of 250 early-exaggeration steps, then 250 that settle the map.
TSNE_ITERATIONS = 500
#: Barnes-Hut's accuracy trade-off (scikit-learn's default is 0.5): 0.6 is faster with the same clusters.
TSNE_ANGLE = 0.6


class Embedding(NamedTuple):
    """A 2-D map of training images and how long it took to compute.

    Attributes
    ----------
    points : pandas.DataFrame
        Columns ``x``, ``y``, ``class``, ``index`` (position in the training split).
    method : str
        ``"pca"`` or ``"tsne"``.
    seconds : float
        Wall-clock seconds the projection took when it was computed (sampling, PCA and t-SNE).
    """

    points: pd.DataFrame
    method: str
    seconds: float


def embedding(dataset: Dataset, *, method: str = "pca", sample: int = 2000, seed: int = 0) -> Embedding:
    """Project a sample of training digits to 2-D with PCA or t-SNE, and time it.

    t-SNE runs on the first 50 principal components, starts from the PCA layout (``init="pca"``) and takes
    :data:`TSNE_ITERATIONS` steps; every BLAS and OpenMP pool is held to one thread while it runs, because
    on a machine whose cores are busy with other work two threads that wait for each other at every step
    were three to four times slower than one.

    Parameters
    ----------
    dataset : Dataset
    method : {"pca", "tsne"}
        PCA is instant and linear; t-SNE separates clusters better but takes seconds and its distances
        between clusters mean little.
    sample : int
        Number of images: 100 to 5000 for PCA, 100 to :data:`TSNE_MAX_SAMPLE` for t-SNE (the whole training
        split when it is smaller).
    seed : int
        Seed of the random sample and of t-SNE.

    Returns
    -------
    Embedding
        The points and the seconds the projection took.

    Raises
    ------
    ConfigError
        ``method`` is unknown or ``sample`` is out of range; the message gives the allowed values.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    if method not in EMBEDDING_METHODS:
        raise ConfigError(f"the map's method must be one of {', '.join(EMBEDDING_METHODS)}, got {method!r}")
    most = TSNE_MAX_SAMPLE if method == "tsne" else 5000
    if not 100 <= sample <= most:
        raise ConfigError(
            f"a {method.upper()} map takes between 100 and {most:,} images, got {sample:,}: choose a number in that range"
        )
    started = time.perf_counter()
    sample = min(sample, len(dataset.x_train))  # a small dataset is mapped whole
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(dataset.x_train), size=sample, replace=False))
    flat = dataset.x_train[index].reshape(sample, -1).astype(np.float32) / 255.0
    with threadpool_limits(limits=1):
        if method == "pca":
            points = PCA(n_components=2, random_state=seed).fit_transform(flat)
        else:
            reduced = PCA(n_components=min(50, *flat.shape), random_state=seed).fit_transform(flat)
            points = TSNE(
                n_components=2,
                init="pca",
                learning_rate="auto",
                perplexity=min(30.0, (sample - 1) / 3),
                max_iter=TSNE_ITERATIONS,
                angle=TSNE_ANGLE,
                random_state=seed,
            ).fit_transform(reduced)
    names = np.asarray(dataset.class_names)[dataset.y_train[index]]
    frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "class": names, "index": index})
    return Embedding(frame, method, time.perf_counter() - started)


def dataset_facts(dataset: Dataset) -> pd.DataFrame:
    """Return the dataset's key facts as a two-column table."""
    height, width = dataset.image_shape
    facts = {
        "Dataset": dataset.name,
        "Training images": f"{len(dataset.y_train):,}",
        "Test images": f"{len(dataset.y_test):,}",
        "Classes": ", ".join(dataset.class_names),
        "Image size": f"{height} x {width} pixels, one grey channel",
        "Inputs after flattening": f"{height * width} values",
        "Pixel type and range": f"{dataset.x_train.dtype}, {int(dataset.x_train.min())}-{int(dataset.x_train.max())}",
        "Source": dataset.source,
        "Licence": dataset.licence,
    }
    return pd.DataFrame({"fact": list(facts), "value": list(facts.values())})
