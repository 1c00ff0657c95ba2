"""The run a new session describes, and the order and labels of the run pickers."""

from mnist_lab.runs import choice
from mnist_lab.runs.store import Run


def run(name, created, experiment="", status="finished"):
    return Run(f"20260101-00000{created}-abcdef", name, float(created), status, "", {}, {}, {}, {}, 1,
               experiment=experiment)


OLD, MINE, COMPARISON = run("old", 1), run("mine", 2), run("B5 perceptron or CNN: CNN (fast)", 3, "b5-cnn")


def test_the_default_run_is_the_newest_that_is_not_a_comparison_run():
    assert choice.default_run([COMPARISON, MINE, OLD]) == MINE
    assert choice.default_run([COMPARISON]) is None
    assert choice.default_run([]) is None


def test_comparison_runs_come_last_and_are_tagged():
    labels = choice.picker_labels([COMPARISON, OLD, MINE])
    assert list(labels) == [MINE.id, OLD.id, COMPARISON.id]
    assert labels[COMPARISON.id] == "comparison · B5 perceptron or CNN: CNN (fast) · finished"
    assert labels[MINE.id] == "mine · finished"
