"""Chart colours: every mark at least 3:1 against the page (WCAG 2.1 1.4.11), and never colour alone where two
kinds of line or bar must be told apart."""

import json

import numpy as np
import pandas as pd
import pytest

from mnist_lab import charts, predictions
from mnist_lab.charts import base
from mnist_lab.charts import evaluation as evaluation_charts
from mnist_lab.training import curves


def contrast(colour, background="#ffffff"):
    """WCAG 2.1's contrast ratio of two sRGB colours given as #rrggbb."""
    def luminance(hex_colour):
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(colour), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_matches_wcags_examples():
    assert contrast("#000000") == pytest.approx(21)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("colour", [*base.DIGIT_COLORS, *base.RUN_COLORS])
def test_every_palette_colour_reaches_3_to_1_on_the_page_and_the_sidebar(colour):
    assert contrast(colour) >= 3 and contrast(colour, "#f8f8f7") >= 3


def colours_in(spec):
    """Every #rrggbb string anywhere in a chart's spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and len(node) == 7 and node.startswith("#"):
            found.append(node)

    walk(spec)
    return found


def test_the_probability_bars_and_the_class_balance_use_colours_of_3_to_1():
    out = predictions.explain_output(np.array([0.05] * 8 + [0.1, 0.5]))
    counts = pd.DataFrame({"class": ["0", "0"], "split": ["train", "test"], "count": [5, 1], "share": [1.0, 1.0]})
    for chart in (charts.probability_bars(out.frame), charts.class_balance(counts)):
        found = colours_in(chart.to_dict())
        assert found and all(contrast(colour) >= 3 for colour in found), found


def test_the_argmax_bar_is_named_in_words_not_only_in_red():
    spec = json.dumps(charts.probability_bars(predictions.explain_output(np.array([0.2, 0.8])).frame).to_dict())
    assert "argmax" in spec


def test_train_and_validation_curves_differ_by_dash_and_shape_as_well_as_colour():
    history = curves.history_frame([{"epoch": 1, "loss": 0.5, "val_loss": 0.6, "accuracy": 0.8, "val_accuracy": 0.7},
                                    {"epoch": 2, "loss": 0.3, "val_loss": 0.4, "accuracy": 0.9, "val_accuracy": 0.8}])
    lines, points = charts.metric_curve(history, "loss").to_dict()["layer"]
    assert lines["encoding"]["strokeDash"]["field"] == "split"
    assert points["encoding"]["shape"]["field"] == "split"


def test_each_class_curve_has_its_own_dash():
    dashes = [json.dumps(dash) for dash in evaluation_charts.DIGIT_DASHES]
    assert len(set(dashes)) == 10
    assert not set(dashes) & {json.dumps(dash) for dash in evaluation_charts.AVERAGE_DASH.values()}
