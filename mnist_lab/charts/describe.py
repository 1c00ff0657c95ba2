"""Each chart in one sentence: what it shows for this run or dataset, computed from the frame the chart is drawn from.

A reader who cannot see a chart gets its key figures in words (issue 26): every function here takes the same tidy
frame as the chart builder of the same name in :mod:`mnist_lab.charts` and returns one sentence, or two where a chart
has two halves. No sentence says more than its figures: no "good", no "well", only what was measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pct(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}%}"


def _extreme(frame: pd.DataFrame, column: str, label: str, *, largest: bool) -> tuple:
    """The row with the largest (or smallest) ``column``: its ``label`` and value, the first in order on ties."""
    values = frame[column].to_numpy(dtype=float)
    position = int(np.nanargmax(values) if largest else np.nanargmin(values))
    return frame[label].iloc[position], float(values[position])


def class_balance(counts: pd.DataFrame) -> str:
    """The fewest and most images per class in each split (frame of :func:`mnist_lab.data.explore.class_counts`).

    Examples
    --------
    >>> counts = pd.DataFrame({"class": ["0", "1", "0", "1"], "split": ["train", "train", "test", "test"],
    ...                        "count": [90, 110, 9, 11], "share": [0.45, 0.55, 0.45, 0.55]})
    >>> class_balance(counts)
    'Training images per class: from 90 (class 0, 45.0%) to 110 (class 1, 55.0%); test images per class: from 9 (class 0, 45.0%) to 11 (class 1, 55.0%).'
    """
    parts = []
    for split, noun in (("train", "Training"), ("test", "test")):
        rows = counts[counts["split"] == split].reset_index(drop=True)
        if rows.empty:
            continue
        low = rows.iloc[int(rows["count"].to_numpy().argmin())]
        high = rows.iloc[int(rows["count"].to_numpy().argmax())]
        parts.append(f"{noun} images per class: from {int(low['count']):,} (class {low['class']}, "
                     f"{_pct(low['share'])}) to {int(high['count']):,} (class {high['class']}, {_pct(high['share'])})")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def pixel_histogram(hist: pd.DataFrame, scale: str) -> str:
    """Where the ink pixels' values lie on one ``scale`` (frame of :func:`mnist_lab.data.explore.pixel_histogram`).

    Examples
    --------
    >>> hist = pd.DataFrame({"scale": "raw 0-255", "start": [1.0, 128.0], "end": [128.0, 256.0], "share": [0.3, 0.7]})
    >>> pixel_histogram(hist, "raw 0-255")
    'Ink pixels on the raw 0-255 scale: the largest bar, 70.0% of them, is from 128 to 256; 30.0% lie in the lower half of the range.'
    """
    rows = hist[hist["scale"] == scale].reset_index(drop=True)
    top = rows.iloc[int(rows["share"].to_numpy().argmax())]
    middle = (rows["start"].min() + rows["end"].max()) / 2
    lower = float(rows.loc[rows["end"] <= middle, "share"].sum())
    return (f"Ink pixels on the {scale} scale: the largest bar, {_pct(top['share'])} of them, is from "
            f"{top['start']:.4g} to {top['end']:.4g}; {_pct(lower)} lie in the lower half of the range.")


def digit_image(frame: pd.DataFrame, *, label: str = "") -> str:
    """How much ink one image has and where (frame of :func:`mnist_lab.data.explore.image_frame`, values 0-255).

    Examples
    --------
    >>> from mnist_lab.data.explore import image_frame
    >>> image = np.zeros((28, 28), dtype=np.uint8); image[6:23, 14] = 255
    >>> digit_image(image_frame(image), label="1")
    'A 28x28 image labelled 1: 17 of its 784 pixels have ink, in rows 6 to 22 and columns 14 to 14; the darkest value is 255.'
    """
    rows, cols = int(frame["row"].max()) + 1, int(frame["col"].max()) + 1
    ink = frame[frame["value"] > 0]
    what = f"A {rows}x{cols} image" + (f" labelled {label}" if label else "")
    if ink.empty:
        return f"{what}: it is blank, all {rows * cols} pixels are 0."
    return (f"{what}: {len(ink)} of its {rows * cols} pixels have ink, in rows {int(ink['row'].min())} to "
            f"{int(ink['row'].max())} and columns {int(ink['col'].min())} to {int(ink['col'].max())}; the darkest "
            f"value is {ink['value'].max():.4g}.")


def pixel_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An image in long form (columns ``row``, ``col``, ``value``) as the table of its pixels: a column ``row``,
    then one column per image column ("column 0"...).

    Examples
    --------
    >>> from mnist_lab.data.explore import image_frame
    >>> pixel_table(image_frame(np.array([[0, 255], [7, 0]]))).to_dict("records")
    [{'row': 0, 'column 0': 0, 'column 1': 255}, {'row': 1, 'column 0': 7, 'column 1': 0}]
    """
    table = frame.pivot(index="row", columns="col", values="value")
    return table.rename(columns=lambda col: f"column {col}").rename_axis(columns=None).reset_index()


