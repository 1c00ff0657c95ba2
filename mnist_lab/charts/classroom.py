"""Altair charts of the teacher's Class page."""

from __future__ import annotations

import altair as alt
import pandas as pd

from mnist_lab.charts.base import NATURAL_SIZE

#: Width of one class in the recall chart, in pixels: ten classes fit a phone's 390 px page.
BAND = 30


def class_recall_chart(recalls: pd.DataFrame) -> alt.LayerChart:
    """Per-class test recall across the class's runs: a box per class (quartiles, whiskers to min and max) and a
    point per run, each point naming its student and run.

    Parameters
    ----------
    recalls : pandas.DataFrame
        Columns ``class``, ``recall``, ``student``, ``run`` (``mnist_lab.evaluation.classroom.recall_frame``
        for one dataset).
    """
    order = sorted(recalls["class"].unique(), key=lambda name: (len(name), name))
    x = alt.X("class:N", sort=order, title="class")
    y = alt.Y("recall:Q", title="test recall", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    boxes = alt.Chart(recalls).mark_boxplot(extent="min-max", opacity=0.5, size=18).encode(x=x, y=y)
    points = alt.Chart(recalls).mark_circle(size=28, color="#0b57d0").encode(
        x=x, y=y, tooltip=["student", "run", "class", alt.Tooltip("recall:Q", format=".2%")]
    )
    return (boxes + points).properties(width=BAND * max(len(order), 1), height=240, autosize=NATURAL_SIZE)
