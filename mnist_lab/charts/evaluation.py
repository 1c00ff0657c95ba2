"""Altair charts of the Evaluate page: confusion matrix, ROC and precision-recall curves, per-class bars."""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from mnist_lab.charts.base import DIGIT_COLORS, NATURAL_SIZE, RUN_SCALE
from mnist_lab.evaluation import COMPARED, PAIRS, RANKING_ERRORS, auc_decimals

#: The selection parameter of the confusion matrix; its value holds the clicked cell's ``true`` and ``predicted``.
CELL = "cell"
AVERAGES = ("micro", "macro")
# Each digit keeps the colour it has in charts.DIGIT_SCALE (base.DIGIT_COLORS); the averages are drawn in black.
AVERAGE_DASH = {"micro": [6, 3], "macro": [2, 2]}
#: The classes' curves differ by dash as well as colour, so that a reader who cannot tell the colours apart can
#: still follow one (none is an average's dash).
DIGIT_DASHES = ([1, 0], [8, 2], [4, 2], [1, 2], [8, 2, 1, 2], [12, 3], [3, 3, 1, 3], [6, 2, 2, 2], [2, 4],
                [10, 2, 2, 2, 2, 2])
# Square plots of curves: with their axes (the log scale's "0.00001" is wide) they fit a phone's 390 px page.
SQUARE = 260
HEATMAP = 310
#: Width of one class on the per-class bar charts, in pixels.
BAND = 44
AXIS_TITLES = {
    "fpr": "false positive rate (FPR)", "tpr": "true positive rate (TPR = recall)",
    "recall": "recall", "precision": "precision",
}
#: The zoomed ROC shows false positive rates up to this, where good models differ.
ZOOM_FPR = 0.1
#: The false-positive-rate axes of a ROC chart, key to label: logarithmic (the view for strong classifiers),
#: linear, and linear up to :data:`ZOOM_FPR`.
ROC_AXES = {"log": "logarithmic", "linear": "linear", "corner": f"linear, up to {ZOOM_FPR:.0%}"}
# Legends go under the square plots: beside them they made the report's chart wider than a narrow page.
_LEGEND = {"orient": "bottom", "columns": 1, "symbolType": "stroke", "labelLimit": 260}
# Streamlit fits a chart's legend into its height: a bottom legend needs this much for the plot to keep its room.
_COMPARE_HEIGHT = 380


def confusion_heatmap(
    frame: pd.DataFrame, *, normalized: bool = False, chosen: tuple[str, str] | None = None
) -> alt.LayerChart:
    """Confusion matrix (``evaluation.confusion.confusion_long`` frame) with a clickable cell and the chosen cell outlined.

    Right answers (the diagonal) are shaded blue relative to the largest of them, mistakes red relative to the
    largest mistake, so that a mistake of 40 images stands out next to a diagonal of 1,000; each cell shows its value.
    """
    field = "row_share" if normalized else "count"
    diagonal = frame["true"] == frame["predicted"]
    largest_right = max(frame.loc[diagonal, field].max(), 1e-12)
    largest_mistake = max(frame.loc[~diagonal, field].max(), 1e-12)
    frame = frame.assign(
        tone=np.where(diagonal, frame[field] / largest_right, -frame[field] / largest_mistake),
        kind=np.where(diagonal, "right", "mistake"),
    )
    pick = alt.selection_point(name=CELL, fields=["true", "predicted"], on="click", clear="dblclick")
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", title="predicted class", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("true:N", title="true class"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("tone:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1]), legend=None),
        tooltip=[
            "true", "predicted", "kind", alt.Tooltip("count:Q", title="test images"),
            alt.Tooltip("row_share:Q", format=".1%", title="share of the true class"),
        ],
    ).add_params(pick)
    labels = base.mark_text(fontSize=11).encode(
        text=alt.Text(f"{field}:Q", format=".0%" if normalized else "d"),
        color=alt.condition("abs(datum.tone) > 0.55", alt.value("white"), alt.value("#333")),
    )
    layers = [cells, labels]
    if chosen is not None:
        true, predicted = chosen
        layers.append(
            base.mark_rect(fill=None, stroke="#ff9900", strokeWidth=3).transform_filter(
                (alt.datum.true == true) & (alt.datum.predicted == predicted)
            )
        )
    return alt.layer(*layers).properties(width=HEATMAP, height=HEATMAP)


