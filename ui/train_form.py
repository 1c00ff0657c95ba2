"""The Train page's sidebar form: every choice, kept across page switches; read-only while its training runs.

The reasons for the choices are on the Train page itself (its cards), not repeated here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from mnist_lab.data import Dataset
from mnist_lab.errors import ConfigError
from mnist_lab.models import architectures, config, optim, presets
from mnist_lab.models.config import ModelConfig, TrainConfig
from mnist_lab.training import TrainingJob

_SAVED = "train_form_values"
_PREFIX = "train_"
_LOCKED = "train_form_locked"  # whether this run of the page draws the form read-only
_SHOWN_RUN = "train_form_shown_run"  # the training whose settings were last put into the form


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
    return {"key": f"{_PREFIX}{key}", "value": _value(key), "disabled": _locked()}


def _locked() -> bool:
    """Whether the form is read-only: a training of this session is running with its settings."""
    return st.session_state.get(_LOCKED, False)


def _show_training(job: TrainingJob) -> None:
    """Put the settings of ``job`` into the form, once per training; they stay after it ends.

    After a reload the form would otherwise show the default preset next to the live curves of another network.
    """
    if st.session_state.get(_SHOWN_RUN) == job.run_id:
        return
    st.session_state[_SHOWN_RUN] = job.run_id
    st.session_state[_SAVED] = _field_values(job.model_config, job.train_config)
    for key in _saved():
        st.session_state.pop(f"{_PREFIX}{key}", None)


def _selectbox(label: str, key: str, options: list, **kwargs: Any) -> None:
    """A selectbox whose default is its current value (see ``_bound``)."""
    st.selectbox(label, options, index=options.index(_value(key)), key=f"{_PREFIX}{key}", disabled=_locked(), **kwargs)


def _limit(key: str) -> config.Limit:
    """The allowed values of a field, from its config class (the one place they are written)."""
    model_fields = set(config.to_dict(ModelConfig()))
    return config.limit_of(ModelConfig if key in model_fields else TrainConfig, key)


def _slider(label: str, key: str, **kwargs: Any) -> None:
    """A slider over the field's allowed range and step."""
    limit = _limit(key)
    kind = type(_saved()[key])
    st.slider(label, kind(limit.low), kind(limit.high), step=kind(limit.step), **_bound(key), **kwargs)


def _ticks(label: str, key: str, **kwargs: Any) -> None:
    """A select slider over the values the field's limit suggests, and the current one (a training's may be another)."""
    st.select_slider(label, sorted({*_limit(key).ticks, _value(key)}), **_bound(key), **kwargs)


def _number(label: str, key: str, **kwargs: Any) -> None:
    """A number input over the field's allowed range."""
    limit = _limit(key)
    kind = type(_saved()[key])
    low = limit.low if not limit.above_low else kwargs.pop("smallest")
    st.number_input(label, kind(low), kind(limit.high), **_bound(key), **kwargs)


def _segments(label: str, key: str) -> None:
    """A segmented control over the field's allowed choices."""
    st.segmented_control(label, list(_limit(key).choices), default=_value(key), required=True, key=f"{_PREFIX}{key}",
                         disabled=_locked())


def _choice(label: str, key: str, table: dict, help_text: str) -> None:
    """A selectbox over a registry (the chosen entry's reason is on the page, once)."""
    _selectbox(label, key, list(table), format_func=lambda k: table[k].label, help=help_text)


def render(dataset: Dataset, running: TrainingJob | None = None) -> tuple[config.ModelConfig, config.TrainConfig]:
    """Draw the form in the sidebar and return the configs it describes for training on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        The dataset to train on (its size bounds the training subset).
    running : TrainingJob, optional
        This session's training in progress: the form shows its settings, read-only, and keeps them after it ends.

    Raises
    ------
    ConfigError
        A value is out of range (the page shows the message).
    """
    st.session_state[_LOCKED] = running is not None
    if running is not None:
        _show_training(running)
    training_images = len(dataset.y_train)
    _fit_train_limit(training_images)
    with st.sidebar:
        st.header("Training choices")
        if running is not None:
            st.info("These are the settings of your training in progress: read-only until it ends, and kept in "
                    "the form after it.", icon=":material/lock:")
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
            _slider("Label smoothing", "label_smoothing")
        _choice("Optimizer", "optimizer", optim.OPTIMIZERS, "How the weights are changed from the gradients.")
        _number("Learning rate", "learning_rate", smallest=1e-9, format="%g")
        _choice("Learning-rate schedule", "schedule", optim.SCHEDULES, "How the learning rate changes during training.")
        st.subheader("Data and length")
        _number("Epochs", "epochs")
        _ticks("Batch size", "batch_size")
        st.number_input(
            f"Training images (0 = all {training_images:,})", 0, training_images,
            step=int(_limit("train_limit").step), **_bound("train_limit"),
            help="A subset trains faster; useful for quick experiments.",
        )
        _slider("Validation share", "validation_fraction",
                help="Held out from the training images to watch overfitting during training.")
        st.toggle("Scale inputs to 0-1", **_bound("scale_inputs"), help="Turn off to see why scaling matters.")
        st.toggle("Augment (random shift, rotation, zoom)", **_bound("augment"))
        _number("Seed", "seed", help="Same seed and settings, same curves.")
    drawn = {key: st.session_state[f"{_PREFIX}{key}"] for key in _saved() if f"{_PREFIX}{key}" in st.session_state}
    _saved().update(drawn)
    return _configs(dataset.n_classes)


def _fit_train_limit(training_images: int) -> None:
    """Keep the subset size within the chosen dataset's training split (another dataset may be smaller)."""
    for holder, key in ((_saved(), "train_limit"), (st.session_state, f"{_PREFIX}train_limit")):
        if holder.get(key, 0) > training_images:
            holder[key] = training_images



def _architecture_options(architecture: str) -> None:
    """Extra controls of the ``custom`` and ``mlp`` architectures."""
    if architecture == "mlp":
        st.text_input("Hidden layer widths", **_bound("hidden_layers"), help="Comma-separated, e.g. 256, 128")
    if architecture != "custom":
        return
    with st.expander("Custom network", expanded=True):
        _slider("Convolution blocks", "conv_blocks")
        _ticks("Filters in the first block", "filters")
        _segments("Kernel size", "kernel_size")
        _segments("Pooling", "pooling")
        st.toggle("Batch normalisation", **_bound("batch_norm"))
        _slider("Dropout", "dropout")
        _ticks("Dense units (0 = none)", "dense_units")
        _selectbox("Activation", "activation", list(_limit("activation").choices))


def _configs(num_classes: int) -> tuple[config.ModelConfig, config.TrainConfig]:
    """Build the configs from the widget values, with an output unit per class of the dataset."""
    model_fields = set(config.to_dict(config.ModelConfig()))
    values = _saved()
    model_values = {k: v for k, v in values.items() if k in model_fields}
    model_values["hidden_layers"] = _parse_widths(values.get("hidden_layers", "128"))
    model_values["num_classes"] = num_classes
    train_values = {k: v for k, v in values.items() if k not in model_fields}
    return config.from_dict(config.ModelConfig, model_values), config.from_dict(config.TrainConfig, train_values)


def _parse_widths(text: str) -> tuple[int, ...]:
    """Read '256, 128' as (256, 128)."""
    try:
        return tuple(int(part) for part in str(text).replace(";", ",").split(",") if part.strip())
    except ValueError as error:
        raise ConfigError(f"hidden layer widths must be whole numbers separated by commas, got {text!r}") from error