def probability_bars(frame: pd.DataFrame) -> str:
    """The predicted class, the runner-up and what the rest share (frame of ``explain_output``'s ``frame``).

    Examples
    --------
    >>> frame = pd.DataFrame({"digit": ["0", "1", "2"], "probability": [0.1, 0.85, 0.05],
    ...                       "chosen": [False, True, False]})
    >>> probability_bars(frame)
    'The model gives 85.0% to 1 (its prediction) and 10.0% to 0; the other 1 class shares 5.0%.'
    """
    ranked = frame.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)
    first, second = ranked.iloc[0], ranked.iloc[1]
    rest = len(ranked) - 2
    others = (f"; the other {rest} class{'es' * (rest != 1)} share{'s' * (rest == 1)} "
              f"{_pct(float(ranked['probability'].iloc[2:].sum()))}" if rest else "")
    return (f"The model gives {_pct(first['probability'])} to {first['digit']} (its prediction) and "
            f"{_pct(second['probability'])} to {second['digit']}{others}.")


def epoch_metric(history: pd.DataFrame, metric: str) -> str:
    """Where a metric started and ended per split, and its best epoch on validation (frame of
    :func:`mnist_lab.training.curves.history_frame`).

    Examples
    --------
    >>> history = pd.DataFrame({"epoch": [1, 2, 1, 2], "metric": "loss", "split": ["train", "train", "validation",
    ...                         "validation"], "value": [0.5, 0.3, 0.4, 0.35]})
    >>> epoch_metric(history, "loss")
    'Loss over 2 epochs: train from 0.5 to 0.3, validation from 0.4 to 0.35 (lowest, 0.35, in epoch 2).'
    """
    rows = history[history["metric"] == metric].sort_values("epoch")
    if rows.empty:
        return f"No {metric} was recorded yet."
    epochs = int(rows["epoch"].max())
    best = "lowest" if metric == "loss" else "highest"
    shown = (lambda v: _pct(v, 2)) if metric == "accuracy" else (lambda v: f"{v:.4g}")
    parts = []
    for split, values in rows.groupby("split", sort=False):
        text = f"{split} from {shown(values['value'].iloc[0])} to {shown(values['value'].iloc[-1])}"
        if split == "validation" and len(values) > 1:
            epoch, value = _extreme(values, "value", "epoch", largest=metric != "loss")
            text += f" ({best}, {shown(value)}, in epoch {int(epoch)})"
        parts.append(text)
    return f"{metric.capitalize()} over {epochs} epoch{'s' * (epochs != 1)}: {', '.join(parts)}."


def batch_curve(frame: pd.DataFrame) -> str:
    """The running loss of the first and the last batch recorded (frame of ``curves.batch_frame``).

    Examples
    --------
    >>> frame = pd.DataFrame({"epoch": [1, 1, 2], "batch": [1, 2, 1], "loss": [2.3, 1.1, 0.4],
    ...                       "epoch_position": [0.5, 1.0, 1.5]})
    >>> batch_curve(frame)
    'Running training loss from 2.3 (epoch 1, batch 1) to 0.4 (epoch 2, batch 1), 3 batches recorded.'
    """
    first, last = frame.iloc[0], frame.iloc[-1]
    return (f"Running training loss from {first['loss']:.4g} (epoch {int(first['epoch'])}, batch {int(first['batch'])}) "
            f"to {last['loss']:.4g} (epoch {int(last['epoch'])}, batch {int(last['batch'])}), {len(frame):,} batch"
            f"{'es' * (len(frame) != 1)} recorded.")