def _curve_labels(frame: pd.DataFrame, score: str, short: str) -> pd.DataFrame:
    """Add a ``curve`` column naming each curve with its score, with as many decimals as tell the curves apart."""
    names = frame["class"].where(~frame["class"].isin(AVERAGES), frame["class"] + "-average")
    decimals = auc_decimals(frame.drop_duplicates("class")[score])
    return frame.assign(curve=names + f" · {short} " + frame[score].map(f"{{:.{decimals}f}}".format))


def _curve_styles(frame: pd.DataFrame, classes: Sequence[str]) -> tuple[list[str], list[str], list[list[int]]]:
    """Legend order, colours and dashes: each digit in its colour and dash by position, averages dashed black."""
    label_of = frame.drop_duplicates("class").set_index("class")["curve"]
    domain, colors, dashes = [], [], []
    for position, name in enumerate(classes):
        if name in label_of.index:
            domain.append(label_of[name])
            colors.append("#000000" if name in AVERAGES else DIGIT_COLORS[position % len(DIGIT_COLORS)])
            dashes.append(AVERAGE_DASH.get(name, DIGIT_DASHES[position % len(DIGIT_DASHES)]))
    return domain, colors, dashes


def _axis(field: str, domain: Sequence[float], *, log: bool = False) -> dict:
    """Title and scale of a curve chart's axis: linear over ``domain``, or logarithmic."""
    scale = alt.Scale(type="log", domain=list(domain)) if log else alt.Scale(domain=list(domain))
    title = f"{AXIS_TITLES[field]}, logarithmic" if log else AXIS_TITLES[field]
    return {"title": title, "scale": scale}


def _class_curves(
    frame: pd.DataFrame, classes: Sequence[str], shown: Sequence[str], *, x: str, y: str, score: str, short: str,
    title: str | alt.TitleParams,
    x_domain: Sequence[float] = (0, 1), y_domain: Sequence[float] = (0, 1), log_x: bool = False,
) -> alt.Chart:
    """One line per shown curve, coloured like the class, averages dashed; click the legend to highlight one."""
    frame = _curve_labels(frame[frame["class"].isin(shown)], score, short)
    domain, colors, dashes = _curve_styles(frame, [*classes, *AVERAGES])
    pick = alt.selection_point(fields=["curve"], bind="legend")
    lines = (
        alt.Chart(frame, title=title)
        .mark_line(strokeWidth=2, clip=True)
        .encode(
            x=alt.X(f"{x}:Q", **_axis(x, x_domain, log=log_x)),
            y=alt.Y(f"{y}:Q", **_axis(y, y_domain)),
            color=alt.Color("curve:N", scale=alt.Scale(domain=domain, range=colors), title="curve (click to highlight)",
                            legend=alt.Legend(**_LEGEND)),
            strokeDash=alt.StrokeDash("curve:N", scale=alt.Scale(domain=domain, range=dashes), legend=None),
            opacity=alt.condition(pick, alt.value(0.95), alt.value(0.12)),
            tooltip=["curve", alt.Tooltip(f"{x}:Q", format=".3~g"), alt.Tooltip(f"{y}:Q", format=".4~g"),
                     alt.Tooltip("threshold:Q", format=".3~g", title="threshold on the class probability")],
        )
        .add_params(pick)
    )
    return lines.properties(width=SQUARE, height=SQUARE)


def _chance_diagonal(x_domain: Sequence[float], y_domain: Sequence[float], *, log_x: bool = False) -> alt.Chart:
    """The ROC of random guessing (TPR = FPR), for reference, on the same axes as the curves."""
    low = x_domain[0] if log_x else 0.0
    fpr = np.geomspace(low, 1.0, 60) if log_x else np.array([0.0, 1.0])
    diagonal = pd.DataFrame({"fpr": fpr, "tpr": fpr})
    return alt.Chart(diagonal).mark_line(color="#999", strokeDash=[4, 4], clip=True).encode(
        x=alt.X("fpr:Q", scale=alt.Scale(type="log", domain=list(x_domain)) if log_x else alt.Scale(domain=list(x_domain))),
        y=alt.Y("tpr:Q", scale=alt.Scale(domain=list(y_domain))),
    )


