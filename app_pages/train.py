"""Train page: choose the network and how to train it, then watch it learn (assignment question A2)."""

import json

import pandas as pd
import streamlit as st

from mnist_lab import access
from mnist_lab.errors import MnistLabError
from mnist_lab.models import architectures, config, optim
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import diagnosis
from mnist_lab.training.server import engine as engines
from ui import report_links, resources, sidebar, sweep_form, train_form, training_session, training_view

SUMMARY_COLUMNS = {**architectures.SUMMARY_TITLES, "params": st.column_config.NumberColumn("parameters", format="localized")}

st.title("Train a network")
away = resources.database_away()  # the page above says so; a training in progress here is still shown
if away is None:
    resources.store_or_stop()
trainer = resources.trainer_unless_away()


@st.cache_data(show_spinner="Building the model...", max_entries=32)
def model_summary(model_json: str) -> tuple[pd.DataFrame, int]:
    rows, total = architectures.describe(config.from_dict(config.ModelConfig, json.loads(model_json)))
    return pd.DataFrame(rows), total


def start_help(busy: bool, away: str | None) -> str:
    """Why Start is disabled, or what it does."""
    if away is not None:
        return f"A training cannot start while its run cannot be saved: {markdown_text(away)}."
    if busy:
        return "One training per student at a time: yours is still in progress."
    return "Queues it: it starts by itself when a worker is free and it is your turn."


def where_trainings_run() -> str:
    try:
        return engines.shared().description
    except MnistLabError as error:
        return f"no engine ({error})"


try:
    dataset = resources.dataset(sidebar.chosen_dataset_name())
except MnistLabError as error:
    st.error(f"The chosen dataset cannot be loaded: {markdown_text(str(error))}")
    st.stop()
mine = training_session.running_job()
my_sweep = training_session.sweep_jobs()
busy = mine is not None or any(not job.done for job in my_sweep)
if mine is not None:
    dataset = mine.dataset
try:
    model_config, train_config = train_form.render(dataset, running=mine)
except MnistLabError as error:
    st.error(f"Check the training choices in the sidebar: {markdown_text(str(error))}")
    st.stop()

suggested = f"{model_config.architecture} · {train_config.optimizer} · {train_config.epochs} ep"
name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
# No max_chars: the browser would drop a longer pasted name without a word; the store cuts it and says so.
name = name_column.text_input("Run name", placeholder=suggested, key="train_run_name")
if button_column.button("Start training", type="primary", disabled=busy or away is not None, key="start_training",
                        width="stretch", help=start_help(busy, away)):
    training_session.start(model_config, train_config, name or suggested, dataset)
if note := run_store.name_note(name):
    st.warning(markdown_text(note), icon=":material/content_cut:")
if away is None and (limits := access.limits.describe(trainer.limits_for(resources.user()))):
    st.caption(limits)
if short := diagnosis.short_training(config.to_dict(model_config), config.to_dict(train_config), len(dataset.y_train)):
    st.warning(short, icon=":material/speed:")
st.caption(f"Trains on **{markdown_text(dataset.name)}** (change it in the sidebar), on "
           f"{markdown_text(where_trainings_run())}. Set the architecture, loss, optimizer and length in the "
           "sidebar; their reasons are below.")
if away is None and (axes := sweep_form.render(model_config, train_config, busy=busy)) is not None:
    training_session.start_sweep(axes, model_config, train_config, f"sweep {name or suggested}", dataset)

if mine is not None:
    (training_view.waiting_panel if mine.waiting else training_view.live_view)(mine.run_id)
elif my_sweep:
    training_view.sweep_panel(my_sweep, busy)
elif training_session.owned_run_id() and away is None:
    try:
        training_view.finished_panel(resources.store().get(training_session.owned_run_id()))
    except run_store.RunNotFoundError:
        training_session.forget_ended_run()
if not busy and trainer is not None:
    training_view.engine_panel()

st.header("Your choices and why")
chosen = {
    "Architecture": architectures.ARCHITECTURES[model_config.architecture],
    "Loss": optim.LOSSES[train_config.loss],
    "Optimizer": optim.OPTIMIZERS[train_config.optimizer],
    "Schedule": optim.SCHEDULES[train_config.schedule],
}
for column, (kind, choice) in zip(st.columns(len(chosen)), chosen.items()):
    with column.container(border=True):
        st.markdown(f"**{kind}: {choice.label}**")
        st.write(choice.reason)
        st.caption(f"Poor choice when: {choice.poor_when}")
report_links.link_to_answer("a2")

st.header("The model before training")
try:
    layers, total = model_summary(config.to_json(model_config))
except ValueError as error:
    st.error(f"This network cannot be built: {markdown_text(str(error))}")
    st.stop()
st.dataframe(layers, hide_index=True, width="stretch", height="content", column_config=SUMMARY_COLUMNS)
height, width = dataset.image_shape
st.markdown(f"**{total:,} trainable and non-trainable parameters.** Input: {height}x{width}x1 pixel values; "
            f"output: {dataset.n_classes} class probabilities.")
report_links.link_to_answer("b4")
report_links.link_to_answer("b5")
