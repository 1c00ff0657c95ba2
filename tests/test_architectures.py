"""Architectures: every network builds, takes raw 28x28x1 pixels and returns 10 probabilities."""

import subprocess
import sys

import numpy as np
import pytest

from mnist_lab.models import architectures, config
from mnist_lab.models.architectures import ARCHITECTURES, build_model, count_params, summary_table
from mnist_lab.models.config import ConfigError, ModelConfig
from mnist_lab.models.presets import PRESETS, preset

EXPECTED_KEYS = ["perceptron", "mlp", "keras-classic", "lenet5", "fast", "deep", "custom"]


def layer_types(model):
    """Return the class names of the model's layers, input layer excluded."""
    return [type(layer).__name__ for layer in model.layers[1:]]


def test_registry_has_the_agreed_keys_and_texts():
    assert list(ARCHITECTURES) == EXPECTED_KEYS
    for choice in ARCHITECTURES.values():
        assert choice.label and len(choice.reason) > 150 and len(choice.poor_when) > 60


def test_perceptron_text_explains_softmax_regression():
    reason = ARCHITECTURES["perceptron"].reason
    assert "softmax regression" in reason and "784" in reason and "single Dense layer" in reason


@pytest.mark.parametrize("key", EXPECTED_KEYS)
def test_every_architecture_maps_raw_pixels_to_probabilities(key, mnist):
    model = build_model(ModelConfig(architecture=key))
    images = mnist.x_test[:5, :, :, np.newaxis]
    probabilities = np.asarray(model(images, training=False))
    assert model.input_shape == (None, 28, 28, 1)
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (probabilities >= 0).all()


def test_scaling_layer_comes_first_only_when_asked():
    assert layer_types(build_model(ModelConfig(architecture="perceptron")))[0] == "Rescaling"
    assert "Rescaling" not in layer_types(build_model(ModelConfig(architecture="perceptron", scale_inputs=False)))


def test_augmentation_layers_follow_the_input_and_are_off_at_inference(mnist):
    model = build_model(ModelConfig(architecture="fast", augment=True))
    assert layer_types(model)[:4] == ["Rescaling", "RandomTranslation", "RandomRotation", "RandomZoom"]
    images = mnist.x_test[:8, :, :, np.newaxis]
    np.testing.assert_array_equal(model.predict(images, verbose=0), model.predict(images, verbose=0))


