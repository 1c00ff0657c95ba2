"""Altair charts shared by the pages; each takes a tidy DataFrame and returns a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

DIGIT_SCALE = alt.Scale(scheme="category10")
RUN_SCALE = alt.Scale(scheme="dark2")  # strong, distinct colours: the theme's default puts two blues first
# Square plots stay square: Streamlit's default "fit" autosize squeezes the plot to make room for the legend.
NATURAL_SIZE = alt.AutoSizeParams(type="pad")


def class_balance(counts: pd.DataFrame) -> alt.Chart:
    """Grouped bars of images per class for the train and test splits."""
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("class:N", title="class"),
            xOffset="split:N",
            y=alt.Y("count:Q", title="images"),
            color=alt.Color("split:N", title="split"),
            tooltip=["class", "split", alt.Tooltip("count:Q", format=","), alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(height=260)
    )


def heatmap(
    frame: pd.DataFrame, *, value_title: str = "pixel value", size: int = 230, domain=None,
    scale: alt.Scale | None = None, title: str = alt.Undefined,
) -> alt.Chart:
    """One image (columns ``row``, ``col``, ``value``) as a heatmap with the value in the tooltip.

    The colour ``scale`` defaults to greys over ``domain`` (the data's range when None).
    """
    if scale is None:
        scale = alt.Scale(scheme="greys", domain=domain) if domain else alt.Scale(scheme="greys")
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("value:Q", scale=scale, title=value_title),
            tooltip=["row", "col", alt.Tooltip("value:Q", format=".3~f", title=value_title)],
        )
        .properties(width=size, height=size, autosize=NATURAL_SIZE)
    )


def small_heatmaps(frame: pd.DataFrame, *, title: str, columns: int = 10, size: int = 64) -> alt.Chart:
    """Several images (columns ``name``, ``row``, ``col``, ``value``) as a grid of small heatmaps."""
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="greys"), legend=None),
            tooltip=["name", "row", "col", alt.Tooltip("value:Q", format=".1f")],
        )
        .properties(width=size, height=size)
        .facet(facet=alt.Facet("name:N", title=None, sort=None), columns=columns)
    )


def pixel_histogram(hist: pd.DataFrame) -> alt.Chart:
    """Histogram of pixel values on the raw and the scaled axis, one panel each."""
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("start:Q", title="pixel value", scale=alt.Scale(nice=False)),
            x2="end:Q",
            y=alt.Y("share:Q", title="share of ink pixels", axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip("start:Q", format=".3~f"), alt.Tooltip("end:Q", format=".3~f"), alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(width=300, height=200)
    )
    return alt.layer(bars, data=hist).facet(column=alt.Column("scale:N", title=None, sort=["raw 0-255", "scaled 0-1"])).resolve_scale(x="independent")


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


def batch_curve(frame: pd.DataFrame, *, height: int = 220) -> alt.Chart:
    """Running training loss per batch (Keras' mean over the epoch so far) against epochs done."""
    return (
        alt.Chart(frame, title="Training loss, batch by batch (running mean within each epoch)")
        .mark_line(interpolate="monotone")
        .encode(
            x=alt.X("epoch_position:Q", title="epochs done"),
            y=alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)),
            detail="epoch:N",
            tooltip=["epoch", "batch", alt.Tooltip("loss:Q", format=".4f"), alt.Tooltip("accuracy:Q", format=".2%")],
        )
        .properties(height=height)
    )


def epoch_curves(frame: pd.DataFrame, *, color: str = "split", height: int = 220) -> alt.FacetChart:
    """Per-epoch loss and accuracy (long frame from ``curves.history_frame``), one panel per metric.

    ``color`` is "split" for one run, or "run" to overlay runs (the split then sets the dash).
    """
    tooltip = [color, "split", "epoch", alt.Tooltip("value:Q", format=".4f")]
    base = alt.Chart().encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color(f"{color}:N", title=color, scale=RUN_SCALE if color == "run" else alt.Undefined),
        tooltip=tooltip if color != "split" else tooltip[1:],
    )
    if color != "split":
        base = base.encode(strokeDash=alt.StrokeDash("split:N", title="split"))
    return (
        alt.layer(base.mark_line(), base.mark_point(filled=True, size=40), data=frame)
        .properties(width=320, height=height)
        .facet(column=alt.Column("metric:N", title=None, sort=["loss", "accuracy"]))
        .resolve_scale(y="independent")
    )
