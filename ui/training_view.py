"""The Train page's views of a training: waiting in the queue, live (Stop, progress and curves), a sweep's table,
the queue of others, and a training that has ended with what went wrong."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from mnist_lab import charts, training
from mnist_lab.charts import describe
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import curves, diagnosis
from ui import resources, training_session, vega

#: A running training's live view (Stop, progress bar, charts) and a sweep's table are redrawn this often.
LIVE_SECONDS = 2.0
#: A training waiting in the queue checks its place this often: a class waiting for one worker is many sessions.
WAITING_SECONDS = 5.0


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
    job = training_session.my_job(run_id)
    if job is None:  # ended and forgotten, or deleted by the teacher
        st.rerun(scope="app")
    progress = job.progress()
    if progress.done or progress.waiting:  # the page shows the end, or the queue again
        st.rerun(scope="app")
    st.subheader(f"Training {markdown_text(progress.name)}")
    st.caption(markdown_text(progress.message) + (f" On worker {progress.worker}." if progress.worker else ""))
    st.button("Stop", type="primary", on_click=training_session.stop, args=([job],), key="stop_training",
              disabled=job.stop_event.is_set(), help="Stops after the batch in progress and keeps the model trained so far.")
    st.progress(progress.fraction, text=progress.position_text)
    draw_live_charts(progress)


@st.fragment(run_every=WAITING_SECONDS)
def waiting_panel(run_id: str) -> None:
    """A training waiting for its turn: its place in the queue and Cancel; the live view takes over once it starts."""
    job = training_session.my_job(run_id)
    if job is None or not job.waiting:  # cancelled elsewhere, or its turn came
        st.rerun(scope="app")
    progress = job.progress()
    st.subheader(f"Training {markdown_text(progress.name)}")
    st.info(f"{markdown_text(progress.message)} It starts by itself when its turn comes: no need to click again. "
            "Each student has one training at a time, and students take turns.", icon=":material/hourglass_top:")
    st.button("Cancel", on_click=training_session.cancel, args=(job,), key="cancel_training",
              help="Takes it out of the queue: it never trains, and its run is removed.")


@st.fragment(run_every=LIVE_SECONDS)
def sweep_panel(jobs: list[training.TrainingJob], running: bool) -> None:
    rows = []
    for progress in (job.progress() for job in jobs):
        tested = [row["test_accuracy"] for row in progress.epoch_rows if row.get("test_accuracy") is not None]
        rows.append({"run": progress.name, "state": progress.state, "progress": progress.fraction,
                     "test accuracy": tested[-1] if tested else None, "worker": progress.worker})
    st.subheader(f"Sweep {markdown_text(jobs[0].name.rpartition(': ')[0])}")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0),
        "test accuracy": st.column_config.NumberColumn(format="percent")})
    ended = all(job.done for job in jobs)
    if not ended:
        st.button("Stop the sweep", on_click=training_session.stop, args=(jobs,), key="stop_sweep",
                  help="Cancels its waiting runs and stops the running ones after their batch, keeping their models.")
    else:
        st.success("The sweep has ended: the Evaluate page shows it as one result (view **Sweep**).")
    if ended and running:
        st.rerun(scope="app")


def engine_panel() -> None:
    """Trainings of others on this server, and why none can start when that is so."""
    overview = resources.trainer().overview()
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
    """A training that ended: its status and message, what went wrong and what to try, and its curves."""
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
    job = training_session.my_job(run.id)
    if job is not None:
        draw_batches(run, job.progress())
    history = curves.history_frame(run.history)
    if len(history):
        draw_epochs(run.version, history)
