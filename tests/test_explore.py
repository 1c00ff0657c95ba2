"""The Data page's 2-D maps: PCA and t-SNE of a sample of training digits, with the time they took."""

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mnist_lab.data import explore
from mnist_lab.errors import ConfigError, MnistLabError


def neighbour_agreement(points, k=10) -> float:
    """Share of each point's k nearest neighbours on the map that have its class."""
    xy = points[["x", "y"]].to_numpy()
    classes = points["class"].to_numpy()
    distances = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1)[:, :k]
    return float((classes[nearest] == classes[:, None]).mean())


@pytest.mark.parametrize("method", explore.EMBEDDING_METHODS)
def test_map_has_one_point_per_sampled_image_and_its_measured_time(mnist, method):
    started = time.perf_counter()
    result = explore.embedding(mnist, method=method, sample=300, seed=1)
    elapsed = time.perf_counter() - started
    assert result.method == method
    assert list(result.points.columns) == ["x", "y", "class", "index"]
    assert len(result.points) == 300 and result.points["index"].is_unique
    assert np.isfinite(result.points[["x", "y"]].to_numpy()).all()
    labels = np.asarray(mnist.class_names)[mnist.y_train[result.points["index"]]]
    assert (result.points["class"].to_numpy() == labels).all()
    assert 0 < result.seconds <= elapsed  # measured around the computation itself, not a constant


def test_tsne_separates_the_digits_better_than_pca(mnist):
    pca = explore.embedding(mnist, method="pca", sample=600, seed=0)
    tsne = explore.embedding(mnist, method="tsne", sample=600, seed=0)
    assert (tsne.points["index"].to_numpy() == pca.points["index"].to_numpy()).all()  # the same images
    assert neighbour_agreement(tsne.points) > 0.7
    assert neighbour_agreement(tsne.points) > neighbour_agreement(pca.points) + 0.2


def test_tsne_is_reproducible_for_a_seed(mnist):
    first = explore.embedding(mnist, method="tsne", sample=200, seed=3)
    second = explore.embedding(mnist, method="tsne", sample=200, seed=3)
    np.testing.assert_allclose(first.points[["x", "y"]], second.points[["x", "y"]], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("method", "sample", "message"),
    [
        ("tsne", explore.TSNE_MAX_SAMPLE + 1, f"between 100 and {explore.TSNE_MAX_SAMPLE:,} images"),
        ("pca", 5001, "between 100 and 5,000 images"),
        ("pca", 99, "between 100 and 5,000 images"),
        ("umap", 500, "must be one of pca, tsne"),
    ],
)
def test_out_of_range_settings_are_refused_with_the_allowed_values(mnist, method, sample, message):
    with pytest.raises(ConfigError, match=message) as caught:
        explore.embedding(mnist, method=method, sample=sample)
    assert isinstance(caught.value, MnistLabError) and isinstance(caught.value, ValueError)


def test_the_balance_sentence_quotes_the_shares_and_follows_them(mnist):
    counts = explore.class_counts(mnist)
    low, high = counts["share"].min(), counts["share"].max()
    sentence = explore.balance_sentence(counts)
    assert sentence.startswith("Every class has a similar share") and f"between {low:.1%} and {high:.1%}" in sentence
    skewed = pd.DataFrame({"class": ["0", "1"], "split": "train", "count": [900, 100], "share": [0.9, 0.1]})
    assert explore.balance_sentence(skewed).startswith("The classes are imbalanced (between 10.0% and 90.0%")
    missing = pd.DataFrame({"class": ["0", "1"], "split": "train", "count": [10, 0], "share": [1.0, 0.0]})
    assert "imbalanced" in explore.balance_sentence(missing)  # a class with no image at all is not "similar"


def test_the_border_sentence_is_measured_on_the_images(mnist):
    border = np.ones((28, 28), dtype=bool)
    border[explore.BORDER:-explore.BORDER, explore.BORDER:-explore.BORDER] = False
    empty = float((mnist.x_train[:, border] == 0).mean())
    sentence = explore.border_sentence(mnist, sample=len(mnist.x_train))
    assert 0.9 <= empty < 0.99  # most of MNIST's frame is empty, but not all of it
    assert f"are 0 in {empty:.1%} of cases: the objects mostly sit in the middle of the 28x28 field, and some reach " \
           "into that frame (MNIST's digits were fitted into a 20x20 box" in sentence
    rng = np.random.default_rng(0)
    edges = SimpleNamespace(x_train=rng.integers(1, 255, size=(50, 28, 28), dtype=np.uint8), image_shape=(28, 28))
    assert explore.border_sentence(edges) == (
        f"The outer {explore.BORDER} pixels are 0 in only 0.0% of cases: the objects reach the edges of the field.")


def test_the_pixel_sentence_quotes_the_histogram_of_the_images(mnist):
    histogram, facts = explore.pixel_histogram(mnist), explore.pixel_facts(mnist)
    raw = histogram[histogram["scale"] == "raw 0-255"]
    sentence = explore.pixel_sentence(histogram, facts, int(mnist.x_train.max()))
    assert sentence.startswith(f"{facts['zero_share']:.0%} of all pixels are exactly 0")
    assert 0.75 < facts["zero_share"] < 0.85 and "spread up to 255" in sentence
    assert raw["share"].idxmax() == raw.index[-1]  # MNIST's strokes: most ink pixels are full ink
    assert "the tallest bar is the last bar, full ink" in sentence
    faint = histogram.assign(share=[1.0 if i == 3 else 0.0 for i in range(len(histogram))])
    start, end = faint.loc[3, "start"], faint.loc[3, "end"]
    assert f"the tallest bar is at {start:.0f}-{end - 1:.0f}." in explore.pixel_sentence(faint, facts, 200)


def test_the_pixel_histogram_draws_bars_as_tall_as_their_shares(mnist):
    import re

    import vl_convert

    from mnist_lab.charts.data import pixel_histogram

    histogram = explore.pixel_histogram(mnist)
    raw = histogram[histogram["scale"] == "raw 0-255"]
    svg = vl_convert.vegalite_to_svg(pixel_histogram(histogram, "raw 0-255").properties(width=500).to_json())
    heights = [float(height) for height in re.findall(r'aria-roledescription="bar" d="M[\d.]+,[\d.]+h[\d.]+v([\d.]+)', svg)]
    assert len(heights) == len(raw)
    # Each bar rises from 0 to its share: heights in proportion to the shares, the tallest the last ("the tallest
    # bar is the last bar", as the page says), about 200 px high.
    assert np.allclose(np.array(heights) / max(heights), raw["share"] / raw["share"].max(), atol=0.01)
    assert heights.index(max(heights)) == len(heights) - 1 and max(heights) > 150
