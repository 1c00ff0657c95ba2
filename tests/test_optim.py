"""Losses, optimizers and schedules: each builds, computes what it claims and trains a model on real digits."""

import math

import numpy as np
import pytest

from mnist_lab.models.architectures import build_model
from mnist_lab.models.config import ConfigError, ModelConfig, TrainConfig
from mnist_lab.models.optim import LOSSES, OPTIMIZERS, SCHEDULES, compile_model, make_loss, make_optimizer

LEARNING_RATES = {"sgd": 0.1, "sgd_momentum": 0.05, "adagrad": 0.05}
PROBABILITIES = np.array([[0.7, 0.2, 0.1] + [0.0] * 7, [0.1, 0.1, 0.1] + [0.1] * 7], dtype="float32")
LABELS = np.array([0, 2])


def loss_value(key, **train):
    """Return the loss ``key`` on LABELS and PROBABILITIES."""
    return float(make_loss(TrainConfig(loss=key, **train))(LABELS, PROBABILITIES))


@pytest.fixture(scope="module")
def digits(mnist):
    """256 real training digits (n, 28, 28, 1) and their labels."""
    return mnist.x_train[:256, :, :, np.newaxis], mnist.y_train[:256]


def train_and_measure(digits, **train):
    """Fit a perceptron for 2 short epochs; return its loss before and after."""
    import keras

    keras.utils.set_random_seed(0)
    images, labels = digits
    train_config = TrainConfig(batch_size=32, epochs=2, **train)
    model = compile_model(build_model(ModelConfig(architecture="perceptron")), train_config, steps_per_epoch=8)
    before = model.evaluate(images, labels, verbose=0, return_dict=True)
    model.fit(images, labels, batch_size=32, epochs=2, verbose=0, shuffle=False)
    after = model.evaluate(images, labels, verbose=0, return_dict=True)
    return before, after


def test_registries_have_the_agreed_keys_and_texts():
    assert list(LOSSES) == [
        "sparse_categorical_crossentropy", "label_smoothing_crossentropy", "mse", "categorical_hinge"
    ]
    assert list(OPTIMIZERS) == ["sgd", "sgd_momentum", "adam", "adamw", "rmsprop", "adagrad", "nadam"]
    assert list(SCHEDULES) == ["constant", "cosine", "one_cycle"]
    for choice in [*LOSSES.values(), *OPTIMIZERS.values(), *SCHEDULES.values()]:
        assert choice.label and len(choice.reason) > 150 and len(choice.poor_when) > 60


def test_config_refuses_unknown_keys():
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        TrainConfig(optimizer="lbfgs")


def test_sparse_crossentropy_is_minus_log_of_the_true_class():
    expected = -(math.log(0.7) + math.log(0.1)) / 2
    assert loss_value("sparse_categorical_crossentropy") == pytest.approx(expected, rel=1e-4)


def test_label_smoothing_crossentropy_uses_softened_one_hot_targets():
    smoothing = 0.2
    targets = np.full((2, 10), smoothing / 10)
    targets[[0, 1], LABELS] += 1 - smoothing
    clipped = np.clip(PROBABILITIES, 1e-7, 1.0)
    expected = float(np.mean(-(targets * np.log(clipped)).sum(axis=1)))
    assert loss_value("label_smoothing_crossentropy", label_smoothing=smoothing) == pytest.approx(expected, rel=1e-3)


def test_mse_compares_softmax_with_one_hot():
    one_hot = np.eye(10)[LABELS]
    assert loss_value("mse") == pytest.approx(float(np.mean((one_hot - PROBABILITIES) ** 2)), rel=1e-5)


def test_categorical_hinge_needs_a_margin_over_the_best_wrong_class():
    # sample 0: max(0, 0.2 - 0.7 + 1) = 0.5; sample 1: max(0, 0.1 - 0.1 + 1) = 1
    assert loss_value("categorical_hinge") == pytest.approx(0.75, rel=1e-5)


