"""Numbers behind the Data page: galleries, class balance, pixel statistics and 2-D maps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mnist_lab.data import Dataset

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


def images_frame(images: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Return several images in long form, one ``name`` each, for small-multiple heatmaps."""
    return pd.concat([image_frame(image, name=name) for image, name in zip(images, names)], ignore_index=True)


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


def embedding(dataset: Dataset, *, method: str = "pca", sample: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Project a sample of training digits to 2-D with PCA or t-SNE.

    Parameters
    ----------
    dataset : Dataset
    method : {"pca", "tsne"}
        PCA is instant and linear; t-SNE (on the first 50 principal components) separates
        clusters better but takes seconds and its distances between clusters mean little.
    sample : int
        Number of digits, 100 to 5000.
    seed : int

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``y``, ``class``, ``index`` (position in the training split).
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in EMBEDDING_METHODS:
        raise ValueError(f"method must be one of {EMBEDDING_METHODS}, got {method!r}")
    if not 100 <= sample <= 5000:
        raise ValueError(f"sample must be between 100 and 5000, got {sample}")
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(dataset.x_train), size=sample, replace=False))
    flat = dataset.x_train[index].reshape(sample, -1).astype(np.float32) / 255.0
    if method == "pca":
        points = PCA(n_components=2, random_state=seed).fit_transform(flat)
    else:
        reduced = PCA(n_components=50, random_state=seed).fit_transform(flat)
        points = TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(reduced)
    names = np.asarray(dataset.class_names)[dataset.y_train[index]]
    return pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "class": names, "index": index})


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
