"""Charts of the Data page: class balance, pixel histogram, the 2-D map."""

from __future__ import annotations

import altair as alt
import pandas as pd

from mnist_lab.charts.base import DIGIT_SCALE


def class_balance(counts: pd.DataFrame) -> alt.Chart:
    """Grouped bars of images per class for the train and test splits."""
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("class:N", title="class"),
            xOffset="split:N",
            y=alt.Y("count:Q", title="images"),
            # Blue and dark orange: apart for every common colour-vision deficiency, both over 3:1 on white (the
            # theme's orange was 2.4:1); the bars' order within a class (train left) says the split as well.
            color=alt.Color("split:N", title="split", scale=alt.Scale(domain=["train", "test"],
                                                                      range=["#2166ac", "#b35806"])),
            tooltip=["class", "split", alt.Tooltip("count:Q", format=","), alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(height=260)
    )


def pixel_histogram(hist: pd.DataFrame, scale: str) -> alt.Chart:
    """Histogram of pixel values on one ``scale`` of ``hist``, as wide as its container.

    The share axis spans every scale of ``hist``, so that panels drawn side by side compare.
    """
    return (
        alt.Chart(hist[hist["scale"] == scale])
        .mark_bar()
        .encode(
            x=alt.X("start:Q", title=f"pixel value, {scale}", scale=alt.Scale(nice=False)),
            x2="end:Q",
            y=alt.Y("share:Q", title="share of ink pixels", axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[0, float(hist["share"].max())])),
            # With x and x2 a bar spans its bin across and would be a flat dash up and down: y2 gives it its floor.
            y2=alt.datum(0),
            tooltip=[alt.Tooltip("start:Q", format=".3~f"), alt.Tooltip("end:Q", format=".3~f"),
                     alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(width="container", height=200)
    )


def embedding_scatter(points: pd.DataFrame, *, title: str) -> alt.Chart:
    """Interactive scatter of a 2-D map coloured by class; click the legend to highlight a class."""
    pick = alt.selection_point(fields=["class"], bind="legend")
    return (
        alt.Chart(points, title=title)
        .mark_circle(size=18)
        .encode(
            x=alt.X("x:Q", title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title=None, axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("class:N", scale=DIGIT_SCALE, title="class"),
            opacity=alt.condition(pick, alt.value(0.85), alt.value(0.05)),
            tooltip=["class", "index"],
        )
        .add_params(pick)
        .interactive()
        .properties(height=420)
    )
