"""The Train page's sidebar form: every choice with its reason, kept across page switches."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mnist_lab import architectures, config, optim, presets

_SAVED = "train_form_values"
_PREFIX = "train_"


def _field_values(model: config.ModelConfig, train: config.TrainConfig) -> dict[str, Any]:
    """Widget values (keyed without prefix) that show ``model`` and ``train``."""
    values = {**config.to_dict(model), **config.to_dict(train)}
    values["hidden_layers"] = ", ".join(str(units) for units in model.hidden_layers)
    return values


def _load_preset() -> None:
    """Put the chosen architecture's preset into every widget (callback of the architecture picker)."""
    chosen = presets.preset(st.session_state[f"{_PREFIX}architecture"])
    for key, value in _field_values(chosen.model, chosen.train).items():
        if key != "architecture":
            st.session_state[f"{_PREFIX}{key}"] = value


def _restore() -> None:
    """Give widgets back the values they had before the user left the page."""
    default = presets.preset(config.ModelConfig().architecture)
    saved = st.session_state.get(_SAVED) or _field_values(default.model, default.train)
    for key, value in saved.items():
        st.session_state.setdefault(f"{_PREFIX}{key}", value)


def _value(key: str) -> Any:
    return st.session_state[f"{_PREFIX}{key}"]


def _choice(label: str, key: str, table: dict, help_text: str) -> None:
    """A selectbox over a registry, with the chosen entry's reason below it."""
    st.selectbox(label, list(table), format_func=lambda k: table[k].label, key=f"{_PREFIX}{key}", help=help_text)
    st.caption(table[_value(key)].reason)


def render() -> tuple[config.ModelConfig, config.TrainConfig]:
    """Draw the form in the sidebar and return the configs it describes.

    Raises
    ------
    ConfigError
        A value is out of range (the page shows the message).
    """
    _restore()
    with st.sidebar:
        st.header("Training choices")
        st.selectbox(
            "Architecture",
            list(architectures.ARCHITECTURES),
            format_func=lambda k: architectures.ARCHITECTURES[k].label,
            key=f"{_PREFIX}architecture",
            on_change=_load_preset,
            help="Choosing an architecture loads its recommended training settings.",
        )
        st.caption(presets.preset(_value("architecture")).note)
        _architecture_options(_value("architecture"))
        _choice("Loss", "loss", optim.LOSSES, "What the network is punished for while learning.")
        if _value("loss") == "label_smoothing_crossentropy":
            st.slider("Label smoothing", 0.0, 0.3, step=0.05, key=f"{_PREFIX}label_smoothing")
        _choice("Optimizer", "optimizer", optim.OPTIMIZERS, "How the weights are changed from the gradients.")
        st.number_input("Learning rate", min_value=1e-9, max_value=1000.0, format="%g", key=f"{_PREFIX}learning_rate")
        _choice("Learning-rate schedule", "schedule", optim.SCHEDULES, "How the learning rate changes during training.")
        st.subheader("Data and length")
        st.number_input("Epochs", 1, 200, key=f"{_PREFIX}epochs")
        st.select_slider("Batch size", [1, 8, 16, 32, 64, 128, 256, 512, 1024], key=f"{_PREFIX}batch_size")
        st.number_input(
            "Training images (0 = all 60,000)", 0, 60_000, step=1000, key=f"{_PREFIX}train_limit",
            help="A subset trains faster; useful for quick experiments.",
        )
        st.slider("Validation share", 0.0, 0.5, step=0.05, key=f"{_PREFIX}validation_fraction",
                  help="Held out from the training images to watch overfitting during training.")
        st.toggle("Scale inputs to 0-1", key=f"{_PREFIX}scale_inputs", help="Turn off to see why scaling matters.")
        st.toggle("Augment (random shift, rotation, zoom)", key=f"{_PREFIX}augment")
        st.number_input("Seed", 0, 2**31 - 1, key=f"{_PREFIX}seed", help="Same seed and settings, same curves.")
    st.session_state[_SAVED] = {key[len(_PREFIX):]: st.session_state[key] for key in _field_keys()}
    return _configs()


def _field_keys() -> list[str]:
    return [f"{_PREFIX}{key}" for key in _field_values(config.ModelConfig(), config.TrainConfig()) if f"{_PREFIX}{key}" in st.session_state]


def _architecture_options(architecture: str) -> None:
    """Extra controls of the ``custom`` and ``mlp`` architectures."""
    if architecture == "mlp":
        st.text_input("Hidden layer widths", key=f"{_PREFIX}hidden_layers", help="Comma-separated, e.g. 256, 128")
    if architecture != "custom":
        return
    with st.expander("Custom network", expanded=True):
        st.slider("Convolution blocks", 1, 4, key=f"{_PREFIX}conv_blocks")
        st.select_slider("Filters in the first block", [8, 16, 32, 64, 128], key=f"{_PREFIX}filters")
        st.segmented_control("Kernel size", [3, 5, 7], key=f"{_PREFIX}kernel_size")
        st.segmented_control("Pooling", ["max", "avg", "none"], key=f"{_PREFIX}pooling")
        st.toggle("Batch normalisation", key=f"{_PREFIX}batch_norm")
        st.slider("Dropout", 0.0, 0.8, step=0.05, key=f"{_PREFIX}dropout")
        st.select_slider("Dense units (0 = none)", [0, 32, 64, 128, 256, 512], key=f"{_PREFIX}dense_units")
        st.selectbox("Activation", ["relu", "gelu", "elu", "tanh", "sigmoid"], key=f"{_PREFIX}activation")


def _configs() -> tuple[config.ModelConfig, config.TrainConfig]:
    """Build the configs from the widget values."""
    model_fields = set(config.to_dict(config.ModelConfig()))
    values = st.session_state[_SAVED]
    model_values = {k: v for k, v in values.items() if k in model_fields}
    model_values["hidden_layers"] = _parse_widths(values.get("hidden_layers", "128"))
    train_values = {k: v for k, v in values.items() if k not in model_fields}
    return config.from_dict(config.ModelConfig, model_values), config.from_dict(config.TrainConfig, train_values)


def _parse_widths(text: str) -> tuple[int, ...]:
    """Read '256, 128' as (256, 128)."""
    try:
        return tuple(int(part) for part in str(text).replace(";", ",").split(",") if part.strip())
    except ValueError as error:
        raise config.ConfigError(f"hidden layer widths must be whole numbers separated by commas, got {text!r}") from error