def _zoomed_tpr_floor(roc: pd.DataFrame, by: str) -> float:
    """A TPR axis start, in steps of 0.1, below every curve's TPR at a false positive rate of 1%."""
    at_one_percent = [np.interp(0.01, curve["fpr"], curve["tpr"]) for _, curve in roc.groupby(by)]
    return max(0.0, math.floor(min(at_one_percent, default=0.0) * 10) / 10)


def _roc_axes(roc: pd.DataFrame, by: str, axis: str) -> tuple[pd.DataFrame, tuple[float, float], tuple[float, float]]:
    """The rows to draw and the FPR and TPR domains of one of :data:`ROC_AXES`.

    The logarithmic axis starts at the power of ten below the smallest false positive rate above 0 (points at 0
    cannot be drawn on it) and its TPR axis below the lowest TPR drawn, so the steps of a strong model fill the plot.
    """
    if axis not in ROC_AXES:
        raise ValueError(f"axis must be one of {', '.join(ROC_AXES)}, got {axis!r}")
    if axis == "linear":
        return roc, (0, 1), (0, 1)
    if axis == "corner":
        return roc, (0, ZOOM_FPR), (_zoomed_tpr_floor(roc, by), 1)
    positive = roc[roc["fpr"] > 0]
    smallest = positive["fpr"].min() if len(positive) else 1e-4
    lowest_tpr = positive["tpr"].min() if len(positive) else 0.0
    return positive, (10 ** math.floor(math.log10(smallest)), 1), (math.floor(lowest_tpr * 10) / 10, 1)


def roc_chart(roc: pd.DataFrame, classes: Sequence[str], shown: Sequence[str], *, axis: str = "log") -> alt.LayerChart:
    """One-vs-rest ROC curves (``metrics.roc_curves`` frame) of the ``shown`` classes and averages, AUC in the legend.

    Parameters
    ----------
    roc : pandas.DataFrame
    classes : sequence of str
        The full class list, so that each class keeps its colour whatever is shown.
    shown : sequence of str
        The classes and averages to draw.
    axis : str
        A key of :data:`ROC_AXES`: a logarithmic false-positive-rate axis (the view that separates strong
        classifiers), a linear one, or the linear corner up to :data:`ZOOM_FPR`.

    Returns
    -------
    altair.LayerChart
    """
    chosen = roc[roc["class"].isin(shown)]
    rows, x_domain, y_domain = _roc_axes(chosen, "class", axis)
    curves = _class_curves(rows, classes, shown, x="fpr", y="tpr", score="auc", short="AUC",
                           title="ROC, one class against the rest", x_domain=x_domain, y_domain=y_domain,
                           log_x=axis == "log")
    return alt.layer(_chance_diagonal(x_domain, y_domain, log_x=axis == "log"), curves).properties(autosize=NATURAL_SIZE)


def pr_chart(pr: pd.DataFrame, classes: Sequence[str], shown: Sequence[str]) -> alt.Chart:
    """Precision-recall curves (``metrics.pr_curves`` frame) of the ``shown`` classes, average precision in the legend."""
    curves = _class_curves(pr, classes, shown, x="recall", y="precision", score="average_precision", short="AP",
                           title=alt.TitleParams("Precision against recall", subtitle="one class against the rest"))
    return curves.properties(autosize=NATURAL_SIZE)


def _bar_domain(values: pd.Series) -> list[float]:
    """A 0-1 axis cut below the smallest value, so that differences of a few points stay visible."""
    low = values.min()
    return [max(0.0, math.floor(low * 10) / 10 - 0.1) if pd.notna(low) else 0.0, 1.0]