def test_keras_classic_is_the_keras_example():
    model = build_model(ModelConfig(architecture="keras-classic"))
    assert layer_types(model) == [
        "Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"
    ]
    assert [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"] == [32, 64]
    assert count_params(model) == 34_826


def test_perceptron_is_one_dense_layer_on_784_pixels():
    model = build_model(ModelConfig(architecture="perceptron"))
    assert layer_types(model) == ["Rescaling", "Flatten", "Dense"]
    assert count_params(model) == 784 * 10 + 10


def test_mlp_uses_the_hidden_layer_widths_and_activation():
    model = build_model(ModelConfig(architecture="mlp", hidden_layers=(64, 32), activation="tanh", dropout=0.0))
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert [layer.units for layer in dense] == [64, 32, 10]
    assert [layer.activation.__name__ for layer in dense] == ["tanh", "tanh", "softmax"]
    assert "Dropout" not in layer_types(model)


def test_custom_follows_every_model_option():
    model = build_model(
        ModelConfig(
            architecture="custom", conv_blocks=3, filters=8, kernel_size=5, pooling="avg",
            batch_norm=False, dropout=0.0, dense_units=0, activation="elu",
        )
    )
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [layer.filters for layer in convs] == [8, 16, 32]
    assert all(layer.kernel_size == (5, 5) for layer in convs)
    types = layer_types(model)
    assert types.count("AveragePooling2D") == 3
    assert "BatchNormalization" not in types and "Dropout" not in types
    assert types[-2:] == ["Flatten", "Dense"]
    assert model.output_shape == (None, 10)


def test_custom_with_batch_norm_dense_layer_and_no_pooling():
    model = build_model(
        ModelConfig(architecture="custom", conv_blocks=1, filters=4, pooling="none", dense_units=16, dropout=0.2)
    )
    types = layer_types(model)
    assert types.count("BatchNormalization") == 1 and "MaxPooling2D" not in types
    assert types.count("Dropout") == 2
    assert model.layers[types.index("Flatten") + 1].output.shape == (None, 28 * 28 * 4)


def test_summary_table_lists_every_layer_and_adds_up():
    model = build_model(ModelConfig(architecture="keras-classic"))
    rows = summary_table(model)
    assert [row["layer"] for row in rows] == [layer.name for layer in model.layers]
    assert rows[0]["output_shape"] == "(None, 28, 28, 1)"
    assert rows[2] == {"layer": rows[2]["layer"], "type": "Conv2D", "output_shape": "(None, 26, 26, 32)", "params": 320}
    assert all(isinstance(row["params"], int) for row in rows)
    assert sum(row["params"] for row in rows) == count_params(model)


def test_unknown_architecture_is_refused_by_the_config():
    with pytest.raises(ConfigError, match="architecture must be one of"):
        ModelConfig(architecture="resnet")


@pytest.mark.parametrize("key", ["fast", "deep", "lenet5"])
def test_saved_model_loads_in_safe_mode_and_predicts_the_same(key, tmp_path, mnist):
    import keras

    model = build_model(ModelConfig(architecture=key, augment=True))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    images = mnist.x_test[:4, :, :, np.newaxis]
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_every_architecture_has_a_preset_that_builds_it():
    assert list(PRESETS) == EXPECTED_KEYS
    for key, chosen in PRESETS.items():
        assert chosen.model.architecture == key and len(chosen.note) > 60
        assert preset(key) is chosen
    assert preset("deep").model.augment and preset("fast").train.schedule == "one_cycle"
    assert (preset("keras-classic").train.batch_size, preset("keras-classic").train.epochs) == (128, 15)


def test_unknown_preset_names_the_valid_ones():
    with pytest.raises(ConfigError, match="perceptron, mlp, keras-classic, lenet5, fast, deep, custom"):
        preset("resnet")


def test_importing_the_registries_does_not_import_tensorflow():
    code = (
        "import sys, mnist_lab.models.architectures, mnist_lab.models.optim, mnist_lab.models.presets; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=architectures.__file__.rsplit("/mnist_lab/", 1)[0])


@pytest.mark.parametrize("options", [
    {"architecture": "mlp", "hidden_layers": (512, 256, 64)},
    {"architecture": "custom", "conv_blocks": 1, "filters": 8, "pooling": "max", "batch_norm": True, "dense_units": 0},
    {"architecture": "custom", "conv_blocks": 2, "filters": 32, "kernel_size": 5, "pooling": "avg", "batch_norm": False},
    {"architecture": "custom", "conv_blocks": 3, "filters": 16, "kernel_size": 7, "pooling": "none", "dense_units": 64},
])
def test_size_estimate_equals_the_built_model(options):
    model_config = config.ModelConfig(**options)
    assert architectures.estimate_params(model_config) == count_params(build_model(model_config))


def test_a_network_too_big_for_the_server_is_refused_before_it_is_built(home):
    from mnist_lab import training
    from mnist_lab.runs import store as run_store

    huge = config.ModelConfig(architecture="custom", conv_blocks=4, filters=128, kernel_size=7, pooling="none",
                              dense_units=512)
    with pytest.raises(config.ConfigError, match=r"444,779,658 weights.*pooling"):
        architectures.describe(huge)
    store = run_store.RunStore()
    with pytest.raises(config.ConfigError, match="more than the 20,000,000"):
        training.Trainer(store).start("huge", huge, config.TrainConfig())
    assert store.list_runs() == []
    assert architectures.estimate_params(config.ModelConfig(architecture="fast")) is None
