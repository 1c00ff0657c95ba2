"""Altair charts of the Predictions page: softmax outputs and saliency maps."""

from __future__ import annotations

import altair as alt
import pandas as pd

from mnist_lab.charts.base import heatmap


def probability_bars(frame: pd.DataFrame, *, height: int = 220) -> alt.LayerChart:
    """The 10 softmax outputs (columns ``digit``, ``probability``, ``chosen``) with the argmax highlighted.

    The argmax differs by more than colour: its bar is dark red, the others mid blue (both over 3:1 on white, and
    apart in lightness for a reader who cannot tell red from blue), and its label says "argmax".
    """
    base = alt.Chart(frame).encode(
        x=alt.X("digit:N", title="digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        tooltip=["digit", alt.Tooltip("probability:Q", format=".4f")],
    )
    bars = base.mark_bar().encode(
        color=alt.condition("datum.chosen", alt.value("#a50f15"), alt.value("#4a90c8")),
    )
    labels = base.mark_text(dy=-6, fontSize=11).encode(text=alt.Text("label:N")).transform_calculate(
        label="format(datum.probability, '.0%') + (datum.chosen ? ' argmax' : '')")
    return alt.layer(bars, labels).properties(height=height)


def saliency_map(frame: pd.DataFrame, *, title: str, limit: float, size: int = 220) -> alt.Chart:
    """A signed 28x28 map (columns ``row``, ``col``, ``value``): blue pushes the digit's score up, red down.

    ``limit`` is the largest absolute value of the colour scale; give maps that are compared the same one.
    """
    limit = limit if limit > 0 else 1.0
    scale = alt.Scale(scheme="redblue", domain=[-limit, limit], clamp=True)
    return heatmap(frame, value_title="effect on score", size=size, scale=scale, title=title)