def recall_bars(per_class: pd.DataFrame, *, accuracy: float) -> str:
    """The class found least and most often, against the accuracy (frame of ``Evaluation.per_class``).

    Examples
    --------
    >>> per_class = pd.DataFrame({"class": ["0", "1", "2"], "recall": [0.99, 0.9, 0.95]})
    >>> recall_bars(per_class, accuracy=0.95)
    'Recall from 90.0% (class 1) to 99.0% (class 0); 1 of 3 classes below the accuracy of 95.0%.'
    """
    low_class, low = _extreme(per_class, "recall", "class", largest=False)
    high_class, high = _extreme(per_class, "recall", "class", largest=True)
    below = int((per_class["recall"] < accuracy).sum())
    return (f"Recall from {_pct(low)} (class {low_class}) to {_pct(high)} (class {high_class}); {below} of "
            f"{len(per_class)} classes below the accuracy of {_pct(accuracy)}.")


def ranking_error_bars(per_class: pd.DataFrame) -> str:
    """The classes with the most and the fewest ranking errors (frame of ``Evaluation.per_class``).

    Examples
    --------
    >>> per_class = pd.DataFrame({"class": ["0", "1"], "ranking_errors": [1.5, 12.0]})
    >>> ranking_error_bars(per_class)
    'Ranking errors per 10,000 pairs: most for class 1 (12.0), fewest for class 0 (1.5).'
    """
    most_class, most = _extreme(per_class, "ranking_errors", "class", largest=True)
    fewest_class, fewest = _extreme(per_class, "ranking_errors", "class", largest=False)
    return (f"Ranking errors per 10,000 pairs: most for class {most_class} ({most:.1f}), fewest for class "
            f"{fewest_class} ({fewest:.1f}).")


def confusion(frame: pd.DataFrame) -> str:
    """How many test images lie on the diagonal and the largest mistake (``Evaluation.confusion``: columns
    ``true``, ``predicted``, ``count``).

    Examples
    --------
    >>> frame = pd.DataFrame({"true": ["4", "4", "9", "9"], "predicted": ["4", "9", "4", "9"],
    ...                       "count": [95, 5, 2, 98]})
    >>> confusion(frame)
    '193 of 200 test images (96.5%) lie on the diagonal (read right); the largest mistake: 5 images of class 4 read as 9.'
    """
    counts = frame["count"].to_numpy(dtype=float)
    right = frame["true"].astype(str) == frame["predicted"].astype(str)
    total, on = int(counts.sum()), int(counts[right.to_numpy()].sum())
    text = f"{on:,} of {total:,} test images ({_pct(on / total if total else 0.0)}) lie on the diagonal (read right)"
    mistakes = frame[~right & (frame["count"] > 0)]
    if mistakes.empty:
        return text + "; there is no mistake."
    worst = mistakes.iloc[int(mistakes["count"].to_numpy().argmax())]
    count = int(worst["count"])
    return (text + f"; the largest mistake: {count:,} image{'s' * (count != 1)} of class {worst['true']} read as "
            f"{worst['predicted']}.")


def curves_auc(per_class: pd.DataFrame, column: str, name: str) -> str:
    """The classes with the lowest and the highest area under a curve (``column`` of ``Evaluation.per_class``,
    ``name`` such as "ROC AUC").

    Examples
    --------
    >>> per_class = pd.DataFrame({"class": ["0", "1"], "roc_auc": [0.9991, 0.9950]})
    >>> curves_auc(per_class, "roc_auc", "ROC AUC")
    'ROC AUC per class from 0.9950 (class 1) to 0.9991 (class 0).'
    """
    low_class, low = _extreme(per_class, column, "class", largest=False)
    high_class, high = _extreme(per_class, column, "class", largest=True)
    return f"{name} per class from {low:.4f} (class {low_class}) to {high:.4f} (class {high_class})."