def recall_bars(per_class: pd.DataFrame, *, accuracy: float) -> alt.LayerChart:
    """Recall of each class (``Evaluation.per_class``) with the overall accuracy as a line."""
    domain = _bar_domain(per_class["recall"])
    title = alt.TitleParams("Recall per class", subtitle="share of each class's test images found")
    bars = alt.Chart(per_class, title=title).mark_bar(clip=True).encode(
        x=alt.X("class:N", title="class", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("recall:Q", title=f"recall (axis from {domain[0]:.0%})", scale=alt.Scale(domain=domain),
                axis=alt.Axis(format="%")),
        color=alt.Color("class:N", scale=alt.Scale(range=list(DIGIT_COLORS)), legend=None),
        tooltip=["class", alt.Tooltip("recall:Q", format=".2%"), alt.Tooltip("support:Q", title="test images")],
    )
    text = bars.mark_text(dy=-6, fontSize=10).encode(text=alt.Text("recall:Q", format=".1%"), color=alt.value("#333"))
    line = alt.Chart(pd.DataFrame({"accuracy": [accuracy]})).mark_rule(strokeDash=[4, 4], color="#333").encode(
        y="accuracy:Q", tooltip=[alt.Tooltip("accuracy:Q", format=".2%", title="overall accuracy")]
    )
    # A band wide enough for a label such as "99.8%": at the default 20 px the labels ran into each other.
    return alt.layer(bars, text, line).properties(height=260, width=alt.Step(BAND))


def ranking_error_bars(per_class: pd.DataFrame) -> alt.LayerChart:
    """Ranking errors per 10,000 pairs (1 - ROC AUC) of each class (``Evaluation.per_class``), fewer is better."""
    decimals = auc_decimals(per_class["roc_auc"])
    title = alt.TitleParams("Ranking errors per class", subtitle=f"per {PAIRS:,} pairs (1 - ROC AUC): fewer is better")
    bars = alt.Chart(per_class, title=title).mark_bar().encode(
        x=alt.X("class:N", title="class", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("ranking_errors:Q", title=f"per {PAIRS:,} pairs"),
        color=alt.Color("class:N", scale=alt.Scale(range=list(DIGIT_COLORS)), legend=None),
        tooltip=["class", alt.Tooltip("ranking_errors:Q", format=".2f", title=RANKING_ERRORS),
                 alt.Tooltip("roc_auc:Q", format=f".{decimals}f", title="ROC AUC")],
    )
    text = bars.mark_text(dy=-6, fontSize=10).encode(text=alt.Text("ranking_errors:Q", format=".1f"),
                                                     color=alt.value("#333"))
    return alt.layer(bars, text).properties(height=260, width=alt.Step(BAND))


def _padded_domain(values: pd.Series, *, low: float | None = None, high: float | None = None) -> list[float]:
    """An axis from the data: its range with a tenth of it as margin, clipped to ``low`` and ``high``."""
    smallest, largest = float(values.min()), float(values.max())
    margin = (largest - smallest) / 10 or max(abs(largest) / 100, 1e-6)
    start, end = smallest - margin, largest + margin
    return [start if low is None else max(low, start), end if high is None else min(high, end)]


def compare_bars(per_class: pd.DataFrame, metric: str, *, baseline: str | None = None) -> alt.Chart | alt.LayerChart:
    """One per-class metric (``Comparison.per_class``) of several runs, on an axis chosen from the data.

    Parameters
    ----------
    per_class : pandas.DataFrame
        Columns ``run``, ``class``, ``metric`` (a value of :data:`mnist_lab.evaluation.COMPARED`) and ``value``.
    metric : str
        The metric to show.
    baseline : str, optional
        A run's label: show every other run's difference to it (bars around 0) instead of the values
        (dots, the axis spanning the values, not starting at 0, so that differences of a hundredth show).

    Returns
    -------
    altair.Chart or altair.LayerChart
    """
    frame = per_class[per_class["metric"] == metric]
    share = metric != RANKING_ERRORS  # recall, precision, F1 and AUC are shares; ranking errors are counts
    title = f"{metric[0].upper()}{metric[1:]} per class"
    if baseline is not None:
        return _difference_bars(frame, metric, baseline, share=share, title=title)
    domain = _padded_domain(frame["value"], low=0.0, high=1.0 if share else None)
    decimals = auc_decimals(frame["value"]) if metric == COMPARED["roc_auc"] else 2
    tooltip = ["run", "class", alt.Tooltip("value:Q", format=f".{decimals}f", title=metric)]
    if not share:
        frame = frame.assign(auc=1 - frame["value"] / PAIRS)
        tooltip.append(alt.Tooltip("auc:Q", format=f".{auc_decimals(frame['auc'])}f", title="ROC AUC"))
    dots = alt.Chart(frame, title=title).mark_point(filled=True, size=70, clip=True).encode(
        x=alt.X("class:N", title="class", axis=alt.Axis(labelAngle=0)),
        xOffset="run:N",
        y=alt.Y("value:Q", title="axis from the data", scale=alt.Scale(domain=domain, zero=False),
                axis=alt.Axis(format="%" if share and metric != COMPARED["roc_auc"] else "~g")),
        color=alt.Color("run:N", title="run", scale=RUN_SCALE, legend=alt.Legend(orient="bottom", columns=1,
                                                                                 labelLimit=400)),
        shape=alt.Shape("run:N", title="run", legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
        tooltip=tooltip,
    )
    return dots.properties(height=_COMPARE_HEIGHT)


def _difference_bars(frame: pd.DataFrame, metric: str, baseline: str, *, share: bool, title: str) -> alt.LayerChart:
    """Every run's value minus the baseline run's, per class: bars around a zero line."""
    base = frame[frame["run"] == baseline].set_index("class")["value"]
    others = frame[frame["run"] != baseline]
    scale = 100 if share else 1
    unit = "percentage points" if share else RANKING_ERRORS
    others = others.assign(difference=(others["value"] - others["class"].map(base)) * scale)
    subtitle = f"difference to {baseline}, in {unit}"
    bars = alt.Chart(others, title=alt.TitleParams(title, subtitle=subtitle)).mark_bar().encode(
        x=alt.X("class:N", title="class", axis=alt.Axis(labelAngle=0)),
        xOffset="run:N",
        y=alt.Y("difference:Q", title="difference"),
        color=alt.Color("run:N", title="run", scale=RUN_SCALE, legend=alt.Legend(orient="bottom", columns=1,
                                                                                 labelLimit=400)),
        tooltip=["run", "class", alt.Tooltip("value:Q", format=".4~g", title=metric),
                 alt.Tooltip("difference:Q", format="+.3~f", title=f"difference ({unit})")],
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0]})).mark_rule(color="#333").encode(y="zero:Q")
    return alt.layer(bars, zero).properties(height=_COMPARE_HEIGHT)


