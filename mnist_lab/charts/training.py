"""Charts of a training: the batch-by-batch loss and the per-epoch curves of one run or several."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from mnist_lab.charts.base import RUN_SCALE

#: At most this many labelled epochs on the epoch axis; longer runs label every second, third... epoch.
MAX_EPOCH_TICKS = 15
#: The train/validation legend of overlaid runs: long dashed strokes, so solid and dashed can be told apart.
SPLIT_LEGEND = alt.Legend(symbolType="stroke", symbolSize=400, symbolStrokeWidth=2, symbolStrokeColor="#555")


def batch_curve(frame: pd.DataFrame, *, height: int = 220) -> alt.Chart:
    """Running training loss per batch (Keras' mean over the epoch so far) against epochs done."""
    return (
        alt.Chart(frame, title=alt.Title("Training loss, batch by batch", subtitle="running mean within each epoch"))
        .mark_line(interpolate="monotone")
        .encode(
            x=alt.X("epoch_position:Q", title="epochs done"),
            y=alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)),
            detail="epoch:N",
            tooltip=["epoch", "batch", alt.Tooltip("loss:Q", format=".4f"), alt.Tooltip("accuracy:Q", format=".2%")],
        )
        .properties(height=height)
    )


def epoch_axis(epochs: pd.Series) -> alt.X:
    """The epoch axis of per-epoch curves: whole epochs only, each point half an epoch from the edges.

    Left to Vega, one epoch gave a zero-width domain labelled "1.000000", and three epochs a tick at 1.5.
    """
    last = max(int(epochs.max()) if len(epochs) else 1, 1)
    step = math.ceil(last / MAX_EPOCH_TICKS)
    return alt.X(
        "epoch:Q", title="epoch", scale=alt.Scale(domain=[0.5, last + 0.5], nice=False),
        axis=alt.Axis(values=list(range(1, last + 1, step)), format="d"),
    )


def _curve_layers(frame: pd.DataFrame, color: str) -> alt.LayerChart:
    """Lines and points of per-epoch values, without data; with ``color="run"`` the split sets the dash."""
    tooltip = [color, "split", "epoch", alt.Tooltip("value:Q", format=".4f")]
    base = alt.Chart().encode(
        x=epoch_axis(frame["epoch"]),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color(f"{color}:N", title=color, scale=RUN_SCALE if color == "run" else alt.Undefined),
        tooltip=tooltip if color != "split" else tooltip[1:],
    )
    # The split is never told by colour alone: it sets the dash (train solid, validation dashed) and, for one run,
    # the points' shape as well, so that a reader who cannot tell the colours apart still can the curves.
    lines = base.mark_line().encode(strokeDash=alt.StrokeDash("split:N", title="split", legend=SPLIT_LEGEND
                                                              if color != "split" else alt.Undefined))
    points = base.mark_point(filled=True, size=40)
    if color == "split":
        points = points.encode(shape=alt.Shape("split:N", title="split"))
    return alt.layer(lines, points)


def epoch_curves(frame: pd.DataFrame, *, color: str = "split", height: int = 220) -> alt.FacetChart:
    """Per-epoch loss and accuracy (long frame from ``curves.history_frame``), one panel per metric.

    ``color`` is "split" for one run, or "run" to overlay runs; the split then sets the dash, which its legend
    draws as a line (solid for train, dashed for validation) rather than as a point.
    """
    return (
        _curve_layers(frame, color).properties(data=frame, width=320, height=height)
        .facet(column=alt.Column("metric:N", title=None, sort=["loss", "accuracy"]))
        .resolve_scale(y="independent")
    )


def metric_curve(frame: pd.DataFrame, metric: str, *, color: str = "split", height: int = 220) -> alt.LayerChart:
    """One panel of :func:`epoch_curves`, ``metric`` ("loss" or "accuracy") alone, as wide as its container.

    Side by side in columns, two of them stack on a phone, where the two-panel chart is wider than the screen.
    """
    return _curve_layers(frame, color).properties(
        data=frame[frame["metric"] == metric], title=f"{metric} per epoch", height=height
    )
