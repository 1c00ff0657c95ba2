"""What a run that ended near chance is told: its accuracy against chance, what its curves show, what to try."""

import math

import pytest

from mnist_lab.runs.store import DIVERGED, FINISHED, Run
from mnist_lab.training import diagnosis


def run_with(losses, accuracy, *, status=FINISHED, classes=10, validation=True, **train):
    """A stored run whose epochs have these training losses and whose last epoch has this accuracy."""
    key = "val_accuracy" if validation else "accuracy"
    history = [{"epoch": epoch, "loss": loss, key: accuracy} for epoch, loss in enumerate(losses, start=1)]
    model = {"architecture": "keras-classic", "num_classes": classes, "scale_inputs": train.pop("scale_inputs", True)}
    train_config = {"optimizer": "adam", "learning_rate": 1e-3, "loss": "sparse_categorical_crossentropy", **train}
    return Run("20260101-000000-abcdef", "r", 0.0, status, "Finished.", model, train_config, {}, {}, len(losses),
               history=history)


def test_a_run_that_learned_gets_no_diagnosis():
    assert diagnosis.diagnose(run_with([0.5, 0.1], 0.97)) is None
    assert diagnosis.diagnose(run_with([], 0.1)) is None  # no epoch: nothing to read


def test_a_diverged_run_keeps_its_own_message():
    assert diagnosis.diagnose(run_with([2.3, 40.0], 0.1, status=DIVERGED)) is None


def test_sgd_at_a_tiny_rate_is_told_to_raise_it_with_the_figures_of_its_curve():
    found = diagnosis.diagnose(run_with([2.313, 2.306], 0.147, optimizer="sgd", learning_rate=5e-4))
    assert "validation accuracy, 14.7%, is close to the 10.0% of guessing among 10 classes" in found.summary
    assert found.findings[0] == "The training loss barely moved: 2.313 in the first epoch, 2.306 in the last."
    assert "2.306 is about the 2.303 of a network that gives all 10 classes the same probability" in found.findings[1]
    assert found.tries == ("Learning rate: 0.0005 is too small for SGD, whose steps are not rescaled; try 0.05.",)


def test_mse_raw_pixels_and_a_large_adam_rate_are_each_named():
    found = diagnosis.diagnose(run_with([0.0919, 0.0918], 0.067, loss="mse", learning_rate=0.05, scale_inputs=False))
    tries = "\n".join(found.tries)
    assert tries.startswith("Learning rate: 0.05 is large for an adaptive optimizer")
    assert "Loss: Cross-entropy (sparse labels) instead of Mean squared error (on one-hot)" in tries
    assert "Scale inputs to 0-1: on." in tries
    assert "0.09 of a network that gives all 10 classes the same probability" in found.findings[1]


def test_a_rising_loss_asks_for_a_smaller_rate_and_a_falling_one_for_more_epochs():
    rising = diagnosis.diagnose(run_with([2.0, 2.4], 0.12, learning_rate=3e-3))
    assert rising.findings[0].startswith("The training loss rose from 2 in the first epoch to 2.4")
    assert rising.tries == ("Learning rate: the loss rose, so steps of 0.003 overshoot; try 0.0003.",)
    falling = diagnosis.diagnose(run_with([2.2, 1.9], 0.2))
    assert falling.tries[-1].startswith("Epochs: more.")


def test_chance_follows_the_number_of_classes_and_training_accuracy_stands_in_for_validation():
    found = diagnosis.diagnose(run_with([3.2, 3.1], 0.08, classes=26, validation=False))
    assert "training accuracy, 8.0%, is close to the 3.8% of guessing among 26 classes" in found.summary
    assert diagnosis.diagnose(run_with([3.2, 3.1], 0.30, classes=26)) is None


@pytest.mark.parametrize(("loss", "expected"), [
    ("sparse_categorical_crossentropy", math.log(10)), ("label_smoothing_crossentropy", math.log(10)),
    ("mse", 0.09), ("categorical_hinge", 1.0),
])
def test_uniform_loss_is_the_loss_of_equal_probabilities(loss, expected):
    assert diagnosis.uniform_loss(loss, 10) == pytest.approx(expected)


def _run_with(history, *, architecture="fast", status=FINISHED, **train):
    return Run("20260101-120000-abcdef", "r", 0.0, status, "", {"architecture": architecture},
                         {"batch_size": 128, "validation_fraction": 0.1, **train}, {}, {}, len(history),
                         history=history)