def compare_roc(roc: pd.DataFrame, class_name: str, *, axis: str = "log") -> alt.LayerChart:
    """ROC curves of one class (or ``"micro"``/``"macro"``) for several runs (``Comparison.roc``), AUC in the legend.

    ``axis`` is a key of :data:`ROC_AXES`, as for :func:`roc_chart`.
    """
    frame = roc[roc["class"] == class_name]
    decimals = auc_decimals(frame.drop_duplicates("run")["auc"])
    frame = frame.assign(curve=frame["run"] + " · AUC " + frame["auc"].map(f"{{:.{decimals}f}}".format))
    rows, x_domain, y_domain = _roc_axes(frame, "run", axis)
    log_x = axis == "log"
    lines = (
        alt.Chart(rows, title=f"ROC of class {class_name} against the rest")
        .mark_line(strokeWidth=2, clip=True)
        .encode(
            x=alt.X("fpr:Q", **_axis("fpr", x_domain, log=log_x)),
            y=alt.Y("tpr:Q", **_axis("tpr", y_domain)),
            color=alt.Color("curve:N", title="run", scale=RUN_SCALE,
                            legend=alt.Legend(orient="bottom", columns=1, symbolType="stroke", labelLimit=400)),
            tooltip=["run", alt.Tooltip("fpr:Q", format=".3~g"), alt.Tooltip("tpr:Q", format=".4~g"),
                     alt.Tooltip("auc:Q", format=f".{decimals}f", title="AUC")],
        )
        .properties(width=SQUARE, height=SQUARE)
    )
    return alt.layer(_chance_diagonal(x_domain, y_domain, log_x=log_x), lines).properties(autosize=NATURAL_SIZE)
