"""Altair charts of the Evaluate page: confusion matrix, ROC and precision-recall curves, per-class bars."""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from mnist_lab.charts.base import NATURAL_SIZE, RUN_SCALE

#: The selection parameter of the confusion matrix; its value holds the clicked cell's ``true`` and ``predicted``.
CELL = "cell"
AVERAGES = ("micro", "macro")
# category10, so each digit keeps the colour it has in charts.DIGIT_SCALE; the averages are drawn in black.
DIGIT_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
AVERAGE_DASH = {"micro": [6, 3], "macro": [2, 2]}
SQUARE = 360
AXIS_TITLES = {
    "fpr": "false positive rate (FPR)", "tpr": "true positive rate (TPR = recall)",
    "recall": "recall", "precision": "precision",
}
#: The zoomed ROC shows false positive rates up to this, where good models differ.
ZOOM_FPR = 0.1


def confusion_heatmap(
    frame: pd.DataFrame, *, normalized: bool = False, chosen: tuple[str, str] | None = None
) -> alt.LayerChart:
    """Confusion matrix (``metrics.confusion_long`` frame) with a clickable cell and the chosen cell outlined.

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
    return alt.layer(*layers).properties(width=SQUARE + 60, height=SQUARE + 60)


def _curve_labels(frame: pd.DataFrame, score: str, short: str) -> pd.DataFrame:
    """Add a ``curve`` column naming each curve with its score, e.g. ``3 · AUC 0.995``."""
    names = frame["class"].where(~frame["class"].isin(AVERAGES), frame["class"] + "-average")
    return frame.assign(curve=names + f" · {short} " + frame[score].map("{:.3f}".format))


def _curve_styles(frame: pd.DataFrame, classes: Sequence[str]) -> tuple[list[str], list[str], list[list[int]]]:
    """Legend order, colours and dashes: digits solid in their category10 colour by position, averages dashed black."""
    label_of = frame.drop_duplicates("class").set_index("class")["curve"]
    domain, colors, dashes = [], [], []
    for position, name in enumerate(classes):
        if name in label_of.index:
            domain.append(label_of[name])
            colors.append("#000000" if name in AVERAGES else DIGIT_COLORS[position % len(DIGIT_COLORS)])
            dashes.append(AVERAGE_DASH.get(name, [1, 0]))
    return domain, colors, dashes


def _class_curves(
    frame: pd.DataFrame, classes: Sequence[str], shown: Sequence[str], *, x: str, y: str, score: str, short: str, title: str,
    x_domain: Sequence[float] = (0, 1), y_domain: Sequence[float] = (0, 1),
) -> alt.Chart:
    """One line per shown curve, coloured like the class, averages dashed; click the legend to highlight one."""
    frame = _curve_labels(frame[frame["class"].isin(shown)], score, short)
    domain, colors, dashes = _curve_styles(frame, [*classes, *AVERAGES])
    pick = alt.selection_point(fields=["curve"], bind="legend")
    lines = (
        alt.Chart(frame, title=title)
        .mark_line(strokeWidth=2, clip=True)
        .encode(
            x=alt.X(f"{x}:Q", title=AXIS_TITLES[x], scale=alt.Scale(domain=list(x_domain))),
            y=alt.Y(f"{y}:Q", title=AXIS_TITLES[y], scale=alt.Scale(domain=list(y_domain))),
            color=alt.Color("curve:N", scale=alt.Scale(domain=domain, range=colors), title="curve (click to highlight)",
                            legend=alt.Legend(symbolType="stroke", labelLimit=260)),
            strokeDash=alt.StrokeDash("curve:N", scale=alt.Scale(domain=domain, range=dashes), legend=None),
            opacity=alt.condition(pick, alt.value(0.95), alt.value(0.12)),
            tooltip=["curve", alt.Tooltip(f"{x}:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".3f"),
                     alt.Tooltip("threshold:Q", format=".3f", title="threshold on the class probability")],
        )
        .add_params(pick)
    )
    return lines.properties(width=SQUARE, height=SQUARE)


def _chance_diagonal(x_domain: Sequence[float], y_domain: Sequence[float]) -> alt.Chart:
    """The ROC of random guessing, for reference, on the same axes as the curves."""
    diagonal = pd.DataFrame({"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    return alt.Chart(diagonal).mark_line(color="#999", strokeDash=[4, 4], clip=True).encode(
        x=alt.X("fpr:Q", scale=alt.Scale(domain=list(x_domain))), y=alt.Y("tpr:Q", scale=alt.Scale(domain=list(y_domain)))
    )


def _zoomed_tpr_floor(roc: pd.DataFrame, by: str) -> float:
    """A TPR axis start, in steps of 0.1, below every curve's TPR at a false positive rate of 1%."""
    at_one_percent = [np.interp(0.01, curve["fpr"], curve["tpr"]) for _, curve in roc.groupby(by)]
    return max(0.0, math.floor(min(at_one_percent, default=0.0) * 10) / 10)