def test_losses_accept_labels_with_a_trailing_axis():
    loss = make_loss(TrainConfig(loss="mse"))
    assert float(loss(LABELS[:, np.newaxis], PROBABILITIES)) == pytest.approx(loss_value("mse"))


def test_optimizers_are_the_named_algorithms():
    import keras

    built = {key: make_optimizer(TrainConfig(optimizer=key), steps_per_epoch=10) for key in OPTIMIZERS}
    expected = {
        "sgd": keras.optimizers.SGD, "sgd_momentum": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop, "adagrad": keras.optimizers.Adagrad,
        "nadam": keras.optimizers.Nadam,
    }
    assert {key: type(optimizer) for key, optimizer in built.items()} == expected
    assert built["sgd"].momentum == 0 and not built["sgd"].nesterov
    assert built["sgd_momentum"].momentum == 0.9 and built["sgd_momentum"].nesterov


def schedule_rates(schedule, steps_per_epoch=10, epochs=4, learning_rate=0.01):
    """Return the learning rate at every step of the run, and one step past the end."""
    optimizer = make_optimizer(
        TrainConfig(schedule=schedule, learning_rate=learning_rate, epochs=epochs), steps_per_epoch
    )
    rate = optimizer._learning_rate
    total = steps_per_epoch * epochs
    return np.array([float(rate(step)) if callable(rate) else float(rate) for step in range(total + 1)])


def test_constant_schedule_keeps_the_rate():
    np.testing.assert_allclose(schedule_rates("constant"), 0.01)


def test_cosine_decays_from_the_rate_to_zero_over_all_epochs():
    rates = schedule_rates("cosine")
    assert rates[0] == pytest.approx(0.01)
    assert rates[20] == pytest.approx(0.005, rel=1e-4)
    assert rates[40] == pytest.approx(0.0, abs=1e-9)
    assert (np.diff(rates) <= 0).all()


def test_one_cycle_warms_up_to_the_peak_then_anneals():
    rates = schedule_rates("one_cycle")
    peak = int(np.argmax(rates))
    assert rates[0] == pytest.approx(0.01 / 25)
    assert peak == 10 and rates[peak] == pytest.approx(0.01)
    assert (np.diff(rates[: peak + 1]) > 0).all() and (np.diff(rates[peak:]) < 0).all()
    assert rates[40] == pytest.approx(0.01 / 1000, rel=1e-3)


def test_one_cycle_survives_serialization():
    import keras

    schedule = make_optimizer(TrainConfig(schedule="one_cycle"), 10)._learning_rate
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule)
    assert float(restored(7)) == pytest.approx(float(schedule(7)))


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_loss_trains_on_real_digits(loss, digits):
    before, after = train_and_measure(digits, loss=loss, optimizer="adam", learning_rate=0.01)
    assert after["loss"] < 0.9 * before["loss"]
    assert after["accuracy"] > 0.5


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_optimizer_reduces_the_loss_on_real_digits(optimizer, digits):
    rate = LEARNING_RATES.get(optimizer, 0.01)
    before, after = train_and_measure(digits, optimizer=optimizer, learning_rate=rate)
    assert after["loss"] < 0.7 * before["loss"]


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_every_schedule_reduces_the_loss_on_real_digits(schedule, digits):
    before, after = train_and_measure(digits, schedule=schedule, optimizer="adam", learning_rate=0.01)
    assert after["loss"] < 0.7 * before["loss"]


def test_model_with_custom_loss_and_schedule_saves_and_loads(digits, tmp_path):
    import keras

    images, labels = digits
    train_config = TrainConfig(loss="label_smoothing_crossentropy", schedule="one_cycle", epochs=1)
    model = compile_model(build_model(ModelConfig(architecture="perceptron")), train_config, steps_per_epoch=2)
    model.fit(images, labels, batch_size=128, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    for compile_too in (False, True):
        loaded = keras.saving.load_model(path, compile=compile_too, safe_mode=True)
        np.testing.assert_allclose(loaded.predict(images[:4], verbose=0), model.predict(images[:4], verbose=0))
    assert loaded.loss.label_smoothing == pytest.approx(0.1)
