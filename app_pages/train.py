"""Train page: choose the network and how to train it, then watch it learn (assignment question A2)."""

import json
import math

import pandas as pd
import streamlit as st

from mnist_lab import charts, training
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import architectures, config, optim
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import curves
from ui import report_links, resources, sidebar, train_form

OWNED = "training_run"  # run id of the training this session started (survives page switches)
POLL_SECONDS = 1.0
SUMMARY_COLUMNS = {**architectures.SUMMARY_TITLES, "params": st.column_config.NumberColumn("parameters", format="localized")}

st.title("Train a network")
resources.store_or_stop()
trainer = resources.trainer()


@st.cache_data(show_spinner="Building the model...", max_entries=32)
def model_summary(model_json: str) -> tuple[pd.DataFrame, int]:
    rows, total = architectures.describe(config.from_dict(config.ModelConfig, json.loads(model_json)))
    return pd.DataFrame(rows), total


def owned_run_id() -> str | None:
    """The training this session started; after a reload, the one whose owner token is in the URL."""
    if st.session_state.get(OWNED):
        return st.session_state[OWNED]
    job = trainer.job_with_token(st.query_params.get("train", ""))
    if job is None:
        st.query_params.pop("train", None)  # unknown, or from before a restart: ignore it
        return None
    st.session_state[OWNED] = job.run_id
    return job.run_id


def start(model_config: config.ModelConfig, train_config: config.TrainConfig, name: str, dataset: Dataset) -> None:
    try:
        job = trainer.start(name, model_config, train_config, dataset=dataset)
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    st.session_state[OWNED] = job.run_id
    st.query_params["train"] = job.owner_token
    sidebar.set_active_run(job.run_id)
    st.rerun()


def draw_progress(progress: training.Progress) -> None:
    left = "" if math.isnan(progress.seconds_left) else f", about {progress.seconds_left:.0f} s left"
    st.progress(
        progress.fraction,
        text=f"Epoch {progress.epoch} of {progress.epochs}, batch {progress.batch} of {progress.batches_per_epoch}"
        f" · {progress.images_per_second:,.0f} images/s{left}",
    )
    if progress.batches:
        st.altair_chart(charts.batch_curve(curves.batch_frame(progress.batches, progress.batches_per_epoch)), width="stretch")
    history = curves.history_frame(progress.epoch_rows)
    if len(history):
        st.altair_chart(charts.epoch_curves(history))
    else:
        st.caption("Per-epoch loss and accuracy (train and validation) appear here after the first epoch.")


@st.fragment(run_every=POLL_SECONDS)
def live_panel(run_id: str) -> None:
    job = trainer.job(run_id)
    progress = job.progress()
    st.subheader(f"Training {markdown_text(progress.name)}")
    st.caption(markdown_text(progress.message))
    if run_id == owned_run_id():
        st.button("Stop", type="primary", on_click=job.stop, disabled=job.stop_event.is_set(), key="stop_training",
                  help="Stops after the batch in progress and keeps the model trained so far.")
    elif job.experiment:
        st.info("A one-click comparison of the Report page is training; the session that started it can stop it there.")
    else:
        st.info("Someone else started this training on this server; it ends when they stop it or it finishes.")
    draw_progress(progress)
    if progress.done:
        st.rerun(scope="app")


def finished_panel(run: run_store.Run) -> None:
    notice = {run_store.FINISHED: st.success, run_store.STOPPED: st.warning}.get(run.status, st.error)
    notice(f"**{markdown_text(run.name)}**: {run.status}. {markdown_text(run.message)}")
    st.caption(curves.final_figures(run.metrics))
    history = curves.history_frame(run.history)
    if len(history):
        st.altair_chart(charts.epoch_curves(history))


try:
    dataset = resources.dataset(sidebar.chosen_dataset_name())
except MnistLabError as error:
    st.error(f"The chosen dataset cannot be loaded: {markdown_text(str(error))}")
    st.stop()
try:
    model_config, train_config = train_form.render(dataset)
except MnistLabError as error:
    st.error(f"Check the training choices in the sidebar: {markdown_text(str(error))}")
    st.stop()

active = trainer.active()
if active is not None and active.run_id == st.session_state.get(OWNED):
    st.query_params["train"] = active.owner_token  # page switches drop it; a reload of this URL keeps Stop

suggested = f"{model_config.architecture} · {train_config.optimizer} · {train_config.epochs} ep"
name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
name = name_column.text_input("Run name", placeholder=suggested, max_chars=run_store.NAME_MAX, key="train_run_name")
if button_column.button("Start training", type="primary", disabled=active is not None, key="start_training",
                        width="stretch", help="One training runs at a time on this server." if active is not None else None):
    start(model_config, train_config, name or suggested, dataset)
st.caption(f"Trains on **{markdown_text(dataset.name)}** (change it in the sidebar). Set the architecture, loss, "
           "optimizer and length in the sidebar; their reasons are below.")

if active is not None:
    live_panel(active.run_id)
elif owned_run_id():
    try:
        finished_panel(resources.store().get(owned_run_id()))
    except run_store.RunNotFoundError:
        st.session_state.pop(OWNED, None)
        st.query_params.pop("train", None)

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
