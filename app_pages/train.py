"""Train page: choose the network and how to train it, then watch it learn (assignment question A2)."""

import json
import math
import time

import pandas as pd
import streamlit as st

from mnist_lab import access, charts, training
from mnist_lab.charts import describe
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import architectures, config, optim
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import curves, diagnosis, sweeps
from mnist_lab.training.server import engine as engines
from ui import report_links, resources, sidebar, sweep_form, train_form, vega

OWNED = "training_run"  # run id of the training this session started (survives page switches)
SWEEP = "training_sweep"  # tag of the sweep this session started
BEFORE = "training_replaced_run"  # the active run before this session's last start: a cancel goes back to it
#: A running training's live view (Stop, progress bar, charts) and a sweep's table are redrawn this often.
LIVE_SECONDS = 2.0
#: A training waiting in the queue checks its place this often: a class waiting for one worker is many sessions.
WAITING_SECONDS = 5.0
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


def my_jobs() -> list[training.TrainingJob]:
    """The trainings of this session's user, oldest first: only these can be watched, stopped or cancelled here."""
    return trainer.jobs_of(resources.user()) if trainer is not None else []


def owned_run_id() -> str | None:
    """The training this session started; in a new session (a reload), the user's latest training of this server."""
    if st.session_state.get(OWNED) or st.session_state.get(SWEEP):
        return st.session_state.get(OWNED)
    # The Report page's comparisons are watched there, not here.
    job = next((job for job in reversed(my_jobs())
                if not job.experiment or job.experiment.startswith(sweeps.PREFIX)), None)
    if job is None:
        return None
    if job.experiment.startswith(sweeps.PREFIX):
        st.session_state[SWEEP] = job.experiment
        return None
    st.session_state[OWNED] = job.run_id
    return job.run_id


def my_job(run_id: str) -> training.TrainingJob | None:
    """The user's training of ``run_id``, if any."""
    return next((job for job in my_jobs() if job.run_id == run_id), None)


def sweep_jobs() -> list[training.TrainingJob]:
    """The jobs of the sweep this session started, in grid order."""
    tag = st.session_state.get(SWEEP)
    return [job for job in my_jobs() if job.experiment == tag] if tag else []


def stop(jobs: list[training.TrainingJob]) -> None:
    for job in jobs:
        trainer.stop(job.run_id, resources.user())


def start(model_config: config.ModelConfig, train_config: config.TrainConfig, name: str, dataset: Dataset) -> None:
    try:
        with st.spinner("Reaching the training engine..."):  # at once unless it is still starting
            job = trainer.start(name, model_config, train_config, dataset=dataset, user=resources.user())
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    st.session_state[OWNED] = job.run_id
    st.session_state.pop(SWEEP, None)
    st.session_state[BEFORE] = sidebar.active_run_id()
    sidebar.switch_to_new_training(job.run_id)
    st.rerun()


def start_sweep(axes: list[sweeps.Axis], model_config: config.ModelConfig, train_config: config.TrainConfig,
                name: str, dataset: Dataset) -> None:
    try:
        with st.spinner("Reaching the training engine..."):
            jobs = sweeps.start(trainer, name, model_config, train_config, axes, dataset=dataset,
                                user=resources.user())
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    st.session_state[SWEEP] = jobs[0].experiment
    st.session_state.pop(OWNED, None)
    st.rerun()


def start_help(busy: bool, away: str | None) -> str:
    """Why Start is disabled, or what it does."""
    if away is not None:
        return f"A training cannot start while its run cannot be saved: {markdown_text(away)}."
    if busy:
        return "One training per student at a time: yours is still in progress."
    return "Queues it: it starts by itself when a worker is free and it is your turn."


def cancel(job: training.TrainingJob) -> None:
    if job.cancel():  # its run is gone: the active run goes back to the one before
        sidebar.set_active_run(st.session_state.pop(BEFORE, None))
        st.toast(f"Cancelled {markdown_text(job.name)}: it never trained.", icon=":material/cancel:")


def where_trainings_run() -> str:
    try:
        return engines.shared().description
    except MnistLabError as error:
        return f"no engine ({error})"


