"""Charts of a sweep: test accuracy against the varied setting(s), and settings against accuracy in parallel.

Each takes the frame of ``Sweep.results()`` (one row per run, a column per varied setting, ``test accuracy``) and
lets a click on a run select it (the selection :data:`RUN` carries its ``run_id``), so a page can open that run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import pandas as pd

from mnist_lab.charts.base import NATURAL_SIZE, RUN_SCALE

RUN = "sweep_run"
ACCURACY = "test accuracy"
#: Settings drawn on a logarithmic axis.
LOG_SETTINGS = ("Learning rate",)


def _pick() -> alt.Parameter:
    return alt.selection_point(name=RUN, fields=["run_id"], on="click", clear="dblclick")


def _numeric(frame: pd.DataFrame, column: str) -> bool:
    return pd.api.types.is_numeric_dtype(frame[column])


def _tooltip(settings: Sequence[str]) -> list:
    return ["run", "status", *settings, alt.Tooltip(f"{ACCURACY}:Q", format=".2%")]


def accuracy_chart(frame: pd.DataFrame, settings: Sequence[str]) -> alt.Chart:
    """Test accuracy against one setting (a line), or against two (lines per value of a choice, else a heatmap).

    Runs without a test accuracy yet (waiting, training, diverged in their first epoch) are left out.
    """
    frame = frame.dropna(subset=[ACCURACY])
    first = settings[0]
    accuracy = alt.Y(f"{ACCURACY}:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    if len(settings) == 2 and not any(_numeric(frame, setting) for setting in settings):
        return (
            alt.Chart(frame)
            .mark_rect()
            .encode(x=alt.X(f"{settings[0]}:N"), y=alt.Y(f"{settings[1]}:N"),
                    color=alt.Color(f"{ACCURACY}:Q", title="test accuracy", legend=alt.Legend(format="%")),
                    tooltip=_tooltip(settings), opacity=alt.condition(_pick(), alt.value(1.0), alt.value(0.5)))
            .add_params(_pick())
            .properties(width=360, height=260, autosize=NATURAL_SIZE)
        )
    if len(settings) == 2 and not _numeric(frame, first):
        first, second = settings[1], settings[0]
    else:
        second = settings[1] if len(settings) == 2 else None
    if _numeric(frame, first):
        x = alt.X(f"{first}:Q", scale=alt.Scale(type="log") if first in LOG_SETTINGS else alt.Undefined)
    else:
        x = alt.X(f"{first}:N")
    color = alt.Color(f"{second}:N", scale=RUN_SCALE) if second else alt.Undefined
    pick = _pick()
    base = alt.Chart(frame).encode(x=x, y=accuracy, color=color, tooltip=_tooltip(settings))
    points = base.mark_point(filled=True, size=90).encode(
        size=alt.condition(pick, alt.value(160), alt.value(90))).add_params(pick)
    return alt.layer(base.mark_line(), points).properties(width=420, height=260, autosize=NATURAL_SIZE)


def parallel_coordinates(frame: pd.DataFrame, settings: Sequence[str]) -> alt.Chart:
    """One line per run across the varied settings and its test accuracy, each axis scaled to 0-1.

    A choice (an optimizer, an architecture) is placed by the order of its values; a number by its value (on a
    log scale for the learning rate).
    """
    frame = frame.dropna(subset=[ACCURACY]).reset_index(drop=True)
    axes = [*settings, ACCURACY]
    long = []
    for column in axes:
        values = frame[column]
        if not _numeric(frame, column):
            order = {value: index for index, value in enumerate(dict.fromkeys(values))}
            position = values.map(order).astype(float)
        else:
            position = values.astype(float)
            if column in LOG_SETTINGS:
                position = position.apply(math.log10)
        span = position.max() - position.min()
        scaled = (position - position.min()) / span if span else position * 0 + 0.5
        shown = values.map(lambda value: f"{value:.2%}") if column == ACCURACY else values.astype(str)
        long += [{"run_id": run_id, "run": run, "axis": column, "position": float(value), "value": text}
                 for run_id, run, value, text in zip(frame["run_id"], frame["run"], scaled, shown)]
    data = pd.DataFrame(long)
    pick = _pick()
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("axis:N", sort=axes, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("position:Q", title="low → high", axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("run:N", scale=RUN_SCALE, legend=None),
            detail="run_id:N",
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.35)),
            tooltip=["run", "axis", "value"],
        )
        .add_params(pick)
        .properties(width=120 * len(axes), height=240, autosize=NATURAL_SIZE)
    )
