"""The Data page's figures of a dataset, computed once per dataset and setting for every session."""

from __future__ import annotations

import streamlit as st

from mnist_lab import charts
from mnist_lab.data import explore
from ui import resources, vega


@st.cache_data(show_spinner=False)
def gallery_strips(name: str, split: str, per_class: int, seed: int) -> dict[str, tuple[int, object]]:
    """Per class name: how many images its strip holds, and the strip."""
    chosen = resources.dataset(name)
    return {label: (len(images), explore.tile(images))
            for label, images in explore.gallery(chosen, split, per_class, seed).items()}


@st.cache_data(show_spinner="Computing the class statistics...")
def class_statistics(name: str) -> tuple:
    """The class counts, each class's mean and standard-deviation pictures, the pixel histogram and pixel facts."""
    chosen = resources.dataset(name)
    means, stds = (explore.shaded_pictures(explore.class_images(chosen, statistic)) for statistic in ("mean", "std"))
    return explore.class_counts(chosen), means, stds, explore.pixel_histogram(chosen), explore.pixel_facts(chosen)


@st.cache_data(show_spinner=False)
def statistics_charts(name: str) -> tuple[dict, list[dict]]:
    """The class balance and the two pixel histograms, as specs built once per dataset for every session."""
    counts, _, _, histogram, _ = class_statistics(name)
    histograms = [charts.pixel_histogram(histogram, scale) for scale in histogram["scale"].unique()]
    return vega.spec(charts.class_balance(counts)), vega.specs(histograms)


@st.cache_data(show_spinner=False, max_entries=8)
def digit_map(name: str, method: str, sample: int, seed: int) -> explore.Embedding:
    """The 2-D map, computed once per dataset and setting for every session; it carries its own measured time."""
    return explore.embedding(resources.dataset(name), method=method, sample=sample, seed=seed)


def forget() -> None:
    """Drop every kept figure of every dataset: they are kept by the dataset's name, which a new import may take
    after a deletion."""
    for cached in (gallery_strips, class_statistics, statistics_charts, digit_map):
        cached.clear()