def draw_batches(run: run_store.Run, progress: training.Progress) -> None:
    if progress.batches:
        frame = curves.batch_frame(progress.batches, progress.batches_per_epoch)
        vega.show_described(vega.cached(("batches", run.version), lambda: charts.batch_curve(frame)),
                            describe.batch_curve(frame), frame, width="stretch", name="the batch-by-batch loss")


def draw_epochs(key: tuple, history: pd.DataFrame) -> None:
    """Loss and accuracy per epoch side by side (stacked on a phone), built once per ``key`` for every session."""
    specs = vega.cached(("epochs", *key), lambda: [charts.metric_curve(history, metric) for metric in curves.METRICS])
    for column, spec, metric in zip(st.columns(len(specs)), specs, curves.METRICS):
        vega.show_described(spec, describe.epoch_metric(history, metric), history[history["metric"] == metric],
                            column, width="stretch", name=f"the {metric} per epoch")


@st.cache_data(max_entries=64, show_spinner=False)
def live_batch_spec(run_id: str, slot: int, _progress: training.Progress) -> dict | None:
    """The batch-by-batch chart of one training in one time ``slot`` of LIVE_SECONDS, as a Vega-Lite spec.

    Built once per slot for every session watching the training, from a spec built once per training with its data
    replaced: Altair took about 0.1-0.2 s of server CPU for each new chart. The spec staying the same lets the
    browsers update the chart's data instead of drawing it anew.
    """
    if not _progress.batches:
        return None
    frame = curves.batch_frame(_progress.batches, _progress.batches_per_epoch)
    return vega.with_data(vega.cached(("live batches", run_id), lambda: charts.batch_curve(frame)), frame)


def draw_progress(progress: training.Progress) -> None:
    left = "" if math.isnan(progress.seconds_left) else f", about {progress.seconds_left:.0f} s left"
    st.progress(
        progress.fraction,
        text=f"Epoch {progress.epoch} of {progress.epochs}, batch {progress.batch} of {progress.batches_per_epoch}"
        f" · {progress.images_per_second:,.0f} images/s{left}",
    )


def draw_live_charts(progress: training.Progress) -> None:
    batches = live_batch_spec(progress.run_id, int(time.time() // LIVE_SECONDS), progress)
    if batches is not None:
        vega.show(batches, width="stretch")
        frame = curves.batch_frame(progress.batches, progress.batches_per_epoch)
        vega.describe(describe.batch_curve(frame), frame, name="the batch-by-batch loss",
                      key=f"train_live_batches_{progress.run_id}")
    history = curves.history_frame(progress.epoch_rows)
    if len(history):  # built once per epoch for every watcher
        draw_epochs(("live", progress.run_id, len(progress.epoch_rows)), history)
    else:
        st.caption("Per-epoch loss and accuracy (train and validation) appear here after the first epoch.")


@st.fragment(run_every=LIVE_SECONDS)
def live_view(run_id: str) -> None:
    """A running training: Stop, the progress bar and the live charts, redrawn together every LIVE_SECONDS.

    One fragment run per tick for all of it: each run has a fixed cost in the server, paid by every watcher, and a
    second fragment ticking every second for the progress bar tripled the runs (benchmarks/watchers.py).
    """
    job = my_job(run_id)
    if job is None:  # ended and forgotten, or deleted by the teacher
        st.rerun(scope="app")
    progress = job.progress()
    if progress.done or progress.waiting:  # the page shows the end, or the queue again
        st.rerun(scope="app")
    st.subheader(f"Training {markdown_text(progress.name)}")
    st.caption(markdown_text(progress.message) + (f" On worker {progress.worker}." if progress.worker else ""))
    st.button("Stop", type="primary", on_click=stop, args=([job],), disabled=job.stop_event.is_set(), key="stop_training",
              help="Stops after the batch in progress and keeps the model trained so far.")
    draw_progress(progress)
    draw_live_charts(progress)


@st.fragment(run_every=WAITING_SECONDS)
def waiting_panel(run_id: str) -> None:
    """A training waiting for its turn: its place in the queue and Cancel; the live view takes over once it starts."""
    job = my_job(run_id)
    if job is None or not job.waiting:  # cancelled elsewhere, or its turn came
        st.rerun(scope="app")
    progress = job.progress()
    st.subheader(f"Training {markdown_text(progress.name)}")
    st.info(f"{markdown_text(progress.message)} It starts by itself when its turn comes: no need to click again. "
            "Each student has one training at a time, and students take turns.", icon=":material/hourglass_top:")
    st.button("Cancel", on_click=cancel, args=(job,), key="cancel_training",
              help="Takes it out of the queue: it never trains, and its run is removed.")


@st.fragment(run_every=LIVE_SECONDS)
def sweep_panel(jobs: list[training.TrainingJob], running: bool) -> None:
    rows = []
    for progress in (job.progress() for job in jobs):
        state = (f"waiting, position {progress.position}" if progress.waiting else progress.status if progress.done
                 else f"epoch {max(progress.epoch, 1)} of {progress.epochs}")
        tested = [row["test_accuracy"] for row in progress.epoch_rows if row.get("test_accuracy") is not None]
        rows.append({"run": progress.name, "state": state, "progress": progress.fraction,
                     "test accuracy": tested[-1] if tested else None, "worker": progress.worker})
    st.subheader(f"Sweep {markdown_text(jobs[0].name.rpartition(': ')[0])}")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0),
        "test accuracy": st.column_config.NumberColumn(format="percent")})
    ended = all(job.done for job in jobs)
    if not ended:
        st.button("Stop the sweep", on_click=stop, args=(jobs,), key="stop_sweep",
                  help="Cancels its waiting runs and stops the running ones after their batch, keeping their models.")
    else:
        st.success("The sweep has ended: the Evaluate page shows it as one result (view **Sweep**).")
    if ended and running:
        st.rerun(scope="app")


