"""The Train page's sidebar form: every choice with its reason, kept across page switches."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mnist_lab.models import architectures, config, optim, presets

_SAVED = "train_form_values"
_PREFIX = "train_"


def _field_values(model: config.ModelConfig, train: config.TrainConfig) -> dict[str, Any]:
    """Widget values (keyed without prefix) that show ``model`` and ``train``."""
    values = {**config.to_dict(model), **config.to_dict(train)}
    values["hidden_layers"] = ", ".join(str(units) for units in model.hidden_layers)
    return values


def _saved() -> dict[str, Any]:
    """The form's values, kept outside widget state so they outlive page switches and hidden widgets."""
    if _SAVED not in st.session_state:
        default = presets.preset(config.ModelConfig().architecture)
        st.session_state[_SAVED] = _field_values(default.model, default.train)
    return st.session_state[_SAVED]


def _load_preset() -> None:
    """Put the chosen architecture's preset into the form (callback of the architecture picker)."""
    chosen = presets.preset(st.session_state[f"{_PREFIX}architecture"])
    _saved().update({k: v for k, v in _field_values(chosen.model, chosen.train).items() if k != "architecture"})
    for key in _saved():
        if key != "architecture":
            st.session_state.pop(f"{_PREFIX}{key}", None)


def _value(key: str) -> Any:
    """The current value of a field: its widget's, else the saved one (given to the widget about to be drawn)."""
    # Only set a widget key right before its widget is drawn: a value set for a widget that is not drawn in that
    # run stays in session state as a plain value and later masks the saved one.
    return st.session_state.setdefault(f"{_PREFIX}{key}", _saved()[key])


def _bound(key: str) -> dict[str, Any]:
    """Widget key plus a default equal to the current value.

    Under load the browser can rebuild a widget from its default; a default equal to the value held in session
    state makes that harmless (without it the architecture fell back to the first entry and loaded its preset).
    """
    return {"key": f"{_PREFIX}{key}", "value": _value(key)}


def _selectbox(label: str, key: str, options: list, **kwargs: Any) -> None:
    """A selectbox whose default is its current value (see ``_bound``)."""
    st.selectbox(label, options, index=options.index(_value(key)), key=f"{_PREFIX}{key}", **kwargs)


def _choice(label: str, key: str, table: dict, help_text: str) -> None:
    """A selectbox over a registry, with the chosen entry's reason below it."""
    _selectbox(label, key, list(table), format_func=lambda k: table[k].label, help=help_text)
    st.caption(table[_value(key)].reason)


def render() -> tuple[config.ModelConfig, config.TrainConfig]:
    """Draw the form in the sidebar and return the configs it describes.

    Raises
    ------
    ConfigError
        A value is out of range (the page shows the message).
    """
    with st.sidebar:
        st.header("Training choices")
        _selectbox(
            "Architecture",
            "architecture",
            list(architectures.ARCHITECTURES),
            format_func=lambda k: architectures.ARCHITECTURES[k].label,
            on_change=_load_preset,
            help="Choosing an architecture loads its recommended training settings.",
        )
        st.caption(presets.preset(_value("architecture")).note)
        _architecture_options(_value("architecture"))
        _choice("Loss", "loss", optim.LOSSES, "What the network is punished for while learning.")
        if _value("loss") == "label_smoothing_crossentropy":
            st.slider("Label smoothing", 0.0, 0.3, step=0.05, **_bound("label_smoothing"))
        _choice("Optimizer", "optimizer", optim.OPTIMIZERS, "How the weights are changed from the gradients.")
        st.number_input("Learning rate", min_value=1e-9, max_value=1000.0, format="%g", **_bound("learning_rate"))
        _choice("Learning-rate schedule", "schedule", optim.SCHEDULES, "How the learning rate changes during training.")
        st.subheader("Data and length")
        st.number_input("Epochs", 1, 200, **_bound("epochs"))
        st.select_slider("Batch size", [1, 8, 16, 32, 64, 128, 256, 512, 1024], **_bound("batch_size"))
        st.number_input(
            "Training images (0 = all 60,000)", 0, 60_000, step=1000, **_bound("train_limit"),
            help="A subset trains faster; useful for quick experiments.",
        )
        st.slider("Validation share", 0.0, 0.5, step=0.05, **_bound("validation_fraction"),
                  help="Held out from the training images to watch overfitting during training.")
        st.toggle("Scale inputs to 0-1", **_bound("scale_inputs"), help="Turn off to see why scaling matters.")
        st.toggle("Augment (random shift, rotation, zoom)", **_bound("augment"))
        st.number_input("Seed", 0, 2**31 - 1, **_bound("seed"), help="Same seed and settings, same curves.")
    drawn = {key: st.session_state[f"{_PREFIX}{key}"] for key in _saved() if f"{_PREFIX}{key}" in st.session_state}
    _saved().update(drawn)
    return _configs()


def _architecture_options(architecture: str) -> None:
    """Extra controls of the ``custom`` and ``mlp`` architectures."""
    if architecture == "mlp":
        st.text_input("Hidden layer widths", **_bound("hidden_layers"), help="Comma-separated, e.g. 256, 128")
    if architecture != "custom":
        return
    with st.expander("Custom network", expanded=True):
        st.slider("Convolution blocks", 1, 4, **_bound("conv_blocks"))
        st.select_slider("Filters in the first block", [8, 16, 32, 64, 128], **_bound("filters"))
        st.segmented_control("Kernel size", [3, 5, 7], default=_value("kernel_size"), required=True,
                             key=f"{_PREFIX}kernel_size")
        st.segmented_control("Pooling", ["max", "avg", "none"], default=_value("pooling"), required=True,
                             key=f"{_PREFIX}pooling")
        st.toggle("Batch normalisation", **_bound("batch_norm"))
        st.slider("Dropout", 0.0, 0.8, step=0.05, **_bound("dropout"))
        st.select_slider("Dense units (0 = none)", [0, 32, 64, 128, 256, 512], **_bound("dense_units"))
        _selectbox("Activation", "activation", ["relu", "gelu", "elu", "tanh", "sigmoid"])


def _configs() -> tuple[config.ModelConfig, config.TrainConfig]:
    """Build the configs from the widget values."""
    model_fields = set(config.to_dict(config.ModelConfig()))
    values = _saved()
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