def test_a_collapse_on_new_images_is_named_with_its_likely_cause():
    run = _run_with([{"epoch": 1, "accuracy": 0.8012, "val_accuracy": 0.3123, "loss": 0.9, "val_loss": 2.5}],
                    train_limit=3000)
    found = diagnosis.generalisation(run)
    assert found.summary == ("It learned its training images but not new ones: 80.1% training against 31.2% "
                             "validation accuracy in the first epoch.")
    assert "batch normalisation" in found.findings[0] and "With 22 steps an epoch" in found.findings[0]
    assert found.tries[0].startswith("Training images: more (this run had 22 steps an epoch)")
    plain = diagnosis.generalisation(_run_with(run.history, architecture="keras-classic", train_limit=3000))
    assert "batch normalisation" not in " ".join(plain.findings)


def test_overfitting_names_the_epoch_of_the_lowest_validation_loss():
    history = [{"epoch": e, "accuracy": a, "val_accuracy": v, "loss": 0.1, "val_loss": vl}
               for e, a, v, vl in ((1, 0.95, 0.94, 0.20), (2, 0.98, 0.945, 0.18), (3, 0.995, 0.94, 0.22),
                                   (4, 0.9989, 0.94, 0.26))]
    found = diagnosis.generalisation(_run_with(history, architecture="mlp"))
    assert found.summary == ("Overfitting: the validation loss was lowest after epoch 2 (0.1800) and rose to 0.2600 "
                             "by epoch 4, while training accuracy reached 99.89% against 94.00% on the validation "
                             "images.")
    assert found.tries[0] == "Epochs: 2, where the validation loss was lowest."


def test_a_wide_final_gap_is_overfitting_even_when_the_validation_loss_barely_rose():
    rows = ((1, 0.64, 0.78, 0.74), (2, 0.93, 0.91, 0.37), (3, 0.9967, 0.94, 0.2688), (4, 1.0, 0.93, 0.2854))
    history = [{"epoch": e, "accuracy": a, "val_accuracy": v, "loss": 0.1, "val_loss": vl} for e, a, v, vl in rows]
    found = diagnosis.generalisation(_run_with(history, architecture="custom"))
    assert found.summary == ("Overfitting: training accuracy reached 100.00% against 93.00% on the validation images, "
                             "7.00 points apart; the validation loss was lowest after epoch 3 (0.2688) and was "
                             "0.2854 by epoch 4.")
    assert found.tries[0] == "Epochs: 3, where the validation loss was lowest."
    still_falling = [*history[:3], dict(history[3], val_loss=0.25)]
    found = diagnosis.generalisation(_run_with(still_falling, architecture="custom"))
    assert "although the validation loss was still falling in epoch 4" in found.summary
    assert not any(line.startswith("Epochs:") for line in found.tries)
    narrow = [*history[:3], dict(history[3], val_accuracy=0.96)]  # 4 points apart, loss up 6%: not named
    assert diagnosis.generalisation(_run_with(narrow, architecture="custom")) is None


def test_a_run_that_generalises_gets_no_warning():
    history = [{"epoch": e, "accuracy": a, "val_accuracy": v, "loss": 0.1, "val_loss": vl}
               for e, a, v, vl in ((1, 0.95, 0.96, 0.15), (2, 0.98, 0.975, 0.10), (3, 0.985, 0.98, 0.09))]
    assert diagnosis.generalisation(_run_with(history)) is None
    rising_but_behind = [dict(row, val_accuracy=row["accuracy"] + 0.01) for row in history[:2]] + [
        {"epoch": 3, "accuracy": 0.985, "val_accuracy": 0.99, "loss": 0.1, "val_loss": 0.2}]
    assert diagnosis.generalisation(_run_with(rising_but_behind)) is None  # validation ahead: not overfitting


@pytest.mark.parametrize(("model", "train", "warned"), [
    ({"architecture": "fast"}, {"train_limit": 3000, "epochs": 1}, "22 steps in all (22 steps an epoch)"),
    ({"architecture": "deep"}, {"train_limit": 3000, "epochs": 2}, "44 steps in all (22 steps an epoch)"),
    ({"architecture": "custom", "batch_norm": True}, {"train_limit": 1000, "epochs": 1}, "8 steps in all"),
    ({"architecture": "fast"}, {"train_limit": 3000, "epochs": 3}, None),  # 66 steps: 97.2% in the benchmark
    ({"architecture": "fast"}, {"train_limit": 0, "epochs": 1}, None),  # the whole split: 422 steps
    ({"architecture": "keras-classic"}, {"train_limit": 1000, "epochs": 1}, None),  # no batch normalisation
    ({"architecture": "custom", "batch_norm": False}, {"train_limit": 1000, "epochs": 1}, None),
])
def test_a_batch_normalised_network_set_to_train_too_few_steps_is_warned_before_the_start(model, train, warned):
    found = diagnosis.short_training(model, {"validation_fraction": 0.1, "batch_size": 128, **train}, 60_000)
    assert (found is None) == (warned is None)
    if warned:
        assert warned in found and "at least 60 steps in all" in found