def engine_panel() -> None:
    overview = trainer.overview()
    if overview.problem:
        st.warning(markdown_text(overview.problem[0].upper() + overview.problem[1:]))
    if overview.running or overview.waiting:
        slots = "" if overview.slots is None else f" on {overview.slots} worker slot{'s' * (overview.slots != 1)}"
        st.info(f"Someone else started a training on this server: {overview.running} running and {overview.waiting} "
                f"waiting{slots}. Start yours any time: it waits its turn and starts by itself.")


def diagnosis_text(found: diagnosis.Diagnosis) -> str:
    findings = "".join(f"\n- {finding}" for finding in found.findings)
    tries = "".join(f"\n- {change}" for change in found.tries)
    return f"\n\n**What went wrong.** {found.summary}{findings}\n\n**What to try**, one change at a time:{tries}"


def finished_panel(run: run_store.Run) -> None:
    found = diagnosis.diagnose(run)
    overfit = diagnosis.generalisation(run) if found is None else None
    notice = {run_store.FINISHED: st.success, run_store.STOPPED: st.warning}.get(run.status, st.error)
    text = f"**{markdown_text(run.name)}**: {run.status}. {markdown_text(run.message)}"
    if found is not None:
        st.error(text + diagnosis_text(found), icon=":material/report:")
    elif overfit is not None:
        st.warning(text + diagnosis_text(overfit), icon=":material/report:")
    else:
        notice(text)
    st.caption(curves.final_figures(run.metrics))
    job = my_job(run.id)
    if job is not None:
        draw_batches(run, job.progress())
    history = curves.history_frame(run.history)
    if len(history):
        draw_epochs(run.version, history)


try:
    dataset = resources.dataset(sidebar.chosen_dataset_name())
except MnistLabError as error:
    st.error(f"The chosen dataset cannot be loaded: {markdown_text(str(error))}")
    st.stop()
mine = my_job(owned_run_id()) if owned_run_id() else None
mine = mine if mine is not None and not mine.done else None
my_sweep = sweep_jobs()
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
    start(model_config, train_config, name or suggested, dataset)
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
    start_sweep(axes, model_config, train_config, f"sweep {name or suggested}", dataset)

if mine is not None:
    (waiting_panel if mine.waiting else live_view)(mine.run_id)
elif my_sweep:
    sweep_panel(my_sweep, busy)
elif owned_run_id() and away is None:
    try:
        finished_panel(resources.store().get(owned_run_id()))
    except run_store.RunNotFoundError:
        st.session_state.pop(OWNED, None)
if not busy and trainer is not None:
    engine_panel()

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
