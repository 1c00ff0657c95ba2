"""A2's sentences on how a run's choices held up: each one computed from the run, in both directions."""

from __future__ import annotations

import inspect

import pytest

from mnist_lab.report.held_up import KERAS_DEFAULT_RATES, how_choices_held
from mnist_lab.runs.store import Run


def a_run(*, optimizer="adam", rate=0.001, schedule="constant", epochs=1, loss="sparse_categorical_crossentropy",
          status="finished", history=None, architecture="keras_example") -> Run:
    history = history if history is not None else [
        {"epoch": 1, "loss": 0.2, "accuracy": 0.95, "val_loss": 0.1, "val_accuracy": 0.97}]
    return Run("20261206-120000-abcdef", "r", 0.0, status, "", {"architecture": architecture},
               {"optimizer": optimizer, "learning_rate": rate, "schedule": schedule, "epochs": epochs, "loss": loss,
                "batch_size": 128}, {}, {}, len(history), history=history)


def test_the_default_rates_are_those_of_the_installed_keras():
    keras = pytest.importorskip("keras")
    classes = {"sgd": keras.optimizers.SGD, "sgd_momentum": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
               "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop,
               "adagrad": keras.optimizers.Adagrad, "nadam": keras.optimizers.Nadam}
    for key, optimizer in classes.items():
        assert inspect.signature(optimizer).parameters["learning_rate"].default == KERAS_DEFAULT_RATES[key], key


@pytest.mark.parametrize(("optimizer", "rate", "schedule", "expected"), [
    ("adam", 0.008, "one_cycle", "The peak learning rate, 0.008, is 8 times Keras' default for Adam (0.001)."),
    ("sgd", 0.0001, "constant", "The learning rate, 0.0001, is 1/100 of Keras' default for SGD (0.01)."),
    ("adam", 0.001, "constant", "The learning rate, 0.001, is Keras' default for Adam."),
])
def test_the_rate_is_compared_with_keras_default_in_either_direction(optimizer, rate, schedule, expected):
    assert how_choices_held(a_run(optimizer=optimizer, rate=rate, schedule=schedule))[0] == expected


def test_a_run_that_learned_nothing_is_said_to_have_failed_with_its_rate_named():
    history = [{"epoch": 1, "loss": 2.30, "accuracy": 0.11, "val_loss": 2.30, "val_accuracy": 0.104}]
    text = " ".join(how_choices_held(a_run(optimizer="sgd", rate=0.0001, history=history)))
    assert "the choices failed" in text and "10.4%" in text and "0.0001 is too small for SGD" in text
    assert "reached" not in text


def test_a_collapse_on_new_images_is_said_beside_the_schedule_that_promised_safety():
    history = [{"epoch": 1, "loss": 0.6, "accuracy": 0.80, "val_loss": 2.1, "val_accuracy": 0.31}]
    text = " ".join(how_choices_held(a_run(rate=0.008, schedule="one_cycle", history=history, architecture="fast")))
    assert "did not carry over to new images" in text and "80.0%" in text and "31.0%" in text
    assert "batch normalisation" in text


def test_a_run_that_worked_quotes_its_last_epoch():
    text = " ".join(how_choices_held(a_run()))
    assert "reached 97.00% validation accuracy in epoch 1, its last." in text
    assert "failed" not in text and "carry over" not in text


def test_a_stopped_run_never_had_its_low_rate_phase_but_a_finished_one_did():
    history = [{"epoch": 1, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.1, "val_accuracy": 0.97},
               {"epoch": 2, "loss": 0.2, "accuracy": 0.95, "val_loss": 0.08, "val_accuracy": 0.975, "partial": True}]
    stopped = " ".join(how_choices_held(a_run(schedule="one_cycle", epochs=3, status="stopped", history=history)))
    assert "ended as *stopped* in epoch 2 of the 3 epochs it planned" in stopped and "(partly trained)" in stopped
    assert "never had its low-rate phase" in stopped
    finished = " ".join(how_choices_held(a_run(schedule="one_cycle", epochs=1)))
    assert "low-rate phase" not in finished
    constant = " ".join(how_choices_held(a_run(schedule="constant", epochs=3, status="stopped", history=history)))
    assert "low-rate phase" not in constant


def test_choices_for_long_runs_are_flagged_in_a_short_run_only():
    short = " ".join(how_choices_held(a_run(loss="label_smoothing_crossentropy", optimizer="adamw", epochs=1),
                                      weights=170_666))
    assert "most useful for long runs of large networks" in short
    assert "this run trained 1 epoch of a 170,666-weight network." in short
    assert "AdamW that its weight decay matters on longer runs" in short
    long = " ".join(how_choices_held(a_run(loss="label_smoothing_crossentropy", optimizer="adamw", epochs=12)))
    assert "long runs" not in long and "longer runs" not in long
