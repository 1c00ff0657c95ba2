"""The training charts: whole epochs on the epoch axis, and a train/validation legend that shows the dash."""

import pytest

from mnist_lab import charts
from mnist_lab.training import curves


def rows(epochs, offset=0.0):
    return [{"epoch": e, "loss": 1 / e + offset, "accuracy": 0.9, "val_loss": 1.1 / e, "val_accuracy": 0.91}
            for e in range(1, epochs + 1)]


def x_of(spec):
    return spec["spec"]["layer"][0]["encoding"]["x"]


@pytest.mark.parametrize(("epochs", "ticks"), [(1, [1]), (3, [1, 2, 3]), (40, list(range(1, 41, 3)))])
def test_the_epoch_axis_shows_whole_epochs(epochs, ticks):
    x = x_of(charts.epoch_curves(curves.history_frame(rows(epochs))).to_dict())
    assert x["axis"]["values"] == ticks and x["axis"]["format"] == "d"
    assert x["scale"]["domain"] == [0.5, epochs + 0.5]  # one epoch is not a zero-width domain


def test_overlaid_runs_draw_the_split_as_a_dashed_or_solid_stroke_in_the_legend():
    frame = curves.runs_history_frame({"a": rows(2), "b": rows(3, 0.1)})
    lines, points = charts.epoch_curves(frame, color="run").to_dict()["spec"]["layer"]
    assert lines["encoding"]["strokeDash"]["legend"]["symbolType"] == "stroke"
    assert "strokeDash" not in points["encoding"]  # points in the dash legend drew it as identical grey dots


def test_one_metric_alone_stretches_to_its_column():
    frame = curves.history_frame(rows(2))
    spec = charts.metric_curve(frame, "accuracy").to_dict()
    assert "width" not in spec and spec["title"] == "accuracy per epoch"
    data = spec["datasets"][spec["data"]["name"]]
    assert {row["metric"] for row in data} == {"accuracy"}
