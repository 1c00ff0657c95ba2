"""The Train page's sweep controls: one or two settings to vary, their values, and the button that queues the runs."""

from __future__ import annotations

import streamlit as st

from mnist_lab.errors import ConfigError
from mnist_lab.models import architectures, config, optim
from mnist_lab.text import markdown_text
from mnist_lab.training import sweeps

_PREFIX = "sweep_"
EPOCH_CHOICES = (1, 2, 3, 5, 8, 10, 15, 20)


def _axis(setting: str, model: config.ModelConfig, train: config.TrainConfig) -> sweeps.Axis:
    """The values of one varied setting, from its controls (raises ConfigError when they make no grid)."""
    key = f"{_PREFIX}{setting}"
    label = sweeps.SETTINGS[setting]
    if setting == "learning_rate":
        low_column, high_column, count_column = st.columns(3)
        low = low_column.number_input("Lowest learning rate", 1e-6, 10.0, value=train.learning_rate / 10, format="%g",
                                      key=f"{key}_low")
        high = high_column.number_input("Highest learning rate", 1e-6, 10.0, value=min(10.0, train.learning_rate * 10),
                                        format="%g", key=f"{key}_high")
        count = count_column.slider("Values (log grid)", 2, 8, 4, key=f"{key}_count")
        return sweeps.Axis(setting, sweeps.log_grid(low, high, count))
    options, default, labels = {
        "optimizer": (list(optim.OPTIMIZERS), [train.optimizer, "sgd" if train.optimizer != "sgd" else "adam"],
                      lambda name: optim.OPTIMIZERS[name].label),
        "batch_size": (list(config.limit_of(config.TrainConfig, "batch_size").ticks), [64, 128, 256], str),
        "architecture": (list(architectures.ARCHITECTURES), [model.architecture, "perceptron" if model.architecture !=
                         "perceptron" else "fast"], lambda name: architectures.ARCHITECTURES[name].label),
        "epochs": (list(EPOCH_CHOICES), [1, 2, 5], str),
    }[setting]
    chosen = st.multiselect(label, options, default=default, format_func=labels, key=key)
    return sweeps.Axis(setting, tuple(chosen))


def render(model: config.ModelConfig, train: config.TrainConfig, *, busy: bool) -> list[sweeps.Axis] | None:
    """Draw the sweep controls; return the axes when the student starts a sweep, else None.

    Parameters
    ----------
    model, train : ModelConfig, TrainConfig
        The settings in the sidebar: every run of the sweep uses them except the varied ones.
    busy : bool
        This student has a training or sweep in progress: the button is disabled.
    """
    with st.expander("Sweep: one run per value of one or two settings", icon=":material/tune:"):
        st.caption("Each run uses the settings in the sidebar except the ones varied here, measures its test "
                   "accuracy after every epoch, and is queued like a training: runs train side by side where "
                   "workers are free, and take turns with other students otherwise.")
        varied = st.multiselect("Settings to vary", list(sweeps.SETTINGS), format_func=sweeps.SETTINGS.get,
                                max_selections=2, key=f"{_PREFIX}settings")
        if not varied:
            return None
        try:
            axes = [_axis(setting, model, train) for setting in varied]
            found = sweeps.points(model, train, axes)
        except ConfigError as error:
            st.error(markdown_text(str(error)))
            return None
        st.caption(f"{len(found)} runs: " + "; ".join(markdown_text(point.label) for point in found) + ".")
        clicked = st.button(f"Start the sweep ({len(found)} runs)", disabled=busy, key=f"{_PREFIX}start",
                            help="One training per student at a time: yours is still in progress." if busy else None)
        return axes if clicked else None