def saliency(frame: pd.DataFrame, *, name: str) -> str:
    """Which pixels raised and which lowered a class's score (a signed map in long form: ``row``, ``col``,
    ``value``; ``name`` says whose score, such as "the score of 7").

    Examples
    --------
    >>> from mnist_lab.data.explore import image_frame
    >>> saliency(image_frame(np.array([[0.5, -0.1], [0.0, 0.2]])), name="the score of 7")
    'For the score of 7: 2 pixels raised it (by 0.7 in all) and 1 lowered it (by 0.1); the strongest push up is at row 0, column 0.'
    """
    values = frame["value"].to_numpy(dtype=float)
    up, down = values > 0, values < 0
    raised, lowered = int(up.sum()), int(down.sum())
    if not raised and not lowered:
        return f"For {name}: no pixel changed it (every value is 0)."
    text = (f"For {name}: {raised} pixel{'s' * (raised != 1)} raised it (by {values[up].sum():.3g} in all) "
            f"and {lowered} lowered it (by {-values[down].sum():.3g})")
    if raised:
        strongest = frame.iloc[int(values.argmax())]
        text += f"; the strongest push up is at row {int(strongest['row'])}, column {int(strongest['col'])}"
    return text + "."


def embedding(points: pd.DataFrame) -> str:
    """How many images the 2-D map shows and which classes' centres lie closest and farthest apart
    (``Embedding.points``: columns ``x``, ``y``, ``class``).

    Examples
    --------
    >>> points = pd.DataFrame({"x": [0.0, 0.2, 5.0, 1.0], "y": [0.0, 0.0, 0.0, 0.0], "class": ["4", "9", "0", "9"]})
    >>> embedding(points)
    '4 images on the map; the centres of classes 4 and 9 lie closest (0.6 apart), those of 0 and 4 farthest (5 apart).'
    """
    centres = points.groupby("class", sort=True)[["x", "y"]].mean()
    text = f"{len(points):,} images on the map"
    if len(centres) < 2:
        return text + "."
    names = list(centres.index)
    xy = centres.to_numpy(dtype=float)
    distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    pairs = [(distance[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    near, far = min(pairs, key=lambda pair: pair[0]), max(pairs, key=lambda pair: pair[0])
    return (f"{text}; the centres of classes {near[1]} and {near[2]} lie closest ({near[0]:.3g} apart), those of "
            f"{far[1]} and {far[2]} farthest ({far[0]:.3g} apart).")


def compare_metric(per_class: pd.DataFrame, metric: str, *, higher_is_better: bool = True) -> str:
    """Which run leads on how many classes, and the class where the runs differ most (``Comparison.per_class``:
    columns ``run``, ``class``, ``metric``, ``value``).

    Examples
    --------
    >>> per_class = pd.DataFrame({"run": ["a", "a", "b", "b"], "class": ["0", "1", "0", "1"], "metric": "recall",
    ...                           "value": [0.99, 0.90, 0.98, 0.95]})
    >>> compare_metric(per_class, "recall")
    'Recall per class: a is best on 1 of 2 classes, b on 1; the runs differ most on class 1 (a 0.9, b 0.95).'
    """
    rows = per_class[per_class["metric"] == metric]
    table = rows.pivot_table(index="class", columns="run", values="value", sort=False)
    best = table.idxmax(axis=1) if higher_is_better else table.idxmin(axis=1)
    wins = best.value_counts()
    runs = sorted(table.columns, key=lambda run: -wins.get(run, 0))
    leads = ", ".join([f"{runs[0]} is best on {int(wins.get(runs[0], 0))} of {len(table)} classes",
                       *(f"{run} on {int(wins.get(run, 0))}" for run in runs[1:])])
    spread = (table.max(axis=1) - table.min(axis=1)).astype(float)
    widest = spread.idxmax()
    values = ", ".join(f"{run} {table.loc[widest, run]:.4g}" for run in table.columns)
    return f"{metric[:1].upper()}{metric[1:]} per class: {leads}; the runs differ most on class {widest} ({values})."


def compare_auc(roc: pd.DataFrame, class_name: str) -> str:
    """Each run's area under the ROC curve of one class (``Comparison.roc``: columns ``run``, ``class``, ``auc``).

    Examples
    --------
    >>> roc = pd.DataFrame({"run": ["a", "a", "b"], "class": "3", "auc": [0.998, 0.998, 0.9912]})
    >>> compare_auc(roc, "3")
    'ROC AUC of class 3: a 0.9980, b 0.9912.'
    """
    runs = roc[roc["class"] == class_name].drop_duplicates("run")
    return f"ROC AUC of class {class_name}: " + ", ".join(f"{row.run} {row.auc:.4f}" for row in runs.itertuples()) + "."


def compare_history(history: pd.DataFrame) -> str:
    """Each run's last validation accuracy and loss, with its epoch (``Comparison.history``: columns ``run``,
    ``epoch``, ``metric``, ``split``, ``value``).

    Examples
    --------
    >>> history = pd.DataFrame({"run": ["a", "a", "b"], "epoch": [1, 2, 1], "metric": "accuracy",
    ...                         "split": "validation", "value": [0.9, 0.95, 0.8]})
    >>> compare_history(history)
    'Last validation accuracy: a 95.00% (epoch 2), b 80.00% (epoch 1).'
    """
    parts = []
    for metric in ("accuracy", "loss"):
        rows = history[(history["metric"] == metric) & (history["split"] == "validation")]
        if rows.empty:
            continue
        shown = (lambda v: _pct(v, 2)) if metric == "accuracy" else (lambda v: f"{v:.4g}")
        lasts = [rows[rows["run"] == run].sort_values("epoch").iloc[-1] for run in rows["run"].unique()]
        parts.append(f"Last validation {metric}: " + ", ".join(
            f"{row['run']} {shown(row['value'])} (epoch {int(row['epoch'])})" for row in lasts) + ".")
    return " ".join(parts) if parts else "No validation figures were recorded."


def class_recalls(recalls: pd.DataFrame) -> str:
    """The classes with the lowest and the highest median recall across a class's runs (columns ``class``,
    ``recall``, ``run``).

    Examples
    --------
    >>> recalls = pd.DataFrame({"class": ["0", "0", "1", "1"], "recall": [0.9, 0.8, 0.99, 0.97],
    ...                         "run": ["a", "b", "a", "b"]})
    >>> class_recalls(recalls)
    'Median test recall over 2 runs: lowest for class 0 (85.0%), highest for class 1 (98.0%).'
    """
    medians = recalls.groupby("class", sort=False)["recall"].median()
    runs = recalls["run"].nunique()
    return (f"Median test recall over {runs} run{'s' * (runs != 1)}: lowest for class {medians.idxmin()} "
            f"({_pct(medians.min())}), highest for class {medians.idxmax()} ({_pct(medians.max())}).")


def sweep_accuracy(frame: pd.DataFrame, settings: list[str]) -> str:
    """The sweep's runs with the highest and the lowest test accuracy and their settings (frame of
    :meth:`mnist_lab.training.sweeps.Sweep.results`; ``settings``: the columns of the settings it varied).

    Examples
    --------
    >>> frame = pd.DataFrame({"run": ["a", "b", "c"], "Batch size": [32, 64, 128],
    ...                       "test accuracy": [0.95, 0.97, None]})
    >>> sweep_accuracy(frame, ["Batch size"])
    'Test accuracy of 2 of 3 runs: highest 97.0% (b, batch size 64), lowest 95.0% (a, batch size 32).'
    """
    measured = frame.dropna(subset=["test accuracy"]).reset_index(drop=True)
    if measured.empty:
        return f"None of the {len(frame)} runs has a test accuracy yet."

    def run(row: pd.Series) -> str:
        return ", ".join([str(row["run"]), *(f"{setting.lower()} {row[setting]}" for setting in settings)])

    best = measured.iloc[int(measured["test accuracy"].to_numpy(dtype=float).argmax())]
    worst = measured.iloc[int(measured["test accuracy"].to_numpy(dtype=float).argmin())]
    return (f"Test accuracy of {len(measured)} of {len(frame)} runs: highest {_pct(best['test accuracy'])} "
            f"({run(best)}), lowest {_pct(worst['test accuracy'])} ({run(worst)}).")