def roc_chart(roc: pd.DataFrame, classes: Sequence[str], shown: Sequence[str], *, zoom: bool = False) -> alt.LayerChart:
    """One-vs-rest ROC curves (``metrics.roc_curves`` frame) of the ``shown`` classes and averages, AUC in the legend.

    ``classes`` is the full class list, so that each digit keeps its colour whatever is shown. ``zoom`` shows
    only false positive rates up to :data:`ZOOM_FPR`, the corner where good models differ.
    """
    x_domain, y_domain = (0, 1), (0, 1)
    if zoom:
        x_domain, y_domain = (0, ZOOM_FPR), (_zoomed_tpr_floor(roc[roc["class"].isin(shown)], "class"), 1)
    curves = _class_curves(roc, classes, shown, x="fpr", y="tpr", score="auc", short="AUC",
                           title="ROC, one class against the rest", x_domain=x_domain, y_domain=y_domain)
    return alt.layer(_chance_diagonal(x_domain, y_domain), curves).properties(autosize=NATURAL_SIZE)


def pr_chart(pr: pd.DataFrame, classes: Sequence[str], shown: Sequence[str]) -> alt.Chart:
    """Precision-recall curves (``metrics.pr_curves`` frame) of the ``shown`` classes, average precision in the legend."""
    curves = _class_curves(pr, classes, shown, x="recall", y="precision", score="average_precision", short="AP",
                           title="Precision against recall, one class against the rest")
    return curves.properties(autosize=NATURAL_SIZE)


def _bar_domain(values: pd.Series) -> list[float]:
    """A 0-1 axis cut below the smallest value, so that differences of a few points stay visible."""
    low = values.min()
    return [max(0.0, math.floor(low * 10) / 10 - 0.1) if pd.notna(low) else 0.0, 1.0]


def recall_bars(per_class: pd.DataFrame, *, accuracy: float) -> alt.LayerChart:
    """Recall of each class (``Evaluation.per_class``) with the overall accuracy as a line."""
    domain = _bar_domain(per_class["recall"])
    title = "Recall per class: share of each digit's test images found"
    bars = alt.Chart(per_class, title=title).mark_bar(clip=True).encode(
        x=alt.X("class:N", title="class", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("recall:Q", title=f"recall (axis from {domain[0]:.0%})", scale=alt.Scale(domain=domain),
                axis=alt.Axis(format="%")),
        color=alt.Color("class:N", scale=alt.Scale(range=list(DIGIT_COLORS)), legend=None),
        tooltip=["class", alt.Tooltip("recall:Q", format=".2%"), alt.Tooltip("support:Q", title="test images")],
    )
    text = bars.mark_text(dy=-6, fontSize=11).encode(text=alt.Text("recall:Q", format=".1%"), color=alt.value("#333"))
    line = alt.Chart(pd.DataFrame({"accuracy": [accuracy]})).mark_rule(strokeDash=[4, 4], color="#333").encode(
        y="accuracy:Q", tooltip=[alt.Tooltip("accuracy:Q", format=".2%", title="overall accuracy")]
    )
    return alt.layer(bars, text, line).properties(height=260)


def compare_bars(per_class: pd.DataFrame, metric: str) -> alt.Chart:
    """Grouped bars of one per-class metric (``Comparison.per_class``) for several runs."""
    frame = per_class[per_class["metric"] == metric]
    domain = _bar_domain(frame["value"])
    return (
        alt.Chart(frame, title=f"{metric[0].upper()}{metric[1:]} per class")
        .mark_bar(clip=True)
        .encode(
            x=alt.X("class:N", title="class", axis=alt.Axis(labelAngle=0)),
            xOffset="run:N",
            y=alt.Y("value:Q", title=f"{metric} (axis from {domain[0]:.0%})", scale=alt.Scale(domain=domain),
                    axis=alt.Axis(format="%")),
            color=alt.Color("run:N", title="run", scale=RUN_SCALE),
            tooltip=["run", "class", alt.Tooltip("value:Q", format=".3f", title=metric)],
        )
        .properties(height=240)
    )


def compare_roc(roc: pd.DataFrame, class_name: str, *, zoom: bool = False) -> alt.LayerChart:
    """ROC curves of one class (or ``"micro"``/``"macro"``) for several runs (``Comparison.roc``), AUC in the legend.

    ``zoom`` shows only false positive rates up to :data:`ZOOM_FPR`.
    """
    frame = roc[roc["class"] == class_name]
    frame = frame.assign(curve=frame["run"] + " · AUC " + frame["auc"].map("{:.4f}".format))
    x_domain, y_domain = ((0, ZOOM_FPR), (_zoomed_tpr_floor(frame, "run"), 1)) if zoom else ((0, 1), (0, 1))
    lines = (
        alt.Chart(frame, title=f"ROC of class {class_name} against the rest")
        .mark_line(strokeWidth=2, clip=True)
        .encode(
            x=alt.X("fpr:Q", title=AXIS_TITLES["fpr"], scale=alt.Scale(domain=list(x_domain))),
            y=alt.Y("tpr:Q", title=AXIS_TITLES["tpr"], scale=alt.Scale(domain=list(y_domain))),
            color=alt.Color("curve:N", title="run", scale=RUN_SCALE,
                            legend=alt.Legend(symbolType="stroke", labelLimit=320)),
            tooltip=["run", alt.Tooltip("fpr:Q", format=".3f"), alt.Tooltip("tpr:Q", format=".3f"),
                     alt.Tooltip("auc:Q", format=".4f", title="AUC")],
        )
        .properties(width=SQUARE, height=SQUARE)
    )
    return alt.layer(_chance_diagonal(x_domain, y_domain), lines).properties(autosize=NATURAL_SIZE)
