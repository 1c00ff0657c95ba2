"""Altair charts of the pages and the report; each takes a tidy DataFrame and returns a chart."""

from mnist_lab.charts.base import DIGIT_SCALE, NATURAL_SIZE, RUN_SCALE, heatmap
from mnist_lab.charts.classroom import class_recall_chart
from mnist_lab.charts.data import class_balance, embedding_scatter, pixel_histogram
from mnist_lab.charts.evaluation import (
    AVERAGES,
    CELL,
    ROC_AXES,
    ZOOM_FPR,
    compare_bars,
    compare_roc,
    confusion_heatmap,
    pr_chart,
    ranking_error_bars,
    recall_bars,
    roc_chart,
)
from mnist_lab.charts.predictions import probability_bars, saliency_map
from mnist_lab.charts.training import batch_curve, epoch_curves, metric_curve

__all__ = [
    "AVERAGES", "CELL", "DIGIT_SCALE", "NATURAL_SIZE", "ROC_AXES", "RUN_SCALE", "ZOOM_FPR", "batch_curve", "class_balance", "class_recall_chart",
    "compare_bars", "compare_roc", "confusion_heatmap", "embedding_scatter", "epoch_curves", "heatmap",
    "metric_curve", "pixel_histogram", "pr_chart", "probability_bars", "ranking_error_bars", "recall_bars", "roc_chart", "saliency_map",
]
